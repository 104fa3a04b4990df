"""`make demo`: the main job on the bundled example, end to end, then a short summary.

Each stage is the real command a user would type (shown as it runs); JSON outputs are kept in
demo_out/ and the summary at the end is read from them, not recomputed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .tasks import frontend_spec
from .tasks.wakeword import WakewordSpec, load_wakeword

EXAMPLE = Path("examples/digits.pt")
WAKEWORD = Path("examples/wakeword.pt")
OUT = Path("demo_out")
LISTEN_SECONDS = 60


def mgrade_edge(*args: str, json_to: Path | None = None) -> dict | None:
    """Run one CLI command; with json_to, add --json, save its output there and return it parsed."""
    shown = " ".join(args)
    print(f"\n$ mgrade-edge {shown}" + (f"  > {json_to}" if json_to else ""), flush=True)
    cmd = [sys.executable, "-m", "mgrade_edge", *args] + (["--json"] if json_to else [])
    if json_to is None:
        subprocess.run(cmd, check=True)
        return None
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    json_to.write_text(out)
    return json.loads(out)


def main() -> None:
    start = time.perf_counter()
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir()
    info = mgrade_edge("info", str(EXAMPLE), json_to=OUT / "info.json")
    mgrade_edge("export", str(EXAMPLE), "--target", "tflite-int8", "--out", str(OUT / "tflite_int8"))
    mgrade_edge("export", str(EXAMPLE), "--target", "tflm", "--out", str(OUT / "tflm_bundle"))
    validation = mgrade_edge("validate", str(EXAMPLE), str(OUT / "tflite_int8"), "--steps", "10000",
                             json_to=OUT / "validate_tflite_int8.json")
    profile = mgrade_edge("profile", str(EXAMPLE), "--windows", "16,64", "--plot", str(OUT / "ram_vs_T.png"),
                          json_to=OUT / "profile.json")
    bundle = json.loads((OUT / "tflm_bundle" / "manifest.json").read_text())["details"]["tflm"]
    listened = listen()
    print(summary(info, validation, profile, bundle, time.perf_counter() - start))
    print(listened)


def write_calibration(path: Path, clips: int = 64) -> None:
    """Calibration sequences for the wakeword export: a small generated set of the model's own clips (the
    model's full training set would take minutes to generate on a fresh machine; calibration reads 8)."""
    from .checkpoint import load_checkpoint

    meta = load_checkpoint(WAKEWORD).metadata
    spec = WakewordSpec(train_clips=clips, val_clips=1, test_clips=1,
                        frontend=frontend_spec("wakeword", meta.get("task_options")))
    np.save(path, load_wakeword(spec).train_x)


def listen() -> str:
    """The always-on listener: a generated minute of audio through the exported int8 C audio path (front
    end + step, compiled for this machine), its detections printed and plotted."""
    if not os.environ.get("TFLM_DIR"):
        return ("  wakeword demo skipped: its front end builds from TensorFlow Lite Micro's signal library "
                "(set TFLM_DIR)")
    bundle, calib = OUT / "wakeword_c", OUT / "wakeword_calib.npy"
    write_calibration(calib)
    mgrade_edge("export", str(WAKEWORD), "--target", "c", "--quant", "int8", "--calib", str(calib), "--no-validate",
                "--out", str(bundle))
    minutes = str(LISTEN_SECONDS / 60)
    report = mgrade_edge("evaluate-stream", str(bundle), "--minutes", minutes, "--wakewords", "4", "--seed", "7",
                         "--plot", str(OUT / "wakeword.png"), "--plot-seconds", str(LISTEN_SECONDS),
                         json_to=OUT / "wakeword.json")
    d = report["detectors"][0]
    found = ", ".join(f"{t:.1f} s" for t in d["detections_s"]) or "none"
    truth = ", ".join(f"{s:.1f}-{e:.1f} s" for s, e in report["stream"]["wakeword_spans_s"])
    stream = report["stream"]
    return "\n".join([
        f"  wakeword '{stream['wakeword']}': {LISTEN_SECONDS} s generated stream ({stream['speech']})"
        f" through {bundle}'s audio path: found {d['true_positives']} of {report['stream']['wakewords']}, "
        f"{d['false_positives']} false alarm(s)",
        f"    said at {truth}",
        f"    detected at {found}  (plot: {OUT}/wakeword.png)"])


def summary(info: dict, val: dict, prof: dict, bundle: dict, seconds: float) -> str:
    arena = prof["arena_bytes"]
    counts = sorted(arena, key=int)
    constant = prof["arena_delta_bytes"] == 0
    lines = [
        "",
        "=" * 78,
        f"mgrade-edge demo on {EXAMPLE} ({info['params']:,} parameters, task {info['metadata']['task']})",
        f"  accuracy (450 test digits, streamed step by step): float {val['accuracy_ref']:.2%}, "
        f"tflite-int8 {val['accuracy_artifact']:.2%} (top-1 agreement {val['agreement']:.2%})",
        f"  int8 vs float per step over {val['steps']:,} steps: max abs err {val['max_abs_err']:.3g}, "
        f"RMS {val['rms_err']:.3g}, drift ratio {val['drift_ratio']:.2f}"
        + ("  [within the target's tolerance]" if val["within_tolerance"] else "  [OUTSIDE tolerance]"),
        f"  TFLite Micro bundle: arena {bundle['arena']['emitted']:,} B (measured minimum "
        f"{bundle['arena']['minimum']:,} + margin {bundle['arena']['margin']:,}), state {bundle['state_bytes']:,} B, "
        f"flash (model) {bundle['flash']['model_bytes']:,} B",
        f"  constant memory: TFLite Micro arena in use after {', '.join(counts)} steps = "
        f"{', '.join(f'{arena[c]:,}' for c in counts)} B -> "
        + ("delta 0 bytes: constant per timestep" if constant
           else f"delta {prof['arena_delta_bytes']} bytes: NOT constant"),
        f"  analytic minimum RAM {prof['analytic_min_ram_bytes']:,} B (state {prof['state_bytes']['total']:,} + "
        f"scratch {prof['scratch_bytes']:,} + I/O); measured arena is {prof['arena_over_minimum']:.1f}x that "
        f"(interpreter structs and per-op data; see profile.json)",
        f"  files: {OUT}/tflite_int8/ (model + manifest), {OUT}/tflm_bundle/ (C++ bundle, README.md), "
        f"{OUT}/ram_vs_T.png, {OUT}/*.json",
        f"  demo finished in {seconds:.0f} s",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
