"""The Runner interface: every engine streams an artifact with the same two calls.

    runner.reset()            # zero state (delay lines, hidden states)
    y = runner.step(x)        # x [d_in] float -> y [C] float, state fed back inside the runner

Runners own state feedback (and requantisation for quantised external state), so callers never see
the state tensors. `run_sequences` is the one loop everything (validate, tests, benchmarks) uses.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class Runner(ABC):
    name: str = "runner"

    @abstractmethod
    def reset(self) -> None:
        """Return to the initial state (zero delay lines, h = 0)."""

    @abstractmethod
    def step(self, x: np.ndarray) -> np.ndarray:
        """One timestep: x [d_in] float32 -> y [C] float32."""


def run_stream(runner: Runner, stream: np.ndarray, reset: bool = True) -> np.ndarray:
    """Per-step outputs [T, C] for one stream [T, d_in]."""
    if reset:
        runner.reset()
    return np.stack([runner.step(x) for x in np.asarray(stream, dtype=np.float32)])


def run_sequences(runner: Runner, sequences: np.ndarray) -> np.ndarray:
    """Per-step outputs [N, T, C] for N independent sequences [N, T, d_in] (reset between them)."""
    return np.stack([run_stream(runner, seq) for seq in sequences])


class MeanReadout:
    """Running mean of the per-step logits: the mean-over-time readout kept outside the graph."""

    def __init__(self) -> None:
        self.total: np.ndarray | None = None
        self.count = 0

    def reset(self) -> None:
        self.total, self.count = None, 0

    def update(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        self.total = y.copy() if self.total is None else self.total + y
        self.count += 1
        return self.total / self.count
