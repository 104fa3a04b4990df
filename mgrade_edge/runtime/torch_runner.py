"""TorchRunner: the reference engine, the frozen streaming step in PyTorch (float32 or float64)."""

from __future__ import annotations

import numpy as np
import torch

from ..streaming import StreamingMGRADE
from .base import Runner


class TorchRunner(Runner):
    name = "torch"

    def __init__(self, step: StreamingMGRADE, dtype: torch.dtype = torch.float32):
        self.step_module = step.to(dtype).eval()
        self.dtype = dtype
        self.reset()

    def reset(self) -> None:
        self.state = self.step_module.initial_state(1, self.dtype)

    @torch.no_grad()
    def step(self, x: np.ndarray) -> np.ndarray:
        x_t = torch.as_tensor(np.asarray(x), dtype=self.dtype).reshape(1, -1)
        y, *self.state = self.step_module(x_t, *self.state)
        return y[0].to(torch.float32).numpy()

    # Sequences per batched pass: bounds the state and output memory of one pass.
    BATCH = 256

    @torch.no_grad()
    def run_sequences(self, sequences: np.ndarray) -> np.ndarray:
        """The same streaming step over a batch of independent states, one call per timestep instead of
        one per sequence and timestep: 1,050 keywords clips of 8,000 steps take seconds, not an hour.
        Leaves the runner's own (single-stream) state untouched."""
        seqs = torch.as_tensor(np.asarray(sequences), dtype=self.dtype)
        outputs = []
        for start in range(0, len(seqs), self.BATCH):
            chunk = seqs[start:start + self.BATCH]
            state = self.step_module.initial_state(len(chunk), self.dtype)
            steps = []
            for t in range(chunk.shape[1]):
                y, *state = self.step_module(chunk[:, t], *state)
                steps.append(y.to(torch.float32))
            outputs.append(torch.stack(steps, dim=1))
        return torch.cat(outputs).numpy()
