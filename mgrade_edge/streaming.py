"""The streaming rewrite (spec section 4): freeze the delay kernels, then a pure single-step module.

    step(x_t, delay_0, h_0, delay_1, h_1, ...) -> (y_t, delay_0', h_0', delay_1', h_1', ...)

Per layer the state is a time-major delay line of the Γ-1 *previous* layer inputs, shape
[1, Γ-1, d], and the minGRU hidden state [1, d]. The step builds the full [Γ, d] window by appending
the current input (so the current sample is never stored), and the new delay line is the window
without its oldest row. Storing Γ-1 rows rather than Γ is what the paper's accounting counts
(d·(Γ-1) + d per layer) and saves d values per layer on the device.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass

import torch
from torch import nn

from .errors import UserError
from .model import MGRADE, DelayConv, FrozenDelayConv, MGRADEBlock

FREEZE_MODES = ("dense", "round")
ROLES = ("input", "output", "state_in", "state_out")


# ---- step signature ----------------------------------------------------------------------------

@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple[int, ...]
    dtype: str
    role: str  # input | output | state_in | state_out


@dataclass(frozen=True)
class StepSignature:
    """Name, shape, dtype and role of every tensor of the step; state_in -> state_out pairs."""

    tensors: tuple[TensorSpec, ...]
    state_pairs: tuple[tuple[str, str], ...]

    def by_role(self, role: str) -> list[TensorSpec]:
        return [t for t in self.tensors if t.role == role]

    @property
    def input_names(self) -> list[str]:
        """Argument order of the step: x, then every state_in."""
        return [t.name for t in self.by_role("input") + self.by_role("state_in")]

    @property
    def output_names(self) -> list[str]:
        return [t.name for t in self.by_role("output") + self.by_role("state_out")]

    def spec(self, name: str) -> TensorSpec:
        for t in self.tensors:
            if t.name == name:
                return t
        raise KeyError(name)

    def to_dict(self) -> dict:
        return {"tensors": [asdict(t) for t in self.tensors], "state_pairs": [list(p) for p in self.state_pairs]}

    @classmethod
    def from_dict(cls, data: dict) -> StepSignature:
        tensors = tuple(TensorSpec(t["name"], tuple(t["shape"]), t["dtype"], t["role"]) for t in data["tensors"])
        return cls(tensors, tuple(tuple(p) for p in data["state_pairs"]))

    def __str__(self) -> str:
        return json.dumps(self.to_dict())


def step_signature(model: MGRADE, dtype: str = "float32") -> StepSignature:
    cfg = model.cfg
    tensors = [TensorSpec("x", (1, cfg.d_in), dtype, "input")]
    pairs = []
    for role, suffix in (("state_in", "in"), ("state_out", "out")):
        for layer in range(cfg.n_layers):
            tensors.append(TensorSpec(f"delay_{layer}_{suffix}", (1, cfg.kernel_size - 1, cfg.d_model), dtype, role))
            tensors.append(TensorSpec(f"h_{layer}_{suffix}", (1, cfg.d_model), dtype, role))
    tensors.insert(1 + 2 * cfg.n_layers, TensorSpec("y", (1, cfg.n_classes), dtype, "output"))
    for layer in range(cfg.n_layers):
        pairs += [(f"delay_{layer}_in", f"delay_{layer}_out"), (f"h_{layer}_in", f"h_{layer}_out")]
    return StepSignature(tuple(tensors), tuple(pairs))


# ---- freezing the delays -----------------------------------------------------------------------

@dataclass(frozen=True)
class FreezeReport:
    mode: str
    max_abs_output_change: float  # vs the unfrozen model on a probe input; 0 means exact
    rms_output_change: float
    probe: str


def rounded_kernel(delay: DelayConv) -> torch.Tensor:
    """M sparse integer taps: each tap's weight lands on round(position) (the Gaussian peak is 1)."""
    gamma, d = delay.kernel_size, delay.weights.shape[1]
    idx = delay.positions.detach().round().clamp(0, gamma - 1).long()
    kernel = torch.zeros(gamma, d, dtype=delay.weights.dtype)
    kernel.scatter_add_(0, idx, delay.weights.detach())
    return kernel


