"""The memory profiler: the paper's worked example, hand-computed bytes, report shape, plot, and
(with TFLite Micro) a measured arena that stays constant while streaming."""

import json

import pytest

from mgrade_edge.errors import DataError, ExportError
from mgrade_edge.model import MGRADE, count_parameters
from mgrade_edge.presets import preset_config
from mgrade_edge.profile_measure import profile_report
from mgrade_edge.profile import (analytic_profile, comparisons, peak_live, step_dataflow, tcn_stack,
                                 training_parameters, PRECISIONS, format_report)
from mgrade_edge.profile_plot import write_plot
from tests.helpers import NAMED_CONFIGS, make_model

REPORT_KEYS = {"params", "flash_bytes", "state_bytes", "scratch_bytes", "paper_footprint_values", "arena_bytes",
               "arena_delta_bytes", "arena_over_minimum", "comparisons", "per_layer"}


# ---- the paper's worked example (spec section 5) -----------------------------------------------

def test_speech_commands_worked_example():
    cfg = preset_config("speech-commands")
    report = profile_report(cfg, MGRADE(cfg), target="tflite-int8", measure=False)
    fp = report["paper_footprint_values"]
    assert fp["state_values"] == 6 * (96 * 31 + 96) == 18_432
    assert fp["current_sample_counted"] is False
    # "~0.41 M parameters": we count 407,939 (the model's own parameters, taps not dense kernels)
    print(f"speech-commands parameters: {report['params']:,}")
    assert report["params"] == count_parameters(MGRADE(cfg))
    assert 400_000 <= report["params"] <= 420_000
    assert report["state_bytes"]["total"] == 18_432  # one byte per value at int8
    assert report["flash_bytes"]["by_dtype"]["int8"] == pytest.approx(0.41e6, rel=0.02)  # "~0.41 MB of weights"
    float_report = analytic_profile(cfg, "tflite")
    assert float_report["state_bytes"]["total"] == 4 * 18_432  # "~74 KB float32"
    assert float_report["flash_bytes"]["total"] == pytest.approx(1.65e6, rel=0.02)  # "~1.65 MB"


@pytest.mark.parametrize("name", sorted(NAMED_CONFIGS))
def test_parameter_formula_matches_the_model(name):
    model = make_model(name)
    assert sum(training_parameters(model.cfg).values()) == count_parameters(model)


# ---- hand-computed bytes -----------------------------------------------------------------------

def test_tiny_int8_by_hand():
    # tiny: d_in 1, d 8, L 1, C 3, Γ 4, M 2, no optional blocks, identity rec_act, mlp_ratio 2
    r = analytic_profile(NAMED_CONFIGS["tiny"], "tflite-int8")
    # params: encoder 1*8+8 = 16; layer: taps 2*2*8 = 32, gates 2*8*8+16 = 144, mlp_ln+post_ln 2*16 = 32,
    #         mlp_in 8*16+16 = 144, mlp_out 16*8+8 = 136 -> 488; decoder 8*3+3 = 27; total 531
    assert r["params"] == 531
    # state: delay line (4-1)*8 = 24 + hidden 8 = 32 values, 1 byte each
    assert r["state_bytes"] == {"delay_lines": 24, "hidden": 8, "total": 32}
    # int8 weights: encoder 8 + kernel 4*8 + gate_k 64 + gate_a 64 + mlp_in 128 + mlp_out 128 + decoder 24 = 448;
    #   no LayerNorm constants: mlp_ln folds into mlp_in and the last post_ln into the decoder
    # int32 biases: encoder 8 + zero depthwise bias 8 + 8 + 8 + 16 + 8 + decoder 3 = 59 values -> 236
    # quant params: (59 weight channels + 59 bias channels) * 12 = 1416
    assert r["flash_bytes"] == {"by_dtype": {"int8": 448, "int32": 236}, "quant_params": 1416, "total": 2100}
    # scratch peak at the delay conv: layer input 8 + window 4*8 + conv output 8 = 48
    assert r["scratch_bytes"] == 48
    assert r["io_bytes"] == {"x": 1, "y": 3}
    assert r["analytic_min_ram_bytes"] == 32 + 48 + 4


