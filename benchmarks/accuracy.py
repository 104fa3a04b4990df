"""Accuracy per precision and engine on the digits test set, and the memory figures of every artifact.

Accuracy: `mgrade_edge.validate.validate_artifact` (every test sequence from a reset state, plus one
long stream without resets) for each artifact x engine: task accuracy of the mean readout, top-1
agreement with the float32 torch step, per-step max / RMS error, drift, and the target's own
tolerance verdict.
Memory: parameters, model file bytes (flash for the model), the smallest TFLite Micro arena that
runs the model (measured, tflm_arena.measure_min_arena) and the analytic state bytes.
"""

from __future__ import annotations

import time
from pathlib import Path

from .common import ARTIFACTS, CHECKPOINT

# (artifact key, engine): every precision in its own engine, plus the int8/int16x8 models in TFLite Micro.
VALIDATIONS = (
    ("onnx", "onnxruntime"),
    ("onnx-int8", "onnxruntime"),
    ("tflite", "litert"),
    ("tflite-int8", "litert"),
    ("tflite-int16x8", "litert"),
    ("tflite-int8", "tflm"),
    ("tflite-int16x8", "tflm"),
    ("tflite-int8-internal", "tflm"),
)
ONNX_AS_TFLITE = {"onnx": "tflite", "onnx-int8": "tflite-int8"}  # same weight precision


def measure_accuracy(artifacts: dict, steps: int, max_sequences: int | None, log=print) -> dict:
    from mgrade_edge.manifest import read_manifest
    from mgrade_edge.validate import validate_artifact

    rows, reference = [], None
    for key, engine in VALIDATIONS:
        start = time.perf_counter()
        report = validate_artifact(CHECKPOINT, artifacts[key], steps=steps, engine=engine, max_sequences=max_sequences)
        manifest = read_manifest(artifacts[key])
        row = {
            "artifact": key, "target": report["target"], "engine": report["engine"], "state": report["state"],
            "precision": manifest["precision"],
            "accuracy": report["accuracy_artifact"], "agreement_with_torch": report["agreement"],
            "max_abs_err": report["max_abs_err"], "rms_err": report["rms_err"],
            "cosine_sequences": report["test_sequences"]["cosine"],
            "cosine_long_stream": report["long_stream"]["cosine"],
            "drift_ratio": report["drift_ratio"], "tolerance": report["tolerance"],
            "min_cosine": report["min_cosine"], "within_tolerance": report["within_tolerance"],
            "steps_compared": report["steps"], "seconds": round(time.perf_counter() - start, 1),
        }
        rows.append(row)
        reference = reference or {"sequences": report["test_sequences"]["count"], "accuracy": report["accuracy_ref"]}
        log(f"  {key} in {engine}: accuracy {100 * row['accuracy']:.2f}% agreement "
            f"{100 * row['agreement_with_torch']:.2f}% max abs err {row['max_abs_err']:.3g} ({row['seconds']} s)")
    torch_row = {"artifact": "checkpoint", "target": "torch", "engine": "torch", "state": "external",
                 "precision": "float32", "accuracy": reference["accuracy"], "agreement_with_torch": 1.0,
                 "max_abs_err": 0.0, "rms_err": 0.0, "within_tolerance": True}
    return {"test_sequences": reference["sequences"], "long_stream_steps": steps, "rows": [torch_row] + rows}


def measure_memory(artifacts: dict, log=print) -> dict:
    from mgrade_edge.analytic import analytic_profile
    from mgrade_edge.checkpoint import load_checkpoint
    from mgrade_edge.export.tflm.arena import measure_min_arena
    from mgrade_edge.manifest import read_manifest
    from mgrade_edge.model import count_parameters

    ckpt = load_checkpoint(CHECKPOINT)
    params = count_parameters(ckpt.model)
    rows = []
    for art in ARTIFACTS:
        manifest = read_manifest(artifacts[art.key])
        model_path = Path(artifacts[art.key]) / manifest["model_file"]
        # The analytic profile is per TFLite precision; an ONNX model's weights have its precision,
        # but its state is float32 I/O whatever the precision (QDQ quantises inside the graph).
        onnx = art.target.startswith("onnx")
        analytic = analytic_profile(ckpt.config, ONNX_AS_TFLITE.get(art.target, art.target))
        state = analytic_profile(ckpt.config, "tflite")["state_bytes"] if onnx else analytic["state_bytes"]
        row = {"artifact": art.key, "target": art.target, "precision": manifest["precision"], "state": art.state,
               "params": params, "model_file_bytes": model_path.stat().st_size,
               "analytic_flash_bytes": analytic["flash_bytes"]["total"],
               "state_bytes": state["total"],
               "analytic_min_ram_bytes": None if onnx else analytic["analytic_min_ram_bytes"]}
        if model_path.suffix == ".tflite":
            start = time.perf_counter()
            try:
                arena = measure_min_arena(model_path.read_bytes())
            except Exception as exc:  # noqa: BLE001 - reported in the table, the other artifacts still run
                row["tflm_arena_error"] = f"{type(exc).__name__}: {exc}"
            else:
                row.update(tflm_arena_min_bytes=arena.minimum, tflm_arena_recommended_bytes=arena.recommended,
                           tflm_arena_persistent_bytes=arena.allocations["persistent"],
                           tflm_arena_non_persistent_bytes=arena.allocations["non_persistent"])
                log(f"  {art.key}: TFLite Micro arena {arena.minimum} bytes ({time.perf_counter() - start:.0f} s)")
        rows.append(row)
    return {"params": params, "rows": rows,
            "notes": ["state_bytes: delay lines + hidden states at the artifact's activation width (analytic); "
                      "ONNX models keep their state as float32 I/O at every precision; onnxruntime is no "
                      "microcontroller engine, so they get no RAM figure",
                      "external state: the state tensors are model inputs and outputs, so the arena holds them "
                      "twice and the application keeps the copy it feeds back"]}
