"""Where the real D4RL v2 files come from: the `data.d4rl` settings, typed.

A copy in `local_dir` is used first. Otherwise the sources are tried in the order that
`sources` lists them, and the first that yields a verified file wins:

  url  the D4RL release itself (`url`, a template with {env} and {dataset}: D4RL's
       spelling, medium_replay);
  hub  the Hugging Face Hub mirror of the trajectories the Decision Transformer's code
       made from D4RL (`hub`), at a pinned commit, converted to the D4RL v2 schema
       (modality_rl.data.hub_mirror). It holds only some datasets (no -random-v2).

This module imports nothing heavy: the Snakefile reads it to plan which datasets exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from modality_rl.data.datasets import dataset_names
from modality_rl.spec import SpecError, from_data

SOURCE_KINDS = ("url", "hub")
COMMIT_HASH = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True, kw_only=True)
class HubMirror:
    repo: str  # a dataset repository on the Hub
    # A full commit hash: a branch name would let the files change under a finished run.
    revision: str
    file: str  # the parquet of one dataset, with {env} and {dataset}
    datasets: tuple[str, ...]  # the D4RL datasets (medium, expert, ...) the mirror holds

    def __post_init__(self) -> None:
        if not COMMIT_HASH.fullmatch(self.revision):
            raise SpecError(f"data.d4rl.hub.revision must be a full 40-hex commit hash of "
                             f"{self.repo}, not {self.revision!r}")

    def holds(self, dataset: str) -> bool:
        return dataset in self.datasets

    def filename(self, env: str, dataset: str) -> str:
        """The mirror's file of (env, dataset): its folders are D4RL's ids (medium-replay)."""
        return self.file.format(env=env, dataset=dataset)

    def describe(self, env: str, dataset: str) -> str:
        return f"{self.repo}@{self.revision}:{self.filename(env, dataset)}"


@dataclass(frozen=True, kw_only=True)
class D4RLSources:
    """config key `data.d4rl`, as it is."""
    local_dir: str  # searched for {env}_{dataset}-v2.hdf5 before any source
    checksums: str  # sha256sum-format list every file is checked against
    sources: tuple[str, ...]  # kinds from SOURCE_KINDS, tried first to last
    url: str | None = None
    hub: HubMirror | None = None

    def __post_init__(self) -> None:
        unknown = [kind for kind in self.sources if kind not in SOURCE_KINDS]
        if unknown or not self.sources or len(set(self.sources)) != len(self.sources):
            raise SpecError(f"data.d4rl.sources must list distinct kinds from {SOURCE_KINDS}, "
                            f"got {list(self.sources)}")
        for kind in self.sources:
            if getattr(self, kind) is None:
                raise SpecError(f"data.d4rl.sources lists {kind!r} but data.d4rl.{kind} is "
                                "not set")

    @classmethod
    def from_config(cls, section: dict) -> D4RLSources:
        """From the `data.d4rl` section of the configuration."""
        return from_data(cls, section, "data.d4rl")

    @property
    def local_path(self) -> Path:
        return Path(self.local_dir).expanduser()

    def holds(self, kind: str, dataset: str) -> bool:
        """Whether source `kind` can serve `dataset` at all (the D4RL release has them all)."""
        return kind == "url" or self.hub.holds(dataset)

    def provides(self, dataset: str) -> bool:
        """Whether some listed source can serve `dataset`."""
        return any(self.holds(kind, dataset) for kind in self.sources)

    def what_each_holds(self) -> str:
        """For error messages: each listed source and the datasets it serves."""
        return "; ".join(
            f"{kind}: {'every D4RL dataset' if kind == 'url' else list(self.hub.datasets)}"
            for kind in self.sources)

    def url_of(self, env: str, dataset: str) -> str:
        return self.url.format(env=env, dataset=dataset_names(env, dataset).token)

    def describe(self, kind: str, env: str, dataset: str) -> str:
        if kind == "url":
            return f"url {self.url_of(env, dataset)}"
        return f"hub {self.hub.describe(env, dataset)}"
