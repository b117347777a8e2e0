"""contract: the configuration is checked whole before any job runs.

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

import json
import os
from pathlib import Path

import jsonschema
import yaml

from modality_rl.analyses import ANALYSES, analysis_epochs, configured


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
    schema = config_schema(schema_path)
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(config))
    if error is not None:
        raise ConfigError(f"config key {key_path(error.absolute_path)}: {error.message}")
    for problem in reference_problems(config) + path_problems(config):
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
        layers = config["backbones"]["random"]["n_layer"]
        problems += [f"config key experiments.{name}.blocks: block {b} is not one of the "
                     f"random body's {layers} blocks (backbones.random.n_layer)"
                     for b in experiment.get("blocks", []) if b >= layers]
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


# The architectures (config.json `model_type`) a local weights directory may hold, by
# the backbone that loads it.
LOCAL_MODEL_TYPES = {"gpt2": ("gpt2",), "igpt": ("imagegpt",)}


def weights_directory_problem(key: str, directory: str, model_types: tuple[str, ...],
                              ) -> str | None:
    """Why `directory` (config key `key`) is not a save_pretrained directory of one of
    `model_types`, or None."""
    path = Path(directory).expanduser()
    if not path.is_dir():
        return f"config key {key}: {directory!r} is not a directory"
    config_json = path / "config.json"
    try:
        model_type = json.loads(config_json.read_text()).get("model_type")
    except FileNotFoundError:
        return (f"config key {key}: {directory!r} holds no config.json; it must be a "
                "save_pretrained directory")
    except (json.JSONDecodeError, AttributeError) as err:
        return f"config key {key}: {config_json} is not a JSON object ({err})"
    if model_type not in model_types:
        return (f"config key {key}: {directory!r} holds a {model_type!r} model "
                f"(config.json model_type); this backbone loads {list(model_types)}")
    return None


def path_problems(config: dict) -> list[str]:
    """Every file or directory the configuration names that is not what it must be."""
    problems = []
    for name, backbone in config["backbones"].items():
        source, key = backbone.get("source"), f"backbones.{name}.name"
        if source == "local":
            problems.append(weights_directory_problem(key, backbone["name"],
                                                      LOCAL_MODEL_TYPES[name]))
        elif source == "architecture" and not (Path(backbone["name"]) / "config.json").is_file():
            problems.append(f"config key {key}: {backbone['name']!r} holds no config.json "
                            "(the architecture to build with random weights)")
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
