"""Score a checkpoint on its task: the parallel model and its streaming step on the same test set."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .checkpoint import load_checkpoint
from .data import load_task
from .errors import CheckpointError
from .metrics import headline, task_metrics
from .runtime.base import run_sequences
from .runtime.torch_runner import TorchRunner
from .streaming import to_streaming
from .train import predict


def task_of(metadata: dict, path: Path) -> str:
    task = metadata.get("task")
    if task not in ("digits", "flipflop", "lorenz"):
        raise CheckpointError(f"checkpoint {path} names no known task (metadata task={task!r}); "
                              f"pass data explicitly or retrain with `mgrade-edge train --task ...`")
    return task


def evaluate_checkpoint(path: str | Path) -> dict:
    ckpt = load_checkpoint(path)
    task = task_of(ckpt.metadata, ckpt.path)
    data = load_task(task, int(ckpt.metadata.get("seed", 0)))
    parallel = predict(ckpt.model, data.test_x)
    streamed = run_sequences(TorchRunner(to_streaming(ckpt.model)), data.test_x)
    readout = ckpt.config.readout
    return {
        "task": task,
        "metric": headline(data.kind),
        "sequences": int(data.test_x.shape[0]),
        "steps_per_sequence": int(data.test_x.shape[1]),
        "parallel": task_metrics(data.kind, parallel, data.test_y, readout),
        "streaming": task_metrics(data.kind, streamed, data.test_y, readout),
        "max_abs_err": float(np.abs(parallel - streamed).max()),
    }
