"""`mgrade-edge export`: checkpoint -> streaming step -> calibration -> artifact directory + manifest.

It sits above the export package and validate (it uses both; neither imports it), so exporters
never depend on the validator.

Order matters for the user: every option is checked before any heavy work, the artifact is built in a
temporary directory, validated there, and only then renamed into place, so a failure at any point
leaves neither the directory nor partial files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .data import checkpoint_task_data, require_task_data
from .errors import DataError
from .export import get_target, resolve_exporter, resolve_state
from .export.artifact import ExportOptions, atomic_output_dir, build_manifest, check_output_dir
from .export.options import build_target_options
from .manifest import write_manifest
from .runtime import open_runner
from .tasks import frontend_spec

VALIDATION_SEQUENCES = 64  # quick check written into the manifest; `mgrade-edge validate` does the long one
VALIDATION_STEPS = 2_000


def calibration_sequences(ckpt, calib_file: Path | None) -> tuple[np.ndarray, str]:
    from .quantize import load_calibration_file

    if calib_file is not None:
        return load_calibration_file(calib_file, ckpt.config.d_in), f"user file {Path(calib_file).name}"
    data = require_task_data(ckpt, "calibrate on", f"pass --calib FILE.npy of shape [N, T, {ckpt.config.d_in}] "
                                                   f"with real inputs")
    return data.train_x, f"{data.name} training set"


def check_options(target_name: str, state: str | None, calib_sequences: int, options: dict | None = None,
                  from_env: frozenset = frozenset()) -> tuple:
    """(target, state, the target's options) from the user's choices, or the one-line error."""
    target = get_target(target_name)
    state = resolve_state(target, state)
    if calib_sequences <= 0:
        raise DataError(f"--calib-sequences must be > 0, got {calib_sequences}")
    return target, state, build_target_options(target, options or {}, from_env)


def checkpoint_frontend(metadata: dict):
    return frontend_spec(metadata.get("task"), metadata.get("task_options"))


def frontend_record(metadata: dict) -> dict:
    """The manifest's "frontend" (what turns audio into one step's input) and "steps_per_second", for
    checkpoints of the audio tasks; board-test and evaluate-stream read them from the bundle."""
    front = checkpoint_frontend(metadata)
    if front is None:
        return {}
    return {"frontend": front.to_dict(), "steps_per_second": front.steps_per_second}


def export_checkpoint(checkpoint: str | Path, target_name: str, out: str | Path, state: str | None = None,
                      calib_file: str | Path | None = None, calib_sequences: int = 8, calib_steps: int | None = None,
                      force: bool = False,
                      validate: bool = True, options: dict | None = None, from_env: frozenset = frozenset()) -> dict:
    """Export and return the manifest (also written to out/manifest.json).

    options: the target's own options by field name (export/options.py), e.g. {"weights": "int16"}; one the
    target does not take is refused, unless named in `from_env` (it came from an environment variable)."""
    from .checkpoint import load_checkpoint
    from .quantize import calibration_set, check_calibrated_ranges
    from .streaming import to_streaming

    target, state, target_options = check_options(target_name, state, calib_sequences, options, from_env)
    out = Path(out)
    inputs = (Path(checkpoint),) + ((Path(calib_file),) if calib_file else ())
    check_output_dir(out, force, inputs)
    ckpt = load_checkpoint(checkpoint)
    step = to_streaming(ckpt.model)
    calibration = None
    if target.quantized:
        sequences, source = calibration_sequences(ckpt, Path(calib_file) if calib_file else None)
        calibration = calibration_set(step, sequences, n_sequences=calib_sequences, stream_steps=calib_steps,
                                      source=source)
        check_calibrated_ranges(calibration.ranges())
    opts = ExportOptions(target=target.name, state=state, calibration=calibration, model_name=Path(checkpoint).stem,
                         options=target_options, frontend=checkpoint_frontend(ckpt.metadata))
    with atomic_output_dir(out, force, inputs) as tmp:
        result = resolve_exporter(target)(step, opts, tmp)
        manifest = build_manifest(step, opts, result, tmp, target.precision.name, checkpoint=Path(checkpoint),
                                  config=ckpt.config.to_dict())
        manifest.update(frontend_record(ckpt.metadata))
        if validate:
            manifest["validation"] = quick_validation(ckpt, tmp, manifest)
        write_manifest(tmp, manifest)
    return manifest


def quick_validation(ckpt, directory: Path, manifest: dict) -> dict:
    """A short side-by-side stream written into the manifest (the long check is `mgrade-edge validate`)."""
    from .runtime.torch_runner import TorchRunner
    from .streaming import to_streaming
    from .validate import cosine_floor, step_tolerance, validate_runner

    data = checkpoint_task_data(ckpt.metadata)
    if data is None:
        return {"skipped": "checkpoint names no task; run `mgrade-edge validate` with task data"}
    n = min(VALIDATION_SEQUENCES, len(data.test_x))
    runner = open_runner(directory, manifest=manifest)  # before the manifest is written: it is written once
    report = validate_runner(runner, TorchRunner(to_streaming(ckpt.model)), data.kind, ckpt.config.readout,
                             data.test_x[:n], data.test_y[:n], VALIDATION_STEPS,
                             step_tolerance(manifest), cosine_floor(manifest))
    keep = ("within_tolerance", "min_cosine", "steps", "max_abs_err", "rms_err", "drift_ratio", "tolerance",
            "first_step_over_tolerance",
            "agreement", "accuracy_ref", "accuracy_artifact")
    return {"engine": "default", "sequences": n, **{k: report[k] for k in keep}}
