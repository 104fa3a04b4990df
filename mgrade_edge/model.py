"""The reference (parallel, trainable) mGRADE model, following spec sections 1-3.

Shapes: B batch, T time, d = d_model, Γ = kernel_size, M = n_taps.
Kernels are stored *window-ordered*: row i of a [Γ, d] kernel multiplies the sample at lag Γ-1-i,
so row Γ-1 is "now". This equals the DCLS position axis (a tap at position p lands on row p), and
it is exactly the order of the time-major delay window the streaming step keeps (streaming.py).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import MGRADEConfig

# Above this Γ the causal conv runs through the FFT (O(T log T) instead of O(T Γ)).
FFT_KERNEL_THRESHOLD = 256


# ---- section 2: delay convolution with learnable spacings -------------------------------------

def gaussian_kernel(weights: torch.Tensor, positions: torch.Tensor, sigma: float, kernel_size: int) -> torch.Tensor:
    """Dense kernel [Γ, d]: K[i, c] = Σ_m w[m, c] · exp(-(p[m, c] - i)² / (2σ²)), not normalised."""
    grid = torch.arange(kernel_size, dtype=weights.dtype, device=weights.device)  # [Γ]
    diff = positions.unsqueeze(1) - grid.view(1, -1, 1)  # [M, Γ, d]
    return (weights.unsqueeze(1) * torch.exp(-diff.square() / (2.0 * sigma * sigma))).sum(0)


def causal_depthwise_conv(x: torch.Tensor, kernel: torch.Tensor, use_fft: bool | None = None) -> torch.Tensor:
    """v_t[c] = Σ_i K[i, c] · x_{t-(Γ-1-i)}[c] with zeros before t = 0.  x [B, T, d], K [Γ, d]."""
    gamma, d = kernel.shape
    if use_fft is None:
        use_fft = gamma > FFT_KERNEL_THRESHOLD
    if use_fft:
        t = x.shape[1]
        n = 1 << (t + gamma - 1).bit_length()
        lag_kernel = kernel.flip(0)  # row j = lag j
        spec = torch.fft.rfft(x, n=n, dim=1) * torch.fft.rfft(lag_kernel, n=n, dim=0).unsqueeze(0)
        return torch.fft.irfft(spec, n=n, dim=1)[:, :t]
    # conv1d is a cross-correlation, so the window-ordered kernel is used as is after Γ-1 left padding.
    padded = F.pad(x.transpose(1, 2), (gamma - 1, 0))  # [B, d, T + Γ - 1]
    return F.conv1d(padded, kernel.t().unsqueeze(1), groups=d).transpose(1, 2)


class DelayConv(nn.Module):
    """Depthwise causal convolution whose M taps per channel sit at learnable (real) positions."""

    def __init__(self, d: int, kernel_size: int, n_taps: int, sigma: float, sigma_per_tap: bool = False,
                 positions_to_gamma: bool = False):
        super().__init__()
        self.kernel_size = kernel_size
        self.sigma = sigma
        # The authors' clamp allows Γ: a Gaussian centred one step ahead, truncated by the window.
        self.position_max = float(kernel_size if positions_to_gamma else kernel_size - 1)
        if sigma_per_tap:  # fixed widths per tap and channel, as the authors store them
            self.register_buffer("sigmas", torch.full((n_taps, d), float(sigma)))
        # Taps start evenly spread over the window with the last one at "now" (position Γ-1),
        # plus jitter so channels differ; weights are scaled so the kernel starts near unit gain.
        base = torch.linspace(0.0, kernel_size - 1, n_taps).unsqueeze(1).expand(n_taps, d)
        jitter = (torch.rand(n_taps, d) - 0.5) * (kernel_size / max(n_taps, 1))
        self.positions = nn.Parameter((base + jitter).clamp(0, kernel_size - 1).contiguous())
        self.weights = nn.Parameter(torch.randn(n_taps, d) / math.sqrt(n_taps))

    def kernel(self) -> torch.Tensor:
        sigma = self.sigmas.unsqueeze(1) if hasattr(self, "sigmas") else self.sigma  # [M, 1, d] broadcasts over Γ
        return gaussian_kernel(self.weights, self.positions, sigma, self.kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return causal_depthwise_conv(x, self.kernel())

    @torch.no_grad()
    def clamp_positions(self) -> None:
        self.positions.clamp_(0.0, self.position_max)


class FrozenDelayConv(nn.Module):
    """A DelayConv whose kernel has been fixed (see streaming.freeze_delays)."""

    def __init__(self, kernel: torch.Tensor):
        super().__init__()
        self.kernel_size = kernel.shape[0]
        self.register_buffer("frozen_kernel", kernel.detach().clone())

    def kernel(self) -> torch.Tensor:
        return self.frozen_kernel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return causal_depthwise_conv(x, self.frozen_kernel)

    def clamp_positions(self) -> None:  # nothing to clamp once frozen
        pass


# ---- section 3: minimal GRU --------------------------------------------------------------------

def g_activation(a: torch.Tensor) -> torch.Tensor:
    """g(a) = a + 0.5 for a >= 0, sigmoid(a) otherwise (continuous, positive)."""
    return torch.where(a >= 0, a + 0.5, torch.sigmoid(a))


def log_g(a: torch.Tensor) -> torch.Tensor:
    return torch.where(a >= 0, torch.log(F.relu(a) + 0.5), -F.softplus(-a))


# Chunk length of the parallel scan. Inside a chunk the log-space scan's cumulative sums stay short, so
# float32 keeps ~eps·|Σ log(1-z)| relative accuracy; one scan over the whole sequence lets that sum grow
# with T (-280 within 64 steps on digits) and the error with it (8e-2 at T = 20,000).
SCAN_CHUNK = 64


def _log_space_scan(k: torch.Tensor, a: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Heinsen's log-space scan along `dim` from h = 0: (h, Π(1 - z)) with the product running from the start."""
    log_one_minus_z = -F.softplus(k)
    log_z = -F.softplus(-k)
    a_star = torch.cumsum(log_one_minus_z, dim=dim)
    log_h = a_star + torch.logcumsumexp(log_z + log_g(a) - a_star, dim=dim)
    return torch.exp(log_h), torch.exp(a_star)


