"""OrtRunner: state feedback, reset, single-threaded session, opened through open_runner."""

import numpy as np
import pytest

from mgrade_edge.errors import ExportError
from mgrade_edge.export.artifact import ExportOptions, build_manifest
from mgrade_edge.export.onnx.export import export_onnx
from mgrade_edge.manifest import write_manifest
from mgrade_edge.runtime import open_runner
from mgrade_edge.runtime.base import run_stream
from mgrade_edge.runtime.ort_runner import OrtRunner
from mgrade_edge.runtime.torch_runner import TorchRunner
from mgrade_edge.streaming import to_streaming
from tests.helpers import make_model, random_sequences


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    """A float ONNX artifact directory (model + manifest) of a seeded "digits_like" model."""
    step = to_streaming(make_model("digits_like", seed=4))
    out = tmp_path_factory.mktemp("ort")
    opts = ExportOptions("onnx")
    result = export_onnx(step, opts, out)
    manifest = build_manifest(step, opts, result, out, "float32")
    write_manifest(out, manifest)
    return step, out, manifest


@pytest.fixture
def stream(artifact):
    step, _, _ = artifact
    return np.concatenate(list(random_sequences(step.cfg, 2, 60, seed=5)))


def test_step_shape_dtype_and_match_with_torch(artifact, stream):
    step, out, manifest = artifact
    runner, ref = OrtRunner(out, manifest), TorchRunner(step)
    for t, x in enumerate(stream):
        y, y_ref = runner.step(x), ref.step(x)
        assert y.shape == (step.cfg.n_classes,) and y.dtype == np.float32
        assert np.abs(y - y_ref).max() <= 1e-4, f"step {t}"


def test_reset_zeroes_the_state(artifact, stream):
    _, out, manifest = artifact
    runner = OrtRunner(out, manifest)
    first = run_stream(runner, stream)
    carried = run_stream(runner, stream, reset=False)  # starts from the state the first pass left
    again = run_stream(runner, stream)  # reset=True by default
    assert np.array_equal(first, again)
    assert np.abs(carried[:20] - first[:20]).max() > 1e-3, "state must carry over when not reset"


def test_returned_outputs_are_not_overwritten_by_later_steps(artifact, stream):
    _, out, manifest = artifact
    runner = OrtRunner(out, manifest)
    y0 = runner.step(stream[0])
    kept = y0.copy()
    for x in stream[1:10]:
        runner.step(x)
    assert np.array_equal(y0, kept)


def test_caller_input_array_is_not_modified(artifact, stream):
    _, out, manifest = artifact
    runner = OrtRunner(out, manifest)
    x = stream[3].copy()
    runner.step(x)
    assert np.array_equal(x, stream[3])


def test_session_is_single_threaded(artifact):
    _, out, manifest = artifact
    options = OrtRunner(out, manifest).session.get_session_options()
    assert options.intra_op_num_threads == 1 and options.inter_op_num_threads == 1


def test_open_runner_picks_onnxruntime_for_onnx_targets(artifact, stream):
    step, out, _ = artifact
    runner = open_runner(out)
    assert isinstance(runner, OrtRunner)
    assert np.abs(run_stream(runner, stream[:30]) - run_stream(TorchRunner(step), stream[:30])).max() <= 1e-4


def test_internal_state_manifest_is_refused(artifact):
    _, out, manifest = artifact
    with pytest.raises(ExportError, match="needs state external: re-export with --state external"):
        OrtRunner(out, {**manifest, "state": "internal"})
