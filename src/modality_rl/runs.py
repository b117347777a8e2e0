"""contract: run identity. Which training runs a configuration asks for, and their settings.

A run is (experiment, model, env, dataset, seed). The experiment fixes context length,
epochs, gradient clipping and, for block_swap, the blocks: its models are then
`<donor>_block{b}` (gpt2_block{b} in the paper), its receiver body (random) whose block b
is the donor's. Which body a model is: modality_rl.bodies. This module imports no torch,
so the Snakefile can use it to plan jobs cheaply.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from modality_rl import bodies, paths


@dataclass(frozen=True, kw_only=True)
class Run:
    experiment: str
    model: str
    env: str
    dataset: str
    seed: int

    @property
    def wildcards(self) -> dict[str, str | int]:
        """The run's values of the wildcards in `paths` patterns."""
        return asdict(self)

    @property
    def directory(self) -> str:
        return paths.fill(paths.RUN, **self.wildcards)

    def path(self, pattern: str) -> str:
        """One of the run's files: run.path(paths.RUN_METRICS)."""
        return paths.fill(pattern, **self.wildcards)


def swapped_block(model: str) -> int | None:
    """The donor's block a block-swap model carries, or None for the other models."""
    swap = bodies.swapped_block(model)
    return swap[1] if swap else None


def experiment_models(experiment: dict) -> list[str]:
    if "blocks" in experiment:
        return [f"{bodies.donor(experiment)}_block{b}" for b in experiment["blocks"]]
    return list(experiment["models"])


def enumerate_runs(config: dict) -> list[Run]:
    """Every run of every configured experiment, restricted to the configured models."""
    runs = []
    for name, experiment in config["experiments"].items():
        models = experiment_models(experiment)
        if "blocks" not in experiment:  # block swap models need their donor, not `models`
            models = [m for m in models if m in config["models"]]
        for model in models:
            for env in config["envs"]:
                for dataset in config["datasets"]:
                    for seed in experiment.get("seeds", config["seeds"]):
                        runs.append(Run(experiment=name, model=model, env=env,
                                        dataset=dataset, seed=seed))
    return runs


def experiment_epochs(experiment: dict, env: str) -> int:
    epochs = experiment["epochs"]
    return epochs if isinstance(epochs, int) else epochs[env]


def run_settings(config: dict, run: Run, pretrained_locations: dict[str, dict],
                 checkpoint_epochs: list[int]) -> dict:
    """The JSON-able settings of one run (training.RunSettings): the `training` section as
    it is, what the run's experiment fixes for its env, its env's evaluation and its model.

    `pretrained_locations` maps `backbones.<key>` to {"name_or_path", "revision"} (and
    `load_as` where the entry has one); `checkpoint_epochs` are the epochs whose weights it
    keeps (analyses.checkpoint_epochs).
    """
    experiment = config["experiments"][run.experiment]
    epochs = experiment_epochs(experiment, run.env)
    return {
        "run": run.wildcards,
        "training": config["training"],
        "schedule": {
            "context_length": experiment["context_length"], "epochs": epochs,
            "grad_clip": experiment["grad_clip"],
            "checkpoint_epochs": checkpoint_epochs,
        },
        "evaluation": {**config["evaluation"], "targets": config["evaluation"]["targets"][run.env]},
        "model": {
            "name": run.model,
            "random_body": bodies.random_body(config, run.model),
            "pretrained": {w: pretrained_locations[w]
                           for w in bodies.weights_of(config, run.model)},
        },
    }
