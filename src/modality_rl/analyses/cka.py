"""Section 5.1, Appendix D: CKA of every hooked layer before against after fine-tuning,
between fine-tuned models, and between the layers of one model."""

from modality_rl.analyses.entry import Analysis


def memory(partition) -> float:
    """The table's rows: every layer pair within and between models, per token."""
    layers = [body.hooked_layers for body in partition.bodies]
    pairs = 2 * sum(n * n for n in layers) + sum(
        a * b for i, a in enumerate(layers) for b in layers[i + 1:])
    return partition.rows(3 * pairs)


ANALYSIS = Analysis(
    paper_section="5.1",
    tables=("cka_pre_post", "cka_between_models", "cka_within_model",
            "cka_layers_above_threshold"),
    reads="dump", sections=("layers",),
    builder="modality_rl.tables.cka:cka_tables", table_settings=True,
    memory=memory,
    config="""
epochs: {$ref: "#/$defs/epoch_pair", description: Before and after fine-tuning.}
debiased: {type: boolean}
thresholds: {type: array, items: {type: number}}
seed:
  description: >-
    Draws the permutation of the probe samples against which every CKA value's floor,
    `cka_null`, is computed.
  type: integer
  minimum: 0
""")
