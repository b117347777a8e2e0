"""The documentation holds together: README.md stays a short front door that lists every
doc, every relative link and image resolves, every contract the code cites has its
heading in docs/design.md (and every heading a citation), no file points outside the
repository, and the licence is there."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DOCS = REPO / "docs"
DESIGN = REPO / "docs/design.md"
README_MAX_LINES = 150
# Where code comments and docstrings cite contracts (`grep -rn "contract:" ...`).
CODE = ["src", "rules", "scripts", "tests", "bench", "Snakefile"]
SKIPPED_PARTS = {"__pycache__", ".pytest_cache"}
# `contract: <name>.` or `(contract: <name>)`: the name ends at the first "." or ")".
CITATION = re.compile(r"contract: ([^.)\n]+)([.)]?)")
HEADING = re.compile(r"^## contract: (.+?)\s*$", re.MULTILINE)
# [text](target) and ![alt](target); the target ends at whitespace or ")".
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
# Spelled in pieces so that this file does not match itself.
OUTSIDE = "../" + "shared"
DESIGN_NAME = re.compile(r"[\w./-]*" + "design" + r"\.md", re.IGNORECASE)


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def prose(path: Path) -> str:
    """A markdown file without its fenced code blocks (whose brackets are code)."""
    return FENCE.sub("", path.read_text())


def text_files(root: Path) -> list[Path]:
    """Every readable text file under root (or root itself), bytecode and eggs left out."""
    paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    return [p for p in paths
            if not SKIPPED_PARTS & set(p.parts) and not any(
                part.endswith(".egg-info") for part in p.parts) and read_text(p) is not None]


def read_text(path: Path) -> str | None:
    """The file's text, or None for a binary file (a NUL byte, or not UTF-8)."""
    data = path.read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def citations() -> dict[str, list[str]]:
    """{contract name: where it is cited} over the code, this file left out."""
    cited: dict[str, list[str]] = {}
    for root in CODE:
        for path in text_files(REPO / root):
            if path.resolve() == Path(__file__).resolve():
                continue
            text = read_text(path)
            for match in CITATION.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                where = f"{path.relative_to(REPO)}:{line}"
                assert match[2], (f"{where}: 'contract: {match[1]}' must end with '.' or ')' "
                                  "(`contract: <name>.` or `(contract: <name>)`)")
                cited.setdefault(match[1].strip(), []).append(where)
    return cited


def design_headings() -> list[str]:
    return HEADING.findall(DESIGN.read_text())


def repository_files() -> list[Path]:
    """Tracked files, and untracked ones git does not ignore (a new doc before its commit)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=True).stdout
    return [REPO / name for name in dict.fromkeys(listed.decode().split("\0")) if name
            and (REPO / name).is_file()]


def test_readme_is_a_short_front_door():
    lines = README.read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines, at most {README_MAX_LINES}: move the detail "
        "into docs/")
    assert lines[0].startswith("# ")


def test_readme_lists_every_doc():
    linked = {(README.parent / target.split("#")[0]).resolve()
              for target in LINK.findall(prose(README))}
    missing = [p.name for p in sorted(DOCS.glob("*.md")) if p.resolve() not in linked]
    assert not missing, f"README.md's table of the docs lacks {missing}"


@pytest.mark.parametrize("name", ["running", "computing", "developing", "design"])
def test_each_manual_stands_alone(name):
    name = f"{name}.md"
    lines = (DOCS / name).read_text().splitlines()
    assert lines[0].startswith("# "), f"docs/{name} starts with its title"
    assert any(line.startswith("Who this is for:") for line in lines[:5]), (
        f"docs/{name} says who it is for, under its title")


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_and_image_resolves(path):
    broken = []
    for target in LINK.findall(prose(path)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) or target.startswith("#"):
            continue  # a URL, mailto:, or an anchor in the same file
        if not (path.parent / target.split("#")[0]).exists():
            broken.append(target)
    assert not broken, f"{path.relative_to(REPO)} links to missing files: {broken}"


def test_the_link_pattern_finds_links_and_images():
    text = "see [a](docs/a.md) and ![b](docs/assets/b.png \"t\"), not `[c]`"
    assert LINK.findall(text) == ["docs/a.md", "docs/assets/b.png"]


def test_every_cited_contract_has_its_heading_in_design_md():
    headings = design_headings()
    assert len(headings) == len(set(headings)), "docs/design.md repeats a contract heading"
    unresolved = {name: places for name, places in citations().items()
                  if name not in headings}
    assert not unresolved, (
        f"contracts cited in the code with no '## contract: <name>' heading in "
        f"docs/design.md: {unresolved}")


def test_every_contract_of_design_md_is_cited_in_the_code():
    uncited = sorted(set(design_headings()) - set(citations()))
    assert not uncited, (
        f"docs/design.md describes contracts no code comment or docstring cites: {uncited}")


def test_citations_are_parsed_up_to_the_first_stop():
    found = [(m[1], m[2]) for m in CITATION.finditer(
        "x (contract: run identity) y. contract: one run, one trainer, one state. More.")]
    assert found == [("run identity", ")"), ("one run, one trainer, one state", ".")]


def test_no_file_points_outside_the_repository_or_at_an_old_design_file():
    problems = []
    for path in repository_files():
        text = read_text(path)
        if text is None:
            continue
        name = path.relative_to(REPO)
        if OUTSIDE in text:
            problems.append(f"{name} mentions {OUTSIDE}")
        in_docs = path.parent == DOCS
        for match in DESIGN_NAME.finditer(text):
            if not (match[0].endswith("docs/design.md") or in_docs and match[0] == DESIGN.name):
                problems.append(f"{name} names {match[0]!r}: the design doc is docs/design.md")
    assert not problems, "\n".join(problems)


def test_the_licence_is_mit():
    licence = REPO / "LICENSE"
    assert licence.is_file(), "LICENSE is missing"
    assert licence.read_text().startswith("MIT License")
