"""The analytic memory model: the paper's worked example and hand-computed bytes per precision."""

import pytest

from mgrade_edge.analytic import (
    analytic_profile,
    comparisons,
    peak_live,
    step_dataflow,
    tcn_stack,
    training_parameters,
)
from mgrade_edge.export import PRECISIONS
from mgrade_edge.model import MGRADE, count_parameters
from mgrade_edge.presets import preset_config
from tests.helpers import NAMED_CONFIGS, make_model

# ---- the paper's worked example (spec section 5) -----------------------------------------------

def test_speech_commands_worked_example():
    cfg = preset_config("speech-commands")
    report = analytic_profile(cfg, "tflite-int8", MGRADE(cfg))
    fp = report["paper_footprint_values"]
    assert fp["state_values"] == 6 * (96 * 31 + 96) == 18_432
    assert fp["current_sample_counted"] is False
    # "~0.41 M parameters", by hand (d 96, L 6, C 35, M 8 taps, MLP 192, conv_ln, rec_ln, dense out):
    #   encoder 96 + 96 = 192; per layer: taps (weight, position) 2*8*96 = 1536, conv_ln 192,
    #   gates 2*96*96 + 192 = 18,624, rec_out 96*96 + 96 = 9312, rec_ln 192, mlp_ln 192,
    #   mlp_in 96*192 + 192 = 18,624, mlp_out 192*96 + 96 = 18,528, post_ln 192 -> 67,392 (x6 = 404,352);
    #   decoder 96*35 + 35 = 3395; total 407,939 (taps, not the dense kernels they expand to)
    assert report["params"] == 192 + 6 * 67_392 + 3395 == 407_939
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
