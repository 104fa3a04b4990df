"""Artifact directories: written atomically, described by manifest.json.

The manifest is the contract between an exporter and every runner: it names the model file, the
step signature with its state pairs, and the dtype and (scale, zero point) of every tensor, so a
runner can quantise inputs, dequantise outputs and feed state back without guessing.
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .. import __version__
from ..errors import ExportError
from ..hashing import sha256_file  # noqa: F401  (re-exported: manifests record these digests)
from ..safety.outdir import check_output_dir as check
from ..safety.outdir import new_artifact_dir, publish
from ..targets import get_target
from .options import options_class


@dataclass
class ExportOptions:
    target: str
    state: str = "external"  # external | internal
    calibration: object | None = None  # quantize.CalibrationSet for quantised targets
    model_name: str = "mgrade"
    options: object | None = None  # the target's own options (Target.options' class); None: its defaults
    frontend: object | None = None  # frontend.FrontendSpec of an audio model: c bundles add the audio path

    def __post_init__(self):
        cls = options_class(get_target(self.target))
        if self.options is None:
            self.options = cls()
        elif not isinstance(self.options, cls):
            raise ExportError(f"target {self.target} takes {cls.__name__}, not {type(self.options).__name__}")
        self.options.check(get_target(self.target))


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


def check_output_dir(out: Path, force: bool, inputs: tuple = ()) -> object:
    """Refuse a dangerous, foreign or unwritable --out before any work is done (see safety.outdir)."""

    return check(Path(out), force, list(inputs))


@contextlib.contextmanager
def atomic_output_dir(out: Path, force: bool, inputs: tuple = ()):
    """Yield a temporary sibling directory; on success it takes the place of `out` without ever
    replacing something that appeared meanwhile; on failure (signals included) it vanishes."""

    out = Path(out)
    before = check_output_dir(out, force, inputs)
    tmp = new_artifact_dir(out)
    try:
        yield tmp
        publish(tmp, out, before)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def build_manifest(step, opts: ExportOptions, result: ExportResult, directory: Path, precision: str,
                   checkpoint: Path | None = None, config: dict | None = None) -> dict:
    """The one description of an artifact directory: what runners, validate and board-test read.

    `checkpoint` (the source file, hashed) and `config` (the checkpoint's) are given by the export
    pipeline; tests and benchmarks that export a step directly leave them out. The calibration summary
    comes from `opts.calibration`. `validation` and `files` are added by the pipeline and write_manifest.
    """

    model_path = Path(directory) / result.model_file
    calibration = opts.calibration
    return {
        "tool": "mgrade-edge",
        "tool_version": __version__,
        "target": opts.target,
        "precision": precision,
        "state": opts.state,
        "options": asdict(opts.options),
        "model_file": result.model_file,
        "model_bytes": model_path.stat().st_size,
        "model_sha256": sha256_file(model_path),
        "source_checkpoint": None if checkpoint is None else {"file": Path(checkpoint).name,
                                                               "sha256": sha256_file(checkpoint)},
        "config": config if config is not None else step.cfg.to_dict(),
        "signature": step.signature.to_dict(),
        "tensors": [t.to_dict() for t in result.tensors],
        "state_handling": result.state_handling,
        "details": result.details,
        "notes": result.notes,
        "freeze": step.freeze_report.__dict__ if getattr(step, "freeze_report", None) else None,
        "calibration": None if calibration is None else {
            "source": calibration.source, "streams": len(calibration.streams),
            "steps_per_stream": int(len(calibration.streams[0])), "samples": calibration.num_samples,
            "ranges": calibration.ranges()},
    }
