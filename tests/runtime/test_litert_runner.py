"""LiteRTRunner: reset, state feedback (raw vs requantised) and the quantisation helpers it shares
with the TFLite Micro runner. Streams against the torch step are in tests/export/test_tflite.py."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mgrade_edge.errors import ExportError
from mgrade_edge.runtime.base import run_stream
from mgrade_edge.runtime.litert_runner import (INT_RANGES, LiteRTRunner, QParams, TFLiteIO, requantize,
                                               requantize_is_identity)
from tests.export.test_tflite import TFLITE_TARGETS, eval_stream, tflite_artifact

RESET_STEPS = 120


@pytest.mark.parametrize("state", ["internal", "external"])
@pytest.mark.parametrize("target", TFLITE_TARGETS)
def test_reset_reproduces_the_first_run(target, state):
    """A fresh runner starts from the model's initial state; after N steps, reset() must bring back
    exactly that state (LiteRT's reset_all_variables() would not: the zero_state signature does)."""
    directory, manifest, _ = tflite_artifact(target, "digits_like", state)
    runner = LiteRTRunner(directory, manifest)
    stream = eval_stream("digits_like")[:RESET_STEPS]
    first = run_stream(runner, stream, reset=False)  # straight from construction
    again = run_stream(runner, stream, reset=True)
    np.testing.assert_array_equal(first, again)
    assert np.abs(first[-1] - first[0]).max() > 0, "the stream must move the state for this to mean anything"


def test_internal_state_persists_between_steps():
    """Without reset the variables carry over: a second pass over the same inputs differs."""
    directory, manifest, _ = tflite_artifact("tflite-int8", "digits_like", "internal")
    runner = LiteRTRunner(directory, manifest)
    stream = eval_stream("digits_like")[:RESET_STEPS]
    first = run_stream(runner, stream, reset=False)
    second = run_stream(runner, stream, reset=False)
    assert not np.array_equal(first, second)


def test_delay_lines_are_fed_back_raw():
    directory, manifest, _ = tflite_artifact("tflite-int8", "odd", "external")
    io = TFLiteIO(manifest)
    for pair, feedback in zip(io.pairs, io.feedbacks):
        if pair.name_in.startswith("delay"):
            assert pair.q_in == pair.q_out and feedback is None, pair


def test_stale_manifest_is_refused():
    directory, manifest, _ = tflite_artifact("tflite-int8", "tiny", "external")
    stale = copy.deepcopy(manifest)
    next(t for t in stale["tensors"] if t["name"] == "y")["scale"] *= 1.01
    with pytest.raises(ExportError, match="does not match manifest.json"):
        LiteRTRunner(directory, stale)


# ---- quantisation helpers ---------------------------------------------------------------------------

def qparams(dtype: str, scale: float, zero_point: int, shape=(1, 64)) -> QParams:
    return QParams(shape, dtype, scale, zero_point)


scales = st.floats(1e-5, 1.0, allow_nan=False, allow_infinity=False)


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
    """Every raw state value lands on the nearest step of the input's grid (clipped to its range)."""
    lo, hi = INT_RANGES[dtype]
    zp_out, zp_in = zps if dtype == "int8" else (0, 0)
    src, dst = qparams(dtype, scale, zp_out), qparams(dtype, scale * ratio, zp_in)
    raw = np.arange(lo, hi + 1).astype(dtype)
    got = requantize(raw, src, dst)
    assert got.dtype == np.dtype(dtype)
    value = (raw.astype(np.float64) - zp_out) * np.float64(src.scale)
    ideal = np.clip(value / np.float64(dst.scale) + zp_in, lo, hi)
    assert np.abs(got - ideal).max() <= 0.5 + 1e-6
    inside = (ideal > lo) & (ideal < hi)
    recovered = (got.astype(np.float64) - zp_in) * np.float64(dst.scale)
    assert np.abs(recovered - value)[inside].max(initial=0) <= 0.5 * dst.scale * (1 + 1e-6)


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


def test_runner_requantises_a_state_whose_scales_differ():
    """An h pair with different in/out scales is requantised by the runner before feedback."""
    directory, manifest, _ = tflite_artifact("tflite-int8", "tiny", "external")
    manifest = copy.deepcopy(manifest)
    h_out = next(t for t in manifest["tensors"] if t["name"] == "h_0_out")
    io = TFLiteIO({**manifest, "tensors": [dict(t, scale=t["scale"] * 1.25) if t is h_out else t
                                             for t in manifest["tensors"]]})
    pair, feedback = next((p, f) for p, f in zip(io.pairs, io.feedbacks) if p.name_in == "h_0_in")
    assert feedback is not None
    # values whose requantised form stays inside the input's range (larger ones clip, by design)
    raw_out = np.array([[-128, -101, -64, -30, 0, 17, 40, 50]], dtype=np.int8)
    assert np.abs(pair.q_in.dequantize(feedback(raw_out)) - pair.q_out.dequantize(raw_out)).max() \
        <= 0.5 * pair.q_in.scale * (1 + 1e-6)
