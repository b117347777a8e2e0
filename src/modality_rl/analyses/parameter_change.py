"""Section 5.3, Appendix F: how far each parameter moved in fine-tuning (l2 distance and
cosine similarity between the untrained and the fine-tuned weights)."""

from modality_rl.analyses.entry import Analysis


def memory(partition) -> float:
    """One model's two checkpoints and their blocks."""
    return 4 * max(body.parameters(partition.max_episode_steps) for body in partition.bodies)


ANALYSIS = Analysis(
    paper_section="5.3",
    tables=("parameter_change",), reads="checkpoint",
    builder="modality_rl.tables.parameter_change:parameter_change_tables",
    torch=True, memory=memory,
    config="""
epochs: {$ref: "#/$defs/epoch_pair"}
""")
