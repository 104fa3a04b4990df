"""Compute per second of input: does a model keep up in real time at its task's step rate?

The multiply-accumulates of one step come from the profile's own count (matmuls and the delay conv);
this module only knows which rate a checkpoint's steps arrive at: one per audio sample for the raw
audio tasks, one per hop for the frame-rate ones (the front end recorded in the task options).
"""

from __future__ import annotations

from .tasks import frontend_spec


def step_rate_hz(metadata: dict) -> float | None:
    """Input steps per second of a checkpoint's task, or None when its steps are not audio."""
    front = frontend_spec(metadata.get("task"), metadata.get("task_options"))
    return None if front is None else front.steps_per_second


def compute_summary(macs_per_step: int, rate_hz: float | None) -> dict:
    return {"macs_per_step": int(macs_per_step), "step_rate_hz": rate_hz,
            "macs_per_second": None if rate_hz is None else int(round(int(macs_per_step) * rate_hz))}


def format_compute(summary: dict) -> str:
    line = f"compute         {summary['macs_per_step']:,} multiply-accumulates per step"
    if summary["step_rate_hz"] is None:
        return line + " (steps are not audio: no per-second figure)"
    return line + (f"; {summary['macs_per_second'] / 1e6:,.1f} M per second of audio at "
                   f"{summary['step_rate_hz']:,g} steps/s")
