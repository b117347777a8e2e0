"""Section 5.4, Appendix G: per-sample gradients early in fine-tuning: their clipped norms,
the gradient confusion (minimum pairwise cosine) and each parameter's share of the norm.
The probe job computes the gradients (its settings are this section); the table job
summarises them."""

from modality_rl.analyses.entry import Analysis


def memory(partition) -> float:
    """A few hundred numbers per model."""
    return 0.0


ANALYSIS = Analysis(
    paper_section="5.4",
    tables=("gradient_norms", "gradient_confusion", "gradient_norm_per_parameter",
            "gradient_norm_share"),
    reads="dump", sections=("gradients",),
    builder="modality_rl.tables.gradients:gradient_tables", memory=memory,
    config="""
epoch: {$ref: "#/$defs/epoch"}
max_norm:
  description: Per-sample clipping as in training; null turns it off.
  oneOf: [{$ref: "#/$defs/positive_number"}, {type: "null"}]
norm_samples: {$ref: "#/$defs/count"}
cosine_samples: {type: integer, minimum: 2}
chunk_size:
  description: Per-sample gradients vmap holds in memory at once.
  $ref: "#/$defs/count"
seed: {type: integer, minimum: 0}
""")
