"""What every benchmark part shares: the checkpoint, the artifacts exported from it, the input stream,
machine information, and small timing statistics.

All artifacts are exported once per run through the real export pipeline (the same code path as
`mgrade-edge export`), into a temporary directory, so every number in one run refers to the same files.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINT = ROOT / "examples" / "digits.pt"
PACKAGES = ("mgrade-edge", "torch", "numpy", "onnx", "onnxruntime", "tensorflow-cpu", "ai-edge-litert",
            "tflite-micro")


@dataclass(frozen=True)
class Artifact:
    key: str  # directory name inside the run's artifact directory
    target: str  # export target (mgrade_edge.export.TARGETS)
    state: str  # external | internal


# Every file the benchmarks run. External state is the default of every target; the internal-state
# TFLite models are what a device deploys (the state lives once, in the arena's resource variables).
ARTIFACTS = (
    Artifact("onnx", "onnx", "external"),
    Artifact("onnx-int8", "onnx-int8", "external"),
    Artifact("tflite", "tflite", "external"),
    Artifact("tflite-int8", "tflite-int8", "external"),
    Artifact("tflite-int16x8", "tflite-int16x8", "external"),
    Artifact("tflite-internal", "tflite", "internal"),
    Artifact("tflite-int8-internal", "tflite-int8", "internal"),
    Artifact("tflite-int16x8-internal", "tflite-int16x8", "internal"),
)


def export_artifacts(out_dir: Path, log=print, reuse: bool = False) -> dict[str, Path]:
    """Export every artifact of ARTIFACTS from the checkpoint; {key: artifact directory}.

    reuse=True keeps an artifact already in out_dir when its manifest names the same target, state
    and checkpoint digest (for re-running one part while working on it; `make bench` re-exports)."""
    from mgrade_edge.export.artifact import sha256_file
    from mgrade_edge.manifest import read_manifest
    from mgrade_edge.pipeline import export_checkpoint

    Path(out_dir).mkdir(parents=True, exist_ok=True)
    digest = sha256_file(CHECKPOINT)
    directories = {}
    for art in ARTIFACTS:
        start = time.perf_counter()
        directory = Path(out_dir) / art.key
        directories[art.key] = directory
        if reuse and (directory / "manifest.json").is_file():
            manifest = read_manifest(directory)
            if (manifest["target"], manifest["state"], manifest["source_checkpoint"]["sha256"]) == \
                    (art.target, art.state, digest):
                log(f"  reusing {directory}")
                continue
        # No quick validation here: the accuracy part validates every artifact on the full test set.
        export_checkpoint(CHECKPOINT, art.target, directory, state=art.state, force=True, validate=False)
        log(f"  exported {art.key} ({art.target}, state {art.state}) in {time.perf_counter() - start:.1f} s")
    return directories


def load_step():
    """The frozen float32 streaming step of the checkpoint (the reference every engine is compared with)."""
    from mgrade_edge.checkpoint import load_checkpoint
    from mgrade_edge.streaming import to_streaming

    return to_streaming(load_checkpoint(CHECKPOINT).model)


def input_stream(steps: int) -> np.ndarray:
    """`steps` real inputs [steps, d_in]: the digits test sequences concatenated (cycled if needed)."""
    from mgrade_edge.data import load_task
    from mgrade_edge.validate import long_stream

    return long_stream(load_task("digits").test_x, steps).astype(np.float32)


def summarize_us(samples_ns) -> dict:
    """Median, p90, mean and min in microseconds of per-call times given in nanoseconds."""
    us = np.asarray(samples_ns, dtype=np.float64) / 1e3
    p10, p90, p99 = np.percentile(us, [10, 90, 99])
    return {"median_us": float(np.median(us)), "p90_us": float(p90), "mean_us": float(us.mean()),
            "min_us": float(us.min()), "p10_us": float(p10), "p99_us": float(p99), "max_us": float(us.max()),
            "n": int(us.size)}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(package: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def machine_info() -> dict:
    return {
        "date_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cpu_model": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "load_average_at_start": list(os.getloadavg()),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": {p: _version(p) for p in PACKAGES},
        "git_commit": _git_commit(),
        "checkpoint": str(CHECKPOINT.relative_to(ROOT)),
    }
