"""Exporting the same checkpoint twice gives byte-identical files (models, C sources, manifests)."""

import pytest

from mgrade_edge.checkpoint import save_checkpoint
from mgrade_edge.pipeline import export_checkpoint
from tests.helpers import make_model


@pytest.fixture
def ckpt(tmp_path):
    model = make_model("digits_like", seed=4)
    path = tmp_path / "m.pt"
    save_checkpoint(path, model, {"task": "digits", "seed": 0})
    return path


@pytest.mark.parametrize("target", ["onnx-int8", "tflite-int8", "tflm-int16x8"])
def test_two_exports_are_byte_identical(ckpt, tmp_path, target):
    a, b = tmp_path / "a", tmp_path / "b"
    export_checkpoint(ckpt, target, a, calib_sequences=2)
    export_checkpoint(ckpt, target, b, calib_sequences=2)
    files = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file())
    assert files == sorted(str(p.relative_to(b)) for p in b.rglob("*") if p.is_file())
    assert "manifest.json" in files
    for name in files:
        assert (a / name).read_bytes() == (b / name).read_bytes(), f"{target}: {name} differs"
