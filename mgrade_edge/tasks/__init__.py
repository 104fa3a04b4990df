"""Workloads beyond the original three (data.py keeps digits, flipflop and lorenz): a plain dict
registry of loaders. Each loader takes the seed and the task options recorded in a checkpoint's
metadata ("task_options") and returns a data.TaskData, so a checkpoint's data can be rebuilt exactly.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from .base import TaskData
from .keywords import WORDS, KeywordsSpec, load_keywords
from .spoken_digits import load_spoken_digits


def _keywords(seed: int, options: dict):

    known = {"sample_rate", "train_clips", "val_clips", "test_clips", "split"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise DataError(f"unknown keywords option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    spec = KeywordsSpec(seed=seed, **options)
    a = load_keywords(spec)
    x = {k: np.ascontiguousarray(a[f"{k}_x"][..., None]) for k in ("train", "val", "test")}
    return TaskData("keywords", "sequence", 1, len(WORDS), x["train"], a["train_y"], x["val"], a["val_y"],
                    x["test"], a["test_y"])


def _spoken_digits(seed: int, options: dict):
    if options:
        raise DataError(f"the spoken-digits task takes no options, got {', '.join(sorted(options))}")
    return load_spoken_digits(seed)


# name -> loader(seed, options) -> TaskData
REGISTRY = {"keywords": _keywords, "spoken-digits": _spoken_digits}
# name -> sample rate of one input step in Hz (None: not audio samples), for compute per second.
SAMPLE_RATE_OPTION = {"keywords": "sample_rate"}


def load(name: str, seed: int = 0, options: dict | None = None):
    return REGISTRY[name](seed, dict(options or {}))
