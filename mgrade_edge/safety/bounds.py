"""Bounds on every number a user can pass, and on the size of a model, checked before allocation.

Each config field has its own range (config.py), but their product does not: d_model=4096,
n_layers=64, mlp_ratio=64 is 140 G parameters (560 GB). A microcontroller model is kilobytes to
a few megabytes, so the limits below are generous for that use and far from exhausting a host.
"""

from __future__ import annotations

import math

import click

from ..errors import CheckpointError

MAX_PARAMETERS = 16_000_000  # 64 MB of float32 weights; the paper's largest model has ~0.4 M
MAX_STATE_VALUES = 16_000_000  # delay lines + hidden states of all layers (64 MB as float32)
MAX_SEED = 2**32 - 1  # numpy and torch both accept this range
MAX_STEPS = 2_000_000  # validate --steps: ~2 minutes of a digits stream, a few hundred MB at most
MAX_CALIB_SEQUENCES = 256  # each ~1,024 steps or two sequences; 8 is the default and plenty
MAX_CALIB_STEPS = 1_000_000  # per calibration stream: ~2 min of 8 kHz audio, beyond it calibration takes hours
MAX_LR = 10.0
MAX_STACK_STEPS = 100_000  # board-test --stack-steps: ~1e10 instructions for digits, a minute of QEMU
MAX_PROFILE_STEPS = MAX_STEPS  # profile --steps: the longest stream a memory profile records
MAX_WINDOW = 65_536  # profile --windows: a re-inference window longer than this is no microcontroller model


def bounded_int(lo: int, hi: int, what: str = ""):
    """A click callback: an integer in [lo, hi], else a one-line usage error."""

    def check(ctx, param, value):
        if value is not None and not (lo <= value <= hi):
            hint = f" ({what})" if what else ""
            raise click.BadParameter(f"must be an integer in [{lo:,}, {hi:,}]{hint}, got {value:,}")
        return value

    return check


def positive_finite_float(hi: float):
    def check(ctx, param, value):
        if value is not None and not (math.isfinite(value) and 0 < value <= hi):
            raise click.BadParameter(f"must be a finite number in (0, {hi:g}], got {value}")
        return value

    return check


def off_or_above_one(hi: float):
    """0 (the option is off) or a finite number in (1, hi], e.g. a largest time constant in steps."""
    def check(ctx, param, value):
        if value is not None and value != 0 and not (math.isfinite(value) and 1 < value <= hi):
            raise click.BadParameter(f"must be 0 (off) or a finite number in (1, {hi:g}], got {value}")
        return value

    return check


def check_model_size(path, cfg) -> None:
    """Refuse a config whose model or streaming state would be too large, before building it."""
    import torch

    from ..model import MGRADE

    state = cfg.n_layers * cfg.d_model * cfg.kernel_size
    if state > MAX_STATE_VALUES:
        raise CheckpointError(f"checkpoint {path}: config needs {state:,} state values (n_layers x d_model x "
                              f"kernel_size), more than the {MAX_STATE_VALUES:,} supported; use a smaller config")
    rough = cfg.n_layers * cfg.d_model * (cfg.d_model * (2 * cfg.mlp_ratio + 4) + cfg.n_taps + 8)
    if rough > 4 * MAX_PARAMETERS:  # far too large: refuse without even building a shape-only model
        raise CheckpointError(f"checkpoint {path}: config means about {rough:,} parameters, more than the "
                              f"{MAX_PARAMETERS:,} supported; use a smaller config")
    with torch.device("meta"):  # shapes only, no memory
        model = MGRADE(cfg)
    params = sum(p.numel() for p in model.parameters())
    if params > MAX_PARAMETERS:
        raise CheckpointError(f"checkpoint {path}: config means {params:,} parameters, more than the "
                              f"{MAX_PARAMETERS:,} supported; use a smaller config")
    return model
