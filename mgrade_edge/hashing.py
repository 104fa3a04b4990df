"""File digests recorded in manifests and checked before an artifact is trusted (a leaf module:
the artifact writer and the safety checks both use it, neither through the other)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
