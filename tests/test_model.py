"""Reference model pieces against their formulas (spec sections 2-3)."""

import math

import pytest
import torch

from mgrade_edge.model import (
    MGRADE,
    DelayConv,
    causal_depthwise_conv,
    g_activation,
    gaussian_kernel,
    min_gru_scan,
    min_gru_step,
)
from tests.helpers import NAMED_CONFIGS, make_model


def test_gaussian_kernel_matches_the_formula():
    torch.manual_seed(0)
    gamma, m, d, sigma = 11, 3, 4, 0.8
    w = torch.randn(m, d, dtype=torch.float64)
    p = torch.rand(m, d, dtype=torch.float64) * (gamma - 1)
    kernel = gaussian_kernel(w, p, sigma, gamma)  # window-ordered: row i is position i = lag Γ-1-i
    for c in range(d):
        for lag in range(gamma):
            expected = sum(float(w[k, c]) * math.exp(-(float(p[k, c]) - (gamma - 1 - lag)) ** 2 / (2 * sigma**2))
                           for k in range(m))
            assert abs(float(kernel[gamma - 1 - lag, c]) - expected) < 1e-12


@pytest.mark.parametrize("use_fft", [False, True])
def test_causal_conv_matches_the_direct_sum(use_fft):
    torch.manual_seed(1)
    b, t, d, gamma = 2, 40, 3, 9
    x = torch.randn(b, t, d, dtype=torch.float64)
    kernel = torch.randn(gamma, d, dtype=torch.float64)
    out = causal_depthwise_conv(x, kernel, use_fft=use_fft)
    for step in range(t):
        expected = torch.zeros(b, d, dtype=torch.float64)
        for lag in range(gamma):
            if step - lag >= 0:
                expected += kernel[gamma - 1 - lag] * x[:, step - lag]
        assert torch.allclose(out[:, step], expected, atol=1e-10)


def test_long_kernel_takes_the_fft_path_and_agrees_with_conv1d():
    torch.manual_seed(2)
    x = torch.randn(1, 700, 2, dtype=torch.float64)
    kernel = torch.randn(300, 2, dtype=torch.float64)
    assert torch.allclose(causal_depthwise_conv(x, kernel), causal_depthwise_conv(x, kernel, use_fft=False),
                          atol=1e-9)


def test_min_gru_scan_equals_the_sequential_recurrence():
    torch.manual_seed(3)
    k = torch.randn(2, 300, 5, dtype=torch.float64) * 3
    a = torch.randn(2, 300, 5, dtype=torch.float64) * 3
    h = torch.zeros(2, 5, dtype=torch.float64)
    sequential = []
    for t in range(300):
        h = min_gru_step(k[:, t], a[:, t], h)
        sequential.append(h)
    assert torch.allclose(min_gru_scan(k, a), torch.stack(sequential, 1), rtol=1e-9, atol=1e-12)


def test_g_activation_is_the_papers_piecewise_function():
    a = torch.tensor([-3.0, -0.1, 0.0, 0.2, 4.0], dtype=torch.float64)
    expected = torch.tensor([torch.sigmoid(torch.tensor(-3.0)), torch.sigmoid(torch.tensor(-0.1)), 0.5, 0.7, 4.5],
                            dtype=torch.float64)
    assert torch.allclose(g_activation(a), expected)


def test_positions_are_clamped_into_the_window():
    model = make_model("digits_like")
    with torch.no_grad():
        model.layers[0].delay.positions.fill_(100.0)
        model.layers[1].delay.positions.fill_(-3.0)
    model.clamp_positions()
    gamma = model.cfg.kernel_size
    assert float(model.layers[0].delay.positions.detach().max()) == gamma - 1
    assert float(model.layers[1].delay.positions.detach().min()) == 0.0


def test_optional_blocks_create_their_parameters():
    base = MGRADE(NAMED_CONFIGS["tiny"])
    full = MGRADE(NAMED_CONFIGS["tiny"].replace(conv_ln=True, rec_ln=True, rec_dense_out=True, cm_ln=True))
    names = {n for n, _ in full.named_parameters()} - {n for n, _ in base.named_parameters()}
    assert {"layers.0.conv_ln.weight", "layers.0.rec_ln.weight", "layers.0.rec_out.weight",
            "layers.0.cm_ln.weight"} <= names


def test_readout_mean_and_last():
    model = make_model("tiny")
    logits = torch.arange(12.0).reshape(1, 4, 3)
    assert torch.equal(model.readout(logits), logits.mean(1))
    last = MGRADE(NAMED_CONFIGS["tiny"].replace(readout="last"))
    assert torch.equal(last.readout(logits), logits[:, -1])


def test_delay_conv_gradients_reach_positions():
    conv = DelayConv(3, 8, 2, 0.8)
    conv(torch.randn(1, 20, 3)).sum().backward()
    assert conv.positions.grad is not None and float(conv.positions.grad.abs().sum()) > 0


def test_chunked_scan_equals_whole_sequence_scan_in_float64():
    # 300 steps = 4 full chunks of 64 and a partial one: the carried state crosses every boundary.
    g = torch.Generator().manual_seed(7)
    k = torch.randn(2, 300, 5, dtype=torch.float64, generator=g) * 3
    a = torch.randn(2, 300, 5, dtype=torch.float64, generator=g) * 3
    assert torch.allclose(min_gru_scan(k, a, chunk=64), min_gru_scan(k, a, chunk=None), rtol=1e-9, atol=1e-12)


def test_float32_chunked_scan_stays_on_float64_recurrence_over_16k_steps():
    g = torch.Generator().manual_seed(8)
    k = torch.randn(1, 16_000, 4, dtype=torch.float64, generator=g) * 2
    a = torch.randn(1, 16_000, 4, dtype=torch.float64, generator=g) * 2
    h = torch.zeros(1, 4, dtype=torch.float64)
    reference = []
    for t in range(k.shape[1]):
        h = min_gru_step(k[:, t], a[:, t], h)
        reference.append(h)
    reference = torch.stack(reference, 1)
    err = (min_gru_scan(k.float(), a.float()).double() - reference).abs().max()
    assert err <= 1e-4 * reference.abs().max()
