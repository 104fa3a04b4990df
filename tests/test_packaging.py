"""The wheel ships what the code reads: every non-Python file in the package is matched by
pyproject.toml's package-data globs (a fused template or a board file missing from the wheel broke
installed users while editable installs worked; .ci/wheel_smoke checks the built wheel itself)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import mgrade_edge

PACKAGE = Path(mgrade_edge.__file__).parent
PYPROJECT = PACKAGE.parent / "pyproject.toml"


def test_every_data_file_is_in_package_data():
    globs = tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]["package-data"]["mgrade_edge"]
    shipped = {p for pattern in globs for p in PACKAGE.glob(pattern) if p.is_file()}
    data = {p for p in PACKAGE.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")
            and "__pycache__" not in p.parts}
    assert data - shipped == set(), sorted(str(p.relative_to(PACKAGE)) for p in data - shipped)
    assert any(p.match("export/tflm_fused/templates/*") for p in shipped)  # the files the issue found missing
    assert any(p.match("board/data/*.ld") for p in shipped) and any(p.match("export/cmake/*") for p in shipped)
