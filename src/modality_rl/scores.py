"""Normalised scores in the paper's convention and in D4RL's, kept apart and labelled.

paper: the random and expert scores are the mean episode returns of the env's
       `-random-v2` and `-expert-v2` datasets (Appendix A).
d4rl:  the fixed reference scores of d4rl/infos.py.
Both compute 100 * (return - random) / (expert - random).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass

from modality_rl.data.trajectories import mean_episode_return
from modality_rl.envs import env_spec
from modality_rl.io import write_json

log = logging.getLogger(__name__)

# The return-to-go target whose returns the curves, Tables 1, 2, 4 and the DVC plots
# report per env (released plot_learning_curve_no_context.py). Here, not with the
# drawers, so table jobs read it without importing matplotlib.
CURVE_TARGET = {"hopper": 3600, "halfcheetah": 6000, "walker2d": 5000}

CONVENTIONS = ("paper", "d4rl")


@dataclass(frozen=True, kw_only=True)
class ReferenceReturns:
    env: str
    paper_random: float
    paper_expert: float
    d4rl_random: float
    d4rl_expert: float

    def normalised(self, episode_return: float, convention: str) -> float:
        if convention not in CONVENTIONS:
            raise ValueError(f"unknown score convention {convention!r}; use one of {CONVENTIONS}")
        low, high = getattr(self, f"{convention}_random"), getattr(self, f"{convention}_expert")
        return 100.0 * (episode_return - low) / (high - low)


def compute_reference_returns(env: str, random_dataset: str | os.PathLike,
                              expert_dataset: str | os.PathLike) -> ReferenceReturns:
    spec = env_spec(env)
    refs = ReferenceReturns(env=env, paper_random=mean_episode_return(random_dataset),
                            paper_expert=mean_episode_return(expert_dataset),
                            d4rl_random=spec.d4rl_random_score,
                            d4rl_expert=spec.d4rl_expert_score)
    log.info("%s reference returns: %s", env, refs)
    return refs


def save_reference_returns(refs: ReferenceReturns, target: str | os.PathLike) -> None:
    write_json(asdict(refs), target)


def load_reference_returns(path: str | os.PathLike) -> ReferenceReturns:
    with open(path) as f:
        return ReferenceReturns(**json.load(f))
