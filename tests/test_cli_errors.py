"""Every bad input through the real entry point: one line on stderr, exit code 2, no traceback.

The count of bad inputs tried is asserted, so the reliability report can cite it.
"""


import numpy as np
import pytest

from tests.helpers import run_main, save_tiny_digits_checkpoint
from tests.test_checkpoint import bad_files


@pytest.fixture
def good(tmp_path):
    return save_tiny_digits_checkpoint(tmp_path / "good.pt")


def option_cases(good, tmp_path):
    calib_bad_shape = tmp_path / "bad_shape.npy"
    np.save(calib_bad_shape, np.zeros((3, 5), np.float32))
    calib_nan = tmp_path / "nan.npy"
    np.save(calib_nan, np.full((2, 8, 1), np.nan, np.float32))
    calib_text = tmp_path / "text.npy"
    calib_text.write_text("not numpy")
    existing = tmp_path / "existing"
    existing.mkdir()
    out = str(tmp_path / "out")
    g = str(good)
    return {
        "unknown_target": (["export", g, "--target", "coreml", "--out", out], "unknown target 'coreml'"),
        "bad_state": (["export", g, "--target", "onnx", "--state", "internal", "--out", out], "supports --state"),
        "calib_shape": (["export", g, "--target", "onnx-int8", "--calib", str(calib_bad_shape), "--out", out],
                        "expected [N, T, 1]"),
        "calib_nan": (["export", g, "--target", "onnx-int8", "--calib", str(calib_nan), "--out", out],
                      "contains NaN or Inf"),
        "calib_not_npy": (["export", g, "--target", "onnx-int8", "--calib", str(calib_text), "--out", out],
                          "not a readable .npy"),
        "calib_missing": (["export", g, "--target", "onnx-int8", "--calib", str(tmp_path / "no.npy"),
                           "--out", out], "calibration file"),
        "calib_sequences_zero": (["export", g, "--target", "onnx-int8", "--calib-sequences", "0", "--out", out],
                                 "--calib-sequences"),
        "existing_out": (["export", g, "--target", "onnx", "--out", str(existing)], "already exists; pass --force"),
        "sigmoid_on_float": (["export", g, "--target", "tflite", "--sigmoid", "int8", "--out", out],
                             "--sigmoid applies to tflite-int8 / tflm --quant int8 only, not tflite; drop --sigmoid"),
        "sigmoid_on_int16x8": (["export", g, "--target", "tflm", "--quant", "int16x8", "--sigmoid", "int16",
                                "--out", out],
                               "--sigmoid applies to tflite-int8 / tflm --quant int8 only, not tflm-int16x8"),
        "weights_on_tflite": (["export", g, "--target", "tflite-int8", "--weights", "int16", "--out", out],
                              "--weights applies to c --quant int8|int16x8 / tflm-fused only, not tflite-int8"),
        "weights_on_float_c": (["export", g, "--target", "c", "--quant", "float32", "--weights", "int16", "--out", out],
                               "--weights applies to c --quant int8|int16x8 / tflm-fused only, not c-float32"),
        "cpu_on_fused": (["export", g, "--target", "tflm-fused", "--cpu", "cortex-m4", "--out", out],
                         "--cpu applies to tflm only, not tflm-fused-int8 (a built bundle's arena on a CPU: "
                         "`mgrade-edge board-test DIR --cpu CPU`); drop --cpu"),
        "missing_parent": (["export", g, "--target", "onnx", "--out", str(tmp_path / "a" / "b")],
                           "does not exist"),
        "validate_steps_zero": (["validate", g, str(existing), "--steps", "0"], "--steps must be > 0"),
        "validate_steps_negative": (["validate", g, str(existing), "--steps", "-5"], "--steps must be > 0"),
        "validate_not_artifact": (["validate", g, str(existing)], "not an mgrade-edge artifact directory"),
        "train_epochs_zero": (["train", "--out", str(tmp_path / "t.pt"), "--epochs", "0"], "must be an integer in [1,"),
        "train_unknown_task": (["train", "--out", str(tmp_path / "t.pt"), "--task", "mnist"], "mnist"),
        "missing_argument": (["info"], "Missing argument"),
        "unknown_command": (["deploy"], "No such command 'deploy'"),
        "non_integer_steps": (["validate", g, str(existing), "--steps", "many"], "'many' is not a valid integer"),
    }


def test_every_bad_input_is_one_line_exit_2(good, tmp_path, capsys, monkeypatch):
    checkpoint_cases, marker = bad_files(tmp_path, good)
    cases = {f"checkpoint_{name}": (["info", str(path)], fragment)
             for name, (path, fragment) in checkpoint_cases.items()}
    cases.update({f"export_checkpoint_{name}": (["export", str(path), "--target", "onnx", "--out",
                                                  str(tmp_path / f"o_{name}")], fragment)
                  for name, (path, fragment) in list(checkpoint_cases.items())[:6]})
    cases.update(option_cases(good, tmp_path))
    assert len(cases) >= 40
    for name, (args, fragment) in cases.items():
        code, out, err = run_main(args, capsys, monkeypatch)
        lines = err.strip().splitlines()
        assert code == 2, f"{name}: exit {code}: {err}"
        assert len(lines) == 1 and lines[0].startswith("error: "), f"{name}: {err!r}"
        assert fragment in lines[0], f"{name}: {lines[0]}"
        assert "Traceback" not in err + out
    assert not marker.exists()
    # nothing half-written for the export cases
    assert not any(p.name.startswith(("o_", "out", ".out")) for p in tmp_path.iterdir())
