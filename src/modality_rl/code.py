"""The project code a job runs: a script and the `modality_rl` modules it imports,
transitively, found by reading their syntax trees (nothing is imported or executed).

`dvc_stages` makes each DVC stage depend on the code of its scripts. Imports by name at
run time (an analysis' table builder, a figure's drawer: `"module:function"` strings in
the analysis registry) are not seen here; whoever plans the job adds those modules as
`extra` roots. Imports no torch: the Snakefile and DVC's generator use it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from functools import cache
from pathlib import Path

PACKAGE = "modality_rl"
SRC = Path(__file__).resolve().parents[1]  # src/, which holds the package


def module_file(name: str) -> Path | None:
    """The file of project module `name` (a package's __init__.py), or None."""
    if name != PACKAGE and not name.startswith(PACKAGE + "."):
        return None
    base = SRC.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def module_name(path: Path) -> str:
    """The dotted name of a file under src/."""
    parts = path.resolve().relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _imported(path: Path) -> tuple[str, ...]:
    """The project modules one file imports: `import a.b`, `from a.b import c` (c itself
    when it is a module), and every package above them (importing a.b runs a/__init__)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    found = set()
    for name in names:
        parts = name.split(".")
        found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1)
                     if module_file(".".join(parts[:i])) is not None)
    return tuple(sorted(found))


def import_closure(roots: Iterable[str | Path], extra: Iterable[str] = ()) -> list[Path]:
    """The files of `roots` (scripts or module files) and of every project module they
    import, transitively, plus the modules named in `extra` ("pkg.mod" or
    "pkg.mod:function") and theirs; sorted, without repeats."""
    pending = [Path(root).resolve() for root in roots]
    unknown = [name for name in extra if module_file(name.split(":")[0]) is None]
    if unknown:
        raise ValueError(f"not modules of {PACKAGE}: {unknown}")
    pending += [module_file(name.split(":")[0]) for name in extra]
    seen: set[Path] = set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        pending += [module_file(name) for name in _imported(path)]
    return sorted(seen)
