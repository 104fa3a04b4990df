"""Artifact directories: written atomically, described by manifest.json.

The manifest is the contract between an exporter and every runner: it names the model file, the
step signature with its state pairs, and the dtype and (scale, zero point) of every tensor, so a
runner can quantise inputs, dequantise outputs and feed state back without guessing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ExportError
from ..jsonutil import json_safe

MANIFEST = "manifest.json"


@dataclass
class ExportOptions:
    target: str
    state: str = "external"  # external | internal
    calibration: object | None = None  # quantize.CalibrationSet for quantised targets
    model_name: str = "mgrade"
    cpu: str | None = None  # tflm only: measure the arena on this CPU (board-test machinery); None: host figure


@dataclass
class TensorInfo:
    """One tensor of the exported graph as a caller sees it."""

    name: str  # signature name (x, y, delay_0_in, ...)
    role: str  # input | output | state_in | state_out
    shape: list[int]
    dtype: str  # float32 | int8 | int16
    scale: float | None = None  # None for float tensors
    zero_point: int | None = None
    graph_name: str | None = None  # the name inside the model file, when it differs

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class ExportResult:
    model_file: str  # file name inside the artifact directory
    tensors: list[TensorInfo]
    state_handling: str  # how differing state_in/state_out quantisation is handled by the runner
    extra_files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict = field(default_factory=dict)  # exporter-specific facts (resource variables, ops ...)


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_output_dir(out: Path, force: bool) -> None:
    """Refuse an existing output unless --force, and an unwritable parent, before any work is done."""
    if out.exists() and not force:
        raise ExportError(f"output directory {out} already exists; pass --force to replace it or choose another --out")
    if out.exists() and not out.is_dir():
        raise ExportError(f"output {out} exists and is not a directory; remove it or choose another --out")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.exists():
        raise ExportError(f"parent directory {parent} of --out does not exist; create it first")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write into {parent} (permission denied); choose a writable --out")


@contextlib.contextmanager
def atomic_output_dir(out: Path, force: bool):
    """Yield a temporary sibling directory; on success it replaces `out`, on failure it vanishes."""
    out = Path(out)
    check_output_dir(out, force)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent if str(out.parent) else "."))
    try:
        yield tmp
        if out.exists():
            # Move the old directory aside first so a crash never leaves neither version in place.
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=tmp.parent))
            os.replace(out, old / "prev")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_manifest(directory: Path, manifest: dict) -> None:
    (Path(directory) / MANIFEST).write_text(json.dumps(json_safe(manifest), indent=2, sort_keys=True,
                                                        allow_nan=False) + "\n")


def read_manifest(directory: str | Path) -> dict:
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.is_file():
        raise ExportError(f"{directory} is not an mgrade-edge artifact directory (no {MANIFEST}); "
                          f"pass the --out directory of `mgrade-edge export`")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ExportError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}); re-run the export") from None
