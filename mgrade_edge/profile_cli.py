"""Glue for `mgrade-edge profile`: a checkpoint or a preset -> calibration -> profile_report."""

from __future__ import annotations

from pathlib import Path


def run_profile(path: Path | None, preset: str | None, target: str, state: str, steps, windows,
                measure: bool) -> dict:
    from .checkpoint import load_checkpoint
    from .model import MGRADE
    from .profile import profile_report
    from .quantize import calibration_set
    from .streaming import to_streaming

    if preset is not None:
        import torch

        from .presets import preset_config

        config = preset_config(preset)
        with torch.random.fork_rng():
            torch.manual_seed(0)
            model = MGRADE(config).eval()
        source, task = f"preset {preset} (untrained, seed 0)", None
    else:
        ckpt = load_checkpoint(path)
        config, model, task = ckpt.config, ckpt.model, ckpt.metadata.get("task")
        source = str(path)
    calibration = None
    if measure and target != "tflite" and task in ("digits", "flipflop", "lorenz"):
        from .data import load_task

        calibration = calibration_set(to_streaming(model), load_task(task).train_x)
    report = profile_report(config, model, target=target, steps=tuple(steps or (1,)), measure=measure,
                            calibration=calibration, state=state, windows=tuple(windows) if windows else None)
    report["source"] = source
    report["calibration"] = "task data" if calibration is not None else (
        "random data" if measure and target != "tflite" else None)
    return report
