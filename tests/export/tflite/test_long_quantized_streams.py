"""Quantised artifacts over 100,000 steps of real input: finite, and the error does not grow."""

import numpy as np
import pytest

from mgrade_edge.checkpoint import load_checkpoint
from mgrade_edge.data import load_task
from mgrade_edge.pipeline import export_checkpoint
from mgrade_edge.runtime import open_runner
from mgrade_edge.runtime.base import run_stream
from mgrade_edge.streaming import to_streaming
from mgrade_edge.validate import drift_ratio, long_stream
from tests.reference import stepped_outputs

STEPS = 100_000
EXAMPLE = "examples/digits.pt"


@pytest.fixture(scope="module")
def stream_and_reference():
    stream = long_stream(load_task("digits").test_x, STEPS)  # the test digits, back to back, no resets
    # the float32 torch step's outputs, time-batched (tests/test_reference.py checks it equals stepping)
    reference = stepped_outputs(to_streaming(load_checkpoint(EXAMPLE).model), stream)
    return stream, reference


@pytest.mark.parametrize("target", ["tflite-int8", "tflite-int16x8"])
def test_100k_steps_stay_finite_without_drift(target, stream_and_reference, tmp_path):
    stream, reference = stream_and_reference
    export_checkpoint(EXAMPLE, target, tmp_path / target, validate=False)
    outputs = run_stream(open_runner(tmp_path / target), stream)
    assert np.isfinite(outputs).all()
    err = np.abs(outputs - reference).max(axis=1)
    ratio = drift_ratio(err)
    assert ratio <= 1.5, f"{target}: max error {err[-STEPS // 10:].max():.3g} in the last 10% vs " \
                         f"{err[:STEPS // 10].max():.3g} in the first 10%"
