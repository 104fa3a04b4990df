"""Glue for `mgrade-edge profile`: a checkpoint or a preset -> calibration -> profile_report."""

from __future__ import annotations

from pathlib import Path

from ..compute import compute_summary, step_rate_hz
from ..data import checkpoint_task_data
from ..presets import untrained_model


def run_profile(path: Path | None, preset: str | None, target: str, state: str, steps, windows,
                measure: bool, cpu: str = "host") -> dict:
    from ..checkpoint import load_checkpoint
    from ..quantize import calibration_set
    from ..streaming import to_streaming
    from .measure import profile_report

    if preset is not None:
        model, metadata, source = untrained_model(preset), {}, f"preset {preset} (untrained, seed 0)"
    else:
        ckpt = load_checkpoint(path)
        model, metadata, source = ckpt.model, ckpt.metadata, str(path)
    config = model.cfg
    calibration = None
    data = checkpoint_task_data(metadata) if measure and target != "tflite" else None
    if data is not None:
        calibration = calibration_set(to_streaming(model), data.train_x)
    report = profile_report(config, model, target=target, steps=tuple(steps or (1,)), measure=measure,
                            calibration=calibration, state=state, windows=tuple(windows) if windows else None,
                            cpu=cpu)
    report["source"] = source

    report["compute"] = compute_summary(report["macs_per_step"], step_rate_hz(metadata))
    report["calibration"] = "task data" if calibration is not None else (
        "random data" if measure and target != "tflite" else None)
    return report
