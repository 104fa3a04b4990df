"""examples/firmware: a user's CMake project that add_subdirectory()s an exported c bundle and feeds it
samples from a (simulated) DMA ring buffer builds, runs, and decides what the float model decides."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from tests.cmake_build import require_cmake

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "firmware"


def recording() -> tuple[str, np.ndarray, np.ndarray]:
    """examples/firmware/recording.h's text, its samples [8, 64] and labels: the first held-out test image
    of each class 0..7, as 16-bit samples."""
    from mgrade_edge.data import load_digits_task

    d = load_digits_task()
    idx = [int(np.flatnonzero(d.test_y == c)[0]) for c in range(8)]
    samples = np.round(d.test_x[idx, :, 0] * 32767).astype(np.int16)
    labels = d.test_y[idx]
    lines = ["/* Eight held-out test images of the digits task (scikit-learn's load_digits, the first test image of",
             " * each class 0..7 in mgrade-edge's fixed split), 64 pixels each read row by row, as 16-bit samples",
             " * (pixel / 16 * 32767): what an ADC would deliver. Written by tests/export/c/test_firmware_example.py's",
             " * recording() (rerun it to check this file). */",
             "#define RECORDING_WINDOWS 8",
             f"static const int recording_labels[8] = {{{', '.join(str(int(v)) for v in labels)}}};",
             "static const int16_t recording[8 * 64] = {"]
    lines += ["  " + ", ".join(str(int(v)) for v in w[k:k + 16]) + "," for w in samples for k in range(0, 64, 16)]
    return "\n".join(lines + ["};"]) + "\n", samples, labels


def expected_decisions(samples: np.ndarray) -> list[int]:
    """The float torch step over the recording as main.c scales it, its logits averaged over each window."""
    from mgrade_edge.checkpoint import load_checkpoint
    from mgrade_edge.runtime.torch_runner import TorchRunner
    from mgrade_edge.streaming import to_streaming

    x = (samples.astype(np.float32) / np.float32(32767.0))[..., None]
    runner = TorchRunner(to_streaming(load_checkpoint(ROOT / "examples" / "digits.pt").model))
    logits = runner.run_sequences(x)
    return [int(np.argmax(w.mean(axis=0))) for w in logits]


def test_the_firmware_example_builds_runs_and_decides_like_the_model(tmp_path):
    """The int8 bundle, fed by the simulated DMA, decides each recorded digit as the float model does."""
    cmake = require_cmake()
    bundle = tmp_path / "model"
    export = subprocess.run([str(Path(__import__("sys").executable).parent / "mgrade-edge"), "export",
                             str(ROOT / "examples" / "digits.pt"), "--target", "c", "--quant", "int8", "--out",
                             str(bundle), "--no-validate"], capture_output=True, text=True)
    assert export.returncode == 0, export.stderr
    build = tmp_path / "build"
    for cmd in ([cmake, "-S", str(EXAMPLE), "-B", str(build), f"-DMGRADE_BUNDLE={bundle}"],
                [cmake, "--build", str(build)]):
        run = subprocess.run(cmd, capture_output=True, text=True)
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert not (build / "mgrade_model" / "mgrade_golden").exists()  # a sub-project builds the library only
    run = subprocess.run([str(build / "listener")], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    text, samples, labels = recording()
    assert (EXAMPLE / "recording.h").read_text() == text  # the committed recording is the one described
    decisions = [int(line.split("class ")[1].split()[0]) for line in run.stdout.splitlines()]
    assert decisions == expected_decisions(samples) == [int(v) for v in labels], (decisions, run.stdout)
