"""Normalised scores in the paper's convention and in D4RL's, kept apart and labelled.

paper: the random and expert scores are the mean episode returns of the env's
       `-random-v2` and `-expert-v2` datasets (Appendix A).
d4rl:  the fixed reference scores of d4rl/infos.py (Minari data: the dataset's own
       ref_min_score and ref_max_score, random and expert policies in MuJoCo v5; the
       reference returns say which, in `d4rl_scores`).
Both compute 100 * (return - random) / (expert - random). A convention whose reference
data is not available (the Hugging Face mirror has no random sets) is recorded as missing,
with the reason, and its scores are NaN: never a stand-in number.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field

from modality_rl.data.trajectories import dataset_attrs, mean_episode_return
from modality_rl.envs import env_spec
from modality_rl.io import write_json

log = logging.getLogger(__name__)

# The return-to-go target whose returns the curves, Tables 1, 2, 4 and the DVC plots
# report per env (released plot_learning_curve_no_context.py). Here, not with the
# drawers, so table jobs read it without importing matplotlib.
CURVE_TARGET = {"hopper": 3600, "halfcheetah": 6000, "walker2d": 5000}

CONVENTIONS = ("paper", "d4rl")
NO_RANDOM_DATASET = ("no -random-v2 dataset: no source in data.d4rl.sources holds one (the "
                     "Hugging Face mirror has none), and the paper normalises with its mean return")
MINARI_NO_RANDOM = ("no random dataset: Minari's MuJoCo datasets have none, and the paper "
                    "normalises with its mean return")


@dataclass(frozen=True, kw_only=True)
class ReferenceReturns:
    env: str
    paper_random: float | None  # None where the random dataset was not available
    paper_expert: float
    d4rl_random: float
    d4rl_expert: float
    missing: dict[str, str] = field(default_factory=dict)  # convention -> why it has no scores
    d4rl_scores: str = "d4rl/infos.py"  # where the d4rl convention's two scores come from
    data: str = ""  # what the data is where it is not the paper's (Minari), for tables

    def normalised(self, episode_return: float, convention: str) -> float:
        if convention not in CONVENTIONS:
            raise ValueError(f"unknown score convention {convention!r}; use one of {CONVENTIONS}")
        if convention in self.missing:
            return float("nan")
        low, high = getattr(self, f"{convention}_random"), getattr(self, f"{convention}_expert")
        return 100.0 * (episode_return - low) / (high - low)


def compute_reference_returns(env: str, random_dataset: str | os.PathLike | None,
                              expert_dataset: str | os.PathLike) -> ReferenceReturns:
    """`random_dataset` None: the paper's convention is missing (NO_RANDOM_DATASET). An
    expert dataset from Minari brings its own reference scores (or their absence) and its
    note that the data are not the paper's."""
    spec = env_spec(env)
    provenance = dataset_attrs(expert_dataset)
    missing = {} if random_dataset is not None else {"paper": NO_RANDOM_DATASET}
    scores = {"d4rl_random": spec.d4rl_random_score, "d4rl_expert": spec.d4rl_expert_score}
    if provenance.get("source") == "minari":
        missing = {"paper": MINARI_NO_RANDOM} if random_dataset is None else missing
        scores = {"d4rl_random": provenance.get("ref_min_score", float("nan")),
                  "d4rl_expert": provenance.get("ref_max_score", float("nan")),
                  "d4rl_scores": f"Minari {provenance['minari_id']}: ref_min_score, "
                                 "ref_max_score", "data": provenance.get("note", "")}
        if "ref_min_score" not in provenance or "ref_max_score" not in provenance:
            missing["d4rl"] = (f"the Minari dataset {provenance['minari_id']} has no "
                               "reference scores")
    refs = ReferenceReturns(
        env=env,
        paper_random=mean_episode_return(random_dataset) if random_dataset is not None else None,
        paper_expert=mean_episode_return(expert_dataset), missing=missing, **scores)
    log.info("%s reference returns: %s", env, refs)
    for convention, reason in refs.missing.items():
        log.warning("%s: the %s convention is missing: %s", env, convention, reason)
    return refs


def save_reference_returns(refs: ReferenceReturns, target: str | os.PathLike) -> None:
    write_json(asdict(refs), target)


def load_reference_returns(path: str | os.PathLike) -> ReferenceReturns:
    with open(path) as f:
        return ReferenceReturns(**json.load(f))