@torch.no_grad()
def freeze_delays(model: MGRADE, mode: str = "dense", probe: torch.Tensor | None = None) -> MGRADE:
    """A copy of `model` whose delay kernels are fixed buffers, with `.freeze_report` attached.

    dense: the exact Γ-lag Gaussian kernel (the model's own inference kernel; changes nothing).
    round: positions snapped to integer delays, M sparse taps; an approximation when σ > 0, so the
    change of the per-step outputs on `probe` (default: seeded Gaussian noise) is measured and reported.
    """
    if mode not in FREEZE_MODES:
        raise UserError(f"freeze mode {mode!r} is not one of {', '.join(FREEZE_MODES)}; use dense for an exact rewrite")
    frozen = copy.deepcopy(model).eval()
    for layer in frozen.layers:
        if isinstance(layer.delay, DelayConv):
            kernel = layer.delay.kernel() if mode == "dense" else rounded_kernel(layer.delay)
            layer.delay = FrozenDelayConv(kernel)
    if probe is None:
        gen = torch.Generator().manual_seed(0)
        length = max(64, 4 * model.cfg.kernel_size)
        probe = torch.randn(4, length, model.cfg.d_in, generator=gen)
        probe_name = f"gaussian noise [4, {length}, {model.cfg.d_in}], seed 0"
    else:
        probe_name = f"user probe {list(probe.shape)}"
    dtype = next(model.parameters()).dtype
    ref = model.eval()(probe.to(dtype))
    diff = (frozen(probe.to(dtype)) - ref).abs()
    frozen.freeze_report = FreezeReport(mode, float(diff.max()), float(diff.square().mean().sqrt()), probe_name)
    return frozen


def is_frozen(model: MGRADE) -> bool:
    return all(isinstance(layer.delay, FrozenDelayConv) for layer in model.layers)


# ---- the step module ---------------------------------------------------------------------------

class StreamingLayer(nn.Module):
    """One block in single-step form; reuses the block's own submodules (same weights)."""

    def __init__(self, block: MGRADEBlock):
        super().__init__()
        self.block = block
        # Same window order as the delay line: row i multiplies the sample at lag Γ-1-i.
        self.register_buffer("kernel", block.delay.kernel().detach().clone())  # [Γ, d]

    def forward(self, x: torch.Tensor, delay: torch.Tensor, h: torch.Tensor, trace: dict | None = None):
        # x [N, d], delay [N, Γ-1, d] (oldest first), h [N, d]; trace: see MGRADEBlock.delay_residual
        window = torch.cat([delay, x.unsqueeze(1)], dim=1)  # [N, Γ, d]
        v = (window * self.kernel).sum(dim=1)
        layer_in = x
        x = self.block.delay_residual(x, v, trace)
        h_new = self.block.gru.step(x, h)
        if trace is not None:
            trace["h"] = h_new
        return self.block.after_recurrence(x, h_new, layer_in, trace), window[:, 1:], h_new


class StreamingMGRADE(nn.Module):
    """Pure step: forward(x_t [N, d_in], *state) -> (y_t [N, C], *new_state).  No hidden state inside."""

    def __init__(self, model: MGRADE):
        super().__init__()
        self.cfg = model.cfg
        self.encoder = model.encoder
        self.layers = nn.ModuleList(StreamingLayer(block) for block in model.layers)
        self.decoder = model.decoder
        dtype = next(model.parameters()).dtype
        self.signature = step_signature(model, "float64" if dtype == torch.float64 else "float32")
        self.freeze_report: FreezeReport | None = getattr(model, "freeze_report", None)

    def forward(self, x: torch.Tensor, *state: torch.Tensor):
        if len(state) != 2 * len(self.layers):
            raise ValueError(f"expected {2 * len(self.layers)} state tensors, got {len(state)}")
        x = self.encoder(x)
        new_state = []
        for i, layer in enumerate(self.layers):
            x, delay, h = layer(x, state[2 * i], state[2 * i + 1])
            new_state += [delay, h]
        return (self.decoder(x), *new_state)

    def initial_state(self, batch: int = 1, dtype: torch.dtype | None = None) -> list[torch.Tensor]:
        """Zero delay lines (causal zero padding) and h_0 = 0."""
        dtype = dtype or self.decoder.weight.dtype
        cfg = self.cfg
        state = []
        for _ in self.layers:
            state.append(torch.zeros(batch, cfg.kernel_size - 1, cfg.d_model, dtype=dtype))
            state.append(torch.zeros(batch, cfg.d_model, dtype=dtype))
        return state


def to_streaming(model: MGRADE) -> StreamingMGRADE:
    """The streaming step of `model`; delays are frozen in exact (dense) mode unless already frozen."""
    if not is_frozen(model):
        model = freeze_delays(model, "dense")
    return StreamingMGRADE(model.eval()).eval()


@torch.no_grad()
def stream_sequences(step: StreamingMGRADE, u: torch.Tensor) -> torch.Tensor:
    """Run the step over a batch of sequences u [B, T, d_in] -> per-step outputs [B, T, C]."""
    state = step.initial_state(u.shape[0], u.dtype)
    outputs = []
    for t in range(u.shape[1]):
        y, *state = step(u[:, t], *state)
        outputs.append(y)
    return torch.stack(outputs, dim=1)
