"""contract: configuration. Checked whole before any job runs.

First against the JSON schema (schemas/config.schema.yaml, with each registered
analysis' section from its registry entry, modality_rl.analyses), reporting the one most
relevant error as the key's dotted path and its problem in a line or two (Snakemake's own
`validate` prints the whole schema, some 600 lines); then the cross-references a schema
cannot express: the experiment an analysis reads exists, its epochs are kept checkpoints
of that experiment's runs in every configured env, every env has its evaluation targets
and epochs, swapped blocks exist; last, the files and directories it names (a job that
found one missing would fail only after Snakemake had deleted the good outputs it
replaces). Imports no torch: the Snakefile calls it.
"""

from __future__ import annotations

import os
from pathlib import Path

import jsonschema
import yaml

from modality_rl import bodies
from modality_rl.analyses import ANALYSES, analysis_epochs, configured
from modality_rl.data.datasets import dataset_names, ingredients
from modality_rl.data.sources import D4RLSources
from modality_rl.tracking import wandb_problem


class ConfigError(ValueError):
    """The configuration is wrong; the message names the key."""


def key_path(parts) -> str:
    return ".".join(str(part) for part in parts) or "(top level)"


def config_schema(schema_path: str | os.PathLike) -> dict:
    """The schema file with the section of every registered analysis under `analysis`: an
    object of the keys its entry lists (all required) and `experiment`, or null (the
    analysis is left out; as is one the configuration does not name)."""
    with open(schema_path) as f:
        schema = yaml.safe_load(f)
    sections = schema["properties"]["analysis"]["properties"]
    for name, analysis in ANALYSES.items():
        keys = yaml.safe_load(analysis.config)
        sections[name] = {
            "description": f"{name} (modality_rl/analyses/{name}.py); null leaves it out.",
            "type": ["object", "null"], "additionalProperties": False,
            "required": ["experiment", *keys],
            "properties": {"experiment": {"$ref": "#/$defs/analysed_experiment"}, **keys}}
    return schema


def check_config(config: dict, schema_path: str | os.PathLike) -> None:
    if "dataset" in config:  # before the schema, whose message would only say "unexpected"
        raise ConfigError(f"config key dataset: replaced by datasets, a list (datasets: "
                          f"[{config['dataset']}]), which may name several D4RL datasets")
    schema = config_schema(schema_path)
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(config))
    if error is not None:
        raise ConfigError(f"config key {key_path(error.absolute_path)}: {error.message}")
    for problem in path_problems(config) + reference_problems(config):
        raise ConfigError(problem)
    if problem := wandb_problem(config["tracking"]["wandb"]):
        raise ConfigError(problem)


def reference_problems(config: dict) -> list[str]:
    """Every cross-reference of a schema-valid configuration that does not hold."""
    experiments, envs = config["experiments"], config["envs"]
    problems = [f"config key evaluation.targets has no {env!r} (envs lists it)"
                for env in envs if env not in config["evaluation"]["targets"]]
    for name, experiment in experiments.items():
        if isinstance(experiment["epochs"], dict):
            problems += [f"config key experiments.{name}.epochs has no {env!r} (envs lists it)"
                         for env in envs if env not in experiment["epochs"]]
    problems += body_problems(config) + dataset_problems(config)
    if problems:  # the analyses' epochs depend on the experiments' epochs
        return problems
    for name in configured(config):
        analysis = config["analysis"][name]
        if analysis["experiment"] not in experiments:
            problems.append(f"config key analysis.{name}.experiment: {analysis['experiment']!r} "
                            f"is not an experiment; experiments are {list(experiments)}")
            continue
        for env in envs:
            try:
                analysis_epochs(config, name, env)
            except ValueError as err:
                problems.append(f"config key analysis.{name}: {err}")
                break
    return problems


def body_problems(config: dict) -> list[str]:
    """Every model is a backbone entry; block swap's donor and receiver fit each other;
    every body a run uses can be planned (its config.json is there, of a family an
    adapter reads)."""
    names, experiments = config["backbones"], config["experiments"]
    problems = [f"config key backbones.{name}: a backbone's name may not end in _block<b>, "
                "the names of block swap's models" for name in names if bodies.swapped_block(name)]
    lists = [("models", config["models"])] + [(f"experiments.{e}.models", x["models"])
                                             for e, x in experiments.items() if "models" in x]
    problems += [f"config key {key}: {model!r} is not a key of backbones, whose entry of a "
                 f"model's name is its body (backbones: {sorted(names)})"
                 for key, models in lists for model in models if model not in names]
    used = {model for _, models in lists for model in models if model in names}
    for name, experiment in experiments.items():
        if "blocks" in experiment:
            problems += block_swap_problems(config, name, experiment)
            used.update((bodies.donor(experiment), bodies.receiver(experiment)))
    for name in sorted(used & set(names)):
        try:
            bodies.body_config(config, name)
        except bodies.BodyConfigError as err:
            problems.append(str(err))
    return problems


