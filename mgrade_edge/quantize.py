"""Calibration data for post-training quantisation, framework-neutral.

The minGRU state h is positive and unbounded above, and the delay lines hold past layer inputs, so
state ranges must come from long streamed trajectories of real inputs (spec section 3): a single
step from zero state sees none of the ranges a device sees after minutes of streaming. We therefore
concatenate real sequences into long streams, run the float32 streaming step over them, and record
the step's inputs (x and every state_in) at every step, in stream order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .errors import DataError, ExportError
from .safety.bounds import MAX_CALIB_STEPS
from .streaming import StreamingMGRADE

DEFAULT_CALIB_SEQUENCES = 8
DEFAULT_STREAM_STEPS = 1024
# A stream must hold whole sequences, at least two back to back: a 1,024-step stream of 8,000-step keyword
# clips saw only each clip's leading silence (x within +-0.07 of a +-1 signal, h_0 up to 2.8 of 37.7), so x
# was clipped to a fourteenth of its range. Two sequences also show the state carried across a boundary.
MIN_SEQUENCES_PER_STREAM = 2


def default_stream_steps(sequence_length: int) -> int:
    """Steps per calibration stream: 1,024, or two whole sequences when those are longer."""
    return max(DEFAULT_STREAM_STEPS, MIN_SEQUENCES_PER_STREAM * int(sequence_length))


@dataclass
class CalibrationSet:
    """Long calibration streams and the float32 step that turns them into step inputs.

    `samples()` replays the step along every stream and yields {input name: array} at every step, in
    stream order. It is a generator, not a stored list: a state of the paper's Speech Commands size is
    ~74 KB per step, so keeping 8,192 steps would cost ~600 MB, while replaying costs ~1 s.
    """

    step: StreamingMGRADE
    streams: list[np.ndarray]  # the raw input streams [T, d_in] (internal-state models replay these)
    source: str

    @property
    def num_samples(self) -> int:
        return sum(len(s) for s in self.streams)

    @property
    def input_names(self) -> list[str]:
        return self.step.signature.input_names

    def samples(self) -> Iterator[dict[str, np.ndarray]]:
        return iter_step_inputs(self.step, self.streams)

    _ranges: dict | None = field(default=None, init=False, repr=False)  # computed once: a replay of every stream

    def ranges(self) -> dict[str, tuple[float, float]]:
        if self._ranges is None:
            self._ranges = self._replay_ranges()
        return dict(self._ranges)

    def _replay_ranges(self) -> dict[str, tuple[float, float]]:
        lo = {n: np.inf for n in self.input_names}
        hi = {n: -np.inf for n in self.input_names}
        for sample in self.samples():
            for n, v in sample.items():
                lo[n], hi[n] = min(lo[n], float(v.min())), max(hi[n], float(v.max()))
        return {n: (lo[n], hi[n]) for n in self.input_names}


# Largest magnitude a calibrated step input may reach: the quantised graph forms squares (LayerNorm's
# mean(d*d)), sums of up to ~1e6 of them and products of scales in float32 (max 3.4e38); at 1e16 a square
# is 1e32 and a million of them stay below float32's range. Trained models sit within ~1e2.
MAX_CALIBRATED_MAGNITUDE = 1e16


def check_calibrated_ranges(ranges: dict[str, tuple[float, float]]) -> None:
    """Refuse (one line naming the tensor) a model whose float step reaches non-finite or float32-overflowing
    values on the calibration streams: its quantisation scales would be meaningless."""
    for name, (lo, hi) in ranges.items():
        worst = max(abs(lo), abs(hi))
        if not np.isfinite(worst) or worst > MAX_CALIBRATED_MAGNITUDE:
            raise ExportError(f"the float step's {name} reaches {worst:.3g} on the calibration streams (limit "
                              f"{MAX_CALIBRATED_MAGNITUDE:.0e}): its int8/int16 scales and float32 arithmetic would "
                              f"overflow; check the checkpoint's weights (mgrade-edge info) or retrain")


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
    if not isinstance(arr, np.ndarray):
        raise DataError(f"calibration file {path} is a .npz archive, not one array; save a single array of shape "
                        f"[N, T, {d_in}] with numpy.save")
    if arr.ndim != 3 or arr.shape[2] != d_in or min(arr.shape) == 0:
        raise DataError(f"calibration file {path} has shape {list(getattr(arr, 'shape', []))}; expected "
                        f"[N, T, {d_in}] (N sequences of T steps with the model's d_in={d_in} channels)")
    if not np.issubdtype(arr.dtype, np.floating) and not np.issubdtype(arr.dtype, np.integer):
        raise DataError(f"calibration file {path} has dtype {arr.dtype}; expected a float array")
    if not np.isfinite(arr).all():
        raise DataError(f"calibration file {path} contains NaN or Inf; remove or replace those values")
    check_calibration_values(arr, f"calibration file {path}")
    return arr.astype(np.float32)


MAX_CALIB_ABS = 1e6  # inputs are normalised signals; beyond this float32 products overflow in the converter
MIN_CALIB_STEPS = 32  # fewer samples cannot give a usable range for every tensor


def check_calibration_values(arr: np.ndarray, what: str) -> None:
    """Refuse calibration data the converter cannot use, before it runs (it can SIGSEGV on huge values)."""
    peak = float(np.max(np.abs(arr)))
    if peak > MAX_CALIB_ABS:
        raise DataError(f"{what} holds values up to {peak:.3g}, outside the supported range [-{MAX_CALIB_ABS:g}, "
                        f"{MAX_CALIB_ABS:g}]; scale the inputs as the model was trained")
    steps = arr.shape[0] * arr.shape[1]
    if steps < MIN_CALIB_STEPS:
        raise DataError(f"{what} holds only {steps} step(s); calibration needs at least {MIN_CALIB_STEPS} steps of "
                        f"real inputs (N x T)")
    if float(np.max(arr)) == float(np.min(arr)):
        raise DataError(f"{what} is constant (every value {float(arr.flat[0]):g}); quantisation ranges need real, "
                        f"varying inputs")


def make_streams(sequences: np.ndarray, n_streams: int, steps: int, seed: int = 0) -> list[np.ndarray]:
    """n_streams long streams of about `steps` steps, each a concatenation of random real sequences."""
    rng = np.random.default_rng(seed)
    per_stream = max(1, int(np.ceil(steps / sequences.shape[1])))
    streams = []
    for _ in range(n_streams):
        idx = rng.choice(len(sequences), size=per_stream, replace=per_stream > len(sequences))
        streams.append(np.concatenate(list(sequences[idx]), axis=0)[:max(steps, 1)].astype(np.float32))
    return streams


def iter_step_inputs(step: StreamingMGRADE, streams: list[np.ndarray]) -> Iterator[dict[str, np.ndarray]]:
    """The step inputs (x and every state_in) at *every* step of each stream, in stream order.

    Every step, not a subset: over a whole stream a state's inputs are exactly the previous step's
    state outputs, so both get the same range and feedback needs no requantisation or clipping; a
    subset lets the outputs reach values the inputs never did (digits, 2048 of 8192 steps: h_1 in/out
    scales 0.0393 vs 0.0418), and a fixed stride that divides the sequence length sees only some
    positions of every sequence (only column 0 of each digit image: x calibrated to a quarter of its range).
    """
    names = step.signature.input_names
    for stream in streams:
        state = step.initial_state(1, torch.float32)
        for x in stream:
            x_t = torch.from_numpy(np.asarray(x, dtype=np.float32)).reshape(1, -1)
            yield dict(zip(names, [t.numpy().copy() for t in (x_t, *state)]))
            with torch.no_grad():
                _, *state = step(x_t, *state)


def calibration_set(step: StreamingMGRADE, sequences: np.ndarray, n_sequences: int = DEFAULT_CALIB_SEQUENCES,
                    stream_steps: int | None = None, source: str = "task data", seed: int = 0) -> CalibrationSet:
    """`n_sequences` streams of `stream_steps` steps each (default: `default_stream_steps` of the data)."""
    if n_sequences <= 0:
        raise DataError(f"--calib-sequences must be > 0, got {n_sequences}")
    if stream_steps is None:
        stream_steps = default_stream_steps(sequences.shape[1])
    if not 0 < stream_steps <= MAX_CALIB_STEPS:
        raise DataError(f"--calib-steps must be in [1, {MAX_CALIB_STEPS:,}], got {stream_steps}")
    streams = make_streams(sequences, n_sequences, stream_steps, seed)
    return CalibrationSet(step, streams, source)
