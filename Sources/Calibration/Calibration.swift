// The calibration module.
