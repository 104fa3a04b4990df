"""The surfaces added after the first hardening round (board-test, import, quantised export, the bare
entry point) tried as a user would: each bad input is one line, exit 2, nothing written; a build that
cannot fit or a run that never ends says so instead of reporting a model failure."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from tests.helpers import run_main


def test_no_arguments_prints_the_help(capsys, monkeypatch):
    code, out, err = run_main([], capsys, monkeypatch)
    assert code == 0 and out.startswith("Usage: mgrade-edge") and "board-test" in out and err == ""


@pytest.mark.parametrize("args, fragment", [
    (["board-test", "B", "--stack-steps", "1000000000"], "--stack-steps': must be an integer in [1, 100,000]"),
    (["board-test", "B", "--stack-steps", "0"], "--stack-steps': must be an integer in [1, 100,000]"),
    (["profile", "--preset", "digits", "--steps", "10,1000000000", "--no-measure"],
     "every count must be an integer in [1, 2,000,000]"),
    (["profile", "--preset", "digits", "--windows", "16,0", "--no-measure"],
     "every count must be an integer in [1, 65,536]"),
])
def test_numeric_options_are_bounded(args, fragment, tmp_path, capsys, monkeypatch):
    args = [str(tmp_path) if a == "B" else a for a in args]
    code, _, err = run_main(args, capsys, monkeypatch)
    assert code == 2 and fragment in err and err.count("\n") == 1, err


def import_inputs(tmp_path):
    npz = tmp_path / "weights.npz"
    np.savez(npz, w=np.zeros(3))
    pkl = tmp_path / "weights.pkl"
    pkl.write_bytes(pickle.dumps({"w": [1.0]}))
    npy = tmp_path / "weights.npy"
    np.save(npy, np.zeros(3))
    js = tmp_path / "weights.json"
    js.write_text('{"params": {}}')
    return {
        "device": ("/dev/zero", "neither a regular file nor a directory"),
        "npz": (npz, "is a zip archive"),
        "pickle": (pkl, "is a Python pickle (protocol"),
        "npy": (npy, "is a NumPy .npy array"),
        "json": (js, "is JSON text"),
    }


def test_import_names_what_it_was_given_instead(tmp_path, capsys, monkeypatch):
    config = tmp_path / "config.json"
    config.write_text('{"hidden_dim": 8}')
    for name, (path, fragment) in import_inputs(tmp_path).items():
        out = tmp_path / f"{name}.pt"
        code, _, err = run_main(["import", path, "--config", config, "--out", out], capsys, monkeypatch)
        assert code == 2 and fragment in err and err.count("\n") == 1, (name, err)
        assert not out.exists()


def test_export_refuses_weights_that_overflow_the_quantised_step(tmp_path, capsys, monkeypatch):
    import torch

    from mgrade_edge.checkpoint import load_checkpoint, save_checkpoint
    from tests.helpers import save_tiny_digits_checkpoint

    good = save_tiny_digits_checkpoint(tmp_path / "good.pt")

    ckpt = load_checkpoint(good)
    with torch.no_grad():
        ckpt.model.encoder.weight.fill_(3e38)  # finite, but the delay line reaches float32's limit
    huge = tmp_path / "huge.pt"
    save_checkpoint(huge, ckpt.model, ckpt.metadata)
    for target in (["tflite-int8"], ["c", "--quant", "int16x8"]):
        out = tmp_path / f"out_{target[0]}"
        code, _, err = run_main(["export", huge, "--target", *target, "--out", out], capsys, monkeypatch)
        assert code == 2 and "the float step's delay_0_in reaches 3e+38" in err and err.count("\n") == 1, err
        assert not out.exists()


def test_a_linker_overflow_names_the_region_and_the_fix(tmp_path):
    from mgrade_edge.board.build import SourceSet
    from mgrade_edge.board.program import ProgramSpec, build_program
    from mgrade_edge.board.toolchain import BoardError
    from tests.board.conftest import require_toolchain

    require_toolchain("cortex-m55")
    source = tmp_path / "big.c"
    # 2.5 MB of constants: more than the 2 MB CONST region (read-only data) of the mps3-an547 map
    source.write_text("const unsigned char big[2560 * 1024] = {1};\n"
                      "int main(int argc, char **argv) { (void)argv; return big[argc * 12345]; }\n")
    with pytest.raises(BoardError) as info:
        build_program("cortex-m55", ProgramSpec((SourceSet((source,)),), name="big"), tmp_path / "out")
    message = str(info.value)
    assert "bytes too large for the CONST region of mps3_an547.ld" in message and "\n" not in message, message


def test_a_golden_run_that_never_ends_is_not_a_golden_failure(tmp_path, monkeypatch):
    from mgrade_edge.board import c_golden
    from mgrade_edge.board.run import RunResult
    from mgrade_edge.board.toolchain import BoardError
    from tests.artifacts import build_c_bundle

    bundle = build_c_bundle(tmp_path / "c", "tiny", "float32")
    monkeypatch.setattr(c_golden, "run_program",
                        lambda tc, elf, args=(): RunResult(124, "", "timed out after 120 s", 120.0, timed_out=True))
    with pytest.raises(BoardError) as info:
        c_golden.board_test_c(bundle, cpu="host", stack_steps=50_000)
    assert "ran longer than 120 s on host (50000 stack steps)" in str(info.value)
    assert "pass fewer --stack-steps" in str(info.value)


@pytest.mark.parametrize("family", ["c", "tflm-fused"])
def test_dsp_on_the_host_is_refused_alike_for_c_and_fused(family, tmp_path, capsys, monkeypatch):
    from tests.artifacts import build_c_bundle

    bundle = build_c_bundle(tmp_path / family, "tiny", "int8", family=family)
    code, _, err = run_main(["board-test", bundle, "--cpu", "host", "--dsp"], capsys, monkeypatch)
    assert code == 2 and "--dsp uses the Arm DSP instructions (SMLAD); it needs a --cpu with them" in err, err
