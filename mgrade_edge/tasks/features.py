"""Audio clips -> the model's per-step inputs, through the front end a checkpoint records."""

from __future__ import annotations

import numpy as np

from ..frontend.host import HostFrontend, to_int16
from ..frontend.spec import LOG_SCALE_SHIFT, FrontendSpec


def feature_scale(spec: FrontendSpec) -> float:
    """Float model input = integer front-end output x this (audio: 1/32768; filter bank: 1/64 -> ln)."""
    return 1.0 / (1 << LOG_SCALE_SHIFT) if spec.kind == "filterbank" else 1.0 / 32768.0


def clip_features(audio: np.ndarray, spec: FrontendSpec) -> np.ndarray:
    """float audio [N, S] in [-1, 1] -> float32 [N, T, d_in], each clip from a fresh front end."""
    if spec.kind == "raw":
        return np.ascontiguousarray(audio[..., None], dtype=np.float32)
    return stream_features(to_int16(audio), spec, batch=True)


def stream_features(samples: np.ndarray, spec: FrontendSpec, batch: bool = False) -> np.ndarray:
    """int16 audio [S] (or [N, S] with batch) -> float32 features [T, d_in] ([N, T, d_in]), statefully.
    frames: each hop's samples as one vector; filterbank: the front end's vectors."""
    if spec.kind != "filterbank":
        t = spec.steps_for(samples.shape[-1])
        return (samples[..., :t * spec.hop_samples].reshape(*samples.shape[:-1], t, spec.d_in)
                * feature_scale(spec)).astype(np.float32)
    fe = HostFrontend(spec)
    rows = samples if batch else samples[None]
    out = np.empty((len(rows), spec.steps_for(rows.shape[1]), spec.channels), np.float32)
    for i, clip in enumerate(rows):
        fe.reset()
        out[i] = fe.push(clip) * feature_scale(spec)
    return out if batch else out[0]
