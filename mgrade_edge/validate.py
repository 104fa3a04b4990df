"""Validation: stream an artifact and the torch step side by side and report how far they drift apart.

Two workloads, both compared step by step:
- the task's test sequences, each from a reset state (per-step error, top-1 agreement, task accuracy);
- one long stream of test sequences concatenated without resets (>= 10,000 steps by default), which
  is what a device sees: error against time, the drift ratio (max error in the last 10% / first 10%)
  and the first step whose error exceeds the target's tolerance.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .checkpoint import load_checkpoint
from .data import require_task_data
from .errors import DataError, InputError, UserError
from .export import get_target
from .export.artifact import sha256_file
from .manifest import read_manifest, verify_files
from .metrics import predictions, scored_outputs, task_metrics
from .runtime import open_runner
from .runtime.base import Runner, run_sequences, run_stream
from .runtime.torch_runner import TorchRunner
from .safety.bounds import MAX_STEPS
from .safety.sandbox import preflight
from .streaming import to_streaming

DEFAULT_LONG_STEPS = 10_000


def step_tolerance(manifest: dict) -> float | None:
    """Per-step max-abs-error budget of the artifact's target (see export.Tolerance), None if it has none
    (float-I/O int8 ONNX is judged by its cosine floor only)."""
    tol = get_target(manifest["target"]).tolerance
    if tol.atol is not None:
        return tol.atol
    y = next((t for t in manifest["tensors"] if t["name"] == "y"), {})
    if tol.max_steps_of_y is not None and y.get("scale"):
        return tol.max_steps_of_y * float(y["scale"])
    return None


def cosine_floor(manifest: dict) -> float | None:
    return get_target(manifest["target"]).tolerance.min_cosine


def tolerance_failures(reference: np.ndarray, artifact: np.ndarray, tolerance: float | None,
                       min_cosine: float | None) -> list[str]:
    """The pass/fail rule that ships, on one workload ([..., C] outputs, steps along the leading axes):
    empty when every step's max abs error is within `tolerance` and the workload's cosine is at least
    `min_cosine` (either may be None: no such bound), else what failed where."""
    comparison = StreamComparison(tolerance)
    comparison.add(np.asarray(reference), np.asarray(artifact))
    return comparison.failures(min_cosine)


def stream_failures(manifest: dict, artifact: np.ndarray, reference: np.ndarray) -> list[str]:
    """`tolerance_failures` with the bounds of the artifact's target (what `validate` applies)."""
    return tolerance_failures(reference, artifact, step_tolerance(manifest), cosine_floor(manifest))


def long_stream(sequences: np.ndarray, steps: int) -> np.ndarray:
    """Concatenate sequences (cycling through them) into one stream of exactly `steps` steps."""
    reps = int(np.ceil(steps / (len(sequences) * sequences.shape[1])))
    return np.concatenate([np.concatenate(list(sequences))] * reps)[:steps]


