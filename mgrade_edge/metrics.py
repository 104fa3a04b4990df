"""Task metrics computed from per-step outputs [N, T, C], so any engine's stream can be scored alike."""

from __future__ import annotations

import numpy as np

from .data import IGNORE


def readout(per_step: np.ndarray, mode: str) -> np.ndarray:
    """Sequence outputs [N, C] from per-step outputs [N, T, C]: mean over time or the last step."""
    return per_step.mean(axis=1, dtype=np.float64) if mode == "mean" else per_step[:, -1]


def scored_outputs(kind: str, per_step: np.ndarray, readout_mode: str) -> np.ndarray:
    """What the task is scored on, in the [N, T', C] form `predictions` and `task_metrics` take, so a test
    set can be scored part by part: a sequence task keeps only its readout, as a one-step sequence
    ([N, 1, C]; the mean and the last step of one step are that step), per-step tasks keep every step."""
    if kind == "sequence":
        return readout(per_step, readout_mode)[:, None, :]
    return np.asarray(per_step)


def predictions(kind: str, per_step: np.ndarray, readout_mode: str) -> np.ndarray:
    """Top-1 decisions the task is scored on: [N] for sequence tasks, [N, T] for per-step tasks."""
    if kind == "sequence":
        return readout(per_step, readout_mode).argmax(-1)
    return per_step.argmax(-1)


def task_metrics(kind: str, per_step: np.ndarray, targets: np.ndarray, readout_mode: str) -> dict:
    """{'accuracy': ...} for classification tasks, {'rmse', 'r2'} for regression."""
    per_step = np.asarray(per_step)
    if kind == "sequence":  # readout averages in float64 without a float64 copy of every step
        return {"accuracy": float((predictions(kind, per_step, readout_mode) == targets).mean())}
    if kind == "step_class":
        scored = targets != IGNORE
        return {"accuracy": float((per_step.argmax(-1)[scored] == targets[scored]).mean())}
    err = per_step.astype(np.float64) - targets
    rmse = float(np.sqrt(np.mean(err**2)))
    r2 = float(1.0 - np.sum(err**2) / np.sum((targets - targets.mean(axis=(0, 1))) ** 2))
    return {"rmse": rmse, "r2": r2}


def headline(kind: str) -> str:
    """The metric a checkpoint reports as its test result."""
    return "accuracy" if kind in ("sequence", "step_class") else "r2"
