"""Long streams: the float32 step stays on the float64 parallel model for 16,000 steps without resets."""

import numpy as np
import torch

from mgrade_edge.checkpoint import load_checkpoint
from mgrade_edge.data import load_task
from mgrade_edge.runtime.base import run_stream
from mgrade_edge.runtime.torch_runner import TorchRunner
from mgrade_edge.streaming import to_streaming
from mgrade_edge.validate import drift_ratio, long_stream

STEPS = 16_000


def test_float32_step_tracks_float64_parallel_over_16k_steps():
    model = load_checkpoint("examples/digits.pt").model
    stream = long_stream(load_task("digits").test_x, STEPS)
    with torch.no_grad():
        reference = model.double()(torch.from_numpy(stream).double().unsqueeze(0))[0].numpy()
    streamed = run_stream(TorchRunner(to_streaming(model.float())), stream)
    err = np.abs(streamed - reference).max(axis=1)
    relative = err.max() / np.sqrt(np.mean(reference**2))
    assert relative <= 1e-3, f"max error {err.max():.3g} is {relative:.2e} of the output RMS"
    assert np.isfinite(streamed).all()
    assert drift_ratio(err) <= 1.5 or err.max() < 1e-5