def drift_ratio(err_per_step: np.ndarray) -> float:
    """Max error in the last 10% of the stream over the max in the first 10% (1.0 when both vanish)."""
    n = max(1, len(err_per_step) // 10)
    first, last = float(err_per_step[:n].max()), float(err_per_step[-n:].max())
    if first <= 1e-12:
        return 1.0 if last <= 1e-12 else float("inf")
    return last / first


# Rows ([.., C] outputs flattened to [steps, C]) compared per pass: the float64 temporaries stay near
# 30 MB instead of several copies of the whole set (1,050 keywords clips x 8,000 steps x 35 classes
# are 1.2 GB as float32, and a validate once peaked near 15 GB).
COMPARE_ROWS = 1 << 17


def _row_chunks(reference: np.ndarray, artifact: np.ndarray):
    c = reference.shape[-1]
    ref, art = reference.reshape(-1, c), artifact.reshape(-1, c)
    for start in range(0, len(ref), COMPARE_ROWS):
        yield (ref[start:start + COMPARE_ROWS].astype(np.float64), art[start:start + COMPARE_ROWS].astype(np.float64))


def step_errors(reference: np.ndarray, artifact: np.ndarray) -> np.ndarray:
    """Max abs error of every step (over the output channels), [steps] in float64."""
    return np.concatenate([np.abs(a - r).max(axis=1) for r, a in _row_chunks(reference, artifact)])


def compare_streams(reference: np.ndarray, artifact: np.ndarray) -> dict:
    """Max and RMS error, cosine and the reference's RMS of one workload ([..., C] outputs)."""
    comparison = StreamComparison(None)
    comparison.add(np.asarray(reference), np.asarray(artifact))
    return comparison.result()


class StreamComparison:
    """`compare_streams` and the tolerance rule, accumulated over consecutive parts of one workload, so
    a test set is scored as it streams instead of keeping every step's outputs of both engines
    (1,050 keywords clips x 8,000 steps x 35 classes are 1.2 GB per engine as float32)."""

    def __init__(self, tolerance: float | None):
        self.tolerance = tolerance
        self.max_err, self.sq_err, self.sq_ref, self.sq_art, self.dot = 0.0, 0.0, 0.0, 0.0, 0.0
        self.values = 0
        self.steps = 0
        self.first_over: tuple[int, float] | None = None  # (step, its error) over the whole workload

    def add(self, reference: np.ndarray, artifact: np.ndarray) -> None:
        """The next part of the workload ([..., C], steps along the leading axes, in workload order)."""
        offset = self.steps
        for r, a in _row_chunks(reference, artifact):
            err = np.abs(a - r)
            per_step = err.max(axis=1)
            if self.first_over is None and self.tolerance is not None and per_step.max() > self.tolerance:
                first = int(np.argmax(per_step > self.tolerance))
                self.first_over = (offset + first, float(per_step[first]))
            offset += len(per_step)
            self.max_err = max(self.max_err, float(per_step.max()))
            self.sq_err += float(np.sum(err**2))
            self.sq_ref, self.sq_art = self.sq_ref + float(np.sum(r * r)), self.sq_art + float(np.sum(a * a))
            self.dot += float(np.sum(r * a))
        self.steps = offset
        self.values += reference.size

    def result(self) -> dict:
        n = max(self.values, 1)
        denom = np.sqrt(self.sq_ref) * np.sqrt(self.sq_art)
        return {
            "max_abs_err": self.max_err,
            "rms_err": float(np.sqrt(self.sq_err / n)),
            "cosine": float(self.dot / denom) if denom > 0 else 1.0,
            "output_rms": float(np.sqrt(self.sq_ref / n)),
        }

    def failures(self, min_cosine: float | None) -> list[str]:
        failures = []
        if self.first_over is not None:
            first, err = self.first_over
            failures.append(f"max abs err {self.max_err:.4g} > {self.tolerance:.4g}; first at step {first} "
                            f"(err {err:.4g})")
        cos = self.result()["cosine"]
        if min_cosine is not None and cos < min_cosine:
            failures.append(f"cosine {cos:.5f} < {min_cosine}")
        return failures


# Test sequences streamed through both engines per pass: their outputs are scored and dropped before
# the next pass (64 keywords clips are ~72 MB per engine).
SEQUENCES_PER_PASS = 64


def compare_sequences(runner: Runner, reference: Runner, kind: str, readout: str, test_x: np.ndarray,
                      tolerance: float | None) -> tuple[StreamComparison, np.ndarray, np.ndarray]:
    """Both engines over the test sequences, SEQUENCES_PER_PASS at a time: the step-by-step comparison
    and each engine's scored outputs (`metrics.scored_outputs`: the readout of a sequence task)."""
    comparison = StreamComparison(tolerance)
    scored_ref, scored_art = [], []
    for start in range(0, len(test_x), SEQUENCES_PER_PASS):
        part = test_x[start:start + SEQUENCES_PER_PASS]
        ref, art = run_sequences(reference, part), run_sequences(runner, part)
        if not np.isfinite(art).all():
            bad = np.nonzero(~np.isfinite(art).all(axis=2))
            raise UserError(f"the artifact produced NaN/Inf (first in test sequence {start + int(bad[0][0])} at "
                            f"step {int(bad[1][0])}); re-export with calibration data that covers the input range")
        comparison.add(ref, art)
        scored_ref.append(scored_outputs(kind, ref, readout))
        scored_art.append(scored_outputs(kind, art, readout))
    return comparison, np.concatenate(scored_ref), np.concatenate(scored_art)


def validate_runner(runner: Runner, reference: Runner, kind: str, readout: str, test_x: np.ndarray,
                    test_y: np.ndarray, steps: int, tolerance: float | None, min_cosine: float | None = None) -> dict:
    """The full comparison for any pair of runners (the artifact and the torch reference)."""
    seq_comparison, scored_ref, scored_art = compare_sequences(runner, reference, kind, readout, test_x, tolerance)
    stream = long_stream(test_x, steps)
    ref_long, art_long = run_stream(reference, stream), run_stream(runner, stream)
    if not np.isfinite(art_long).all():
        first_nan = int(np.argmax(~np.isfinite(art_long).all(axis=1)))
        raise UserError(f"the artifact produced NaN/Inf (first at long-stream step {first_nan}); "
                        f"re-export with calibration data that covers the input range")
    err_long = step_errors(ref_long, art_long)  # per step, for the drift ratio
    long_comparison = StreamComparison(tolerance)
    long_comparison.add(ref_long, art_long)
    seq, long = seq_comparison.result(), long_comparison.result()
    # Top-1 agreement means something only for classification; a regression artifact has none.
    agreement = None if kind == "step_regression" else \
        float((predictions(kind, scored_ref, readout) == predictions(kind, scored_art, readout)).mean())
    acc_ref = task_metrics(kind, scored_ref, test_y, readout) if test_y is not None else {}
    acc_art = task_metrics(kind, scored_art, test_y, readout) if test_y is not None else {}
    n_seq, n_long = seq_comparison.values, art_long.size  # overall RMS pools the two workloads' mean squares
    rms = float(np.sqrt((n_seq * seq["rms_err"] ** 2 + n_long * long["rms_err"] ** 2) / (n_seq + n_long)))
    within = not (long_comparison.failures(min_cosine) or seq_comparison.failures(min_cosine))
    return {
        "within_tolerance": bool(within),
        "min_cosine": min_cosine,
        "steps": int(test_x.shape[0] * test_x.shape[1] + len(stream)),
        "max_abs_err": max(seq["max_abs_err"], long["max_abs_err"]),
        "rms_err": rms,
        "drift_ratio": drift_ratio(err_long),
        "tolerance": tolerance,
        "first_step_over_tolerance": long_comparison.first_over[0] if long_comparison.first_over else None,
        "agreement": agreement,
        "accuracy_ref": acc_ref.get("accuracy"),
        "accuracy_artifact": acc_art.get("accuracy"),
        "metrics_ref": acc_ref,
        "metrics_artifact": acc_art,
        "test_sequences": {"count": int(len(test_x)), "steps_each": int(test_x.shape[1]), **seq},
        "long_stream": {"steps": int(len(stream)), **long},
    }


def validate_artifact(checkpoint: str | Path, directory: str | Path, steps: int = DEFAULT_LONG_STEPS,
                      engine: str | None = None, max_sequences: int | None = None,
                      inputs: str | Path | None = None) -> dict:
    """`inputs` (.npy [N, T, d_in]) replaces the task's test set: needed for a checkpoint without a task
    (an imported one); the report then has no accuracy, only the step-by-step comparison."""

    if not 0 < steps <= MAX_STEPS:
        raise DataError(f"--steps must be > 0 and at most {MAX_STEPS:,}, got {steps:,}")
    manifest = read_manifest(directory)  # fields checked here, every file's sha256 next: before anything loads
    model = verify_files(Path(directory), manifest)
    digest = sha256_file(checkpoint) if Path(checkpoint).is_file() else None
    ckpt = load_checkpoint(checkpoint)
    source = (manifest.get("source_checkpoint") or {}).get("sha256")
    if source and digest != source:
        raise InputError(f"{directory} was exported from a different checkpoint (sha256 {source[:12]}..., "
                        f"{checkpoint} is {digest[:12]}...); pass the checkpoint it was exported from or re-export")
    data = None if inputs is not None else require_task_data(
        ckpt, "validate on", f"pass --inputs FILE.npy [N, T, {ckpt.config.d_in}] or validate a checkpoint "
                             f"trained with `mgrade-edge train`")
    if data is None:
        from .quantize import load_calibration_file

        test_x, test_y, kind, task = load_calibration_file(inputs, ckpt.config.d_in), None, "sequence", \
            f"inputs {Path(inputs).name}"
    else:
        test_x, test_y, kind, task = data.test_x, data.test_y, data.kind, data.name
    if max_sequences is not None:
        test_x, test_y = test_x[:max_sequences], test_y[:max_sequences]
    runner = open_checked_runner(directory, manifest, model, engine)
    reference = TorchRunner(to_streaming(ckpt.model))
    report = validate_runner(runner, reference, kind, ckpt.config.readout, test_x, test_y, steps,
                             step_tolerance(manifest), cosine_floor(manifest))
    return {"target": manifest["target"], "state": manifest.get("state"), "engine": runner.name, "task": task,
            **report}


def open_checked_runner(directory, manifest: dict, model: Path, engine: str | None) -> Runner:
    """The runner of a verified artifact (`model`: verify_files' result); a TFLite model is test-run in
    a child process before this one loads it."""

    engine = engine or get_target(manifest["target"]).engine
    if engine in ("litert", "tflm") and model.suffix == ".tflite":
        preflight(model, engine)
    return open_runner(directory, engine, manifest=manifest)


def format_report(r: dict) -> str:
    """The human-readable form of a validate_artifact report."""
    ts, ls = r["test_sequences"], r["long_stream"]
    first = r["first_step_over_tolerance"]
    lines = [
        f"{r['target']} ({r['state']} state) in {r['engine']} vs torch step, task {r['task']}",
        f"  test sequences  {ts['count']} x {ts['steps_each']} steps: max abs err {ts['max_abs_err']:.3g}, "
        f"RMS {ts['rms_err']:.3g} (output RMS {ts['output_rms']:.3g}), cosine {ts['cosine']:.6f}",
        f"  long stream     {ls['steps']:,} steps: max abs err {ls['max_abs_err']:.3g}, RMS {ls['rms_err']:.3g}, "
        f"drift ratio {r['drift_ratio']:.3g}",
        ("  tolerance       none per step" if r["tolerance"] is None else
         f"  tolerance       {r['tolerance']:.3g} per step: "
         + ("never exceeded" if first is None else f"first exceeded at long-stream step {first}"))
        + ("" if r["min_cosine"] is None else f"; cosine floor {r['min_cosine']}")
        + ("  -> within tolerance" if r["within_tolerance"] else "  -> OUTSIDE TOLERANCE"),
    ]
    if r["agreement"] is not None:
        lines.append(f"  top-1 agreement {r['agreement']:.2%}")
    if r.get("accuracy_ref") is not None:
        lines.append(f"  accuracy        torch {r['accuracy_ref']:.2%}  artifact {r['accuracy_artifact']:.2%}  "
                     f"(drop {100 * (r['accuracy_ref'] - r['accuracy_artifact']):.2f} points)")
    elif "r2" in r["metrics_ref"]:
        ref, art = r["metrics_ref"], r["metrics_artifact"]
        lines.append(f"  regression      torch RMSE {ref['rmse']:.4f} R² {ref['r2']:.4f}  "
                     f"artifact RMSE {art['rmse']:.4f} R² {art['r2']:.4f}")
    return "\n".join(lines)
