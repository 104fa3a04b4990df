"""LiteRTRunner: reset, state feedback (raw vs requantised) and the quantisation helpers it shares
with the TFLite Micro runner. Streams against the torch step are in tests/export/tflite/test_export.py."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from mgrade_edge.errors import ExportError
from mgrade_edge.qio import requantize
from mgrade_edge.runtime.base import run_stream
from mgrade_edge.runtime.litert_runner import LiteRTRunner, TFLiteIO
from tests.export.tflite.test_export import TFLITE_TARGETS, eval_stream

RESET_STEPS = 120


@pytest.mark.parametrize("state", ["internal", "external"])
@pytest.mark.parametrize("target", TFLITE_TARGETS)
def test_reset_reproduces_the_first_run(target, state, tflite_artifact):
    """A fresh runner starts from the model's initial state; after N steps, reset() must bring back
    exactly that state (LiteRT's reset_all_variables() would not: the zero_state signature does)."""
    directory, manifest, _ = tflite_artifact(target, "digits_like", state)
    runner = LiteRTRunner(directory, manifest)
    stream = eval_stream("digits_like")[:RESET_STEPS]
    first = run_stream(runner, stream, reset=False)  # straight from construction
    again = run_stream(runner, stream, reset=True)
    np.testing.assert_array_equal(first, again)
    assert np.abs(first[-1] - first[0]).max() > 0, "the stream must move the state for this to mean anything"


def test_internal_state_persists_between_steps(tflite_artifact):
    """Without reset the variables carry over: a second pass over the same inputs differs."""
    directory, manifest, _ = tflite_artifact("tflite-int8", "digits_like", "internal")
    runner = LiteRTRunner(directory, manifest)
    stream = eval_stream("digits_like")[:RESET_STEPS]
    first = run_stream(runner, stream, reset=False)
    second = run_stream(runner, stream, reset=False)
    assert not np.array_equal(first, second)


def test_delay_lines_are_fed_back_raw(tflite_artifact):
    directory, manifest, _ = tflite_artifact("tflite-int8", "odd", "external")
    io = TFLiteIO(manifest)
    for pair, feedback in zip(io.pairs, io.feedbacks):
        if pair.name_in.startswith("delay"):
            assert pair.q_in == pair.q_out and feedback is None, pair


def test_stale_manifest_is_refused(tflite_artifact):
    directory, manifest, _ = tflite_artifact("tflite-int8", "tiny", "external")
    stale = copy.deepcopy(manifest)
    next(t for t in stale["tensors"] if t["name"] == "y")["scale"] *= 1.01
    with pytest.raises(ExportError, match="does not match manifest.json"):
        LiteRTRunner(directory, stale)


# ---- state feedback (the formulas are tested in tests/test_qio.py) ------------------------------------

def test_runner_requantises_a_state_whose_scales_differ(tflite_artifact):
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
    # on the input's grid within half a step, up to float32 rounding of the values (~1e-7 relative)
    err = np.abs(pair.q_in.dequantize(feedback(raw_out)).astype(np.float64) - pair.q_out.dequantize(raw_out))
    assert err.max() <= 0.5 * pair.q_in.scale + 4 * np.finfo(np.float32).eps * 2.0
    np.testing.assert_array_equal(feedback(raw_out), requantize(raw_out, pair.q_out, pair.q_in))
