"""Calibration data for post-training quantisation, framework-neutral.

The minGRU state h is positive and unbounded above, and the delay lines hold past layer inputs, so
state ranges must come from long streamed trajectories of real inputs (spec section 3): a single
step from zero state sees none of the ranges a device sees after minutes of streaming. We therefore
concatenate real sequences into long streams, run the float32 streaming step over them, and record
the step's inputs (x and every state_in) at each step, in stream order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .errors import DataError
from .streaming import StreamingMGRADE

DEFAULT_CALIB_SEQUENCES = 8
DEFAULT_STREAM_STEPS = 1024


@dataclass
class CalibrationSet:
    """Step inputs recorded along streams: samples[i] = {input name: array of its signature shape}."""

    samples: list[dict[str, np.ndarray]]
    streams: list[np.ndarray]  # the raw input streams [T, d_in] (internal-state models replay these)
    source: str

    def ranges(self) -> dict[str, tuple[float, float]]:
        names = self.samples[0].keys()
        return {n: (float(min(s[n].min() for s in self.samples)), float(max(s[n].max() for s in self.samples)))
                for n in names}


def load_calibration_file(path: str | Path, d_in: int) -> np.ndarray:
    """A user .npy of shape [N, T, d_in], finite floats; every problem is a one-line DataError."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"calibration file {path} not found; pass a .npy array of shape [N, T, {d_in}]")
    try:
        arr = np.load(path, allow_pickle=False)
    except Exception:  # noqa: BLE001 - any unreadable file is the same user error
        raise DataError(f"calibration file {path} is not a readable .npy array (object arrays are refused); "
                        f"save it with numpy.save(path, array.astype('float32'))") from None
    if not isinstance(arr, np.ndarray) or arr.ndim != 3 or arr.shape[2] != d_in or min(arr.shape) == 0:
        raise DataError(f"calibration file {path} has shape {list(getattr(arr, 'shape', []))}; expected "
                        f"[N, T, {d_in}] (N sequences of T steps with the model's d_in={d_in} channels)")
    if not np.issubdtype(arr.dtype, np.floating) and not np.issubdtype(arr.dtype, np.integer):
        raise DataError(f"calibration file {path} has dtype {arr.dtype}; expected a float array")
    arr = arr.astype(np.float32)
    if not np.isfinite(arr).all():
        raise DataError(f"calibration file {path} contains NaN or Inf; remove or replace those values")
    return arr


def make_streams(sequences: np.ndarray, n_streams: int, steps: int, seed: int = 0) -> list[np.ndarray]:
    """n_streams long streams of about `steps` steps, each a concatenation of random real sequences."""
    rng = np.random.default_rng(seed)
    per_stream = max(1, int(np.ceil(steps / sequences.shape[1])))
    streams = []
    for _ in range(n_streams):
        idx = rng.choice(len(sequences), size=per_stream, replace=per_stream > len(sequences))
        streams.append(np.concatenate(list(sequences[idx]), axis=0)[:max(steps, 1)].astype(np.float32))
    return streams


@torch.no_grad()
def record_step_inputs(step: StreamingMGRADE, streams: list[np.ndarray], max_samples: int = 2048,
                       seed: int = 0) -> list[dict]:
    """Run the step along each stream; keep up to max_samples step-input dicts, in stream order.

    The kept steps are a seeded random subset, not every k-th step: a fixed stride that divides the
    sequence length would only ever see the same positions of every sequence (e.g. only column 0 of
    every digit image), and calibrate x and the state to a fraction of their real range.
    """
    names = step.signature.input_names
    total = sum(len(s) for s in streams)
    keep = np.zeros(total, dtype=bool)
    keep[np.random.default_rng(seed).choice(total, size=min(max_samples, total), replace=False)] = True
    samples, counter = [], 0
    for stream in streams:
        state = step.initial_state(1, torch.float32)
        for x in stream:
            x_t = torch.from_numpy(np.asarray(x, dtype=np.float32)).reshape(1, -1)
            if keep[counter]:
                samples.append(dict(zip(names, [t.numpy().copy() for t in (x_t, *state)])))
            _, *state = step(x_t, *state)
            counter += 1
    return samples


def calibration_set(step: StreamingMGRADE, sequences: np.ndarray, n_sequences: int = DEFAULT_CALIB_SEQUENCES,
                    stream_steps: int = DEFAULT_STREAM_STEPS, source: str = "task data", seed: int = 0,
                    max_samples: int = 8192) -> CalibrationSet:
    if n_sequences <= 0:
        raise DataError(f"--calib-sequences must be > 0, got {n_sequences}")
    streams = make_streams(sequences, n_sequences, stream_steps, seed)
    return CalibrationSet(record_step_inputs(step, streams, max_samples, seed), streams, source)
