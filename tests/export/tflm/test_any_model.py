"""board-test MODEL.tflite: MLPerf Tiny's reference models (not made by mgrade-edge) on TensorFlow Lite Micro,
checked against LiteRT and against the figures measured independently in ../shared/mlperf-tiny/README.md."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mgrade_edge.board.toolchain import BoardError
from mgrade_edge.export import flatbuffer
from mgrade_edge.export.tflm.any_model import board_test_tflite, read_int8_model
from tests.board.conftest import require_board
from tests.helpers import run_main

REPO = Path(__file__).resolve().parents[3]
MLPERF = Path(os.environ.get("MGRADE_MLPERF_TINY", REPO.parent / "shared" / "mlperf-tiny"))


def mlperf_model(name: str) -> Path:
    path = MLPERF / name
    if not path.is_file():
        pytest.skip(f"MLPerf Tiny models not found at {MLPERF} (set MGRADE_MLPERF_TINY to their folder)")
    return path


def test_the_streaming_wakeword_model_on_the_host_matches_litert():
    require_board("host", "reference")
    r = board_test_tflite(mlperf_model("str_ww_ref_model.tflite"), cpu="host")
    assert r["passed"] and "worst output error 0 steps" in r["result_line"]
    assert r["ops"] == ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "RESHAPE", "SOFTMAX"]
    assert 0 < r["arena_used_bytes"] <= r["arena_bytes_min"] and r["instructions_per_invoke"] is None


def test_ds_cnn_on_cortex_m4_with_cmsis_nn_matches_the_independent_measurement(capsys, monkeypatch):
    """../shared/mlperf-tiny/README.md (measured when the trees were first built, by other code): smallest arena
    22,832 B, 7,581,386 instructions per inference counted around Invoke()."""
    require_board("cortex-m4", "cmsis-nn")
    code, out, err = run_main(["board-test", str(mlperf_model("kws_ref_model.tflite")), "--cpu", "cortex-m4",
                               "--json"], capsys, monkeypatch)
    assert code == 0, err
    r = json.loads(out)
    assert r["kernels"] == "cmsis-nn" and r["arena_bytes_min"] == 22_832
    assert abs(r["instructions_per_invoke"] - 7_581_386) / 7_581_386 < 0.002


def test_what_the_runner_refuses(tmp_path):
    text = tmp_path / "notes.tflite"
    text.write_text("hello world, not a model")
    with pytest.raises(BoardError, match="is not a .tflite flatbuffer"):
        read_int8_model(text)
    model = flatbuffer.read_model(mlperf_model("kws_ref_model.tflite").read_bytes())
    graph = model.subgraphs[0]
    graph.tensors[graph.inputs[0]].type = 0  # FLOAT32
    floaty = tmp_path / "float_input.tflite"
    floaty.write_bytes(flatbuffer.write_model(model))
    with pytest.raises(BoardError, match="one int8 input and one int8 output; its inputs are float32"):
        read_int8_model(floaty)
    with pytest.raises(BoardError, match="does not exist"):
        read_int8_model(tmp_path / "missing.tflite")
