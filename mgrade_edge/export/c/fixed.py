"""Integer semantics of the quantised C step: the primitives, bit-exact in numpy and in export/c/templates/kernels.h
(each kernel tested against these functions by tests/export/c/test_kernels.py) and int_step.c.

Representations (all symmetric, zero point 0):
- act  : int8 (int16 in int16x8), scale = calibrated max|v| / QMAX, saturated to the type's whole
         range [-QMAX - 1, QMAX] (one SSAT on Arm). Matmul inputs, delay lines, I/O.
- h    : uint16 (uint8 in int8-h8, [0, 2^31 - 1] in a uint32 in int8-h32 and int16x8-h32): h >= 0
         always (g > 0, z in (0, 1), h_0 = 0), so the unsigned type gives the state one more bit;
         scale = calibrated max h / HMAX.
- wide : int32 residual-stream and branch values, scale = max|v| / 2^20, saturated to [-2^24, 2^24 - 1]
         (16x headroom over calibration; keeps LayerNorm sums inside int64). One scale per layer for
         the residual stream and the branch values added to it (c_quant.QuantModel).
- Q16  : int32 fixed point with 16 fractional bits, the domain of the nonlinearities (gate
         pre-activations, GELU, rec_act).
- weights int8 per output channel (scale max|w|/127), biases int32 at scale s_in * s_w.
Rescaling by a real factor f is rq(a, m, n) = (a * m + 2^(n-1)) >> n in int64 (arithmetic shift,
round half up), with m in [2^30, 2^31) and f = m / 2^n (relative error <= 2^-31). The C evaluates it
in 32-bit operations wherever the generator can bound |a| (rq_pre_shift: the same value, exactly).
Nonlinearities and their error bounds (checked in tests/export/c/test_fixed.py):
- sigmoid: 513-entry Q15 table over [-16, 16] (step 1/16), linear interpolation: |err| <= 8e-5.
- GELU (tanh form): a 257-entry Q16 table over [-8, 8] (step 1/16), linear interpolation, x or 0
  beyond: |err| <= 4e-4 (one lookup instead of a cube, two rescalings and a sigmoid).
- LayerNorm: integer mean and variance, rsqrt by an exact integer square root of the variance scaled
  to [2^58, 2^62) and one 64-bit division per call: relative error of 1/sigma <= 2^-26.
"""

from __future__ import annotations

import math

import numpy as np

from ...errors import ExportError

WIDE_FRAC_BITS = 20  # calibrated max|v| maps to 2^20
WIDE_MAX = (1 << 24) - 1
Q16 = 1 << 16
INT32_MAX = (1 << 31) - 1
SIG_LO, SIG_STEP_BITS, SIG_ENTRIES = -16, 12, 513  # table over [-16, 16], step 2^12 in Q16 = 1/16
GELU_LIMIT = 8 * Q16
GELU_STEP_BITS = 12  # table step 2^12 in Q16 = 1/16, the sigmoid table's
GELU_ENTRIES = 2 * GELU_LIMIT // (1 << GELU_STEP_BITS) + 1
LN_NORM = 1 << 58


def multiplier(f: float) -> tuple[int, int]:
    """(m, n) with m / 2^n = f, |m| in [2^30, 2^31), 1 <= n <= 62; tiny factors may give m = 0.

    >>> multiplier(0.5)
    (1073741824, 31)
    >>> multiplier(-3.0)
    (-1610612736, 29)
    """
    if not math.isfinite(f):
        raise ExportError(f"a rescaling factor is {f}; the calibration ranges are degenerate, calibrate on real inputs")
    if f == 0.0:
        return 0, 1
    e = math.floor(math.log2(abs(f)))
    n = 30 - e
    if n < 1:
        raise ExportError(f"rescaling factor {f:.3g} is too large for int32 fixed point; check the calibration ranges")
    n = min(n, 62)
    m = round(abs(f) * 2.0 ** n)
    if m >= 1 << 31:
        m, n = m >> 1, n - 1
    return (m if f > 0 else -m), n


def rq(a, mult: tuple[int, int]):
    """(a * m + 2^(n-1)) >> n on int64 arrays (the C rq())."""
    m, n = mult
    return (np.asarray(a, dtype=np.int64) * np.int64(m) + np.int64(1 << (n - 1))) >> np.int64(n)


def rq_pre_shift(mult: tuple[int, int], bound: int) -> tuple[int, int]:
    """(pre, shift) for the C's 32-bit rq of an a in [-(bound + 1), bound], or (-1, 0): keep the int64 form.
    (bound * 2^pre <= INT32_MAX gives bound <= 2^(31-pre) - 1, so -(bound + 1) * 2^pre >= -2^31 fits too.)

    With a' = a * 2^pre (fits int32) and n + pre = 32 + shift, shift >= 1:
    (a*m + 2^(n-1)) >> n == (hi32(a' * m) + 2^(shift-1)) >> shift, where hi32 is the high word of the
    64-bit product (floor(p / 2^32)): the low word only adds a fraction below 1 before the floor.

    >>> rq_pre_shift((1 << 30, 31), 127)
    (2, 1)
    >>> rq_pre_shift((1 << 30, 20), 1 << 24)
    (-1, 0)
    """
    _, n = mult
    pre = max(0, 33 - n)
    if pre > 30 or bound << pre > INT32_MAX:
        return -1, 0
    return pre, n + pre - 32


