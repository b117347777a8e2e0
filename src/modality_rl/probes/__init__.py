"""Probes: what a trained model does on the env's fixed probe batch, written to HDF5.

This package's own module imports nothing: the workflow's memory budgets read it."""

# The per-sample gradients the cosines' pass of the gradient probe holds at once (MB):
# gradients.gradient_probe's default, and what modality_rl.budgets declares for it.
GRAM_MEMORY_MB = 2048
