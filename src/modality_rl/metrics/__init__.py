"""The paper's analysis metrics as plain functions: CKA, MINE, parameter change, gradients,
attention distance. They read probe dumps and checkpoints; tables are written by scripts."""
