"""The tflm-fused target: a one-op .tflite whose custom op is the generated C step. Its graph is
exactly x -> MGRADE_STEP -> y with the step's quantisation, its validate engine runs the op's
quantised I/O bit for bit like the integer reference over long streams, and it refuses what it
cannot honour. Building it against TFLite Micro is tests/board/test_tflm_fused_golden.py."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mgrade_edge.errors import ExportError
from mgrade_edge.export import get_target
from mgrade_edge.export.artifact import ExportOptions
from mgrade_edge.export.flatbuffer import op_name, read_model
from mgrade_edge.export.tflm_fused.export import OP_NAME, export_tflm_fused
from mgrade_edge.manifest import read_manifest
from mgrade_edge.qio import QParams
from mgrade_edge.runtime import open_runner
from mgrade_edge.runtime.base import run_stream
from mgrade_edge.runtime.torch_runner import TorchRunner
from mgrade_edge.streaming import to_streaming
from mgrade_edge.validate import compare_streams
from tests.artifacts import build_c_bundle
from tests.export.c.test_int_step import reference_for
from tests.helpers import NAMED_CONFIGS, make_model, random_sequences

CASES = [("odd", "int8"), ("all_options", "int16x8")]


@pytest.fixture(scope="module")
def fused_bundle(tmp_path_factory):
    built = {}

    def get(name: str, precision: str):
        if (name, precision) not in built:
            root = tmp_path_factory.mktemp(f"fused-{name}-{precision}") / "export"
            built[name, precision] = build_c_bundle(root, name, precision, family="tflm-fused")
        return built[name, precision]

    return get


@pytest.mark.parametrize("name, precision", CASES)
def test_the_graph_is_one_custom_op_with_the_steps_quantisation(fused_bundle, name, precision):
    out = fused_bundle(name, precision)
    manifest = read_manifest(out)
    model = read_model((out / "model.tflite").read_bytes())
    (graph,) = model.subgraphs
    (op,) = graph.operators
    assert op_name(model, op) == "CUSTOM" and model.operatorCodes[0].customCode.decode() == OP_NAME
    # the custom options name the step (a hash of its .c), which the kernel compares with its own
    assert bytes(op.customOptions).decode() == manifest["details"]["tflm_fused"]["step_id"]
    assert manifest["details"]["tflm_fused"]["step_id"] in (out / "mgrade_step_op.cc").read_text()
    assert len(graph.tensors) == 2 and list(graph.inputs) == [0] and list(graph.outputs) == [1]
    tensors = {t["name"]: t for t in manifest["tensors"]}
    dtype = {"int8": 9, "int16x8": 7}[precision]
    for index, name_ in ((0, "x"), (1, "y")):
        t = graph.tensors[index]
        assert t.name.decode() == name_ and t.type == dtype and list(t.shape) == tensors[name_]["shape"]
        assert t.quantization.scale[0] == np.float32(tensors[name_]["scale"]) and list(t.quantization.zeroPoint) == [0]
    # the weights are the C step's const data, not flatbuffer buffers
    assert all(not b.data for b in model.buffers)


@pytest.mark.parametrize("name, precision", CASES)
def test_validate_engine_runs_the_ops_quantised_io_bit_exactly(fused_bundle, name, precision):
    out = fused_bundle(name, precision)
    manifest = read_manifest(out)
    stream = random_sequences(NAMED_CONFIGS[name], 1, 2000, seed=7)[0]
    got = run_stream(open_runner(out), stream)
    ref = reference_for(name, precision)
    x, y = ({t["name"]: t for t in manifest["tensors"]}[k] for k in ("x", "y"))
    xq = QParams((len(x["shape"]) and x["shape"][-1],), x["dtype"], float(np.float32(x["scale"])))
    yq = QParams((y["shape"][-1],), y["dtype"], float(np.float32(y["scale"])))
    expected = np.stack([yq.dequantize(ref.step_q(xq.quantize(v))) for v in stream])
    mismatch = np.nonzero((got != expected).any(axis=1))[0]
    assert len(mismatch) == 0, f"first differing step {mismatch[0]}"
    # and that is within the target's tolerance of the float step over the whole stream
    tol = get_target(manifest["target"]).tolerance
    stats = compare_streams(run_stream(TorchRunner(to_streaming(make_model(name))), stream), got)
    assert stats["cosine"] >= tol.min_cosine
    assert stats["max_abs_err"] <= tol.max_steps_of_y * y["scale"]


def test_golden_outputs_are_the_integer_reference_and_the_arena_holds_the_state(fused_bundle):
    out = fused_bundle("odd", "int8")
    manifest = read_manifest(out)
    facts, fused = manifest["details"]["c"], manifest["details"]["tflm_fused"]
    assert "kGoldenToleranceSteps = 0;" in (out / "golden_io.h").read_text()
    header = (out / "mgrade_model.h").read_text()
    assert f"kStateBytes = {facts['state_bytes']};" in header
    assert f"kTensorArenaMinimum = {fused['arena']['minimum_bound']};" in header
    assert fused["arena"]["minimum_bound"] > facts["state_bytes"]  # the state is a persistent arena buffer
    assert "AddCustom(\"MGRADE_STEP\"" in (out / "op_resolver.h").read_text()
    assert json.loads((out / "manifest.json").read_text())["state"] == "internal"


def test_refuses_external_state_and_missing_calibration(tiny_calibrated_step, tmp_path):
    step, calibration = tiny_calibrated_step
    with pytest.raises(ExportError, match="keeps its state inside the custom op"):
        export_tflm_fused(step, ExportOptions("tflm-fused-int8", "external", calibration, "m"), tmp_path)
    with pytest.raises(ExportError, match="needs calibration data"):
        export_tflm_fused(step, ExportOptions("tflm-fused-int8", "internal", None, "m"), tmp_path)
    assert not any(tmp_path.iterdir())  # nothing half-written
