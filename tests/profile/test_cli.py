"""`mgrade-edge profile` and `mgrade-edge init` through the command line."""

import json

from click.testing import CliRunner

from mgrade_edge.checkpoint import load_checkpoint
from mgrade_edge.cli import cli

REQUIRED_KEYS = {"params", "flash_bytes", "state_bytes", "scratch_bytes", "paper_footprint_values", "arena_bytes",
                 "arena_delta_bytes", "arena_over_minimum", "comparisons"}


def test_preset_profile_json_has_the_documented_keys_and_the_papers_state(tmp_path):
    plot = tmp_path / "ram.png"
    result = CliRunner().invoke(cli, ["profile", "--preset", "speech-commands", "--no-measure", "--json",
                                      "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert REQUIRED_KEYS <= set(report)
    assert report["paper_footprint_values"]["state_values"] == 18_432
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_measured_profile_of_a_tiny_checkpoint_is_constant(tmp_path):
    ckpt = tmp_path / "tiny.pt"
    assert CliRunner().invoke(cli, ["init", "--preset", "digits", "--out", str(ckpt)]).exit_code == 0
    result = CliRunner().invoke(cli, ["profile", str(ckpt), "--steps", "1,50,500", "--windows", "none", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # progress lines go to stderr
    assert set(report["arena_bytes"]) == {"1", "50", "500"}
    assert report["arena_delta_bytes"] == 0
    assert report["arena_over_minimum"] > 1.0


def test_init_writes_an_untrained_checkpoint_every_command_accepts(tmp_path):
    out = tmp_path / "sc.pt"
    result = CliRunner().invoke(cli, ["init", "--preset", "speech-commands", "--out", str(out)])
    assert result.exit_code == 0, result.output
    ckpt = load_checkpoint(out)
    assert ckpt.metadata["trained"] is False and ckpt.metadata["preset"] == "speech-commands"
    assert ckpt.config.d_model == 96 and ckpt.config.n_layers == 6
    info = json.loads(CliRunner().invoke(cli, ["info", str(out), "--json"]).output)
    assert 400_000 <= info["params"] <= 420_000
    again = CliRunner().invoke(cli, ["init", "--preset", "speech-commands", "--out", str(out)])
    assert again.exit_code == 2 and "already exists; pass --force" in again.output


def test_profile_option_errors(tmp_path):
    cases = [
        (["profile"], "pass either a checkpoint PATH or --preset NAME"),
        (["profile", "--preset", "imagenet"], "unknown preset 'imagenet'"),
        (["profile", "--preset", "digits", "--target", "onnx"], "--target 'onnx' is not one of"),
        (["profile", "--preset", "digits", "--steps", "0,10"], "every count must be an integer in [1, 2,000,000]"),
        (["profile", "--preset", "digits", "--steps", "ten"], "not a comma-separated list of integers"),
        (["profile", "--preset", "digits", "--plot", str(tmp_path / "no" / "x.png")], "does not exist"),
        (["init", "--preset", "nope", "--out", str(tmp_path / "x.pt")], "unknown preset 'nope'"),
    ]
    for args, fragment in cases:
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, (args, result.output)
        assert fragment in result.output, (args, result.output)
