"""The streaming step is the same model: every step of a long stream against the parallel reference."""

import numpy as np
import pytest
import torch

from mgrade_edge.model import MGRADE
from mgrade_edge.runtime.base import run_stream
from mgrade_edge.runtime.torch_runner import TorchRunner
from mgrade_edge.streaming import freeze_delays, is_frozen, stream_sequences, to_streaming
from tests.helpers import NAMED_CONFIGS, make_model, random_sequences

STREAM_STEPS = 2000
# float32 step vs float64 parallel: the scan's own float32 error is excluded by the float64 reference.
STEP_ATOL = 1e-4


@pytest.mark.parametrize("name", sorted(NAMED_CONFIGS))
def test_streaming_step_matches_float64_parallel_every_step(name):
    model = make_model(name, seed=1)
    u = torch.from_numpy(random_sequences(model.cfg, 2, STREAM_STEPS, seed=2))
    with torch.no_grad():
        reference = model.double()(u.double())
    streamed = stream_sequences(to_streaming(model.float()), u)
    err = (streamed.double() - reference).abs().amax(dim=(0, 2))
    first_bad = int(torch.nonzero(err > STEP_ATOL)[0]) if (err > STEP_ATOL).any() else None
    assert first_bad is None, f"{name}: step {first_bad} differs by {float(err[first_bad]):.2e}"
    assert float(err.max()) <= STEP_ATOL


def test_float64_step_is_exact_to_rounding():
    model = make_model("odd", seed=3).double()
    u = torch.from_numpy(random_sequences(model.cfg, 1, 500, seed=4)).double()
    with torch.no_grad():
        reference = model(u)
    streamed = stream_sequences(to_streaming(model), u)
    assert float((streamed - reference).abs().max()) < 1e-10


def test_runner_keeps_state_and_resets():
    model = make_model("digits_like", seed=0)
    runner = TorchRunner(to_streaming(model))
    seq = random_sequences(model.cfg, 1, 50, seed=0)[0]
    first = run_stream(runner, seq)
    second = run_stream(runner, seq)  # run_stream resets first
    np.testing.assert_array_equal(first, second)
    runner.reset()
    runner.step(seq[0])
    continued = runner.step(seq[1])
    assert not np.allclose(continued, first[0]), "state must carry over between steps"
    np.testing.assert_allclose(continued, first[1], atol=0)


def test_causality_future_inputs_never_change_past_outputs():
    model = make_model("odd", seed=5).double()
    u = torch.from_numpy(random_sequences(model.cfg, 1, 120, seed=6)).double()
    t = 70
    changed = u.clone()
    changed[:, t + 1:] += torch.randn_like(changed[:, t + 1:]) * 5
    with torch.no_grad():
        a, b = model(u), model(changed)
    assert torch.equal(a[:, : t + 1], b[:, : t + 1])
    assert not torch.allclose(a[:, t + 1:], b[:, t + 1:])


def test_signature_pairs_and_shapes():
    model = make_model("odd")
    step = to_streaming(model)
    sig = step.signature
    cfg = model.cfg
    assert sig.input_names[0] == "x" and sig.output_names[0] == "y"
    assert len(sig.state_pairs) == 2 * cfg.n_layers
    for state_in, state_out in sig.state_pairs:
        assert sig.spec(state_in).shape == sig.spec(state_out).shape
        assert sig.spec(state_in).role == "state_in" and sig.spec(state_out).role == "state_out"
    assert sig.spec("delay_0_in").shape == (1, cfg.kernel_size - 1, cfg.d_model)  # time-major
    assert sig.spec("h_2_out").shape == (1, cfg.d_model)
    outs = step(torch.zeros(1, cfg.d_in), *step.initial_state())
    assert [tuple(o.shape) for o in outs] == [sig.spec(n).shape for n in sig.output_names]
    assert sig.from_dict(sig.to_dict()) == sig


def test_dense_freeze_is_exact_and_round_freeze_reports_its_error():
    model = make_model("digits_like", seed=7)
    dense = freeze_delays(model, "dense")
    assert is_frozen(dense) and not is_frozen(model)
    assert dense.freeze_report.max_abs_output_change == 0.0
    rounded = freeze_delays(model, "round")
    # sigma = 0.8 > 0: a Gaussian tap is not a single integer delay, so rounding must change outputs.
    assert rounded.freeze_report.max_abs_output_change > 1e-3
    assert rounded.freeze_report.mode == "round"
    # the rounded kernel has at most M nonzero lags per channel, all at integer positions
    kernel = rounded.layers[0].delay.kernel()
    assert int((kernel != 0).sum(0).max()) <= model.cfg.n_taps
    # and streaming the rounded model is exact against the rounded parallel model
    u = torch.from_numpy(random_sequences(model.cfg, 1, 300, seed=8))
    with torch.no_grad():
        ref = rounded.double()(u.double())
    out = stream_sequences(to_streaming(rounded.float()), u)
    assert float((out.double() - ref).abs().max()) < 1e-4


def test_unknown_freeze_mode_is_a_user_error():
    from mgrade_edge.errors import UserError

    with pytest.raises(UserError, match="freeze mode 'sparse' is not one of dense, round"):
        freeze_delays(make_model("tiny"), "sparse")


def test_fresh_model_is_not_mutated_by_to_streaming():
    model = make_model("tiny")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    to_streaming(model)
    assert isinstance(model, MGRADE) and not is_frozen(model)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])


def test_streaming_classifier_keeps_the_mean_readout():
    from mgrade_edge.runtime.base import StreamingClassifier

    model = make_model("digits_like", seed=9)
    u = random_sequences(model.cfg, 3, 40, seed=9)
    with torch.no_grad():
        expected = model.classify(torch.from_numpy(u)).numpy()
    classifier = StreamingClassifier(TorchRunner(to_streaming(model)), model.cfg.readout)
    for seq, want in zip(u, expected):
        classifier.reset()
        for x in seq:
            logits = classifier.step(x)
        np.testing.assert_allclose(logits, want, atol=1e-5)
        assert classifier.predict() == int(np.argmax(want))
