"""Integer primitives of the quantised C step: the documented error bounds hold."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mgrade_edge.errors import ExportError
from mgrade_edge.export.c import fixed as fx


def test_multiplier_represents_the_factor_to_31_bits():
    for f in (1e-9, 3.3e-5, 0.017, 0.5, 1.0, 7.77, 12345.6, -0.25):
        m, n = fx.multiplier(f)
        assert 1 <= n <= 62 and (1 << 30) <= abs(m) < (1 << 31)
        assert abs(m / 2.0**n - f) <= abs(f) * 2.0**-30
    with pytest.raises(ExportError, match="too large"):
        fx.multiplier(2.0**40)


def test_rq_rounds_half_up_like_an_arithmetic_shift():
    half = (1 << 30, 31)  # x * 0.5
    assert list(fx.rq(np.array([-3, -2, -1, 0, 1, 2, 3]), half)) == [-1, -1, 0, 0, 1, 1, 2]


def test_32bit_rq_equals_rq_wherever_it_is_chosen():
    rng = np.random.default_rng(0)
    chosen = 0
    for f in np.concatenate([10.0 ** rng.uniform(-9, 4, 300), -(10.0 ** rng.uniform(-9, 4, 50)), [1.0, 0.25]]):
        mult = fx.multiplier(float(f))
        for bound in (127, 32768, 65535, fx.WIDE_MAX, 48 * 128 * 127 + 5000, fx.INT32_MAX):
            pre, shift = fx.rq_pre_shift(mult, bound)
            if pre < 0:
                continue
            chosen += 1
            # the negative end of a two's-complement range, -(bound + 1), also fits int32 after the shift
            assert 1 <= shift <= 30 and bound << pre <= fx.INT32_MAX and (bound + 1) << pre <= 1 << 31
            a = np.concatenate([rng.integers(-bound - 1, bound + 1, 2000),
                                [-bound - 1, -bound, -bound + 1, -1, 0, 1, bound - 1, bound]])
            assert (fx.rq_32bit(a, mult, pre, shift) == fx.rq(a, mult)).all(), (mult, bound)
    assert chosen > 1000  # the 32-bit form applies to most (factor, bound) pairs


def test_sigmoid_table_error_bound():
    u = np.linspace(-24, 24, 200_001)
    got = fx.sig_q15(np.round(u * fx.Q16).astype(np.int64)) / 32768.0
    assert np.abs(got - 1 / (1 + np.exp(-np.round(u * fx.Q16) / fx.Q16))).max() <= 8e-5


def test_sigmoid_table_ends_repeat_so_saturating_its_input_changes_nothing():
    """kernels.h's SSAT builds saturate u to [-2^20, 2^20) instead of testing both ends: the same
    values only because the table's first two and last two entries are equal."""
    assert fx.SIG_TABLE[0] == fx.SIG_TABLE[1] == 0 and fx.SIG_TABLE[-2] == fx.SIG_TABLE[-1] == 32768
    u = np.arange(-(1 << 21), 1 << 21, 37, dtype=np.int64)
    t = np.clip(u, -(1 << 20), (1 << 20) - 1) + (1 << 20)
    i, f = t >> 12, t & 4095
    saturated = fx.SIG_TABLE[i] + (((fx.SIG_TABLE[i + 1] - fx.SIG_TABLE[i]) * f + 2048) >> 12)
    assert np.array_equal(saturated, fx.sig_q15(u))


def test_gelu_error_bound():
    x = np.linspace(-20, 20, 200_001)
    xq = np.round(x * fx.Q16).astype(np.int64)
    xr = xq / fx.Q16
    ref = 0.5 * xr * (1 + np.tanh(math.sqrt(2 / math.pi) * (xr + 0.044715 * xr**3)))
    assert np.abs(fx.gelu_q16(xq) / fx.Q16 - ref).max() <= 4e-4


@pytest.mark.parametrize("m", [(1429292150, 25), (1612684132, 26), (-1610612736, 29), (1 << 30, 3)])
def test_32bit_rq_holds_for_every_input_up_to_its_run_time_limit(m):
    """int_step.c's minGRU takes the 32-bit rq by g_h for each g <= INT32_MAX >> (33 - n) (shift 1)."""
    pre = 33 - m[1]
    lim = fx.INT32_MAX >> pre
    rng = np.random.default_rng(0)
    a = np.concatenate([np.arange(0, min(5000, lim + 1)), np.arange(max(0, lim - 5000), lim + 1),
                        rng.integers(0, lim + 1, 20000)])
    assert np.array_equal(fx.rq_32bit(a, m, pre, 1), fx.rq(a, m))


def test_gelu_table_interpolation_fits_int32_and_meets_both_ends():
    """kernels.h's gelu_q16 multiplies a table difference by a 12-bit fraction in int32, and the
    table's ends join the identity and zero used beyond +-8 (no step at the limits)."""
    diffs = np.abs(np.diff(fx.GELU_TABLE))
    assert diffs.max() * ((1 << fx.GELU_STEP_BITS) - 1) + (1 << 11) < 1 << 25
    assert fx.GELU_TABLE[0] == 0 and fx.GELU_TABLE[-1] == fx.GELU_LIMIT
    edges = np.array([-fx.GELU_LIMIT - 1, -fx.GELU_LIMIT, -fx.GELU_LIMIT + 1, fx.GELU_LIMIT - 1, fx.GELU_LIMIT])
    assert fx.gelu_q16(edges).tolist() == [0, 0, 0, fx.GELU_LIMIT - 1, fx.GELU_LIMIT]


def test_layer_norm_matches_float_layer_norm():
    rng = np.random.default_rng(0)
    d, s_in, s_out = 13, 2.0**-18, 2.0**-16
    gamma, beta = rng.normal(size=d), rng.normal(size=d) * 0.1
    for scale in (1e-3, 1.0, 20.0):  # tiny, typical and large inputs
        v = rng.normal(size=d) * scale
        w = np.clip(np.round(v / s_in), -fx.WIDE_MAX, fx.WIDE_MAX).astype(np.int64)
        vin = w * s_in
        ref = (vin - vin.mean()) / np.sqrt(vin.var() + 1e-6) * gamma + beta
        got = fx.layer_norm(w, [fx.multiplier(g / fx.Q16 / s_out) for g in gamma], np.round(beta / s_out),
                            max(round(1e-6 / s_in**2), 1), -fx.WIDE_MAX, fx.WIDE_MAX) * s_out
        assert np.abs(got - ref).max() <= 1e-3 * np.abs(ref).max() + 1e-4, scale


def test_doctests():
    import doctest

    assert doctest.testmod(fx).failed == 0
