"""Probes: what a trained model does on the env's fixed probe batch, written to HDF5."""
