// Plots module.
