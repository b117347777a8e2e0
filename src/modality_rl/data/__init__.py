"""Datasets in the D4RL v2 HDF5 schema: fetching, synthesis, loading, windows, probes."""
