"""validate: the comparison itself, checked with runners whose faults are known."""

import numpy as np
import pytest
import torch

from mgrade_edge.errors import UserError
from mgrade_edge.pipeline import export_checkpoint
from mgrade_edge.runtime.base import Runner, run_sequences
from mgrade_edge.runtime.torch_runner import TorchRunner
from mgrade_edge.streaming import to_streaming
from mgrade_edge.validate import drift_ratio, long_stream, validate_artifact, validate_runner
from tests.helpers import make_model, random_sequences, save_tiny_digits_checkpoint


class Faulty(Runner):
    """Wraps a reference runner; adds a bias that grows with time, or forgets the state every step."""

    def __init__(self, inner: Runner, growth: float = 0.0, forget: bool = False):
        self.inner, self.growth, self.forget, self.t = inner, growth, forget, 0

    def reset(self):
        self.inner.reset()
        self.t = 0

    def step(self, x):
        if self.forget:
            self.inner.reset()
        self.t += 1
        return self.inner.step(x) + self.growth * self.t


def test_drift_ratio_and_long_stream():
    assert drift_ratio(np.r_[np.ones(10), np.ones(80), 3 * np.ones(10)]) == 3.0
    assert drift_ratio(np.zeros(100)) == 1.0
    seqs = np.arange(12, dtype=np.float32).reshape(2, 3, 2)
    stream = long_stream(seqs, 10)
    assert stream.shape == (10, 2) and np.array_equal(stream[6:], stream[:4])


@pytest.fixture
def setup():
    model = make_model("digits_like", seed=2)
    x = random_sequences(model.cfg, 6, 30, seed=3)
    y = np.arange(6) % model.cfg.n_classes
    return model, x, y


def test_identical_runner_is_exact(setup):
    model, x, y = setup
    step = to_streaming(model)
    report = validate_runner(TorchRunner(step), TorchRunner(step), "sequence", "mean", x, y, 500, 1e-4)
    assert report["max_abs_err"] == 0 and report["agreement"] == 1.0 and report["within_tolerance"]
    assert report["first_step_over_tolerance"] is None and report["steps"] == 6 * 30 + 500


def test_growing_error_is_caught_as_drift(setup):
    model, x, y = setup
    step = to_streaming(model)
    report = validate_runner(Faulty(TorchRunner(step), growth=1e-4), TorchRunner(step), "sequence", "mean",
                             x, y, 2000, 0.05055)
    assert report["drift_ratio"] > 5
    assert report["first_step_over_tolerance"] == 505  # 1e-4 * (505 + 1) is the first error above 0.05055
    assert not report["within_tolerance"]


def test_forgotten_state_fails_the_cosine_floor(setup):
    model, x, y = setup
    step = to_streaming(model)
    report = validate_runner(Faulty(TorchRunner(step), forget=True), TorchRunner(step), "sequence", "mean",
                             x, y, 300, None, min_cosine=0.999)
    assert not report["within_tolerance"] and report["max_abs_err"] > 0.01


def test_regression_has_metrics_but_no_agreement():
    model = make_model("tiny", seed=0)
    step = to_streaming(model)
    x = random_sequences(model.cfg, 2, 20, seed=1)
    targets = np.random.default_rng(0).normal(size=(2, 20, model.cfg.n_classes)).astype(np.float32)
    report = validate_runner(TorchRunner(step), TorchRunner(step), "step_regression", "mean", x, targets, 50, 1e-4)
    assert report["agreement"] is None and "r2" in report["metrics_ref"]


def test_artifact_from_another_checkpoint_is_refused(tmp_path):
    a = save_tiny_digits_checkpoint(tmp_path / "a.pt", seed=0)
    b = save_tiny_digits_checkpoint(tmp_path / "b.pt", seed=1)
    export_checkpoint(a, "onnx", tmp_path / "art", validate=False)
    with pytest.raises(UserError, match="exported from a different checkpoint"):
        validate_artifact(b, tmp_path / "art", steps=100)
    report = validate_artifact(a, tmp_path / "art", steps=200, max_sequences=5)
    assert report["within_tolerance"] and report["engine"] == "onnxruntime"


