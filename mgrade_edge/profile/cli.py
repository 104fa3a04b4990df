"""Glue for `mgrade-edge profile`: a checkpoint or a preset -> calibration -> profile_report."""

from __future__ import annotations

from pathlib import Path

from ..compute import compute_summary, step_rate_hz
from ..data import checkpoint_task_data
from ..frontend.host import HostFrontend
from ..frontend.spec import FrontendError
from ..presets import untrained_model
from ..tasks import frontend_spec


def frontend_memory(metadata: dict) -> dict | None:
    """A filter-bank model's front end: its memory on this host, fixed at init (it does not grow with the
    stream); the device's own figure is board-test's (pointers are smaller there)."""
    front = frontend_spec(metadata.get("task"), metadata.get("task_options"))
    if front is None or front.kind != "filterbank":
        return None
    try:
        fe = HostFrontend(front)
    except FrontendError as exc:
        return {"features": front.describe(), "unavailable": str(exc)}
    return {"features": front.describe(), "memory_bytes": fe.memory_bytes, "kept_between_hops_bytes": fe.state_bytes,
            "where": "host build; board-test reports the device's"}


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
    report["frontend"] = frontend_memory(metadata)
    report["calibration"] = "task data" if calibration is not None else (
        "random data" if measure and target != "tflite" else None)
    return report
