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
