"""What produced an artifact: a hash of the settings behind it and the code version."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

from modality_rl import __version__

REPO_ROOT = Path(__file__).resolve().parents[2]


def config_hash(settings: object) -> str:
    """sha256 of the settings as canonical JSON: equal settings, equal hash."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def code_version() -> str:
    """The package version and, in a git checkout, the commit (`-dirty` if modified)."""
    try:
        described = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty"],
            capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        described = "no-git"
    return f"{__version__}+{described}"


def source_digest(*modules: str) -> str:
    """sha256 of the source files of `modules` (packages: every .py file below them), so
    that a state saved by other code is recognised as such."""
    import importlib.util

    digest = hashlib.sha256()
    for name in modules:
        spec = importlib.util.find_spec(name)
        origin = Path(spec.origin)
        files = sorted(origin.parent.rglob("*.py")) if origin.name == "__init__.py" else [origin]
        for path in files:
            digest.update(f"{name}:{path.relative_to(origin.parent)}".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()
