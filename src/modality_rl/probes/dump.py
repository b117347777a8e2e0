"""contract: HDF5 probe dump, one file per (run, epoch). Reading one needs no torch.

    attrs                 run (experiment, model, env, dataset, seed), epoch, checkpoint,
                          checkpoint_sha256, config_hash, code_version, n_blocks, width,
                          layers (JSON list, forward order), tokens (JSON list)
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
from dataclasses import dataclass

import h5py
import numpy as np

from modality_rl.data.windows import WindowBatch
from modality_rl.io import atomic_path

# The last step's tokens, in sequence order: offsets -3, -2, -1 (paper Appendix D.1).
LAST_STEP_TOKENS = ("return_to_go", "state", "action")


@dataclass
class ProbeActivations:
    layers: dict[str, np.ndarray]  # '0.ln_1' -> (N, 3 last-step tokens, width)
    block_outputs: list[np.ndarray]  # per block: (N, 3K, width), mlp.dropout output
    attentions: list[np.ndarray]  # per block: (N, heads, 3K, 3K)
    pseudo_attentions: list[np.ndarray]  # per block: (N, 3K, 3K), the released code's


@dataclass
class GradientProbe:
    sample_norms: np.ndarray  # (norm_samples,) norms of the clipped block gradients
    cosines: np.ndarray  # (cosine_samples, cosine_samples)
    parameter_names: list[str]  # Listing 3 names: '0.ln_1.weight', ...
    parameter_norms: np.ndarray  # clipped whole-batch gradient norm per parameter set

# lzf: a fraction of gzip's time for most of its saving on activations (shuffle helps floats).
COMPRESSION = {"compression": "lzf", "shuffle": True}


def write_probe_dump(target: str | os.PathLike, batch: WindowBatch,
                     activations: ProbeActivations, gradients: GradientProbe | None,
                     attrs: dict) -> None:
    """Write the dump to a temporary file and rename it into place when complete."""
    with atomic_path(target) as tmp, h5py.File(tmp, "w") as f:
        f.attrs.update({**attrs, "n_blocks": len(activations.block_outputs),
                        "width": activations.block_outputs[0].shape[-1],
                        "layers": json.dumps(list(activations.layers)),
                        "tokens": json.dumps(LAST_STEP_TOKENS)})
        for key, array in batch.as_dict().items():
            f.create_dataset(f"inputs/{key}", data=array)
        for name, array in activations.layers.items():
            f.create_dataset(f"layers/{name}", data=array, **COMPRESSION)
        for group, arrays in (("block_outputs", activations.block_outputs),
                              ("attention", activations.attentions),
                              ("pseudo_attention", activations.pseudo_attentions)):
            for block, array in enumerate(arrays):
                f.create_dataset(f"{group}/{block}", data=array, **COMPRESSION)
        if gradients is not None:
            f.create_dataset("gradients/sample_norms", data=gradients.sample_norms)
            f.create_dataset("gradients/cosines", data=gradients.cosines)
            f.create_dataset("gradients/parameter_names", data=gradients.parameter_names)
            f.create_dataset("gradients/parameter_norms", data=gradients.parameter_norms)


class ProbeDump:
    """Read access to one dump: `with ProbeDump(path) as dump: dump.layer('0.ln_1', 'state')`."""

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        self._file = h5py.File(self.path, "r")
        self.attrs = dict(self._file.attrs)
        self.layer_names: list[str] = json.loads(self.attrs["layers"])
        self.tokens: list[str] = json.loads(self.attrs["tokens"])
        self.n_blocks = int(self.attrs["n_blocks"])

    def __enter__(self) -> ProbeDump:
        return self

    def __exit__(self, *exc) -> None:
        self._file.close()

    def inputs(self) -> WindowBatch:
        return WindowBatch(**{key: self._file[f"inputs/{key}"][()]
                              for key in WindowBatch.__dataclass_fields__})

    def layer(self, name: str, token: str) -> np.ndarray:
        """(N, width) activation of layer `name` at the last step's `token`."""
        if token not in self.tokens:
            raise KeyError(f"unknown token {token!r}; dumps hold {self.tokens}")
        return self._file[f"layers/{name}"][:, self.tokens.index(token)]

    def block_output(self, block: int) -> np.ndarray:
        return self._file[f"block_outputs/{block}"][()]

    def attention(self, block: int) -> np.ndarray:
        return self._file[f"attention/{block}"][()]

    def pseudo_attention(self, block: int) -> np.ndarray:
        return self._file[f"pseudo_attention/{block}"][()]

    def gradients(self) -> GradientProbe:
        if "gradients" not in self._file:
            raise KeyError(f"{self.path} holds no gradient probe: gradients are probed at "
                           "epoch analysis.gradients.epoch of analysis.gradients.experiment")
        g = self._file["gradients"]
        return GradientProbe(sample_norms=g["sample_norms"][()], cosines=g["cosines"][()],
                             parameter_names=[n.decode() for n in g["parameter_names"][()]],
                             parameter_norms=g["parameter_norms"][()])
