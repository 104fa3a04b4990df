"""mgrade_edge.qio and the generated C++ (templates/mgrade_qio.h) compute the same integers and floats, bit for bit."""

from __future__ import annotations

import shutil
import string
import subprocess

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mgrade_edge.export.tflm.export import TEMPLATES
from mgrade_edge.qio import INT_RANGES, QParams, StatePair, requantize, requantize_is_identity

needs_gxx = pytest.mark.skipif(shutil.which("g++") is None, reason="g++ not installed")

DRIVER = r"""
#include <cstdio>
#include <cstring>
#include "mgrade_qio.h"
// stdin: "q value_bits scale_bits zp bytes" | "d q scale_bits zp" | "r q s_bits zp d_bits dzp bytes"
static float f(unsigned b) { float v; std::memcpy(&v, &b, 4); return v; }
int main() {
  char op; unsigned a, b, c; int zp, zp2, bytes, q;
  while (std::scanf(" %c", &op) == 1) {
    if (op == 'q') { std::scanf("%x %x %d %d", &a, &b, &zp, &bytes);
      std::printf("%d\n", mgrade_qio::quantize(f(a), f(b), zp, bytes)); }
    else if (op == 'd') { std::scanf("%d %x %d", &q, &b, &zp); float v = mgrade_qio::dequantize(q, f(b), zp);
      unsigned bits; std::memcpy(&bits, &v, 4); std::printf("%08x\n", bits); }
    else { std::scanf("%d %x %d %x %d %d", &q, &b, &zp, &c, &zp2, &bytes);
      std::printf("%d\n", mgrade_qio::requantize(q, f(b), zp, f(c), zp2, bytes)); }
  }
  return 0;
}
"""


def bits(v) -> str:
    return f"{np.float32(v).view(np.uint32):08x}"


@pytest.fixture(scope="session")
def cxx_qio(tmp_path_factory):
    """The generated header compiled into a driver (with FMA contraction allowed, as an MCU build might)."""
    if shutil.which("g++") is None:
        pytest.skip("g++ not installed")
    d = tmp_path_factory.mktemp("qio")
    (d / "mgrade_qio.h").write_text(string.Template((TEMPLATES / "mgrade_qio.h").read_text()).substitute(
        banner="// test build", guard="MGRADE_QIO_TEST_H"))
    (d / "driver.cc").write_text(DRIVER)
    subprocess.run(["g++", "-O2", "-ffp-contract=fast", "-std=c++17", "-I", str(d), str(d / "driver.cc"),
                    "-o", str(d / "driver")], check=True, capture_output=True)

    def run(lines: list[str]) -> list[str]:
        out = subprocess.run([str(d / "driver")], input="\n".join(lines) + "\n", capture_output=True, text=True,
                             check=True)
        return out.stdout.split()
    return run


