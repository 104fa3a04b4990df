"""A child that dies is reported as one ArtifactError naming the signal; a valid model passes."""

import subprocess
import sys

import pytest

from mgrade_edge.errors import ArtifactError
from mgrade_edge.safety import sandbox


def test_child_crash_becomes_one_error(tmp_path, monkeypatch):
    model = tmp_path / "model.tflite"
    model.write_bytes(b"\0\0\0\0TFL3")
    monkeypatch.setattr(sandbox, "check_structure", lambda path: None)
    real_run = subprocess.run

    def crash(cmd, **kwargs):  # the child segfaults the way a damaged flatbuffer makes TFLite Micro do
        return real_run([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"], **kwargs)
    monkeypatch.setattr(sandbox.subprocess, "run", crash)
    with pytest.raises(ArtifactError, match=r"crashed the tflm interpreter \(SIGSEGV\)"):
        sandbox.preflight(model, "tflm")


def test_not_a_flatbuffer(tmp_path):
    model = tmp_path / "model.tflite"
    model.write_bytes(b"PK\3\4 not a model")
    with pytest.raises(ArtifactError, match="not a TFLite flatbuffer"):
        sandbox.check_structure(model)
