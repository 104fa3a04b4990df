"""The measured profile: argument errors, the non-streaming window model, and (with TFLite Micro) a
measured arena that stays constant while streaming."""

import pytest

from mgrade_edge.errors import DataError, ExportError
from mgrade_edge.profile.measure import profile_report
from mgrade_edge.profile.plot import write_plot
from mgrade_edge.profile.report import format_report
from tests.helpers import NAMED_CONFIGS, make_model


def test_bad_arguments_are_user_errors():
    cfg = NAMED_CONFIGS["tiny"]
    with pytest.raises(DataError, match="step counts"):
        profile_report(cfg, measure=False, steps=(1, 0))
    with pytest.raises(DataError, match="window lengths"):
        profile_report(cfg, measure=False, windows=(16, -4))
    with pytest.raises(ExportError, match="TFLite target"):
        profile_report(cfg, target="onnx-int8", measure=True)
    with pytest.raises(ExportError, match="unknown target"):
        profile_report(cfg, target="tflite-int4", measure=False)


@pytest.mark.parametrize("name", sorted(NAMED_CONFIGS))
def test_window_model_is_the_parallel_model(name):
    """The non-streaming model measured against the streaming one computes the parallel model's
    newest output over its window (float, before conversion), for every option of the block: the
    window form and the step form share tf_step's block code."""
    tf = pytest.importorskip("tensorflow")
    import torch

    from mgrade_edge.profile.measure import build_window_model
    from mgrade_edge.streaming import to_streaming
    from tests.helpers import random_sequences

    model = make_model(name)
    u = random_sequences(model.cfg, 1, 11, seed=2)[0]
    _, function = build_window_model(to_streaming(model), 11)
    y = function(tf.constant(u))["y"].numpy()
    with torch.no_grad():
        ref = model(torch.from_numpy(u)[None])[0, -1:].numpy()
    assert abs(y - ref).max() < 1e-4


def test_measured_arena_is_constant_while_streaming(tmp_path):
    pytest.importorskip("tflite_micro")
    pytest.importorskip("tensorflow")
    model = make_model("tiny")
    report = profile_report(model.cfg, model, target="tflite-int8", steps=(1, 10, 100, 1000), windows=(8,))
    assert sorted(report["arena_bytes"]) == [1, 10, 100, 1000]
    assert report["arena_delta_bytes"] == 0
    assert len(set(report["arena_bytes"].values())) == 1
    measured = report["measured"]
    # the exported variables hold exactly the analytic int8 state, and the graph's own peak of live
    # tensors is at least the analytic scratch (the analytic figure is a lower bound)
    assert measured["graph"]["resource_variable_bytes"] == report["state_bytes"]["total"]
    assert measured["graph"]["peak_live_tensor_bytes"] >= report["scratch_bytes"]
    assert report["arena_over_minimum"] > 1.0  # the interpreter needs more than state + scratch + I/O
    assert measured["accounting"]["state_variables_beyond_analytic"] == 0
    window = measured["window_reinference"][8]
    assert window["arena_non_persistent_bytes"] > measured["arena_non_persistent_bytes"]
    write_plot(report, tmp_path / "measured.png")
    assert "delta 0 bytes (constant)" in format_report(report)