def test_cxx_and_python_agree_bit_for_bit(cxx_qio):
    rng = np.random.default_rng(0)
    cases = []  # (dtype, scale, zero point)
    for dtype in ("int8", "int16"):
        for scale in np.float32(10.0) ** rng.uniform(-5, 0, 12).astype(np.float32):
            zp = int(rng.integers(-128, 128)) if dtype == "int8" else 0
            cases.append((dtype, np.float32(scale), zp))
    q_lines, q_expect, d_lines, d_expect, r_lines, r_expect = [], [], [], [], [], []
    for dtype, scale, zp in cases:
        lo, hi = INT_RANGES[dtype]
        nbytes = 1 if dtype == "int8" else 2
        p = QParams((1, -1), dtype, float(scale), zp)
        # random values over (and beyond) the range, exact ties k + 0.5 steps, and far out-of-range values
        values = np.concatenate([rng.uniform((lo - zp) * 1.2, (hi - zp) * 1.2, 400) * scale,
                                 (np.arange(-60, 60) + 0.5) * scale, [1e9, -1e9, 0.0, -0.0]]).astype(np.float32)
        got = p.quantize(values, reshape=False)
        q_lines += [f"q {bits(v)} {bits(scale)} {zp} {nbytes}" for v in values]
        q_expect += [str(int(g)) for g in got]
        raw = np.arange(lo, hi + 1, max(1, (hi - lo) // 500))
        d_lines += [f"d {r} {bits(scale)} {zp}" for r in raw]
        d_expect += [bits(v) for v in p.dequantize(raw.astype(dtype))]
        for ratio in (1.0, float(np.nextafter(np.float32(1), np.float32(2))), 0.8, 1.25, 3.0, 0.3):
            dst = QParams((1, -1), dtype, float(np.float32(scale * ratio)), zp if dtype == "int16" else zp // 2)
            r_lines += [f"r {r} {bits(scale)} {zp} {bits(dst.scale)} {dst.zero_point} {nbytes}" for r in raw]
            r_expect += [str(int(g)) for g in requantize(raw.astype(dtype), p, dst)]
    assert len(q_lines) + len(d_lines) + len(r_lines) > 20_000
    assert cxx_qio(q_lines) == q_expect
    assert cxx_qio(d_lines) == d_expect
    assert cxx_qio(r_lines) == r_expect


# ---- the formulas themselves ----------------------------------------------------------------------

scales = st.floats(1e-5, 1.0, allow_nan=False, allow_infinity=False)


def qparams(dtype: str, scale: float, zero_point: int, shape=(1, 64)) -> QParams:
    return QParams(shape, dtype, scale, zero_point)


@settings(max_examples=200, deadline=None)
@given(dtype=st.sampled_from(["int8", "int16"]), scale=scales, zp_frac=st.floats(-0.9, 0.9), seed=st.integers(0, 2**16))
def test_quantise_dequantise_round_trip_within_half_a_step(dtype, scale, zp_frac, seed):
    lo, hi = INT_RANGES[dtype]
    zero_point = int(round(zp_frac * hi)) if dtype == "int8" else 0  # int16 tensors are symmetric
    q = qparams(dtype, scale, zero_point)
    rng = np.random.default_rng(seed)
    values = rng.uniform((lo - zero_point) * scale, (hi - zero_point) * scale, size=q.shape).astype(np.float32)
    raw = q.quantize(values)
    assert raw.dtype == np.dtype(dtype)
    err = np.abs(q.dequantize(raw).astype(np.float64) - values)
    # half a step, plus float32 rounding of value / scale and of the dequantised product
    assert np.all(err <= 0.5 * scale + 4 * np.finfo(np.float32).eps * np.abs(values))
    assert np.array_equal(q.quantize(q.dequantize(raw)), raw), "a dequantised value quantises back exactly"
    np.testing.assert_array_equal(q.dequantize(q.zeros()), 0.0)


@settings(max_examples=200, deadline=None)
@given(dtype=st.sampled_from(["int8", "int16"]), scale=scales, ratio=st.floats(0.5, 2.0),
       zps=st.tuples(st.integers(-128, 127), st.integers(-128, 127)))
def test_requantisation_between_differing_scales(dtype, scale, ratio, zps):
    """Every raw state value lands on the nearest step of the input's grid (clipped to its range), up to
    the float32 rounding of the dequantised value and of the quotient (the device's arithmetic)."""
    lo, hi = INT_RANGES[dtype]
    zp_out, zp_in = zps if dtype == "int8" else (0, 0)
    src, dst = qparams(dtype, scale, zp_out), qparams(dtype, scale * ratio, zp_in)
    raw = np.arange(lo, hi + 1).astype(dtype)
    got = requantize(raw, src, dst)
    assert got.dtype == np.dtype(dtype)
    value = (raw.astype(np.float64) - zp_out) * np.float64(np.float32(src.scale))
    quotient = value / np.float64(np.float32(dst.scale))
    ideal = np.clip(quotient + zp_in, lo, hi)
    float32_rounding = 4 * np.finfo(np.float32).eps * np.abs(quotient)  # two float32 roundings, in steps
    assert np.all(np.abs(got - ideal) <= 0.5 + float32_rounding)


@pytest.mark.parametrize("dtype", ["int8", "int16"])
def test_raw_feedback_is_used_exactly_when_requantisation_is_the_identity(dtype):
    lo, hi = INT_RANGES[dtype]
    raw = np.arange(lo, hi + 1).astype(dtype)
    zp = -128 if dtype == "int8" else 0
    base = qparams(dtype, 0.013792037, zp)
    one_ulp = qparams(dtype, float(np.nextafter(np.float32(base.scale), np.float32(1))), zp)
    assert requantize_is_identity(one_ulp, base)
    np.testing.assert_array_equal(requantize(raw, one_ulp, base), raw)
    for other in (qparams(dtype, base.scale * 1.05, zp), qparams(dtype, base.scale, zp + 1)):
        assert not requantize_is_identity(other, base)
        assert not np.array_equal(requantize(raw, other, base), raw)
    pair = StatePair("s_in", "s_out", qparams(dtype, base.scale, zp, (1, raw.size)),
                     qparams(dtype, base.scale * 1.05, zp, (1, raw.size)))
    np.testing.assert_array_equal(pair.feed_back(raw), requantize(raw, pair.q_out, pair.q_in).reshape(1, -1))
