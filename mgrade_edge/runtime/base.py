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

    def run_sequences(self, sequences: np.ndarray) -> np.ndarray:
        """Per-step outputs [N, T, C] for N independent sequences, each from a reset state. An engine
        that can step several independent states at once overrides this (same step, batched)."""
        return np.stack([run_stream(self, seq) for seq in sequences])


def run_stream(runner: Runner, stream: np.ndarray, reset: bool = True) -> np.ndarray:
    """Per-step outputs [T, C] for one stream [T, d_in]."""
    if reset:
        runner.reset()
    return np.stack([runner.step(x) for x in np.asarray(stream, dtype=np.float32)])


def run_sequences(runner: Runner, sequences: np.ndarray) -> np.ndarray:
    """Per-step outputs [N, T, C] for N independent sequences [N, T, d_in] (reset between them)."""
    return runner.run_sequences(np.asarray(sequences, dtype=np.float32))


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


class StreamingClassifier:
    """A runner plus the readout the graph does not compute: after every step, the class decision so far.

    With readout "mean" this keeps the running mean of the per-step logits (C accumulators, constant
    memory), so a sequence classified step by step ends with exactly the parallel model's decision.
    """

    def __init__(self, runner: Runner, readout: str = "mean"):
        if readout not in ("mean", "last"):
            raise ValueError(f"readout {readout!r} is not one of mean, last")
        self.runner, self.readout_mode = runner, readout
        self.mean = MeanReadout()
        self.logits: np.ndarray | None = None

    def reset(self) -> None:
        self.runner.reset()
        self.mean.reset()
        self.logits = None

    def step(self, x: np.ndarray) -> np.ndarray:
        """Feed one sample; returns the sequence logits so far (running mean, or the last step's)."""
        y = self.runner.step(x)
        self.logits = self.mean.update(y) if self.readout_mode == "mean" else np.asarray(y, np.float64)
        return self.logits

    def predict(self) -> int:
        if self.logits is None:
            raise ValueError("no step has been run since the last reset")
        return int(np.argmax(self.logits))
