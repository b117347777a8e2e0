"""contract: code is an input. The project code a job runs: its script and the
`modality_rl` modules it imports, transitively, found by reading their syntax trees
(nothing is imported or executed), and a digest of that code as syntax trees.

Every rule's params carry the digest of its job's code (`code`, rules/common.smk), so
that Snakemake reruns a job whose code changed in what it computes, and what reads its
outputs, as it does for a changed setting; a comment, docstring or formatting edit
changes no tree and reruns nothing. `dvc_stages` makes each DVC stage depend on the
files of its scripts' code. Imports by name at run time (an analysis' table builder, a
figure's drawer: `"module:function"` strings in the analysis registry) are not seen
here; whoever plans the job adds those modules as `extra` roots. Imports no torch: the
Snakefile and DVC's generator use it.
"""

from __future__ import annotations

import ast
import hashlib
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


def _type_checking(node: ast.AST) -> bool:
    """`if TYPE_CHECKING:` (or typing.TYPE_CHECKING): imports for type hints only."""
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"
        or isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _nodes(tree: ast.AST):
    """Every node of the tree but those under `if TYPE_CHECKING:` (never run)."""
    pending = [tree]
    while pending:
        node = pending.pop()
        yield node
        pending += [child for child in ast.iter_child_nodes(node) if not _type_checking(child)]


def _version(path: Path) -> tuple:
    """What the caches below are keyed on: a file edited since is read again."""
    stat = path.stat()
    return path, stat.st_mtime_ns, stat.st_size


def _imported(path: Path) -> tuple[str, ...]:
    """The project modules one file imports, wherever in it (a function's lazy import
    too): `import a.b`, `from a.b import c` (c itself when it is a module), and every
    package above them (importing a.b runs a/__init__)."""
    return _imported_by(*_version(path))


@cache
def _imported_by(path: Path, *version) -> tuple[str, ...]:
    names = set()
    for node in _nodes(ast.parse(path.read_bytes(), filename=str(path))):
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


def _is_docstring(statement: ast.stmt) -> bool:
    return (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
            and isinstance(statement.value.value, str))


def syntax(path: Path) -> str:
    """The file's syntax tree without docstrings, as text: what the code computes, not
    its comments, docstrings or layout."""
    return _syntax_of(*_version(path))


@cache
def _syntax_of(path: Path, *version) -> str:
    tree = ast.parse(path.read_bytes(), filename=str(path))
    scopes = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    for node in ast.walk(tree):
        if isinstance(node, scopes) and node.body and _is_docstring(node.body[0]):
            node.body = node.body[1:] or [ast.Pass()]
    return ast.dump(tree, include_attributes=False)


def label(path: Path) -> str:
    """A file's name in a digest: its module name, or its path from the repository for a
    script (never an absolute path: a moved checkout keeps its digests)."""
    path = path.resolve()
    if SRC in path.parents:
        return module_name(path)
    if SRC.parent in path.parents:
        return path.relative_to(SRC.parent).as_posix()
    return path.name


def code_digest(roots: Iterable[str | Path], extra: Iterable[str] = ()) -> str:
    """The digest of the code `roots` run (import_closure), as syntax trees."""
    digest = hashlib.sha256()
    for path in import_closure(roots, extra):
        digest.update(f"{label(path)}\n{syntax(path)}\n".encode())
    return digest.hexdigest()[:16]
