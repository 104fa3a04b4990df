"""TFLite export: every target x config x state streamed through LiteRT and compared step by step
with the float32 torch step; the converted model's tensors, ops and determinism.

Artifacts are built once per (target, config, state) per test session by the session fixture
`tflite_artifact` (tests/conftest.py; the runtime tests reuse it), so each conversion is paid once.
"""

from __future__ import annotations

import numpy as np
import pytest

from mgrade_edge.errors import ExportError
from mgrade_edge.export import TARGETS, targets_with
from mgrade_edge.export.artifact import ExportOptions
from mgrade_edge.validate import stream_failures
from tests.artifacts import calibration_for, streaming_step
from tests.helpers import NAMED_CONFIGS, random_sequences

TFLITE_TARGETS = tuple(targets_with(format="tflite", by_quant=False))
CONFIGS = ("tiny", "digits_like", "odd")
STATES = ("external", "internal")
CASES = [(t, c, s) for t in TFLITE_TARGETS for c in CONFIGS for s in STATES]
CASE_IDS = [f"{t}-{c}-{s}" for t, c, s in CASES]
STREAM_STEPS = 400

def eval_stream(config: str) -> np.ndarray:
    """A stream the calibration never saw (seed 2)."""
    return random_sequences(NAMED_CONFIGS[config], 1, STREAM_STEPS, seed=2)[0]


def torch_outputs(step, stream: np.ndarray) -> np.ndarray:
    from mgrade_edge.runtime.base import run_stream
    from mgrade_edge.runtime.torch_runner import TorchRunner

    return run_stream(TorchRunner(step), stream)


# ---- every case against the torch step -----------------------------------------------------------

@pytest.mark.parametrize("target,config,state", CASES, ids=CASE_IDS)
def test_litert_stream_matches_torch_step(target, config, state, tflite_artifact):
    from mgrade_edge.runtime.base import run_stream
    from mgrade_edge.runtime.litert_runner import LiteRTRunner

    directory, manifest, step = tflite_artifact(target, config, state)
    stream = eval_stream(config)
    ref = torch_outputs(step, stream)
    got = run_stream(LiteRTRunner(directory, manifest), stream)
    assert got.shape == ref.shape == (STREAM_STEPS, NAMED_CONFIGS[config].n_classes)
    failures = stream_failures(manifest, got, ref)
    assert not failures, f"{target} {config} {state}: " + "; ".join(failures)


OPTION_CONFIGS = ("all_options", "sigmoid_act", "relu_act", "authors_variants", "no_residuals")  # every option


@pytest.mark.parametrize("target", TFLITE_TARGETS)
@pytest.mark.parametrize("config", OPTION_CONFIGS)
def test_every_block_option_runs_in_both_engines(target, config, tflite_artifact):
    from mgrade_edge.runtime.base import run_stream
    from mgrade_edge.runtime.litert_runner import LiteRTRunner
    from mgrade_edge.runtime.tflm_runner import TFLMRunner

    directory, manifest, step = tflite_artifact(target, config, "external")
    stream = eval_stream(config)[:200]
    ref = torch_outputs(step, stream)
    for runner in (LiteRTRunner(directory, manifest), TFLMRunner(directory, manifest)):
        failures = stream_failures(manifest, run_stream(runner, stream), ref)
        assert not failures, f"{runner.name}, {target} {config}: " + "; ".join(failures)


def test_tolerance_check_catches_a_forgetful_runner(tflite_artifact):
    """The comparison above can fail: a runner that drops the state every step is far outside it."""
    from mgrade_edge.runtime.base import run_stream
    from mgrade_edge.runtime.litert_runner import LiteRTRunner

    for target in ("tflite-int8", "tflite-int16x8"):
        directory, manifest, step = tflite_artifact(target, "digits_like", "external")
        runner = LiteRTRunner(directory, manifest)
        stream = eval_stream("digits_like")
        forgetful = np.stack([(runner.reset(), runner.step(x))[1] for x in stream])
        ref = torch_outputs(step, stream)
        assert stream_failures(manifest, forgetful, ref), target
        assert not stream_failures(manifest, run_stream(runner, stream), ref), target


