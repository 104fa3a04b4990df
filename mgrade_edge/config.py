"""MGRADEConfig: every architectural option of the model (spec sections 1-3), validated on construction.

Kept free of torch so that `mgrade-edge --help` and config validation stay instant.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .errors import ConfigError

# relu2 = relu(h - 2), the shift the authors' JAX code uses for its "relu" (see importers/).
REC_ACTIVATIONS = ("identity", "relu", "gelu", "sigmoid", "relu2")
MLP_ACTIVATIONS = ("gelu", "relu")
READOUTS = ("mean", "last")
COMPRESS_ACTIVATIONS = ("none", "gelu", "relu")


@dataclass(frozen=True)
class MGRADEConfig:
    d_in: int = 1  # input channels per timestep
    d_model: int = 48  # width d of every layer
    n_layers: int = 2  # L
    n_classes: int = 10  # C: logits (or regression outputs) per step
    kernel_size: int = 16  # Γ: the delay window, current sample included
    n_taps: int = 4  # M: learnable taps per channel
    sigma: float = 0.8  # Gaussian width of a tap (reference code ends at 0.8)
    conv_ln: bool = False  # LayerNorm after the delay conv
    rec_ln: bool = False  # LayerNorm after the recurrent block
    rec_dense_out: bool = False  # dense projection after the recurrent activation
    cm_ln: bool = False  # LayerNorm after the channel-mixing MLP
    rec_act: str = "identity"  # identity | relu(h-1) | gelu(h-1) | sigmoid(10(h-0.5))
    mlp_act: str = "gelu"  # gelu (tanh approximation) | relu
    mlp_ratio: int = 2  # MLP hidden width = mlp_ratio * d
    ln_eps: float = 1e-6  # reference code uses 1e-6 (PyTorch default is 1e-5)
    readout: str = "mean"  # mean over time of per-step logits | last step
    encoder_bias: bool = True
    # Variants of the authors' JAX model (importers/flax_map.py); the defaults are the spec's model.
    sigma_per_tap: bool = False  # σ is a fixed [M, d] buffer per layer (delay.sigmas), not the scalar sigma
    positions_to_gamma: bool = False  # positions may lie in [0, Γ] (a tap centred one step ahead), not [0, Γ-1]
    rec_dense_out_relu: bool = False  # ReLU after the recurrent dense projection, before LN_rec
    compress_act: str = "none"  # none | gelu | relu: a d -> d dense + activation after channel mixing
    layer_skip: bool = False  # add the layer's input before LN_post
    element_skip: bool = True  # residual around the delay, recurrent and channel-mixing blocks
    postnorm: bool = True  # LN_post at the end of every layer
    decoder_bias: bool = True
    softplus_cutoff: float | None = None  # None: exact minGRU; c: softplus(x) taken as x for x > c (authors: 7)

    def __post_init__(self) -> None:
        _check_int(self, "d_in", 1, 4096)
        _check_int(self, "d_model", 1, 4096)
        _check_int(self, "n_layers", 1, 64)
        _check_int(self, "n_classes", 1, 100_000)
        # Γ >= 2: with Γ = 1 there is no delay line and the delay block degenerates to a scale.
        _check_int(self, "kernel_size", 2, 65_536)
        _check_int(self, "n_taps", 1, 65_536)
        _check_int(self, "mlp_ratio", 1, 64)
        for name in ("conv_ln", "rec_ln", "rec_dense_out", "cm_ln", "encoder_bias"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"config field {name}={getattr(self, name)!r} must be true or false")
        if not isinstance(self.sigma, (int, float)) or isinstance(self.sigma, bool) or not (0.0 < self.sigma <= 1e4):
            raise ConfigError(f"config field sigma={self.sigma!r} must be a number in (0, 1e4]; the reference uses 0.8")
        if not isinstance(self.ln_eps, (int, float)) or isinstance(self.ln_eps, bool) or not (0.0 < self.ln_eps < 1.0):
            raise ConfigError(f"config field ln_eps={self.ln_eps!r} must be in (0, 1); the reference uses 1e-6")
        _check_choice(self, "rec_act", REC_ACTIVATIONS)
        _check_choice(self, "mlp_act", MLP_ACTIVATIONS)
        _check_choice(self, "readout", READOUTS)
        _check_variants(self)

    @property
    def mlp_hidden(self) -> int:
        return self.mlp_ratio * self.d_model

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> MGRADEConfig:
        if not isinstance(data, dict):
            raise ConfigError(f"config must be a mapping of field names to values, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(map(repr, set(data) - known)) if any(not isinstance(k, str) for k in data) else \
            sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown config field(s) {', '.join(unknown)}; known fields: {', '.join(sorted(known))}")
        return cls(**data)

    def replace(self, **changes) -> MGRADEConfig:
        return dataclasses.replace(self, **changes)


def _check_variants(cfg: MGRADEConfig) -> None:
    for name in ("sigma_per_tap", "positions_to_gamma", "rec_dense_out_relu", "layer_skip", "element_skip",
                 "postnorm", "decoder_bias"):
        if not isinstance(getattr(cfg, name), bool):
            raise ConfigError(f"config field {name}={getattr(cfg, name)!r} must be true or false")
    _check_choice(cfg, "compress_act", COMPRESS_ACTIVATIONS)
    if cfg.rec_dense_out_relu and not cfg.rec_dense_out:
        raise ConfigError("config field rec_dense_out_relu=true needs rec_dense_out=true (the ReLU follows that dense)")
    cut = cfg.softplus_cutoff
    if cut is not None and (not isinstance(cut, (int, float)) or isinstance(cut, bool) or not (0.0 < cut <= 100.0)):
        raise ConfigError(f"config field softplus_cutoff={cut!r} must be null (exact) or a number in (0, 100]; "
                          f"the authors' scan uses 7")


def _check_int(cfg: MGRADEConfig, name: str, lo: int, hi: int) -> None:
    value = getattr(cfg, name)
    if not isinstance(value, int) or isinstance(value, bool) or not (lo <= value <= hi):
        raise ConfigError(f"config field {name}={value!r} must be an integer in [{lo}, {hi}]")


def _check_choice(cfg: MGRADEConfig, name: str, allowed: tuple[str, ...]) -> None:
    value = getattr(cfg, name)
    if value not in allowed:
        raise ConfigError(f"config field {name}={value!r} is not one of {', '.join(allowed)}")