def test_all_options_int16x8_by_hand():
    # all_options: d_in 3, d 12, L 2, C 4, Γ 9, M 3, every LayerNorm, dense out, gelu rec_act, mlp_ratio 3,
    # no encoder bias
    r = analytic_profile(NAMED_CONFIGS["all_options"], "tflite-int16x8")
    # params: encoder 36; layer: taps 72 + conv_ln 24 + gates 312 + rec_out 156 + rec_ln 24 + mlp_ln 24
    #         + mlp_in 468 + mlp_out 444 + cm_ln 24 + post_ln 24 = 1572 (x2); decoder 52 -> 3232
    assert r["params"] == 3232
    # state: 2 layers * (8*12 + 12) = 216 values, int16 -> 432 bytes
    assert r["state_bytes"] == {"delay_lines": 384, "hidden": 48, "total": 432}
    # int8 weights: 36 + 2*(108 + 144 + 144 + 144 + 432 + 432) + 48 = 2892
    # int16 LayerNorm constants: conv, rec, cm, post in layer 0 and conv, rec, cm in layer 1 (mlp_ln and the
    #   last post_ln fold into the FC they feed) = 7 LayerNorms * 2 * 12 = 168 values -> 336
    # int64 biases: 2*(12 + 12 + 12 + 12 + 36 + 12) + 4 = 196 values -> 1568
    # quant params: (208 weight channels + 196 bias channels + 14 constant tensors) * 12 = 5016
    assert r["flash_bytes"] == {"by_dtype": {"int8": 2892, "int16": 336, "int64": 1568}, "quant_params": 5016,
                                "total": 9812}
    # scratch peak: layer input 12 + window 9*12 + conv output 12 = 132 values -> 264 bytes
    assert r["scratch_bytes"] == 264
    assert r["io_bytes"] == {"x": 6, "y": 8}
    assert r["analytic_min_ram_bytes"] == 432 + 264 + 14


def test_float_is_four_bytes_everywhere():
    cfg = NAMED_CONFIGS["odd"]
    f, q = analytic_profile(cfg, "tflite"), analytic_profile(cfg, "tflite-int8")
    assert f["state_bytes"]["total"] == 4 * q["state_bytes"]["total"]
    assert f["scratch_bytes"] == 4 * q["scratch_bytes"]
    assert f["flash_bytes"] == {"by_dtype": {"float32": 4 * f["deployed_values"]}, "quant_params": 0,
                                "total": 4 * f["deployed_values"]}


def test_peak_live_counts_only_overlapping_buffers():
    ops = [("p", "a", 10, ()), ("p", "b", 5, ("a",)), ("p", "c", 7, ("b",)), ("p", "d", 1, ("a", "c"))]
    # a lives to d; at c: a 10 + b 5 + c 7 = 22; at d: a + c + d = 18
    assert peak_live(ops) == (22, {"p": 22})


# ---- comparisons against T ---------------------------------------------------------------------

def test_comparisons_scale_as_stated():
    cfg = preset_config("speech-commands")
    comp = comparisons(cfg, PRECISIONS["int8"], 1000, t_grid=(256, 1024))
    b = comp["bytes"]
    assert b["streaming_mgrade"] == [1000, 1000]
    assert b["transformer_kv"] == [6 * 2 * 96 * 256, 6 * 2 * 96 * 1024]
    # layer-by-layer re-run over W: every activation is [W, ...], so the peak is linear in W
    assert peak_live(step_dataflow(cfg, 1024))[0] == 4 * peak_live(step_dataflow(cfg, 256))[0]
    assert tcn_stack(32) == ([1, 2, 4, 8, 16], 63)
    assert b["tcn"] == [6 * 96 * 2 * 31] * 2
    assert comp["macs_per_step"]["window_reinference"][1] > 1000 * comp["macs_per_step"]["streaming_mgrade"][1]


# ---- report shape, errors, text, plot ----------------------------------------------------------

def test_report_keys_and_json():
    report = profile_report(NAMED_CONFIGS["digits_like"], make_model("digits_like"), measure=False)
    assert REPORT_KEYS <= set(report)
    assert set(report["per_layer"]) == {"encoder", "layer_0", "layer_1", "decoder"}
    assert json.loads(json.dumps(report))["state_bytes"]["total"] == 2 * (15 * 16 + 16)
    text = format_report(report)
    assert "paper footprint" in text and "RAM minimum" in text and "transformer_kv" in text


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


def test_plot_is_a_png(tmp_path):
    report = profile_report(NAMED_CONFIGS["tiny"], measure=False)
    path = write_plot(report, tmp_path / "ram.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


def test_window_model_is_the_parallel_model():
    """The non-streaming model measured against the streaming one computes the parallel model's
    newest output over its window (float, before conversion)."""
    tf = pytest.importorskip("tensorflow")
    import torch

    from mgrade_edge.profile_measure import build_window_model
    from mgrade_edge.streaming import to_streaming
    from tests.helpers import random_sequences

    for name in ("tiny", "all_options"):
        model = make_model(name)
        u = random_sequences(model.cfg, 1, 11, seed=2)[0]
        _, function = build_window_model(to_streaming(model), 11)
        y = function(tf.constant(u))["y"].numpy()
        with torch.no_grad():
            ref = model(torch.from_numpy(u)[None])[0, -1:].numpy()
        assert abs(y - ref).max() < 1e-4


# ---- measured: TFLite Micro arena --------------------------------------------------------------

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
