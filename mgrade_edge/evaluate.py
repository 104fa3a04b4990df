"""Score a checkpoint on its task: the parallel model and its streaming step on the same test set."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .checkpoint import load_checkpoint
from .data import require_task_data
from .metrics import headline, task_metrics
from .runtime.base import run_sequences
from .runtime.torch_runner import TorchRunner
from .streaming import to_streaming
from .train import predict


def evaluate_checkpoint(path: str | Path) -> dict:
    ckpt = load_checkpoint(path)
    data = require_task_data(ckpt, "evaluate on", "evaluate a checkpoint written by `mgrade-edge train --task ...`")
    parallel = predict(ckpt.model, data.test_x)
    streamed = run_sequences(TorchRunner(to_streaming(ckpt.model)), data.test_x)
    readout = ckpt.config.readout
    return {
        "task": data.name,
        "metric": headline(data.kind),
        "sequences": int(data.test_x.shape[0]),
        "steps_per_sequence": int(data.test_x.shape[1]),
        "parallel": task_metrics(data.kind, parallel, data.test_y, readout),
        "streaming": task_metrics(data.kind, streamed, data.test_y, readout),
        "max_abs_err": float(np.abs(parallel - streamed).max()),
    }
