"""Named model configurations for planning: profile a model's memory before (or without) training it.

"speech-commands" is the configuration of the paper's 35-way Speech Commands model as the reference
code sets it up (spec sections 5 and 6): it reproduces the worked example of ~0.41 M parameters and
18,432 state values. "digits" is the bundled example (examples/digits.pt). "flipflop" and "lorenz"
are the defaults `mgrade-edge train` uses for those tasks, so their untrained checkpoints carry the
task name and can later be compared with a trained one.
"""

from __future__ import annotations

from pathlib import Path

from .config import MGRADEConfig
from .errors import UserError

PRESETS: dict[str, MGRADEConfig] = {
    "speech-commands": MGRADEConfig(d_in=1, d_model=96, n_layers=6, kernel_size=32, n_taps=8, n_classes=35,
                                    conv_ln=True, rec_ln=True, rec_dense_out=True),
    "digits": MGRADEConfig(d_in=1, d_model=48, n_layers=2, kernel_size=16, n_taps=4, n_classes=10),
    "flipflop": MGRADEConfig(d_in=5, d_model=48, n_layers=2, kernel_size=16, n_taps=4, n_classes=2),
    "lorenz": MGRADEConfig(d_in=1, d_model=48, n_layers=2, kernel_size=16, n_taps=4, n_classes=2),
}

# The bundled/generated task (mgrade_edge.data.TASKS) whose inputs and outputs a preset fits; the
# speech-commands data set is not bundled, so that preset has no task.
PRESET_TASKS: dict[str, str | None] = {"speech-commands": None, "digits": "digits", "flipflop": "flipflop",
                                       "lorenz": "lorenz"}


def preset_config(name: str) -> MGRADEConfig:
    if name not in PRESETS:
        raise UserError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


def untrained_model(name: str, seed: int = 0):
    """A randomly initialised model of a preset (seeded, without touching the caller's RNG stream)."""
    import torch

    from .model import MGRADE

    cfg = preset_config(name)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return MGRADE(cfg).eval()


def write_untrained_checkpoint(name: str, out: str | Path, seed: int = 0) -> Path:
    """A randomly initialised checkpoint of a preset (seeded), marked as untrained in its metadata."""
    from .checkpoint import save_checkpoint

    model = untrained_model(name, seed)
    out = Path(out)
    save_checkpoint(out, model, {"task": PRESET_TASKS[name], "preset": name, "trained": False, "seed": seed})
    return out