def min_gru_scan(k: torch.Tensor, a: torch.Tensor, chunk: int | None = SCAN_CHUNK) -> torch.Tensor:
    """Parallel minGRU with h_0 = 0.  k, a: [B, T, d] -> h [B, T, d].

    Chunked: every chunk of `chunk` steps is scanned in log space from h = 0 (all chunks at once), then
    the hidden state at each chunk end is carried into the next chunk in linear space, where
    h = h_local + Π(1 - z) · h_carried is exact up to rounding (both terms are in [0, max g]).
    chunk=None scans the whole sequence in one piece (the form whose float32 error grows with T).
    """
    b, t, d = k.shape
    if chunk is None or t <= chunk:
        return _log_space_scan(k, a, dim=1)[0]
    n = -(-t // chunk)
    pad = n * chunk - t  # padding at the end: causal, so it never reaches the real steps
    if pad:
        k, a = F.pad(k, (0, 0, 0, pad)), F.pad(a, (0, 0, 0, pad))
    h_local, decay = _log_space_scan(k.reshape(b, n, chunk, d), a.reshape(b, n, chunk, d), dim=2)
    # h at the end of chunk c: decay_c · h_end_{c-1} + h_local_end_c (a short sequential loop over chunks).
    # The chunk ends are sliced once and unbound: indexing the big tensors inside the loop would make
    # every backward step allocate a zero tensor of their full size.
    decay_end, h_end = decay[:, :, -1].unbind(1), h_local[:, :, -1].unbind(1)
    carried = [torch.zeros_like(h_end[0])]
    for c in range(n - 1):
        carried.append(decay_end[c] * carried[-1] + h_end[c])
    h = h_local + decay * torch.stack(carried, dim=1).unsqueeze(2)
    return h.reshape(b, n * chunk, d)[:, :t]


def min_gru_step(k: torch.Tensor, a: torch.Tensor, h_prev: torch.Tensor) -> torch.Tensor:
    """h_t = (1 - z) h_{t-1} + z g(a), z = sigmoid(k)."""
    z = torch.sigmoid(k)
    return (1.0 - z) * h_prev + z * g_activation(a)


def cut_softplus(x: torch.Tensor, cutoff: float) -> torch.Tensor:
    """softplus(x), taken as x itself above `cutoff` (the authors' scan; off by <= log(1 + e^-cutoff))."""
    return torch.where(x > cutoff, x, F.softplus(x))


def cut_gate_terms(k: torch.Tensor, a: torch.Tensor, cutoff: float):
    """(log(1-z), log z, log g(a)) with every softplus cut at `cutoff`."""
    log_g_cut = torch.where(a >= 0, torch.log(F.relu(a) + 0.5), -cut_softplus(-a, cutoff))
    return -cut_softplus(k, cutoff), -cut_softplus(-k, cutoff), log_g_cut


def min_gru_scan_cut(k: torch.Tensor, a: torch.Tensor, cutoff: float) -> torch.Tensor:
    """The log-space scan with cut softplus terms: h_t = exp(A_t + logcumsumexp(log z + log g - A)_t)."""
    log_one_minus_z, log_z, log_g_cut = cut_gate_terms(k, a, cutoff)
    a_star = torch.cumsum(log_one_minus_z, dim=1)
    return torch.exp(a_star + torch.logcumsumexp(log_z + log_g_cut - a_star, dim=1))


def min_gru_step_cut(k: torch.Tensor, a: torch.Tensor, h_prev: torch.Tensor, cutoff: float) -> torch.Tensor:
    """The recurrence the cut scan computes exactly: h_t = (1-z)' h_{t-1} + z' g'(a), where the primed
    terms are the exponentials of the cut log terms (so (1-z)' + z' is not exactly 1)."""
    log_one_minus_z, log_z, log_g_cut = cut_gate_terms(k, a, cutoff)
    return torch.exp(log_one_minus_z) * h_prev + torch.exp(log_z + log_g_cut)


class MinGRU(nn.Module):
    def __init__(self, d: int, softplus_cutoff: float | None = None):
        super().__init__()
        self.to_gates = nn.Linear(d, 2 * d)  # [W_z; W_h] in one matmul
        self.softplus_cutoff = softplus_cutoff

    def gates(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k, a = self.to_gates(x).chunk(2, dim=-1)
        return k, a

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, a = self.gates(x)
        # The scan runs in float32 even under autocast (train --precision bf16): its cumulative sums are what
        # float32 barely holds (SCAN_CHUNK); the gate matmul above may run in bfloat16.
        with torch.autocast(device_type=x.device.type, enabled=False):
            if k.dtype in (torch.bfloat16, torch.float16):
                k, a = k.float(), a.float()
            if self.softplus_cutoff is not None:
                return min_gru_scan_cut(k, a, self.softplus_cutoff)
            return min_gru_scan(k, a)

    def step(self, x_t: torch.Tensor, h_prev: torch.Tensor) -> torch.Tensor:
        if self.softplus_cutoff is not None:
            return min_gru_step_cut(*self.gates(x_t), h_prev, self.softplus_cutoff)
        return min_gru_step(*self.gates(x_t), h_prev)


# ---- section 1: the network -------------------------------------------------------------------

def rec_activation(name: str, h: torch.Tensor) -> torch.Tensor:
    if name == "identity":
        return h
    if name == "relu":
        return F.relu(h - 1.0)
    if name == "gelu":
        return F.gelu(h - 1.0, approximate="tanh")
    if name == "sigmoid":
        return torch.sigmoid(10.0 * (h - 0.5))
    if name == "relu2":
        return F.relu(h - 2.0)
    raise ValueError(name)


def mlp_activation(name: str, x: torch.Tensor) -> torch.Tensor:
    return F.gelu(x, approximate="tanh") if name == "gelu" else F.relu(x)


def _maybe_ln(enabled: bool, d: int, eps: float) -> nn.Module | None:
    return nn.LayerNorm(d, eps=eps) if enabled else None


def _note(trace: dict | None, name: str, value: torch.Tensor) -> torch.Tensor:
    """Record `value` under `name` when tracing (see MGRADEBlock.delay_residual); returns it."""
    if trace is not None:
        trace[name] = value
    return value


class MGRADEBlock(nn.Module):
    """Delay block, recurrent block, channel-mixing block (spec section 1)."""

    def __init__(self, cfg: MGRADEConfig):
        super().__init__()
        d, eps = cfg.d_model, cfg.ln_eps
        self.cfg = cfg
        self.delay: nn.Module = DelayConv(d, cfg.kernel_size, cfg.n_taps, cfg.sigma, cfg.sigma_per_tap,
                                          cfg.positions_to_gamma)
        self.conv_ln = _maybe_ln(cfg.conv_ln, d, eps)
        self.gru = MinGRU(d, cfg.softplus_cutoff)
        self.rec_out = nn.Linear(d, d) if cfg.rec_dense_out else None
        self.rec_ln = _maybe_ln(cfg.rec_ln, d, eps)
        self.mlp_ln = nn.LayerNorm(d, eps=eps)
        self.mlp_in = nn.Linear(d, cfg.mlp_hidden)
        self.mlp_out = nn.Linear(cfg.mlp_hidden, d)
        self.cm_ln = _maybe_ln(cfg.cm_ln, d, eps)
        self.compress = nn.Linear(d, d) if cfg.compress_act != "none" else None
        self.post_ln = _maybe_ln(cfg.postnorm, d, eps)

    def delay_residual(self, x: torch.Tensor, v: torch.Tensor, trace: dict | None = None) -> torch.Tensor:
        """x + LN_conv(v): shared by the parallel forward and the streaming step.

        `trace` (a dict), when given, receives the intermediates by name (v, v_ln, x1): the integer C
        target calibrates the range of every value it stores from them (export/c_calib.py)."""
        _note(trace, "v", v)
        if self.conv_ln is not None:
            v = _note(trace, "v_ln", self.conv_ln(v))
        return _note(trace, "x1", self.residual(x, v))

    def residual(self, x: torch.Tensor, branch: torch.Tensor) -> torch.Tensor:
        return x + branch if self.cfg.element_skip else branch

    def after_recurrence(self, x: torch.Tensor, h: torch.Tensor, layer_in: torch.Tensor | None = None,
                         trace: dict | None = None) -> torch.Tensor:
        """Everything after the minGRU: rec_act, dense out, LN_rec, residual, channel-mixing MLP.

        `layer_in` (the block's input) is needed only when cfg.layer_skip is set; `trace` as in
        delay_residual (o, ro, o_ln, x2, mln, m2, m3, m_ln, sum, post)."""
        o = _note(trace, "o", rec_activation(self.cfg.rec_act, h))
        if self.rec_out is not None:
            o = self.rec_out(o)
            o = _note(trace, "ro", torch.relu(o) if self.cfg.rec_dense_out_relu else o)
        if self.rec_ln is not None:
            o = _note(trace, "o_ln", self.rec_ln(o))
        x = _note(trace, "x2", self.residual(x, o))
        m2 = _note(trace, "m2", mlp_activation(self.cfg.mlp_act, self.mlp_in(_note(trace, "mln", self.mlp_ln(x)))))
        m = _note(trace, "m3", self.mlp_out(m2))
        if self.cm_ln is not None:
            m = _note(trace, "m_ln", self.cm_ln(m))
        return _note(trace, "post", self.layer_tail(_note(trace, "sum", self.residual(x, m)), layer_in))

    def layer_tail(self, x: torch.Tensor, layer_in: torch.Tensor | None) -> torch.Tensor:
        """Optional compression dense, optional skip over the whole layer, LN_post."""
        if self.compress is not None:
            x = mlp_activation(self.cfg.compress_act, self.compress(x))
        if self.cfg.layer_skip:
            x = x + layer_in
        return self.post_ln(x) if self.post_ln is not None else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, T, d]
        layer_in = x
        x = self.delay_residual(x, self.delay(x))
        return self.after_recurrence(x, self.gru(x), layer_in)


class MGRADE(nn.Module):
    """Encoder -> L blocks -> per-step decoder.  forward(u [B, T, d_in]) -> logits [B, T, C]."""

    def __init__(self, cfg: MGRADEConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = nn.Linear(cfg.d_in, cfg.d_model, bias=cfg.encoder_bias)
        self.layers = nn.ModuleList(MGRADEBlock(cfg) for _ in range(cfg.n_layers))
        self.decoder = nn.Linear(cfg.d_model, cfg.n_classes, bias=cfg.decoder_bias)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        x = self.encoder(u)
        for layer in self.layers:
            x = layer(x)
        return self.decoder(x)

    def readout(self, per_step_logits: torch.Tensor) -> torch.Tensor:
        """Sequence logits [B, C] from per-step logits [B, T, C] (mean over time or last step)."""
        if self.cfg.readout == "mean":
            return per_step_logits.mean(dim=1)
        return per_step_logits[:, -1]

    def classify(self, u: torch.Tensor) -> torch.Tensor:
        return self.readout(self(u))

    def clamp_positions(self) -> None:
        """Keep every tap inside the window; called after each optimiser step."""
        for layer in self.layers:
            layer.delay.clamp_positions()

    def delay_parameters(self) -> list[nn.Parameter]:
        return [layer.delay.positions for layer in self.layers if isinstance(layer.delay, DelayConv)]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
