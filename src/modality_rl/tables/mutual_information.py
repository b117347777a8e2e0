"""Mutual information tables (Fig. 2, 17, 22, 44-46), estimated with MINE.

With K steps the probe tokens are R_0, s_0, a_0, ..., R_{K-1}, s_{K-1}, a_{K-1}; x_p is the
data entering at token position p and T_l(x_p) block l's output (its mlp.dropout, paper
Appendix E.1) at that position. Every estimator of a table is trained at once.

- hidden (Section 5.2): for every position p except the last action, I(x_p; T_l(s_K))
  ("input", Fig. 2a) and I(a_K; T_l(x_p)) ("label", Fig. 2b), at the shallow, middle and
  deep blocks (0, n/2, n-1: 0, 6, 11 for GPT-2 and 0, 12, 23 for iGPT).
- no_context (Appendix E.3): for every block l and step t, I(s_t; T_l(s_t)) ("input") and
  I(a_t; T_l(s_t)) ("label"); Fig. 17 shows their mean and std over t.
- data (Appendix H.2): I(s_t; a_t) and I(R_t; a_t) per step t of the probe batch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from modality_rl.data.windows import WindowBatch
from modality_rl.metrics.mine import MineConfig, mine_estimates
from modality_rl.probes.dump import ProbeDump
from modality_rl.tables import Dumps

TOKEN_ORDER = ("return_to_go", "state", "action")


def depth_blocks(n_blocks: int) -> dict[str, int]:
    return {"shallow": 0, "middle": n_blocks // 2, "deep": n_blocks - 1}


def token_data(batch: WindowBatch, position: int) -> np.ndarray:
    """(N, dim) data entering at token `position`: return-to-go, state or action."""
    step, kind = divmod(position, 3)
    source = {"return_to_go": batch.returns_to_go, "state": batch.states,
              "action": batch.actions}[TOKEN_ORDER[kind]]
    return source[:, step]


def _estimate(rows: list[dict], pairs: list[tuple[np.ndarray, np.ndarray]],
              mine: MineConfig, device) -> pd.DataFrame:
    table = pd.DataFrame(rows)
    table["mi"] = mine_estimates(pairs, mine, device=device, progress=True)
    return table


def hidden_tables(dumps: Dumps, coordinates: dict, epochs: list[int], settings: MineConfig,
                  device="cpu") -> dict[str, pd.DataFrame]:
    """mutual_information_hidden and mutual_information_no_context of one partition, at
    the one epoch in `epochs`."""
    (epoch,) = epochs
    hidden_rows, hidden_pairs, context_rows, context_pairs = [], [], [], []
    n_blocks = {}
    for model, by_epoch in dumps.items():
        with ProbeDump(by_epoch[epoch]) as dump:
            batch, n_blocks[model] = dump.inputs(), dump.n_blocks
            outputs = {b: dump.block_output(b) for b in range(dump.n_blocks)}
        steps = batch.states.shape[1]
        last_state = 3 * steps - 2
        base = {**coordinates, "model": model, "epoch": epoch}
        for depth, block in depth_blocks(n_blocks[model]).items():
            for position in range(3 * steps - 1):
                step, kind = divmod(position, 3)
                where = {**base, "depth": depth, "block": block, "position": position,
                         "step": step, "token": TOKEN_ORDER[kind]}
                hidden_rows += [{**where, "quantity": "input"}, {**where, "quantity": "label"}]
                hidden_pairs += [(token_data(batch, position), outputs[block][:, last_state]),
                                 (batch.actions[:, -1], outputs[block][:, position])]
        for block, output in outputs.items():
            for step in range(steps):
                where = {**base, "block": block, "step": step}
                context_rows += [{**where, "quantity": "input"}, {**where, "quantity": "label"}]
                context_pairs += [(batch.states[:, step], output[:, 3 * step + 1]),
                                  (batch.actions[:, step], output[:, 3 * step + 1])]
    no_context = _estimate(context_rows, context_pairs, settings, device)
    reference = min(n_blocks.values())
    no_context.insert(no_context.columns.get_loc("block") + 1, "normalised_block",
                      [b * reference // n_blocks[m] for m, b in
                       zip(no_context["model"], no_context["block"])])
    return {"mutual_information_hidden": _estimate(hidden_rows, hidden_pairs, settings, device),
            "mutual_information_no_context": no_context}


def data_table(batch: WindowBatch, coordinates: dict, mine: MineConfig,
               device="cpu") -> pd.DataFrame:
    """mutual_information_data: I(s_t; a_t) and I(R_t; a_t) for every step t."""
    rows, pairs = [], []
    for step in range(batch.states.shape[1]):
        for variable, data in (("state", batch.states), ("return_to_go", batch.returns_to_go)):
            rows.append({**coordinates, "variable": variable, "step": step})
            pairs.append((data[:, step], batch.actions[:, step]))
    return _estimate(rows, pairs, mine, device)