def test_chunked_comparison_equals_the_whole_array_formulas(monkeypatch):
    import numpy as np

    from mgrade_edge import validate

    rng = np.random.default_rng(0)
    ref = rng.normal(size=(5, 301, 7)).astype(np.float32)
    art = (ref + rng.normal(scale=0.01, size=ref.shape)).astype(np.float32)
    monkeypatch.setattr(validate, "COMPARE_ROWS", 64)  # 1,505 rows: 24 passes, the last one partial
    got = validate.compare_streams(ref, art)
    r, a = ref.astype(np.float64).ravel(), art.astype(np.float64).ravel()
    err = np.abs(a - r)
    assert got["max_abs_err"] == err.max()
    np.testing.assert_allclose(got["rms_err"], np.sqrt(np.mean(err**2)), rtol=1e-12)
    np.testing.assert_allclose(got["cosine"], r @ a / (np.linalg.norm(r) * np.linalg.norm(a)), rtol=1e-12)
    np.testing.assert_allclose(got["output_rms"], np.sqrt(np.mean(r**2)), rtol=1e-12)
    per_step = validate.step_errors(ref, art)
    assert per_step.shape == (5 * 301,) and np.array_equal(per_step, err.reshape(-1, 7).max(axis=1))


def test_scoring_part_by_part_equals_scoring_the_whole_set(monkeypatch):
    """The test set streams SEQUENCES_PER_PASS at a time and is scored as it goes; with passes of 3 of
    10 sequences (the last partial) every number equals scoring all outputs at once."""
    import numpy as np

    from mgrade_edge import validate
    from mgrade_edge.metrics import predictions, task_metrics

    model = make_model("digits_like", seed=2)
    step = to_streaming(model)
    x = random_sequences(model.cfg, 10, 40, seed=4)
    y = np.arange(10) % model.cfg.n_classes
    # float64 runners: a batch of 3 and a batch of 10 take different float32 kernels (8e-8 apart)
    artifact = Faulty(TorchRunner(step, torch.float64), growth=1e-3)
    reference = TorchRunner(step, torch.float64)
    tolerance = 1e-3
    whole = validate.validate_runner(artifact, reference, "sequence", "mean", x, y, 200, tolerance)
    monkeypatch.setattr(validate, "SEQUENCES_PER_PASS", 3)
    parts = validate.validate_runner(artifact, reference, "sequence", "mean", x, y, 200, tolerance)
    for part in ("test_sequences", "long_stream", None):  # sums over other row chunks round differently
        got, want = (parts, whole) if part is None else (parts[part], whole[part])
        assert got.keys() == want.keys()
        for key, value in want.items():
            if isinstance(value, float):
                assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-300), (part, key)
            elif not isinstance(value, dict):
                assert got[key] == value, (part, key)
    assert parts["metrics_artifact"] == whole["metrics_artifact"] and not whole["within_tolerance"]
    ref, art = run_sequences(reference, x), run_sequences(artifact, x)
    expected = validate.compare_streams(ref, art)
    for key in ("max_abs_err", "cosine", "output_rms"):
        assert parts["test_sequences"][key] == pytest.approx(expected[key], rel=1e-12, abs=0), key
    same = predictions("sequence", ref, "mean") == predictions("sequence", art, "mean")
    assert parts["agreement"] == float(same.mean())
    assert parts["accuracy_artifact"] == task_metrics("sequence", art, y, "mean")["accuracy"]


def test_the_first_step_over_tolerance_counts_across_parts():
    import numpy as np

    from mgrade_edge.validate import StreamComparison

    ref = np.zeros((3, 5, 2), np.float32)
    art = ref.copy()
    art[2, 3, 1] = 0.5  # sequence 2, step 3: workload step 13
    comparison = StreamComparison(0.1)
    for part in range(3):
        comparison.add(ref[part:part + 1], art[part:part + 1])
    assert comparison.first_over == (13, 0.5)
    assert comparison.failures(None) == ["max abs err 0.5 > 0.1; first at step 13 (err 0.5)"]
