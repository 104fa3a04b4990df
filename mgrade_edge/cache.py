"""Where mgrade-edge caches what it can rebuild (compiled objects, generated data sets and streams, the
host front end): $MGRADE_EDGE_CACHE, else $XDG_CACHE_HOME/mgrade-edge, else ~/.cache/mgrade-edge."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    if os.environ.get("MGRADE_EDGE_CACHE"):
        return Path(os.environ["MGRADE_EDGE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mgrade-edge"
