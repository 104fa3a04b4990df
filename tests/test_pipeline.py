"""The export pipeline: option checks before work, atomic output, manifests, quick validation."""

import json
import os

import numpy as np
import pytest

from mgrade_edge import pipeline
from mgrade_edge.errors import DataError, ExportError, OutputPathError
from mgrade_edge.export.artifact import sha256_file
from mgrade_edge.manifest import read_manifest
from mgrade_edge.pipeline import export_checkpoint
from tests.helpers import save_tiny_digits_checkpoint


@pytest.fixture
def ckpt(tmp_path):
    return save_tiny_digits_checkpoint(tmp_path / "tiny.pt")


def test_onnx_export_writes_model_and_manifest(ckpt, tmp_path):
    out = tmp_path / "onnx"
    manifest = export_checkpoint(ckpt, "onnx", out)
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "model.onnx"]
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk["source_checkpoint"]["sha256"] == sha256_file(ckpt)
    assert on_disk["model_sha256"] == sha256_file(out / "model.onnx")
    assert on_disk["signature"]["state_pairs"][0] == ["delay_0_in", "delay_0_out"]
    assert manifest["validation"]["max_abs_err"] <= 1e-4
    assert manifest["validation"]["agreement"] == 1.0


def test_existing_output_refused_unless_force(ckpt, tmp_path):
    out = tmp_path / "exists"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(OutputPathError, match="already exists; pass --force"):
        export_checkpoint(ckpt, "onnx", out)
    assert (out / "keep.txt").read_text() == "mine"
    # --force replaces only an artifact mgrade-edge wrote, never a directory holding the user's files
    with pytest.raises(OutputPathError, match="--force replaces only an artifact directory mgrade-edge wrote"):
        export_checkpoint(ckpt, "onnx", out, force=True, validate=False)
    assert (out / "keep.txt").read_text() == "mine"
    ours = tmp_path / "ours"
    export_checkpoint(ckpt, "onnx", ours, validate=False)
    export_checkpoint(ckpt, "onnx", ours, force=True, validate=False)
    assert (ours / "model.onnx").exists()


def test_failure_midway_leaves_nothing_behind(ckpt, tmp_path, monkeypatch):
    def exploding_exporter(step, opts, out_dir):
        (out_dir / "model.onnx").write_bytes(b"partial")
        raise RuntimeError("injected failure after a partial write")

    monkeypatch.setattr(pipeline, "resolve_exporter", lambda target: exploding_exporter)
    out = tmp_path / "never"
    with pytest.raises(RuntimeError, match="injected"):
        export_checkpoint(ckpt, "onnx", out)
    assert os.listdir(tmp_path) == ["tiny.pt"], "no directory, no temporary leftovers"


def test_failure_with_force_keeps_the_previous_artifact(ckpt, tmp_path, monkeypatch):
    out = tmp_path / "prev"
    export_checkpoint(ckpt, "onnx", out, validate=False)
    before = (out / "model.onnx").read_bytes()
    monkeypatch.setattr(pipeline, "resolve_exporter", lambda target: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError):
        export_checkpoint(ckpt, "onnx", out, force=True)
    assert (out / "model.onnx").read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["prev", "tiny.pt"]


@pytest.mark.parametrize("kwargs, error, fragment", [
    ({"target_name": "tflite-int4"}, ExportError, "unknown target 'tflite-int4'; choose one of onnx"),
    ({"target_name": "onnx", "state": "internal"}, ExportError, "supports --state external, not 'internal'"),
    ({"target_name": "onnx-int8", "calib_sequences": 0}, DataError, "--calib-sequences must be > 0"),
])
def test_bad_options_fail_before_any_work(ckpt, tmp_path, kwargs, error, fragment):
    with pytest.raises(error, match=fragment.replace("(", r"\(")):
        export_checkpoint(ckpt, out=tmp_path / "o", **kwargs)
    assert not (tmp_path / "o").exists()


def test_unwritable_and_missing_parent(ckpt, tmp_path):
    with pytest.raises(OutputPathError, match="does not exist; create it first"):
        export_checkpoint(ckpt, "onnx", tmp_path / "no" / "such" / "dir")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running with permissions that ignore directory modes")
        with pytest.raises(OutputPathError, match="permission denied"):
            export_checkpoint(ckpt, "onnx", locked / "out")
    finally:
        locked.chmod(0o700)


@pytest.mark.parametrize("array, fragment", [
    (np.zeros((4, 10), np.float32), "expected [N, T, 1]"),
    (np.zeros((4, 10, 3), np.float32), "expected [N, T, 1]"),
    (np.array([[["a"]]]), "expected a float array"),
    (np.full((2, 10, 1), np.nan, np.float32), "contains NaN or Inf"),
])
def test_bad_calibration_files(ckpt, tmp_path, array, fragment):
    calib = tmp_path / "calib.npy"
    np.save(calib, array)
    with pytest.raises(DataError) as info:
        export_checkpoint(ckpt, "onnx-int8", tmp_path / "o", calib_file=calib)
    assert fragment in str(info.value)
    assert not (tmp_path / "o").exists()


def test_object_array_calibration_file_is_refused_without_unpickling(ckpt, tmp_path):
    calib = tmp_path / "calib.npy"
    np.save(calib, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="object arrays are refused"):
        export_checkpoint(ckpt, "onnx-int8", tmp_path / "o", calib_file=calib)


def test_manifest_is_strict_json(ckpt, tmp_path):
    export_checkpoint(ckpt, "onnx", tmp_path / "o")
    text = (tmp_path / "o" / "manifest.json").read_text()
    assert "Infinity" not in text and "NaN" not in text
    assert read_manifest(tmp_path / "o")["target"] == "onnx"


def test_unwritable_parent_is_refused_even_as_root(ckpt, tmp_path, monkeypatch):
    # Root ignores directory modes, so simulate the kernel's answer for this one path.
    real_access = os.access
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(locked) else real_access(p, mode))
    with pytest.raises(OutputPathError, match=r"cannot write into .*locked \(read-only or permission denied\)"):
        export_checkpoint(ckpt, "onnx", locked / "out")


def test_calibration_stream_length_is_chosen_and_recorded(ckpt, tmp_path):
    """Digits images are 64 steps: the default streams are 1,024 steps; --calib-steps overrides it."""
    default = export_checkpoint(ckpt, "onnx-int8", tmp_path / "default", calib_sequences=2, validate=False)
    assert default["calibration"]["steps_per_stream"] == 1024
    chosen = export_checkpoint(ckpt, "onnx-int8", tmp_path / "chosen", calib_sequences=2, calib_steps=300,
                               validate=False)
    assert chosen["calibration"]["steps_per_stream"] == 300 and chosen["calibration"]["samples"] == 600
