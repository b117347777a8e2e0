"""What produced an artifact: a hash of the settings behind it (the code behind it is
modality_rl.code's digest)."""

from __future__ import annotations

import hashlib
import json


def config_hash(settings: object) -> str:
    """sha256 of the settings as canonical JSON: equal settings, equal hash."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
