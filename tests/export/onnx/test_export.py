"""ONNX export: every step of a streamed sequence matches the torch step (float and int8 QDQ)."""

from pathlib import Path

import numpy as np
import pytest

from mgrade_edge.errors import ExportError
from mgrade_edge.export import TARGETS
from mgrade_edge.export.artifact import ExportOptions, build_manifest
from mgrade_edge.export.onnx.export import MODEL_FILE, export_onnx
from mgrade_edge.quantize import calibration_set
from mgrade_edge.runtime.base import run_stream
from mgrade_edge.runtime.ort_runner import OrtRunner
from mgrade_edge.runtime.torch_runner import TorchRunner
from mgrade_edge.streaming import to_streaming
from tests.helpers import make_model, random_sequences

CONFIGS = ("tiny", "digits_like", "odd", "all_options", "authors_variants")
STREAM_SEQUENCES, SEQUENCE_STEPS = 3, 100  # 300 steps: three sequences back to back, state never reset


def manifest_for(step, result, target: str, directory, calibration=None) -> dict:
    """The manifest the export pipeline would write for this export (the package's one builder)."""
    return build_manifest(step, ExportOptions(target, calibration=calibration), result, directory,
                          TARGETS[target].precision.name)


@pytest.fixture(scope="module")
def steps():
    """Seeded random streaming steps and their calibration sets, built once per config."""
    cache = {}

    def get(config: str):
        if config not in cache:
            step = to_streaming(make_model(config, seed=0))
            calib = calibration_set(step, random_sequences(step.cfg, 16, 128, seed=1), n_sequences=4,
                                    stream_steps=512)
            cache[config] = (step, calib)
        return cache[config]

    return get


@pytest.fixture(scope="module")
def artifacts(steps, tmp_path_factory):
    cache = {}

    def get(config: str, target: str):
        if (config, target) not in cache:
            step, calib = steps(config)
            out = tmp_path_factory.mktemp(f"{config}-{target}")
            result = export_onnx(step, ExportOptions(target, calibration=calib), out)
            cache[config, target] = (out, result, manifest_for(step, result, target, out, calib))
        return cache[config, target]

    return get


def stream_both(step, out: Path, manifest: dict) -> tuple[np.ndarray, np.ndarray]:
    stream = np.concatenate(list(random_sequences(step.cfg, STREAM_SEQUENCES, SEQUENCE_STEPS, seed=2)))
    return run_stream(OrtRunner(out, manifest), stream), run_stream(TorchRunner(step), stream)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float((a * b).sum() / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.mark.parametrize("config", CONFIGS)
def test_float_matches_torch_every_step(config, steps, artifacts):
    step, _ = steps(config)
    out, _, manifest = artifacts(config, "onnx")
    got, ref = stream_both(step, out, manifest)
    atol = TARGETS["onnx"].tolerance.atol
    per_step = np.abs(got - ref).max(axis=1)
    bad = np.flatnonzero(per_step > atol)
    assert bad.size == 0, f"step {bad[0]} first exceeds {atol}: error {per_step[bad[0]]:.3g}"


@pytest.mark.parametrize("config", CONFIGS)
def test_int8_stays_close_to_torch_over_the_stream(config, steps, artifacts):
    step, _ = steps(config)
    out, _, manifest = artifacts(config, "onnx-int8")
    got, ref = stream_both(step, out, manifest)
    tol = TARGETS["onnx-int8"].tolerance
    assert cosine(got, ref) >= tol.min_cosine, (
        f"stream cosine {cosine(got, ref):.5f} < {tol.min_cosine}; rms error "
        f"{np.sqrt(np.mean((got - ref) ** 2)):.3g} vs output rms {np.sqrt(np.mean(ref ** 2)):.3g}")
    # Not a bit-exact copy of the float model: int8 must actually have changed the numbers.
    assert np.abs(got - ref).max() > 1e-4


@pytest.mark.parametrize("target", ["onnx", "onnx-int8"])
def test_graph_io_is_the_step_signature_and_self_contained(target, steps, artifacts):
    import onnx

    step, _ = steps("odd")
    out, result, _ = artifacts("odd", target)
    assert [p.name for p in out.iterdir()] == [MODEL_FILE], "no external-data side files"
    model = onnx.load(out / MODEL_FILE, load_external_data=False)
    assert all(init.data_location == onnx.TensorProto.DEFAULT for init in model.graph.initializer)
    assert [v.name for v in model.graph.input] == step.signature.input_names
    assert [v.name for v in model.graph.output] == step.signature.output_names
    for value in list(model.graph.input) + list(model.graph.output):
        dims = [d.dim_value for d in value.type.tensor_type.shape.dim]
        assert dims == list(step.signature.spec(value.name).shape), value.name
        assert value.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert all(t.dtype == "float32" for t in result.tensors)
    assert result.details["file_bytes"] == (out / MODEL_FILE).stat().st_size


def test_int8_details_name_quantised_and_float_nodes(artifacts):
    _, result, _ = artifacts("digits_like", "onnx-int8")
    details = result.details
    assert details["ops"]["QuantizeLinear"] > 0 and details["ops"]["DequantizeLinear"] > 0
    assert any(n.endswith(":Gemm") for n in details["nodes_reading_int8"])
    assert {"x", "h_0_in", "delay_1_in", "y"} <= set(details["io_quantization"])
    assert details["calibration_samples"] == 4 * 512  # every step of the four 512-step streams


@pytest.mark.parametrize("target", ["onnx", "onnx-int8"])
def test_exporting_twice_gives_identical_bytes(target, steps, artifacts, tmp_path):
    step, calib = steps("tiny")
    first, _, _ = artifacts("tiny", target)
    export_onnx(step, ExportOptions(target, calibration=calib), tmp_path)
    assert (tmp_path / MODEL_FILE).read_bytes() == (first / MODEL_FILE).read_bytes()


def test_no_source_paths_leak_into_the_file(artifacts):
    out, _, _ = artifacts("tiny", "onnx")
    data = (out / MODEL_FILE).read_bytes()
    assert b"streaming.py" not in data and b"site-packages" not in data


def test_internal_state_is_a_one_line_error(steps, tmp_path):
    step, _ = steps("tiny")
    with pytest.raises(ExportError, match="supports state 'external' only, got 'internal'; use --state external") as e:
        export_onnx(step, ExportOptions("onnx", state="internal"), tmp_path)
    assert "\n" not in str(e.value)
    assert not any(tmp_path.iterdir())


def test_int8_without_calibration_is_a_one_line_error(steps, tmp_path):
    step, _ = steps("tiny")
    with pytest.raises(ExportError, match="onnx-int8 needs calibration data") as e:
        export_onnx(step, ExportOptions("onnx-int8", calibration=None), tmp_path)
    assert "\n" not in str(e.value)


def test_float64_step_is_exported_as_float32(tmp_path):
    import torch

    step64 = to_streaming(make_model("tiny", seed=3).to(torch.float64))
    result = export_onnx(step64, ExportOptions("onnx"), tmp_path)
    step32 = to_streaming(make_model("tiny", seed=3))
    got, ref = stream_both(step32, tmp_path, manifest_for(step32, result, "onnx", tmp_path))
    assert np.abs(got - ref).max() <= TARGETS["onnx"].tolerance.atol