# ---- what the converted model is made of ---------------------------------------------------------



@pytest.mark.parametrize("target,state", [(t, s) for t in TFLITE_TARGETS for s in STATES])
def test_tensor_infos_and_details(target, state, tflite_artifact):
    directory, manifest, step = tflite_artifact(target, "digits_like", state)
    tensors = {t["name"]: t for t in manifest["tensors"]}
    details = manifest["details"]
    cfg = NAMED_CONFIGS["digits_like"]
    io = TARGETS[target].precision.value_dtype
    quantized = io != "float32"
    if state == "external":
        assert set(tensors) == set(step.signature.input_names + step.signature.output_names)
        assert sorted(details["input_order"]) == sorted(step.signature.input_names)
        assert details["resource_variables"] == 0
    else:
        assert {n for n, t in tensors.items() if t["role"] != "state_in"} == {"x", "y"}
        assert {n for n, t in tensors.items() if t["role"] == "state_in"} == set(step.signature.input_names[1:])
        assert details["input_order"] == ["x"] and details["output_order"] == ["y"]
        assert details["resource_variables"] == 2 * cfg.n_layers
        assert details["subgraphs"][0] == "step", "TFLite Micro runs subgraph 0: it must be the step"
        assert {"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE"} <= set(details["ops"])
    for name, t in tensors.items():
        assert t["dtype"] == io, name
        assert t["shape"] == list(step.signature.spec(name).shape), name
        assert ("scale" in t) == quantized, name
        if quantized:
            assert t["scale"] > 0
    if target == "tflite-int8" and state == "external":
        for layer in range(cfg.n_layers):
            d_in, d_out = tensors[f"delay_{layer}_in"], tensors[f"delay_{layer}_out"]
            # int8 CONCATENATION needs one scale for inputs and output, so the delay line round-trips
            # raw (int16 CONCATENATION may rescale; the runner then requantises)
            assert (d_in["scale"], d_in["zero_point"]) == (d_out["scale"], d_out["zero_point"])
    # ops that have no int16 kernel (or none at all) in TFLite Micro must not appear
    assert {"DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "RSQRT", "LOGISTIC"} <= set(details["ops"])
    assert not {"SQUARED_DIFFERENCE", "GELU", "GATHER", "GATHER_ND", "SELECT_V2", "DEQUANTIZE"} & set(details["ops"])
    assert manifest["state_handling"]


def test_conversion_is_deterministic(tmp_path, tflite_artifact):
    """Exporting the same step with the same calibration twice gives byte-identical files."""
    from mgrade_edge.export.tflite.export import export_tflite

    for target, state in (("tflite-int8", "external"), ("tflite-int16x8", "internal")):
        first, _, step = tflite_artifact(target, "tiny", state)
        again = tmp_path / f"{target}-{state}"
        again.mkdir()
        export_tflite(step, ExportOptions(target, state, calibration_for(step, "tiny")), again)
        assert (again / "model.tflite").read_bytes() == (first / "model.tflite").read_bytes(), (target, state)


# ---- user errors ----------------------------------------------------------------------------------

def test_bad_options_are_user_errors(tmp_path):
    from mgrade_edge.export.tflite.export import export_tflite

    step = streaming_step("tiny")
    with pytest.raises(ExportError, match="needs calibration data"):
        export_tflite(step, ExportOptions("tflite-int8", "external", None), tmp_path)
    with pytest.raises(ExportError, match="supports --state external, internal, not 'sideways'"):
        export_tflite(step, ExportOptions("tflite", "sideways", None), tmp_path)
    with pytest.raises(ExportError, match="not a TFLite target"):
        export_tflite(step, ExportOptions("onnx", "external", None), tmp_path)
    assert not list(tmp_path.iterdir()), "a refused export writes nothing"
