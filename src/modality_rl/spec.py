"""Job specs: the one typed object a rule hands its script.

Every rule passes its script a single JSON object (on the command line, or `@file.json`).
The script loads it into a keyword-only frozen dataclass with `load_spec`, which has
pydantic check every key and value against the dataclass's type hints, and names the
offending field when one is wrong. `spec_help` lists the fields for `--help`, so a
script can be run by hand:

    python scripts/gather_table.py '{"partitions": ["a.csv", "b.csv"], "out": "all.csv"}'

Settings dataclasses that mirror a section of the configuration are checked against the
JSON schema by `schema_mismatch` (tests/test_specs.py), so a field is defined once and the
schema and the code cannot drift apart. This module imports no torch; pydantic costs a
job about 60 ms (bench/spec_cost.py).
"""

from __future__ import annotations

import dataclasses
import json
import typing
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import pydantic

T = TypeVar("T")


class SpecError(ValueError):
    """A job spec does not fit its dataclass; the message names the field."""


def load_spec(cls: type[T], source: str) -> T:
    """`source` is a JSON object, or `@path` to a file holding one."""
    if source.startswith("@"):
        source = Path(source[1:]).read_text()
    return _validate(cls, source, "spec")


def from_data(cls: type[T], data: Any, where: str = "spec") -> T:
    """Build `cls` (a dataclass) from JSON-like data, checking names and types."""
    return _validate(cls, json.dumps(data), where)


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


# -- checking, by pydantic ----------------------------------------------------------------
# Strict, as JSON allows: a list becomes a tuple, an int a float, an object key an int
# (epochs), and nothing else is converted ("3" is not an int, 1 is not a bool); unknown
# keys are refused. The dataclasses stay plain stdlib ones: pydantic validates them as
# the field of a one-field model, whose configuration they inherit.
STRICT = pydantic.ConfigDict(extra="forbid", strict=True)


@cache
def _model(cls: type) -> type[pydantic.BaseModel]:
    return pydantic.create_model(f"{cls.__name__}Spec", __config__=STRICT, spec=(cls, ...))


def _validate(cls: type[T], text: str, where: str) -> T:
    try:
        return _model(cls).model_validate_json(f'{{"spec": {text}}}').spec
    except pydantic.ValidationError as err:
        raise SpecError(_message(cls, err, where)) from None


def _message(cls: type, err: pydantic.ValidationError, where: str) -> str:
    """The first error, as `where.field[1]: problem`."""
    error = err.errors(include_url=False)[0]
    if error["type"] == "json_invalid":
        return f"the {cls.__name__} spec is not valid JSON: {error['ctx']['error']}"
    loc = error["loc"][1:]
    path = where + "".join(f".{part}" if str(part).isidentifier() else f"[{part}]"
                           for part in loc)
    if error["type"] == "missing":
        return f"{path}: missing field"
    if error["type"] in ("unexpected_keyword_argument", "extra_forbidden"):
        known = _fields_at(cls, loc[:-1])
        return f"{path}: unknown field" + (f"; the fields are {known}" if known else "")
    if error["type"] == "value_error":
        return f"{path}: {error['ctx']['error']}"
    return f"{path}: {error['msg'][0].lower()}{error['msg'][1:]}, got {error['input']!r}"


def _fields_at(cls: type, loc: tuple) -> list[str]:
    """The field names of the dataclass at `loc` inside `cls` (empty where there is none)."""
    for part in loc:
        if not dataclasses.is_dataclass(cls) or not isinstance(part, str):
            return []
        cls = typing.get_type_hints(cls).get(part)
        inner = [a for a in typing.get_args(cls) if dataclasses.is_dataclass(a)]
        cls = inner[0] if inner else cls
    return sorted(f.name for f in dataclasses.fields(cls)) if dataclasses.is_dataclass(cls) else []


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
