"""TorchRunner: its batched run_sequences is the same streaming step as stepping each sequence alone."""

import numpy as np
import torch

from mgrade_edge.checkpoint import load_checkpoint
from mgrade_edge.data import load_task
from mgrade_edge.runtime.base import run_stream
from mgrade_edge.runtime.torch_runner import TorchRunner
from mgrade_edge.streaming import to_streaming


def test_batched_sequences_equal_one_at_a_time(monkeypatch):
    model = load_checkpoint("examples/digits.pt").model
    x = load_task("digits").test_x[:7]
    runner = TorchRunner(to_streaming(model), dtype=torch.float64)
    monkeypatch.setattr(TorchRunner, "BATCH", 3)  # several passes, the last one partial
    runner.step(x[0, 0])  # the runner's own stream state must not leak into, or be touched by, the batch
    before = [s.clone() for s in runner.state]
    batched = runner.run_sequences(x)
    assert all(torch.equal(a, b) for a, b in zip(before, runner.state))
    one_by_one = np.stack([run_stream(runner, seq) for seq in x])
    assert batched.shape == one_by_one.shape == (7, x.shape[1], model.cfg.n_classes)
    np.testing.assert_allclose(batched, one_by_one, rtol=0, atol=1e-9 * np.abs(one_by_one).max())
