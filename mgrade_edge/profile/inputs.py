"""What a profile measures with when the checkpoint brings nothing: a seeded untrained model and
smooth random calibration inputs (both measurement back ends use them)."""

from __future__ import annotations

import numpy as np


def random_sequences(d_in: int, n: int, length: int, seed: int = 0) -> np.ndarray:
    """Smooth random inputs [n, length, d_in] (random walk through tanh plus noise) for calibration."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(0, 0.3, size=(n, length, d_in)), axis=1)
    return (np.tanh(walk) + 0.3 * rng.normal(size=(n, length, d_in))).astype(np.float32)


def untrained_model(cfg):
    """The model of `cfg` with torch seed 0, without disturbing the caller's random state."""
    import torch

    from ..model import MGRADE

    with torch.random.fork_rng():
        torch.manual_seed(0)
        return MGRADE(cfg).eval()
