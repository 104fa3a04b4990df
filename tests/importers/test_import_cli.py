"""`mgrade-edge import` through the real entry point, and the imported C_gsc model through export,
validate and profile (the other commands accept an imported checkpoint like any other)."""

from __future__ import annotations

import json

from tests.importers.fixtures import fixture_dir, run_main


def test_import_writes_an_ordinary_checkpoint(tmp_path, capsys, monkeypatch):
    from mgrade_edge.checkpoint import load_checkpoint

    out = tmp_path / "a.pt"
    code, stdout, stderr = run_main(["import", fixture_dir("A_small") / "orbax", "--out", out], capsys, monkeypatch)
    assert code == 0, stderr
    assert "3,818 parameters" in stdout and "3,946 values" in stdout  # σ [M, d] per layer became the scalar
    ckpt = load_checkpoint(out)
    meta = ckpt.metadata
    assert meta["source"]["format"] == "orbax aggregate msgpack" and len(meta["source"]["sha256"]) == 64
    assert meta["source"]["config"].endswith("A_small/config.json")  # found next to the run
    assert meta["source_config"]["hidden_dim"] == 16 and meta["params"] == 3818
    code, stdout, _ = run_main(["info", out, "--json"], capsys, monkeypatch)
    assert code == 0 and json.loads(stdout)["params"] == 3818


def test_legacy_file_with_explicit_config_and_overwrite_rules(tmp_path, capsys, monkeypatch):
    folder = fixture_dir("A_small")
    out = tmp_path / "legacy.pt"
    args = ["import", folder / "msgpack" / "checkpoint_0", "--config", folder / "config.json", "--out", out]
    code, stdout, stderr = run_main(args, capsys, monkeypatch)
    assert code == 0 and "legacy flax msgpack" in stdout, stderr
    before = out.read_bytes()
    code, _, stderr = run_main(args, capsys, monkeypatch)
    assert code == 2 and "already exists; pass --force" in stderr and out.read_bytes() == before
    code, _, stderr = run_main([*args, "--force"], capsys, monkeypatch)
    assert code == 0, stderr


def test_a_checkpoint_without_a_config_is_refused(tmp_path, capsys, monkeypatch):
    src = tmp_path / "run" / "checkpoint_0"
    src.parent.mkdir()
    src.write_bytes((fixture_dir("A_small") / "msgpack" / "checkpoint_0").read_bytes())
    code, _, stderr = run_main(["import", src, "--out", tmp_path / "x.pt"], capsys, monkeypatch)
    assert code == 2 and "pass --config" in stderr and not (tmp_path / "x.pt").exists()


def test_imported_c_gsc_exports_validates_and_profiles(tmp_path, capsys, monkeypatch):
    folder = fixture_dir("C_gsc")
    model, art, inputs = tmp_path / "c.pt", tmp_path / "c_int8", folder / "input.npy"
    assert run_main(["import", folder / "orbax", "--out", model], capsys, monkeypatch)[0] == 0
    code, stdout, stderr = run_main(["export", model, "--target", "tflite-int8", "--out", art, "--calib", inputs,
                                     "--calib-sequences", "2", "--no-validate"], capsys, monkeypatch)
    assert code == 0, stderr
    notes = json.loads((art / "manifest.json").read_text())["notes"]
    assert any("softplus cut at 7.0" in n for n in notes)
    code, stdout, stderr = run_main(["validate", model, art, "--inputs", inputs, "--steps", "256", "--json"],
                                    capsys, monkeypatch)
    report = json.loads(stdout)
    # Exit code 1 is validate saying the artifact is outside tolerance; it must agree with the report.
    assert code == (0 if report["within_tolerance"] else 1), stderr
    assert report["task"] == "inputs input.npy" and report["steps"] == 4 * 256 + 256
    assert report["accuracy_ref"] is None  # no labels: the step-by-step comparison only
    # The report compares every step; whether int8 is within tolerance is a property of this model
    # (random-perturbed, untrained weights), reported rather than asserted here.
    assert report["long_stream"]["steps"] == 256 and isinstance(report["within_tolerance"], bool)
    assert 0.0 < report["test_sequences"]["cosine"] <= 1.0
    code, stdout, stderr = run_main(["profile", model, "--target", "tflite-int8", "--steps", "1,16000", "--windows",
                                     "16", "--no-measure", "--json"], capsys, monkeypatch)
    assert code == 0, stderr
    profile = json.loads(stdout)
    assert profile["params"] == 407_939
