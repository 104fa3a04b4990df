"""Long-stream study of every TFLite target x state on the bundled digits checkpoint.

For each artifact: per-step error vs the float32 torch step over the 450 test sequences (64 steps,
reset between sequences) and over one long stream of all of them concatenated (28,800 steps, no
reset), top-1 agreement and accuracy of the mean readout, drift (max error in the last 10% of the
long stream / first 10%), model size, LiteRT and TFLite Micro per-step time, and TFLite Micro vs
LiteRT distance in steps of y.

    .venv/bin/python benchmarks/tflite_digits_study.py [--json out.json] [--targets tflite-int8 ...]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ("tflite", "tflite-int8", "tflite-int16x8")
STATES = ("external", "internal")


def export_artifact(step, target: str, state: str, calibration, directory: Path) -> dict:
    from mgrade_edge.export import TARGETS
    from mgrade_edge.export.artifact import ExportOptions, build_manifest
    from mgrade_edge.export.tflite.export import export_tflite
    from mgrade_edge.manifest import write_manifest

    opts = ExportOptions(target, state, calibration if target != "tflite" else None)
    result = export_tflite(step, opts, directory)
    manifest = build_manifest(step, opts, result, directory, TARGETS[target].precision.name)
    write_manifest(directory, manifest)
    return manifest


def errors(out: np.ndarray, ref: np.ndarray) -> dict:
    out, ref = out.astype(np.float64), ref.astype(np.float64)
    diff = np.abs(out - ref)
    cosine = float((out * ref).sum() / max(np.linalg.norm(out) * np.linalg.norm(ref), 1e-30))
    return {"max_abs_err": float(diff.max()), "rms_err": float(np.sqrt((diff ** 2).mean())), "cosine": cosine}


def time_per_step(runner, stream: np.ndarray, repeats: int = 3) -> float:
    """Best of `repeats` mean per-call times (µs), to reduce noise from other processes."""
    best = float("inf")
    for _ in range(repeats):
        runner.reset()
        start = time.perf_counter()
        for x in stream:
            runner.step(x)
        best = min(best, (time.perf_counter() - start) / len(stream) * 1e6)
    return best


def study(targets, states, calib_sequences: int, calib_steps: int) -> list[dict]:
    import torch

    from mgrade_edge.checkpoint import load_checkpoint
    from mgrade_edge.data import load_task
    from mgrade_edge.quantize import calibration_set
    from mgrade_edge.runtime.base import run_sequences, run_stream
    from mgrade_edge.runtime.litert_runner import LiteRTRunner
    from mgrade_edge.runtime.tflm_runner import TFLMRunner
    from mgrade_edge.runtime.torch_runner import TorchRunner
    from mgrade_edge.streaming import stream_sequences, to_streaming

    step = to_streaming(load_checkpoint(ROOT / "examples" / "digits.pt").model)
    task = load_task("digits")
    calibration = calibration_set(step, task.train_x, n_sequences=calib_sequences, stream_steps=calib_steps)
    test_x, test_y = task.test_x, task.test_y
    long_stream = test_x.reshape(-1, test_x.shape[-1])
    with torch.no_grad():
        ref_seq = stream_sequences(step, torch.from_numpy(test_x)).numpy()
    ref_long = run_stream(TorchRunner(step), long_stream)
    ref_pred = ref_seq.mean(axis=1).argmax(-1)
    torch_acc = float((ref_pred == test_y).mean())
    tenth = len(long_stream) // 10
    print(f"torch step: accuracy {torch_acc:.4f} over {len(test_y)} test sequences; "
          f"long stream {len(long_stream)} steps; calibration {calib_sequences} x {calib_steps} steps, "
          f"{calibration.num_samples} recorded step inputs")

    rows = []
    for target in targets:
        for state in states:
            with tempfile.TemporaryDirectory() as tmp:
                directory = Path(tmp)
                start = time.perf_counter()
                manifest = export_artifact(step, target, state, calibration, directory)
                export_s = time.perf_counter() - start
                y_scale = next(t for t in manifest["tensors"] if t["name"] == "y").get("scale")
                row = {"target": target, "state": state, "export_s": round(export_s, 1),
                       "model_bytes": (directory / "model.tflite").stat().st_size, "y_scale": y_scale}
                for engine, runner in (("litert", LiteRTRunner(directory, manifest)),
                                       ("tflm", TFLMRunner(directory, manifest))):
                    seq = run_sequences(runner, test_x)
                    long = run_stream(runner, long_stream)
                    pred = seq.mean(axis=1).argmax(-1)
                    diff_long = np.abs(long - ref_long).max(axis=1)
                    first, last = diff_long[:tenth].max(), diff_long[-tenth:].max()
                    row[engine] = {
                        "sequences": errors(seq, ref_seq), "long_stream": errors(long, ref_long),
                        "agreement": float((pred == ref_pred).mean()), "accuracy": float((pred == test_y).mean()),
                        "drift_ratio": float(last / first) if first > 0 else None,
                        "us_per_step": round(time_per_step(runner, long_stream[:2000]), 1),
                    }
                    row[engine]["accuracy_drop_points"] = 100.0 * (torch_acc - row[engine]["accuracy"])
                    row[engine]["_outputs"] = (seq, long)
                seq_l, long_l = row["litert"].pop("_outputs")
                seq_m, long_m = row["tflm"].pop("_outputs")
                gap = max(np.abs(seq_m - seq_l).max(), np.abs(long_m - long_l).max())
                row["tflm_vs_litert_max_abs"] = float(gap)
                row["tflm_vs_litert_steps_of_y"] = float(gap / y_scale) if y_scale else None
                rows.append(row)
                print_row(row)
    return rows


def print_row(row: dict) -> None:
    for engine in ("litert", "tflm"):
        r = row[engine]
        print(f"{row['target']:15s} {row['state']:8s} {engine:6s} "
              f"seq max {r['sequences']['max_abs_err']:.3g} rms {r['sequences']['rms_err']:.3g} "
              f"cos {r['sequences']['cosine']:.5f} | long max {r['long_stream']['max_abs_err']:.3g} "
              f"rms {r['long_stream']['rms_err']:.3g} cos {r['long_stream']['cosine']:.5f} "
              f"drift {r['drift_ratio'] if r['drift_ratio'] is None else round(r['drift_ratio'], 2)} | "
              f"agree {100 * r['agreement']:.2f}% acc {100 * r['accuracy']:.2f}% "
              f"(drop {r['accuracy_drop_points']:.2f}) | {r['us_per_step']} us/step")
    steps = row["tflm_vs_litert_steps_of_y"]
    print(f"{'':24s} {row['model_bytes']} bytes, export {row['export_s']} s, tflm vs litert max "
          f"{row['tflm_vs_litert_max_abs']:.3g}" + (f" = {steps:.1f} steps of y" if steps else ""), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", nargs="+", default=list(TARGETS), choices=TARGETS)
    parser.add_argument("--states", nargs="+", default=list(STATES), choices=STATES)
    parser.add_argument("--calib-sequences", type=int, default=8)
    parser.add_argument("--calib-steps", type=int, default=1024)
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args()
    rows = study(args.targets, args.states, args.calib_sequences, args.calib_steps)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