def dataset_problems(config: dict) -> list[str]:
    """Every configured dataset can be made from the configured source: D4RL's release
    serves them all; the Hub mirror only those it lists; a stitched one (medium-expert)
    needs its parts; a copy in local_dir always serves."""
    if config["data"]["source"] == "minari":
        return minari_dataset_problems(config)
    if config["data"]["source"] != "d4rl":
        return []
    sources = D4RLSources.from_config(config["data"]["d4rl"])

    def served(dataset: str) -> bool:
        copies = [sources.local_path / dataset_names(env, dataset).d4rl_file
                  for env in config["envs"]]
        return sources.provides(dataset) or all(copy.exists() for copy in copies)

    problems = []
    for dataset in config["datasets"]:
        parts = ingredients(dataset) if "url" not in sources.sources else ()
        for needed in parts or (dataset,):
            if not served(needed):
                made_of = f" (stitched from {' and '.join(parts)})" if parts else ""
                problems.append(
                    f"config key datasets: {dataset!r}{made_of} needs {needed!r}, which no "
                    f"configured source serves (data.d4rl.sources, {sources.what_each_holds()}) "
                    f"and {sources.local_path} (data.d4rl.local_dir) does not hold; add url to "
                    "data.d4rl.sources, or list it in data.d4rl.hub.datasets where the mirror "
                    "holds it (medium, medium-replay and expert), or copy the D4RL files there")
    return problems


def minari_dataset_problems(config: dict) -> list[str]:
    """Minari serves the datasets `data.minari.datasets` lists, and the stitched ones made
    of them; the reference returns need its expert dataset."""
    held = config["data"]["minari"]["datasets"]

    def served(dataset: str) -> bool:
        parts = ingredients(dataset)
        return dataset in held or bool(parts) and set(parts) <= set(held)

    return [f"config key datasets: {dataset!r} is not one of the datasets Minari's group "
            f"holds ({held}, data.minari.datasets, and the stitched datasets made of them); "
            "use another data.source for it"
            for dataset in dict.fromkeys([*config["datasets"], "expert"]) if not served(dataset)]


def block_swap_problems(config: dict, name: str, experiment: dict) -> list[str]:
    """The donor has weights, the receiver is a random body of the donor's family and
    width, and it has every swapped block."""
    key, donor, receiver = f"experiments.{name}", bodies.donor(experiment), bodies.receiver(
        experiment)
    for role, body in (("donor", donor), ("receiver", receiver)):
        if body not in config["backbones"]:
            return [f"config key {key}.{role}: {body!r} is not a key of backbones"]
    if bodies.source(config["backbones"][receiver]) != "random":
        return [f"config key {key}.receiver: backbones.{receiver} is not a random body "
                "(source random), which a block is swapped into"]
    if not bodies.weights_of(config, donor):
        return [f"config key {key}.donor: backbones.{donor} has no weights to give a block"]
    try:
        (donor_family, donor_config), (receiver_family, receiver_config) = (
            bodies.body_config(config, donor), bodies.body_config(config, receiver))
    except bodies.BodyConfigError as err:
        return [str(err)]
    if donor_family.model_class != receiver_family.model_class:
        return [f"config key {key}: the donor backbones.{donor} has {donor_family.name} blocks "
                f"({donor_family.model_class}), the receiver backbones.{receiver} "
                f"{receiver_family.name} blocks ({receiver_family.model_class}): a block moves "
                "only between bodies of one family"]
    widths = [family.size(c, "n_embd") for family, c in ((donor_family, donor_config),
                                                          (receiver_family, receiver_config))]
    if widths[0] != widths[1]:
        return [f"config key {key}: the donor backbones.{donor} is {widths[0]} wide, the "
                f"receiver backbones.{receiver} {widths[1]}: a swapped block needs one width"]
    layers = min(receiver_family.size(receiver_config, "n_layer"),
                 donor_family.size(donor_config, "n_layer"))
    return [f"config key {key}.blocks: block {b} is not one of the {layers} blocks both the "
            f"receiver backbones.{receiver} and the donor backbones.{donor} have"
            for b in experiment["blocks"] if b >= layers]


def path_problems(config: dict) -> list[str]:
    """Every file or directory the configuration names that is not what it must be."""
    problems = []
    for name, backbone in config["backbones"].items():
        key, directory = f"backbones.{name}.name", backbone.get("name", "")
        if bodies.source(backbone) in ("local", "architecture"):
            if not Path(directory).expanduser().is_dir():
                problems.append(f"config key {key}: {directory!r} is not a directory")
            elif not (Path(directory).expanduser() / "config.json").is_file():
                problems.append(f"config key {key}: {directory!r} holds no config.json; it "
                                "must be a save_pretrained directory (source local) or hold "
                                "the architecture's (source architecture)")
    d4rl = config["data"]["d4rl"]
    if config["data"]["source"] == "d4rl":
        local = Path(d4rl["local_dir"]).expanduser()
        if local.exists() and not local.is_dir():
            problems.append(f"config key data.d4rl.local_dir: {d4rl['local_dir']!r} is not a "
                            "directory")
        if Path(d4rl["checksums"]).is_dir():
            problems.append(f"config key data.d4rl.checksums: {d4rl['checksums']!r} is a "
                            "directory, not a sha256sum list")
    return [problem for problem in problems if problem]
