"""Where the authors' JAX reference fixtures live, and small builders shared by the importer tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ENV_VAR = "MGRADE_JAX_FIXTURES"
REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(os.environ.get(ENV_VAR, REPO.parent / "shared" / "fixtures" / "jax-reference"))
CONFIGS = ("A_small", "C_gsc", "D_extras")


def fixture_dir(name: str) -> Path:
    """The folder of one configuration, or a skip naming where it was looked for."""
    folder = FIXTURES / name
    if not (folder / "config.json").is_file():
        pytest.skip(f"JAX reference fixtures not found at {folder} (set {ENV_VAR} to their folder)")
    return folder


def orbax_file(name: str) -> Path:
    return fixture_dir(name) / "orbax" / "checkpoint_0" / "checkpoint"


def run_main(args, capsys, monkeypatch):
    """The real entry point: (exit code, stdout, stderr)."""
    from mgrade_edge.cli import main

    monkeypatch.setattr(sys, "argv", ["mgrade-edge", *map(str, args)])
    with pytest.raises(SystemExit) as info:
        main()
    captured = capsys.readouterr()
    return info.value.code, captured.out, captured.err
