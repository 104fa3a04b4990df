"""Workloads beyond the original three (data.py keeps digits, flipflop and lorenz): a plain dict
registry of loaders. Each loader takes the seed and the task options recorded in a checkpoint's
metadata ("task_options") and returns a data.TaskData, so a checkpoint's data can be rebuilt exactly.

The audio tasks also record their front end in those options (features, window_ms, hop_ms,
channels, sample_rate): `frontend_spec` rebuilds it for export, streaming evaluation and timing.
"""

from __future__ import annotations

from ..errors import DataError
from ..frontend.spec import FrontendSpec
from .base import TaskData
from .features import clip_features
from .keywords import WORDS, KeywordsSpec, load_keywords
from .spoken_digits import load_spoken_digits
from .wakeword import WakewordSpec, load_wakeword

FEATURE_OPTIONS = ("features", "window_ms", "hop_ms", "channels")
CLIP_OPTIONS = ("sample_rate", "train_clips", "val_clips", "test_clips", "split")
# task -> the options it takes; the audio tasks' default front end
TASK_OPTIONS = {"keywords": CLIP_OPTIONS + FEATURE_OPTIONS, "wakeword": CLIP_OPTIONS + FEATURE_OPTIONS + ("wakeword",),
                "spoken-digits": ()}
AUDIO_DEFAULTS = {"keywords": {"features": "raw", "sample_rate": 8000},
                  "wakeword": {"features": "filterbank", "sample_rate": 16000}}
FRAME_DEFAULTS = {"window_ms": 30.0, "hop_ms": 20.0, "channels": 40}


def check_options(task: str, options: dict) -> None:
    """One-line refusal of an option the task does not take."""
    allowed = TASK_OPTIONS.get(task, ())
    for name in options:
        if name not in allowed:
            takers = [t for t, names in TASK_OPTIONS.items() if name in names]
            if not takers:
                raise DataError(f"unknown {task} option {name}; known: {', '.join(sorted(allowed)) or 'none'}")
            raise DataError(f"--{name.replace('_', '-')} applies to --task {' / '.join(takers) or '(none)'}, "
                            f"not {task}")


def frontend_spec(task: str | None, options: dict | None) -> FrontendSpec | None:
    """The front end of an audio task's checkpoint (None for tasks whose steps are not audio)."""
    if task not in AUDIO_DEFAULTS:
        return None
    merged = {**AUDIO_DEFAULTS[task], **FRAME_DEFAULTS, **{k: v for k, v in (options or {}).items()
                                                           if k in FEATURE_OPTIONS + ("sample_rate",)}}
    return FrontendSpec(kind=merged["features"], sample_rate=int(merged["sample_rate"]),
                        window_ms=float(merged["window_ms"]), hop_ms=float(merged["hop_ms"]),
                        channels=int(merged["channels"]))


def _clip_options(options: dict) -> dict:
    return {k: v for k, v in options.items() if k in CLIP_OPTIONS}


def _keywords(seed: int, options: dict):
    check_options("keywords", options)
    spec = KeywordsSpec(seed=seed, **_clip_options(options))
    front = frontend_spec("keywords", options)
    a = load_keywords(spec)
    x = {k: clip_features(a[f"{k}_x"], front) for k in ("train", "val", "test")}
    return TaskData("keywords", "sequence", front.d_in, len(WORDS), x["train"], a["train_y"], x["val"], a["val_y"],
                    x["test"], a["test_y"])


def _wakeword(seed: int, options: dict):
    check_options("wakeword", options)
    clips = {k: v for k, v in _clip_options(options).items() if k != "sample_rate"}
    word = {"wakeword": options["wakeword"]} if "wakeword" in options else {}
    return load_wakeword(WakewordSpec(seed=seed, frontend=frontend_spec("wakeword", options), **clips, **word))


def _spoken_digits(seed: int, options: dict):
    if options:
        raise DataError(f"the spoken-digits task takes no options, got {', '.join(sorted(options))}")
    return load_spoken_digits(seed)


# name -> loader(seed, options) -> TaskData
REGISTRY = {"keywords": _keywords, "wakeword": _wakeword, "spoken-digits": _spoken_digits}


def load(name: str, seed: int = 0, options: dict | None = None):
    return REGISTRY[name](seed, dict(options or {}))