def rq_32bit(a, mult: tuple[int, int], pre: int, shift: int):
    """The C's 32-bit evaluation of rq (valid where rq_pre_shift allowed it); tests compare it with rq."""
    hi = (np.asarray(a, dtype=np.int64) * (1 << pre) * np.int64(mult[0])) >> np.int64(32)
    return (hi + (1 << (shift - 1))) >> shift


def rq_channels(a, mults):
    """rq with one (m, n) per element of the last axis."""
    m = np.array([k[0] for k in mults], dtype=np.int64)
    n = np.array([k[1] for k in mults], dtype=np.int64)
    return (np.asarray(a, dtype=np.int64) * m + (np.int64(1) << (n - 1))) >> n


def sat(a, lo: int, hi: int):
    return np.clip(np.asarray(a, dtype=np.int64), lo, hi)


def sigmoid_table() -> np.ndarray:
    grid = SIG_LO + np.arange(SIG_ENTRIES, dtype=np.float64) / 16.0
    return np.round(32768.0 / (1.0 + np.exp(-grid))).astype(np.int64)


SIG_TABLE = sigmoid_table()


def sig_q15(u):
    """sigmoid of a Q16 value, in Q15 (0 .. 32768)."""
    t = np.asarray(u, dtype=np.int64) - SIG_LO * Q16
    top = (SIG_ENTRIES - 1) << SIG_STEP_BITS
    tc = np.clip(t, 0, top - 1)
    i, f = tc >> SIG_STEP_BITS, tc & ((1 << SIG_STEP_BITS) - 1)
    lo, hi = SIG_TABLE[i], SIG_TABLE[i + 1]
    out = lo + (((hi - lo) * f + (1 << (SIG_STEP_BITS - 1))) >> SIG_STEP_BITS)
    return np.where(t <= 0, SIG_TABLE[0], np.where(t >= top, SIG_TABLE[-1], out))


def tanh_gelu(x):
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def gelu_table() -> np.ndarray:
    grid = -GELU_LIMIT + (np.arange(GELU_ENTRIES, dtype=np.int64) << GELU_STEP_BITS)
    return np.round(tanh_gelu(grid / Q16) * Q16).astype(np.int64)


GELU_TABLE = gelu_table()


def gelu_q16(x):
    """tanh-form GELU of a Q16 value, in Q16: the table, linearly interpolated; x or 0 beyond +-8."""
    x = np.asarray(x, dtype=np.int64)
    t = np.clip(x + GELU_LIMIT, 0, 2 * GELU_LIMIT - 1)
    i, f = t >> GELU_STEP_BITS, t & ((1 << GELU_STEP_BITS) - 1)
    lo, hi = GELU_TABLE[i], GELU_TABLE[i + 1]
    inside = lo + (((hi - lo) * f + (1 << (GELU_STEP_BITS - 1))) >> GELU_STEP_BITS)
    return np.where(x >= GELU_LIMIT, x, np.where(x <= -GELU_LIMIT, 0, inside))


def rdiv(a, b: int):
    """Round-half-away division by a positive int, as in C (truncating division of magnitudes)."""
    a = np.asarray(a, dtype=np.int64)
    mag = (np.abs(a) + b // 2) // b
    return np.where(a >= 0, mag, -mag)


def layer_norm(w, gamma_mult: list[tuple[int, int]], beta: np.ndarray, eps: int, lo: int, hi: int):
    """Integer LayerNorm of wide values w [d] -> saturated outputs at the output scale."""
    w = np.asarray(w, dtype=np.int64)
    d = w.shape[-1]
    mean = int(rdiv(int(w.sum()), d))
    diff = w - mean
    var = int(rdiv(int((diff * diff).sum()), d)) + eps
    var, k = max(var, 1), 0
    while var < LN_NORM:
        var, k = var << 2, k + 1
    sd = math.isqrt(var)
    inv = ((1 << 56) + sd // 2) // sd
    xhat = (diff * np.int64(inv) + np.int64(1 << (39 - k))) >> np.int64(40 - k)
    out = rq_channels(xhat, gamma_mult) + beta
    return sat(out, lo, hi)


def quantize_weights(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per output channel (row) int8: (q [out, in], scale [out]); an all-zero row gets scale 1."""
    w = np.asarray(w, dtype=np.float64)
    w2 = w.reshape(w.shape[0], -1)
    scale = np.abs(w2).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    return np.clip(np.round(w2 / scale[:, None]), -127, 127).astype(np.int64).reshape(w.shape), scale


def quantize_bias(b: np.ndarray | None, scale: np.ndarray, n: int) -> np.ndarray:
    if b is None:
        return np.zeros(n, dtype=np.int64)
    q = np.round(np.asarray(b, dtype=np.float64) / scale)
    if np.abs(q).max(initial=0) > INT32_MAX:
        raise ExportError("a bias does not fit int32 at scale s_in * s_w; the calibration range of its input is "
                          "degenerate, calibrate on real inputs")
    return q.astype(np.int64)
