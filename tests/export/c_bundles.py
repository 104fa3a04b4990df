"""Shared builders for the c-target tests: a checkpoint per named config, exported once per session."""

from __future__ import annotations

from pathlib import Path

from mgrade_edge.checkpoint import save_checkpoint
from mgrade_edge.pipeline import export_checkpoint
from tests.helpers import NAMED_CONFIGS, make_model, random_sequences

_CACHE: dict[tuple, Path] = {}
CALIB_STREAMS = 2  # long calibration streams of ~1024 steps each (the CLI default is 8)


def c_bundle(tmp_root: Path, name: str, precision: str = "float32", model=None, tag: str = "") -> Path:
    """Export named config `name` to target c-<precision> (cached per session)."""
    import numpy as np

    key = (name, precision, tag)
    if key in _CACHE:
        return _CACHE[key]
    root = tmp_root / f"{name}-{precision}{tag}"
    root.mkdir(parents=True)
    ckpt = root / f"{name}.pt"
    save_checkpoint(ckpt, model if model is not None else make_model(name), {})
    calib = None
    if precision != "float32":
        calib = root / "calib.npy"
        np.save(calib, random_sequences(NAMED_CONFIGS[name], 16, 256, seed=1))
    export_checkpoint(ckpt, f"c-{precision}", root / "out", calib_file=calib, calib_sequences=CALIB_STREAMS,
                      validate=False)
    _CACHE[key] = root / "out"
    return root / "out"
