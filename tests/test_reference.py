"""The time-batched torch reference (tests/reference.py) equals stepping the torch module sample by sample."""

import numpy as np
import pytest

from mgrade_edge.runtime.base import run_stream
from mgrade_edge.runtime.torch_runner import TorchRunner
from mgrade_edge.streaming import to_streaming
from tests import reference
from tests.helpers import NAMED_CONFIGS, make_model, random_sequences


@pytest.mark.parametrize("name", ["tiny", "odd", "all_options", "sigmoid_act", "authors_variants", "no_residuals"])
def test_batched_reference_equals_the_stepped_module(name, monkeypatch):
    monkeypatch.setattr(reference, "CHUNK", 97)  # several chunk boundaries inside the stream
    step = to_streaming(make_model(name, seed=3))
    stream = random_sequences(NAMED_CONFIGS[name], 1, 600, seed=4)[0]
    stepped = run_stream(TorchRunner(step), stream)
    batched = reference.stepped_outputs(step, stream)
    assert batched.shape == stepped.shape
    np.testing.assert_allclose(batched, stepped, rtol=0, atol=2e-5 * np.abs(stepped).max())


def test_batched_reference_equals_the_stepped_digits_example_over_3000_steps():
    from mgrade_edge.checkpoint import load_checkpoint
    from mgrade_edge.data import load_task
    from mgrade_edge.validate import long_stream

    step = to_streaming(load_checkpoint("examples/digits.pt").model)
    stream = long_stream(load_task("digits").test_x, 3000)
    stepped = run_stream(TorchRunner(step), stream)
    batched = reference.stepped_outputs(step, stream)
    err = np.abs(batched - stepped).max()
    assert err <= 1e-5 * np.abs(stepped).max(), f"max difference {err:.3g}"


def test_batched_reference_notices_a_wrong_kernel_order():
    """The comparison can fail: flipping the delay kernel (lags reversed) is far outside it."""
    step = to_streaming(make_model("odd", seed=3))
    stream = random_sequences(NAMED_CONFIGS["odd"], 1, 200, seed=4)[0]
    stepped = run_stream(TorchRunner(step), stream)
    for layer in step.layers:
        layer.kernel = layer.kernel.flip(0)
    assert np.abs(reference.stepped_outputs(step, stream) - stepped).max() > 1e-3
