"""The tflm bundle's model has no zero_state subgraph (TFLite Micro resets without it), its init
subgraph is still the one CALL_ONCE runs, and LiteRT still resets it: a stream after reset() repeats
the stream of a fresh runner step for step. The plain tflite target keeps zero_state."""

import numpy as np
import pytest

from mgrade_edge.export import flatbuffer
from mgrade_edge.export.tflite.passes.device_model import drop_signature_subgraph
from mgrade_edge.export.tflite.signatures import RESET_KEY, STEP_KEY


def _model(directory, manifest):
    return flatbuffer.read_model((directory / manifest["model_file"]).read_bytes())


def _signature_keys(model):
    return sorted((s.signatureKey or b"").decode() for s in model.signatureDefs)


def test_tflm_model_drops_zero_state_and_keeps_its_init(tflite_artifact):
    tflm_dir, tflm_manifest, _ = tflite_artifact("tflm-int8", "tiny", "internal")
    lite_dir, lite_manifest, _ = tflite_artifact("tflite-int8", "tiny", "internal")
    tflm, lite = _model(tflm_dir, tflm_manifest), _model(lite_dir, lite_manifest)
    assert _signature_keys(lite) == sorted([STEP_KEY, RESET_KEY])
    assert _signature_keys(tflm) == [STEP_KEY]
    assert len(tflm.subgraphs) == len(lite.subgraphs) - 1
    assert tflm_manifest["details"]["reset_signature_key"] is None
    call_once = [op for op in tflm.subgraphs[0].operators if flatbuffer.op_name(tflm, op) == "CALL_ONCE"]
    assert len(call_once) == 1
    init = tflm.subgraphs[call_once[0].builtinOptions.initSubgraphIndex]
    assert {flatbuffer.op_name(tflm, op) for op in init.operators} >= {"VAR_HANDLE", "ASSIGN_VARIABLE"}
    # the dropped subgraph's constants take no flash
    assert (tflm_dir / "model.tflite").stat().st_size < (lite_dir / "model.tflite").stat().st_size


@pytest.mark.parametrize("engine", ["litert", "tflm"])
def test_reset_without_zero_state_repeats_a_fresh_stream(tflite_artifact, engine, rng):
    from mgrade_edge.runtime import open_runner

    directory, manifest, step = tflite_artifact("tflm-int8", "tiny", "internal")
    xs = rng.normal(size=(200, step.cfg.d_in)).astype(np.float32)
    fresh = open_runner(directory, engine)
    first = np.stack([fresh.step(x) for x in xs])
    fresh.reset()
    again = np.stack([fresh.step(x) for x in xs])
    other = open_runner(directory, engine)
    assert np.array_equal(first, again)
    assert np.array_equal(first, np.stack([other.step(x) for x in xs]))
    assert np.std(first) > 0  # a stream that moves, so a stale state would show


def test_a_model_without_the_signature_is_unchanged(tflite_artifact):
    directory, manifest, _ = tflite_artifact("tflm-int8", "tiny", "internal")
    data = (directory / manifest["model_file"]).read_bytes()
    assert drop_signature_subgraph(data, RESET_KEY) == (data, False)
