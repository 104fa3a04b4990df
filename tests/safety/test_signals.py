"""SIGTERM/SIGHUP run the same cleanups as Ctrl-C; a real export killed with SIGTERM leaves nothing."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from mgrade_edge.safety.signals import Terminated, cleanup_on_termination
from tests.helpers import save_tiny_digits_checkpoint


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_signal_raises_and_private_tempdir_goes(signum):
    previous = signal.getsignal(signum)
    with pytest.raises(Terminated) as info:
        with cleanup_on_termination() as private:
            Path(tempfile.mkdtemp()).joinpath("tf-file").write_text("x")  # lands in the private dir
            os.kill(os.getpid(), signum)
            time.sleep(1)
    assert info.value.exit_code == 128 + signum
    assert not Path(private).exists()
    assert signal.getsignal(signum) == previous  # handlers restored


def test_sigterm_mid_export_leaves_nothing(tmp_path):
    ckpt = save_tiny_digits_checkpoint(tmp_path / "model.pt")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "TMPDIR": str(tmpdir), "PYTHONPATH": root}
    proc = subprocess.Popen([sys.executable, "-m", "mgrade_edge", "export", str(ckpt), "--target", "tflite-int8",
                             "--out", str(tmp_path / "o"), "--no-validate"], env=env, stderr=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not any(p.name.startswith(".o.tmp-") for p in tmp_path.iterdir()) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(2)  # inside the TensorFlow conversion
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert err.strip().splitlines()[-1].startswith("error: SIGTERM received") and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt", "tmp"]
    assert list(tmpdir.iterdir()) == []
