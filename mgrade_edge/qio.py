"""Quantised I/O, written once: how a float is stored in an int8/int16 tensor and read back, how a
state output is re-expressed on its input's grid, and when feedback may copy raw integers.

Every runner (litert, tflm), the TFLite Micro bundle exporter and the generated C++
(export/tflm/templates/mgrade_qio.h) compute exactly these formulas, in float32, so validating a bundle
with a runner checks the arithmetic the device performs (tests/test_qio.py compiles the header and
compares bit for bit):

    quantise(v)      = clamp(round_half_away(float32(v / scale)) + zero_point)   (TFLite's QUANTIZE)
    dequantise(q)    = float32(q - zero_point) * scale                            (float32 product)
    requantise(q)    = quantise_dst(dequantise_src(q))                            (no other formula)
    state feedback   : raw copy when requantise is the identity on every representable value, else requantise.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

INT_RANGES = {"int8": (-128, 127), "int16": (-32768, 32767)}


def round_half_away(values: np.ndarray) -> np.ndarray:
    """Round to nearest, ties away from zero: what TFLite's QUANTIZE kernel and std::lround do
    (np.rint ties to even). Exact for float32 input promoted to float64."""
    return np.copysign(np.floor(np.abs(values) + 0.5), values)


@dataclass(frozen=True)
class QParams:
    """How one tensor is stored: shape, dtype, and (scale, zero point) for integer tensors."""

    shape: tuple[int, ...]
    dtype: str  # float32 | int8 | int16
    scale: float | None = None
    zero_point: int = 0

    @classmethod
    def from_info(cls, info: dict) -> QParams:
        return cls(tuple(info["shape"]), info["dtype"], info.get("scale"), int(info.get("zero_point") or 0))

    @property
    def quantized(self) -> bool:
        return self.dtype in INT_RANGES

    def quantize(self, values: np.ndarray, reshape: bool = True) -> np.ndarray:
        values = np.asarray(values, dtype=np.float32)
        values = values.reshape(self.shape) if reshape else values
        if not self.quantized:
            return values
        lo, hi = INT_RANGES[self.dtype]
        # float32 quotient as TFLite computes it, rounded exactly (float32 floor(|v| + 0.5) is not)
        q = round_half_away((values / np.float32(self.scale)).astype(np.float64)) + self.zero_point
        return np.minimum(np.maximum(q, lo), hi).astype(self.dtype)  # np.clip is slow on small arrays

    def dequantize(self, raw: np.ndarray) -> np.ndarray:
        if not self.quantized:
            return np.asarray(raw, dtype=np.float32)
        return (np.asarray(raw).astype(np.float32) - np.float32(self.zero_point)) * np.float32(self.scale)

    def zeros(self) -> np.ndarray:
        """The stored form of an all-zero tensor (the zero point, for integer tensors)."""
        return self.quantize(np.zeros(self.shape, np.float32))


def requantize(raw: np.ndarray, src: QParams, dst: QParams) -> np.ndarray:
    """Raw values stored with `src` parameters, re-expressed with `dst` parameters: dequantise, then
    quantise, both in float32 (the one formula; the generated C++ does the same)."""
    if src == dst:
        return raw
    return dst.quantize(src.dequantize(raw), reshape=False)


@lru_cache(maxsize=256)
def _identity_on_every_value(dtype: str, src_scale: float, dst_scale: float, zero_point: int) -> bool:
    lo, hi = INT_RANGES[dtype]
    every = np.arange(lo, hi + 1).astype(dtype)
    return bool(np.array_equal(requantize(every, QParams(every.shape, dtype, src_scale, zero_point),
                                          QParams(every.shape, dtype, dst_scale, zero_point)), every))


def requantize_is_identity(src: QParams, dst: QParams) -> bool:
    """True when requantize(src -> dst) returns every representable raw value unchanged, checked by
    applying the formula to all 256 (int8) or 65,536 (int16) values, not by a bound.

    Converted models often give a state's input and output scales that differ in the last float32
    bit; then raw feedback is exact, not an approximation.
    """
    if src == dst:
        return True
    if src.dtype != dst.dtype or not src.quantized or src.zero_point != dst.zero_point:
        return False
    return _identity_on_every_value(src.dtype, float(src.scale), float(dst.scale), int(src.zero_point))


@dataclass(frozen=True)
class StatePair:
    """One fed-back state: the output tensor `name_out` becomes the next step's input `name_in`."""

    name_in: str
    name_out: str
    q_in: QParams
    q_out: QParams

    @property
    def raw_feedback(self) -> bool:
        return requantize_is_identity(self.q_out, self.q_in)

    def feed_back(self, raw_out: np.ndarray) -> np.ndarray:
        """The next state input from this step's raw state output (the state-feedback rule)."""
        if self.raw_feedback:
            return np.asarray(raw_out).astype(np.dtype(self.q_in.dtype)).reshape(self.q_in.shape)
        return requantize(np.asarray(raw_out), self.q_out, self.q_in).reshape(self.q_in.shape)

    def feedback_function(self):
        """None when the raw output can be fed back as is, else a function making the next input."""
        if self.raw_feedback:
            return None
        return lambda raw: requantize(raw, self.q_out, self.q_in)
