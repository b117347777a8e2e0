"""Job specs: the one typed object a rule hands its script.

Every rule passes its script a single JSON object (on the command line, or `@file.json`).
The script loads it into a keyword-only frozen dataclass with `load_spec`, which checks
every key and value against the dataclass's type hints and names the offending field when
one is wrong. `spec_help` lists the fields for `--help`, so a script can be run by hand:

    python scripts/gather_table.py '{"partitions": ["a.csv", "b.csv"], "out": "all.csv"}'

Settings dataclasses that mirror a section of the configuration are checked against the
JSON schema by `schema_mismatch` (tests/test_specs.py), so a field is defined once and the
schema and the code cannot drift apart. This module imports no torch: the Snakefile and the
table jobs use it.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar

T = TypeVar("T")


class SpecError(ValueError):
    """A job spec does not fit its dataclass; the message names the field."""


def load_spec(cls: type[T], source: str) -> T:
    """`source` is a JSON object, or `@path` to a file holding one."""
    if source.startswith("@"):
        source = Path(source[1:]).read_text()
    try:
        data = json.loads(source)
    except json.JSONDecodeError as err:
        raise SpecError(f"the {cls.__name__} spec is not valid JSON: {err}") from None
    return from_data(cls, data)


def from_data(cls: type[T], data: Any, where: str = "spec") -> T:
    """Build `cls` (a dataclass) from JSON-like data, checking names and types."""
    return _convert(cls, data, where)


def to_data(spec: Any) -> Any:
    """A spec (or any nested dataclass) as JSON-able data; the inverse of `from_data`."""
    if dataclasses.is_dataclass(spec):
        return {f.name: to_data(getattr(spec, f.name)) for f in dataclasses.fields(spec)}
    if isinstance(spec, (list, tuple)):
        return [to_data(v) for v in spec]
    if isinstance(spec, dict):
        return {str(k): to_data(v) for k, v in spec.items()}
    return spec


def dump_spec(spec: Any) -> str:
    """Canonical JSON (sorted keys): equal specs give equal text."""
    return json.dumps(to_data(spec), sort_keys=True)


def _convert(tp: Any, value: Any, where: str) -> Any:
    if dataclasses.is_dataclass(tp):
        return _dataclass(tp, value, where)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return _convert(option, value, where)
            except SpecError as err:
                errors.append(str(err))
        raise SpecError(errors[0] if len(errors) == 1 else
                        f"{where}: {value!r} fits none of {_name(tp)}")
    if origin is Literal:
        if value not in args:
            raise SpecError(f"{where}: {value!r} is not one of {list(args)}")
        return value
    if origin is tuple:
        items = _sequence(value, where)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v, f"{where}[{i}]") for i, v in enumerate(items))
        if len(items) != len(args):
            raise SpecError(f"{where}: expected {len(args)} items, got {len(items)}")
        return tuple(_convert(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, items)))
    if origin is list:
        return [_convert(args[0], v, f"{where}[{i}]")
                for i, v in enumerate(_sequence(value, where))]
    if origin is dict:
        if not isinstance(value, dict):
            raise SpecError(f"{where}: expected an object, got {value!r}")
        key_type, value_type = args
        return {_key(key_type, k, where): _convert(value_type, v, f"{where}[{k!r}]")
                for k, v in value.items()}
    if tp is Any:
        return value
    return _scalar(tp, value, where)


def _dataclass(cls: type, value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        raise SpecError(f"{where}: expected an object for {cls.__name__}, got {value!r}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise SpecError(f"{where}: unknown field(s) {unknown}; {cls.__name__} has "
                        f"{sorted(fields)}")
    missing = sorted(name for name, f in fields.items() if name not in value
                     and f.default is dataclasses.MISSING
                     and f.default_factory is dataclasses.MISSING)
    if missing:
        raise SpecError(f"{where}: missing field(s) {missing} of {cls.__name__}")
    hints = typing.get_type_hints(cls)
    return cls(**{name: _convert(hints[name], item, f"{where}.{name}")
                  for name, item in value.items()})


def _sequence(value: Any, where: str) -> list:
    if not isinstance(value, (list, tuple)):
        raise SpecError(f"{where}: expected a list, got {value!r}")
    return list(value)


def _key(key_type: type, key: str, where: str) -> Any:
    """JSON object keys are strings; int keys (epochs) come back as ints."""
    try:
        return key_type(key)
    except ValueError:
        raise SpecError(f"{where}: key {key!r} is not {key_type.__name__}") from None


def _scalar(tp: type, value: Any, where: str) -> Any:
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float) and isinstance(value, bool):
        raise SpecError(f"{where}: expected {tp.__name__}, got {value!r}")
    if not isinstance(value, tp):
        raise SpecError(f"{where}: expected {tp.__name__}, got {value!r}")
    return value


def _name(tp: Any) -> str:
    return tp.__name__ if isinstance(tp, type) else str(tp).replace("typing.", "")


def field_lines(cls: type, prefix: str = "") -> list[str]:
    """One line per leaf field, `name: type`, nested dataclasses flattened with dots."""
    lines = []
    for f in dataclasses.fields(cls):
        tp = typing.get_type_hints(cls)[f.name]
        name = prefix + f.name
        default = "" if f.default is dataclasses.MISSING else f" = {f.default!r}"
        inner = [a for a in typing.get_args(tp) if dataclasses.is_dataclass(a)]
        if dataclasses.is_dataclass(tp) or inner:
            lines += field_lines(tp if dataclasses.is_dataclass(tp) else inner[0], name + ".")
        else:
            lines.append(f"{name}: {_name(tp)}{default}")
    return lines


def spec_help(cls: type) -> str:
    return (f"SPEC is a JSON object (or @file.json) of {cls.__name__}:\n  "
            + "\n  ".join(field_lines(cls)))


def schema_mismatch(cls: type, schema: dict, section: str,
                    planning: tuple[str, ...] = ()) -> list[str]:
    """How the dataclass `cls` and the schema's `section` (dotted path) disagree: the names
    missing on either side. `planning` keys are read by the workflow, not by the code that
    takes `cls`."""
    node = schema
    for part in section.split("."):
        node = node["properties"][part]
        if "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
    properties = set(node["properties"]) - set(planning)
    fields = {f.name for f in dataclasses.fields(cls)}
    problems = [f"schema {section}.{key} has no field in {cls.__name__}"
                for key in sorted(properties - fields)]
    problems += [f"{cls.__name__}.{name} is not a key of schema {section}"
                 for name in sorted(fields - properties)]
    return problems
