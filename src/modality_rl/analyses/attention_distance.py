"""Section 5.6.2, Appendix I.2: how far back each block's attention looks, per head and
as the released code's pseudo-attention, and its gap to the untrained model (the K = 1
runs)."""

from modality_rl.analyses.entry import Analysis


def memory(partition) -> float:
    """The table's rows (every sample per block, method and epoch) and the largest
    attention maps of one model, twice."""
    bodies, tokens = partition.bodies, partition.tokens
    rows = 2 * 2 * len(partition.settings["epochs"]) * partition.windows * sum(
        b.n_layer for b in bodies)
    largest = max(partition.windows * b.n_head * tokens * tokens for b in bodies)
    return partition.rows(rows) + 2 * largest


ANALYSIS = Analysis(
    paper_section="5.6.2",
    tables=("attention_distance", "attention_distance_gap"), reads="dump",
    sections=("attention", "pseudo_attention"),
    builder="modality_rl.tables.attention:attention_tables", memory=memory,
    config="""
epochs:
  description: Epoch 0 and the epochs whose gap to it is measured.
  type: array
  minItems: 2
  uniqueItems: true
  items: {$ref: "#/$defs/epoch"}
""")
