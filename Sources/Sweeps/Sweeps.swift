// Sweeps module.
