"""Checkpoints: {format, format_version, config, state_dict, metadata}, loaded weights-only.

Loading never executes code from the file: `torch.load(weights_only=True)` only rebuilds tensors and
plain containers and refuses any other pickled object. Every way a file can be wrong is reported as a
one-line CheckpointError naming the problem and the fix.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

from . import __version__
from .config import MGRADEConfig
from .errors import CheckpointError, ConfigError
from .model import MGRADE
from .safety.bounds import check_model_size

FORMAT = "mgrade-edge-checkpoint"
FORMAT_VERSION = 1
TOP_LEVEL_KEYS = {"format", "format_version", "config", "state_dict", "metadata"}
FIX = "re-create it with `mgrade-edge train` or `mgrade-edge init`"


@dataclass
class Checkpoint:
    path: Path
    config: MGRADEConfig
    model: MGRADE
    metadata: dict


def save_checkpoint(path: str | Path, model: MGRADE, metadata: dict) -> None:
    """Write atomically (temporary file in the same directory, then rename)."""
    path = Path(path)
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": model.cfg.to_dict(),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "metadata": {"tool_version": __version__, **metadata},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a checkpoint is an ordinary shareable file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_payload(path: Path) -> dict:
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} not found; pass the path of a .pt file written by mgrade-edge")
    if path.is_dir():
        raise CheckpointError(f"checkpoint {path} is a directory; pass the .pt file itself")
    if path.stat().st_size == 0:
        raise CheckpointError(f"checkpoint {path} is empty (0 bytes); {FIX}")
    try:
        with warnings.catch_warnings():  # torch warns about foreign pickle protocols; our error says it all
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights only" in str(exc).lower() or "weights_only" in str(exc).lower():
            raise CheckpointError(
                f"checkpoint {path} was refused: it holds pickled Python objects that could run code when "
                f"loaded; only tensors and plain values are accepted ({FIX})") from None
        raise CheckpointError(f"checkpoint {path} is not a PyTorch checkpoint (unpickling failed); {FIX}") from None
    except Exception:  # noqa: BLE001 - whatever torch raises, the file is unusable for the same reason
        raise CheckpointError(f"checkpoint {path} is {_damage(path)} and cannot be read as a PyTorch file; "
                              f"{FIX}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is a PyTorch file but not an mgrade-edge checkpoint (no format={FORMAT!r}); "
                              f"{FIX}, or save {{format, format_version, config, state_dict, metadata}}")
    return payload


def _damage(path: Path) -> str:
    """'truncated or corrupt' for a zip container (torch.save's format) that no longer parses."""
    with open(path, "rb") as f:
        head = f.read(4)
    return "truncated or corrupt" if head == b"PK\x03\x04" and not zipfile.is_zipfile(path) else "unreadable"


def _check_structure(path: Path, payload: dict) -> None:
    version = payload.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"checkpoint {path} has format version {version!r}; this mgrade-edge "
                              f"({__version__}) reads version {FORMAT_VERSION}: upgrade mgrade-edge or {FIX}")
    missing, extra = TOP_LEVEL_KEYS - set(payload), set(payload) - TOP_LEVEL_KEYS
    if missing or extra:
        parts = ([f"missing key(s) {', '.join(sorted(missing))}"] if missing else []) + \
                ([f"unexpected key(s) {', '.join(sorted(map(str, extra)))}"] if extra else [])
        raise CheckpointError(f"checkpoint {path} has {' and '.join(parts)}; {FIX}")
    if not isinstance(payload["metadata"], dict):
        raise CheckpointError(f"checkpoint {path}: metadata must be a mapping; {FIX}")
    if not isinstance(payload["state_dict"], dict):
        raise CheckpointError(f"checkpoint {path}: state_dict must be a mapping of names to tensors; {FIX}")


def _check_state_dict(path: Path, cfg: MGRADEConfig, state: dict, model: MGRADE) -> None:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(map(str, set(state) - set(expected)))
    if missing or unexpected:
        parts = ([f"missing weight(s) {', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''}"]
                 if missing else []) + \
                ([f"unexpected weight(s) {', '.join(unexpected[:4])}{' ...' if len(unexpected) > 4 else ''}"]
                 if unexpected else [])
        raise CheckpointError(f"checkpoint {path} does not match its config: {' and '.join(parts)}; {FIX}")
    for name, ref in expected.items():
        value = state[name]
        if not isinstance(value, torch.Tensor) or not value.is_floating_point():
            raise CheckpointError(f"checkpoint {path}: weight {name} is not a floating-point tensor; {FIX}")
        if value.layout != torch.strided or value.is_meta or value.is_nested or value.is_quantized:
            kind = "meta" if value.is_meta else "nested" if value.is_nested else str(value.layout).replace("torch.", "")
            raise CheckpointError(f"checkpoint {path}: weight {name} is a {kind} tensor, not a plain dense one; "
                                  f"save tensor.to_dense() values, or {FIX}")
        if tuple(value.shape) != tuple(ref.shape):
            raise CheckpointError(f"checkpoint {path}: weight {name} has shape {list(value.shape)} but the config "
                                  f"needs {list(ref.shape)}; the config and weights disagree, {FIX}")
        if not torch.isfinite(value).all():
            raise CheckpointError(f"checkpoint {path}: weight {name} contains NaN or Inf; the training diverged, "
                                  f"retrain with a lower --lr")
        if name.endswith("delay.positions"):
            lo, hi = float(value.min()), float(value.max())
            top = cfg.kernel_size if cfg.positions_to_gamma else cfg.kernel_size - 1
            if lo < 0 or hi > top:
                raise CheckpointError(f"checkpoint {path}: {name} lies in [{lo:.3g}, {hi:.3g}], outside the delay "
                                      f"window [0, {top}]; clamp positions after each optimiser step or {FIX}")
        if name.endswith("delay.sigmas") and float(value.min()) <= 0:
            raise CheckpointError(f"checkpoint {path}: {name} holds a tap width <= 0; widths must be positive, {FIX}")


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Load and fully validate a checkpoint; the model is returned in eval mode (float32)."""
    path = Path(path)
    payload = _read_payload(path)
    _check_structure(path, payload)
    try:
        cfg = MGRADEConfig.from_dict(payload["config"])
    except (ConfigError, TypeError) as exc:
        raise CheckpointError(f"checkpoint {path} has an invalid config: {exc}") from None

    # Size and weights are checked against a shapes-only model before any real memory is allocated.
    _check_state_dict(path, cfg, payload["state_dict"], check_model_size(path, cfg))
    model = MGRADE(cfg)
    model.load_state_dict({k: v.float() for k, v in payload["state_dict"].items()})
    return Checkpoint(path, cfg, model.eval(), dict(payload["metadata"]))


def paper_footprint(cfg: MGRADEConfig, n_params: int) -> dict:
    """The paper's memory accounting in values (spec section 5): parameters + causal-inference buffers.

    Buffers per layer: the delay line of the Γ-1 previous inputs (the current sample is not stored)
    plus the minGRU hidden state.
    """
    delay = cfg.n_layers * cfg.d_model * (cfg.kernel_size - 1)
    hidden = cfg.n_layers * cfg.d_model
    return {
        "params": n_params,
        "delay_line_values": delay,
        "hidden_state_values": hidden,
        "state_values": delay + hidden,
        "total_values": n_params + delay + hidden,
        "current_sample_counted": False,
        "mean_readout_accumulator_values": cfg.n_classes if cfg.readout == "mean" else 0,
    }


