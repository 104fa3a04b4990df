"""The command line: instant help without heavy imports, one-line user errors with exit code 2."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from mgrade_edge.cli import cli

HEAVY = ("torch", "tensorflow", "onnxruntime", "onnx", "ai_edge_litert", "tflite_micro")


def test_help_of_every_command_imports_no_heavy_module():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from mgrade_edge.cli import cli\n"
        "names = [None] + sorted(cli.commands)\n"
        "for name in names:\n"
        "    args = ([name] if name else []) + ['--help']\n"
        "    result = CliRunner().invoke(cli, args)\n"
        "    assert result.exit_code == 0, (name, result.output)\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "print(len(names))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) >= 4


def test_missing_checkpoint_is_one_line_exit_2(tmp_path):
    result = CliRunner().invoke(cli, ["info", str(tmp_path / "nope.pt")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: checkpoint") and "not found" in lines[0]


def test_info_json_has_the_documented_keys():
    result = CliRunner().invoke(cli, ["info", "examples/digits.pt", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {"config", "params", "metadata"} <= set(report)
    assert report["metadata"]["task"] == "digits"
    assert report["metadata"]["test_accuracy"] >= 0.97
    assert report["params"] <= 50_000


def test_train_refuses_to_overwrite_without_force(tmp_path):
    existing = tmp_path / "m.pt"
    existing.write_bytes(b"keep")
    result = CliRunner().invoke(cli, ["train", "--out", str(existing), "--epochs", "1"])
    assert result.exit_code == 2 and "already exists; pass --force" in result.output
    assert existing.read_bytes() == b"keep"


@pytest.mark.parametrize("args, fragment", [
    (["train", "--out", "x.pt", "--epochs", "0"], "must be an integer in [1,"),
    (["train", "--out", "x.pt", "--task", "imagenet"], "'imagenet' is not one of"),
])
def test_bad_options_exit_2(args, fragment, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and fragment in result.output


def test_train_then_info_and_evaluate_round_trip(tmp_path):
    out = tmp_path / "small.pt"
    result = CliRunner().invoke(cli, ["train", "--task", "digits", "--out", str(out), "--epochs", "1",
                                      "--d-model", "8", "--layers", "1", "--kernel-size", "4", "--taps", "2"])
    assert result.exit_code == 0, result.output
    report = json.loads(CliRunner().invoke(cli, ["evaluate", str(out), "--json"]).output)
    # streaming reproduces the parallel model's decisions on the whole test set
    assert report["streaming"]["accuracy"] == report["parallel"]["accuracy"]
    assert report["max_abs_err"] < 1e-3
