"""Section 5.2, Appendix E and H.2: MINE estimates of the mutual information between the
data and each block's hidden representation, with and without context; and, of the data
alone, between states or returns-to-go and actions."""

from modality_rl.analyses.entry import Analysis


def memory(partition) -> float:
    """The block outputs of every model, and one chunk of estimators with their nulls:
    the no_context table's, or the hidden table's, whichever is larger."""
    bodies, steps, tokens = partition.bodies, partition.steps, partition.tokens
    outputs = sum(partition.windows * tokens * b.n_embd * b.n_layer for b in bodies)
    estimators = max(2 * 2 * steps * sum(b.n_layer for b in bodies),
                     2 * 2 * 3 * (tokens - 1) * len(bodies))
    return outputs + partition.mine(max(b.n_embd for b in bodies), partition.obs_dim,
                                    estimators)


ANALYSIS = Analysis(
    paper_section="5.2",
    tables=("mutual_information_hidden", "mutual_information_no_context"),
    data_tables=("mutual_information_data",),
    reads="dump", sections=("block_outputs",),
    builder="modality_rl.tables.mutual_information:hidden_tables", table_settings=True,
    gpu=True, torch=True, memory=memory,
    config="""
epoch: {$ref: "#/$defs/epoch"}
hidden:
  description: Width of each hidden layer of the MINE statistics network.
  $ref: "#/$defs/count"
hidden_layers:
  description: >-
    Hidden (ReLU) layers of the MINE statistics network: 3 in the released
    util_mi_calculation.py (the default), 2 in the paper's Appendix E.1 text.
  $ref: "#/$defs/count"
learning_rate: {$ref: "#/$defs/positive_number"}
iterations: {$ref: "#/$defs/count"}
batch_size: {$ref: "#/$defs/count"}
ema_alpha: {type: number, exclusiveMinimum: 0, maximum: 1}
seed:
  description: >-
    Seeds every estimator's stream and the fixed permutation of z's rows that the null
    baseline (`mi_null`) pairs x with.
  type: integer
  minimum: 0
chunk_size:
  description: >-
    Estimators (with their null baselines, about 6,000 in a partition of the paper's
    tables) whose draws and stacked networks are built and trained at once: bounds the
    job's memory, about 14 MB per estimator of the paper's 400-wide network on 768-wide
    activations (modality_rl.budgets). Each estimator draws from its own generator, so
    the chunking changes estimates only by the rounding of batched matmuls, which
    training amplifies in float32.
  $ref: "#/$defs/count"
""")
