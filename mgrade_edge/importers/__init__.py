"""Importers of checkpoints written by other mGRADE code; each writes an ordinary mgrade-edge checkpoint.

    import_flax_checkpoint("run/checkpoint_0", "run/config.json", "model.pt")

flax.py reads the authors' Orbax / legacy Flax msgpack files without executing anything from them;
flax_map.py maps their config and parameter tree onto MGRADEConfig and our weights, exactly or not at all.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import CheckpointError, UserError
from ..export.artifact import sha256_file
from .flax import read_param_tree, resolve_checkpoint_file
from .flax_map import map_authors_model, read_authors_config

CONFIG_NAME = "config.json"
CONFIG_SEARCH_LEVELS = 3  # checkpoint file -> checkpoint_N -> orbax -> run directory


def find_config(checkpoint: Path) -> Path:
    """The run's config.json next to the checkpoint or in one of its parent directories."""
    start = checkpoint if checkpoint.is_dir() else checkpoint.parent
    for folder in [start, *start.parents][:CONFIG_SEARCH_LEVELS + 1]:
        if (folder / CONFIG_NAME).is_file():
            return folder / CONFIG_NAME
    raise CheckpointError(f"no {CONFIG_NAME} found next to {checkpoint} or up to {CONFIG_SEARCH_LEVELS} directories "
                          f"above it; pass --config with the run's merged yaml config as JSON")


def import_flax_checkpoint(path: str | Path, config: str | Path | None, out: str | Path, force: bool = False) -> dict:
    """Read, map, check and write; returns the written checkpoint's metadata. Nothing is written on error."""
    import torch

    from ..checkpoint import load_checkpoint, save_checkpoint
    from ..model import MGRADE, count_parameters

    path, out = Path(path), Path(out)
    if out.exists() and not force:
        raise UserError(f"{out} already exists; pass --force to overwrite it or choose another --out")
    if out.is_dir():
        raise UserError(f"--out {out} is a directory; pass a file name such as model.pt")
    file = resolve_checkpoint_file(path)
    if out.exists() and out.resolve() == file.resolve():
        raise UserError(f"--out {out} is the checkpoint being imported; choose another --out")
    config_path = Path(config) if config is not None else find_config(path)
    mapped = map_authors_model(read_authors_config(config_path), read_param_tree(file))
    model = MGRADE(mapped.config)
    model.load_state_dict({k: v.to(torch.float32) for k, v in mapped.state_dict.items()})
    metadata = {
        "source": {"format": "orbax aggregate msgpack" if file.name == "checkpoint" else "legacy flax msgpack",
                   "path": str(file), "sha256": sha256_file(file), "config": str(config_path)},
        "source_config": read_authors_config(config_path),
        "source_parameter_count": mapped.source_values,
        "params": count_parameters(model),
        "import_notes": mapped.notes,
    }
    save_checkpoint(out, model.eval(), metadata)
    load_checkpoint(out)  # the file every other command reads must load back
    return metadata
