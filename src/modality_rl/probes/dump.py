"""contract: HDF5. A probe dump, one file per (run, epoch). Reading one needs no torch.

A dump carries `inputs` and only the sections that the analyses reading that epoch
need (analyses.probe_sections: cka reads layers, mutual_information block_outputs,
attention_distance attention and pseudo_attention, gradients gradients); reading a
section that is not there raises MissingSectionError naming the file, the section and
the analyses whose epochs it is written at.

    attrs                 run (experiment, model, env, dataset, seed), epoch, checkpoint,
                          checkpoint_sha256, config_hash, code (modality_rl.code's digest
                          of the probe's code), n_blocks, width,
                          layers (JSON list, forward order), tokens (JSON list),
                          sections (JSON list of the sections written)
    inputs/<key>          the probe batch: states, actions, rewards, returns_to_go,
                          timesteps, mask
    layers/<layer>        (N, 3, width) hooked output at the last step's return, state and
                          action tokens; <layer> is '0.ln_1', '0.attn.c_attn', ...
    block_outputs/<b>     (N, 3K, width) output of block b's mlp.dropout at every token
    attention/<b>         (N, heads, 3K, 3K) attention probabilities of block b
    pseudo_attention/<b>  (N, 3K, 3K) the released code's single pseudo-head
    gradients/            only where probed: sample_norms, cosines, parameter_names,
                          parameter_norms (see probes.gradients)
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass

import h5py
import numpy as np

from modality_rl.analyses import DUMP_SECTIONS, section_writers
from modality_rl.data.windows import WindowBatch
from modality_rl.inputs import damaged, open_hdf5_file
from modality_rl.io import atomic_path

# The last step's tokens, in sequence order: offsets -3, -2, -1 (paper Appendix D.1).
LAST_STEP_TOKENS = ("return_to_go", "state", "action")


@dataclass
class ProbeActivations:
    """What the probe recorded: each field is a dump section, None where not asked for."""
    n_blocks: int
    width: int
    layer_names: list[str]  # the hooked layers in forward order, recorded or not
    layers: dict[str, np.ndarray] | None = None  # '0.ln_1' -> (N, 3 last-step tokens, width)
    block_outputs: list[np.ndarray] | None = None  # per block: (N, 3K, width), mlp.dropout
    attention: list[np.ndarray] | None = None  # per block: (N, heads, 3K, 3K)
    pseudo_attention: list[np.ndarray] | None = None  # per block: (N, 3K, 3K), released code's


@dataclass
class GradientProbe:
    sample_norms: np.ndarray  # (norm_samples,) norms of the clipped block gradients
    cosines: np.ndarray  # (cosine_samples, cosine_samples)
    parameter_names: list[str]  # Listing 3 names: '0.ln_1.weight', ...
    parameter_norms: np.ndarray  # clipped whole-batch gradient norm per parameter set

# lzf: a fraction of gzip's time for most of its saving on activations (shuffle helps floats).
COMPRESSION = {"compression": "lzf", "shuffle": True}


class MissingSectionError(LookupError):
    """A dump lacks a section: its epoch is not one the analysis reading it reads."""


def write_probe_dump(target: str | os.PathLike, batch: WindowBatch,
                     activations: ProbeActivations, gradients: GradientProbe | None,
                     attrs: dict, sections: Sequence[str]) -> None:
    """Write `inputs` and the given sections (of DUMP_SECTIONS) to a temporary file and
    rename it into place when complete."""
    unknown = sorted(set(sections) - set(DUMP_SECTIONS))
    if unknown:
        raise ValueError(f"unknown dump section(s) {unknown}; sections are {DUMP_SECTIONS}")
    data = {section: gradients if section == "gradients" else getattr(activations, section)
            for section in sections}
    unrecorded = [section for section, value in data.items() if value is None]
    if unrecorded:
        raise ValueError(f"dump sections {unrecorded} were asked for but not recorded")
    with atomic_path(target) as tmp, h5py.File(tmp, "w") as f:
        f.attrs.update({**attrs, "n_blocks": activations.n_blocks, "width": activations.width,
                        "layers": json.dumps(activations.layer_names),
                        "tokens": json.dumps(LAST_STEP_TOKENS),
                        "sections": json.dumps([s for s in DUMP_SECTIONS if s in data])})
        for key, array in batch.as_dict().items():
            f.create_dataset(f"inputs/{key}", data=array)
        for section, value in data.items():
            if section == "gradients":
                for field in ("sample_norms", "cosines", "parameter_names", "parameter_norms"):
                    f.create_dataset(f"gradients/{field}", data=getattr(value, field))
                continue
            items = value.items() if section == "layers" else enumerate(value)
            for name, array in items:
                f.create_dataset(f"{section}/{name}", data=array, **COMPRESSION)


class ProbeDump:
    """Read access to one dump: `with ProbeDump(path) as dump: dump.layer('0.ln_1', 'state')`.
    A damaged dump (cut short, unreadable, missing what its attributes promise) raises
    inputs.InputError naming the file and how to rebuild it."""

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        self._file = open_hdf5_file(self.path, "probe dump")
        try:
            self.attrs = dict(self._file.attrs)
            self.layer_names: list[str] = json.loads(self.attrs["layers"])
            self.tokens: list[str] = json.loads(self.attrs["tokens"])
            self.n_blocks = int(self.attrs["n_blocks"])
        except (KeyError, ValueError, OSError) as err:
            self._file.close()
            raise damaged(self.path, "probe dump",
                          f"its attributes are unreadable ({err!r})") from err
        self.sections = [s for s in DUMP_SECTIONS if s in self._file]

    def __enter__(self) -> ProbeDump:
        return self

    def __exit__(self, *exc) -> None:
        self._file.close()

    def _read(self, key: str, index=()) -> np.ndarray:
        """One array of the dump (or `index` of it), its damage named."""
        try:
            return self._file[key][index]
        except (KeyError, OSError) as err:
            raise damaged(self.path, "probe dump", f"cannot read {key!r} ({err})") from err

    def inputs(self) -> WindowBatch:
        return WindowBatch(**{key: self._read(f"inputs/{key}")
                              for key in WindowBatch.__dataclass_fields__})

    def section(self, section: str) -> h5py.Group:
        """One section of the dump; MissingSectionError if the probe did not write it."""
        if section not in self.sections:
            writers = " and ".join(f"analysis.{name}" for name in section_writers(section))
            raise MissingSectionError(
                f"{self.path} has no section {section!r}: the probe writes it only into the "
                f"dumps of the runs and epochs that {writers or 'no analysis'} reads "
                f"(experiment and epoch(s) in the config); this dump has {self.sections}")
        return self._file[section]

    def layer(self, name: str, token: str) -> np.ndarray:
        """(N, width) activation of layer `name` at the last step's `token`."""
        if token not in self.tokens:
            raise KeyError(f"unknown token {token!r}; dumps hold {self.tokens}")
        self.section("layers")
        return self._read(f"layers/{name}", (slice(None), self.tokens.index(token)))

    def block_output(self, block: int) -> np.ndarray:
        self.section("block_outputs")
        return self._read(f"block_outputs/{block}")

    def attention(self, block: int) -> np.ndarray:
        self.section("attention")
        return self._read(f"attention/{block}")

    def pseudo_attention(self, block: int) -> np.ndarray:
        self.section("pseudo_attention")
        return self._read(f"pseudo_attention/{block}")

    def gradients(self) -> GradientProbe:
        self.section("gradients")
        return GradientProbe(sample_norms=self._read("gradients/sample_norms"),
                             cosines=self._read("gradients/cosines"),
                             parameter_names=[n.decode() for n in
                                              self._read("gradients/parameter_names")],
                             parameter_norms=self._read("gradients/parameter_norms"))
