"""TFLMRunner: every TFLite artifact runs in the TensorFlow Lite Micro interpreter.

Float artifacts must reproduce LiteRT to 1e-5. Quantised artifacts are held to their target's
Tolerance against the torch step, exactly like LiteRT: the two engines do not produce identical
integers (LiteRT's kernels use single-rounding fixed-point requantisation, TFLite Micro's the
double-rounding gemmlowp form, so an output differs by one step now and then, and the graph
amplifies that), which rules out a bit-exact or one-step comparison between them.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from mgrade_edge.errors import ExportError
from mgrade_edge.runtime.base import run_stream
from mgrade_edge.runtime.litert_runner import LiteRTRunner
from mgrade_edge.runtime.tflm_runner import MIN_DEFAULT_ARENA, TFLMRunner, default_arena_size
from mgrade_edge.validate import stream_failures
from tests.export.tflite.test_export import CASE_IDS, CASES, TFLITE_TARGETS, eval_stream, torch_outputs

FLOAT_ENGINE_ATOL = 1e-5  # float kernels differ only in summation order


@pytest.mark.parametrize("target,config,state", CASES, ids=CASE_IDS)
def test_tflm_runs_every_artifact(target, config, state, tflite_artifact):
    directory, manifest, step = tflite_artifact(target, config, state)
    stream = eval_stream(config)
    got = run_stream(TFLMRunner(directory, manifest), stream)
    if target == "tflite":
        litert = run_stream(LiteRTRunner(directory, manifest), stream)
        assert np.abs(got - litert).max() <= FLOAT_ENGINE_ATOL
    else:
        failures = stream_failures(manifest, got, torch_outputs(step, stream))
        assert not failures, f"TFLite Micro, {target} {config} {state}: " + "; ".join(failures)


@pytest.mark.parametrize("target", TFLITE_TARGETS)
def test_internal_state_reset_reproduces_the_first_run(target, tflite_artifact):
    directory, manifest, _ = tflite_artifact(target, "digits_like", "internal")
    runner = TFLMRunner(directory, manifest)
    stream = eval_stream("digits_like")[:120]
    first = run_stream(runner, stream, reset=False)
    again = run_stream(runner, stream, reset=True)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, run_stream(runner, stream, reset=False)), "state must persist without reset"


def test_arena_size(tflite_artifact):
    assert default_arena_size(1000) == MIN_DEFAULT_ARENA
    assert default_arena_size(100_000) == 1_000_000
    directory, manifest, _ = tflite_artifact("tflite-int8", "tiny", "internal")
    assert TFLMRunner(directory, manifest, arena_size=200_000).arena_size == 200_000


def test_manifest_without_positional_order_is_refused(tflite_artifact):
    directory, manifest, _ = tflite_artifact("tflite-int8", "tiny", "external")
    broken = copy.deepcopy(manifest)
    del broken["details"]["input_order"]
    with pytest.raises(ExportError, match="input_order"):
        TFLMRunner(directory, broken)


def test_stale_manifest_is_refused(tflite_artifact):
    directory, manifest, _ = tflite_artifact("tflite-int16x8", "tiny", "external")
    stale = copy.deepcopy(manifest)
    next(t for t in stale["tensors"] if t["name"] == "h_0_in")["scale"] *= 2
    with pytest.raises(ExportError, match="does not match manifest.json"):
        TFLMRunner(directory, stale)
