"""Compute per second of input: does a model keep up in real time at its task's sample rate?

The multiply-accumulates of one step come from the profile's own count (matmuls and the delay conv);
this module only knows which rate a checkpoint's steps arrive at.
"""

from __future__ import annotations

# Steps per second of the tasks whose steps are audio samples (task name -> default rate in Hz).
AUDIO_TASK_RATES = {"keywords": 8000}


def step_rate_hz(metadata: dict) -> int | None:
    """Input steps per second of a checkpoint's task, or None when its steps are not audio samples."""
    task = metadata.get("task")
    if task not in AUDIO_TASK_RATES:
        return None
    return int((metadata.get("task_options") or {}).get("sample_rate", AUDIO_TASK_RATES[task]))


def compute_summary(macs_per_step: int, rate_hz: int | None) -> dict:
    return {"macs_per_step": int(macs_per_step), "step_rate_hz": rate_hz,
            "macs_per_second": None if rate_hz is None else int(macs_per_step) * rate_hz}


def format_compute(summary: dict) -> str:
    line = f"compute         {summary['macs_per_step']:,} multiply-accumulates per step"
    if summary["step_rate_hz"] is None:
        return line + " (steps are not audio samples: no per-second figure)"
    return line + (f"; {summary['macs_per_second'] / 1e6:,.1f} M per second of audio at "
                   f"{summary['step_rate_hz']:,} Hz")
