"""Where the authors' JAX reference fixtures live, and small builders shared by the importer tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import run_main  # noqa: F401  (re-exported: the importer tests' entry point)

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
