"""Builders of the exported artifacts the tests share (the session fixtures in conftest.py cache them)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import NAMED_CONFIGS, make_model, random_sequences


def streaming_step(config: str):
    from mgrade_edge.streaming import to_streaming

    return to_streaming(make_model(config, seed=0))


def calibration_for(step, config: str):
    """Four 512-step streams of smooth random inputs (seed 1): 2048 recorded step inputs, all kept."""
    from mgrade_edge.quantize import calibration_set

    cfg = NAMED_CONFIGS[config]
    return calibration_set(step, random_sequences(cfg, 16, 128, seed=1), n_sequences=4, stream_steps=512,
                           source="random sequences (seed 1)")


def build_tflite_artifact(directory: Path, target: str, config: str, state: str) -> tuple[Path, dict, object]:
    """Export the seeded random model of `config` into the new `directory`: (directory, manifest, torch step)."""
    from mgrade_edge.export import TARGETS, resolve_exporter
    from mgrade_edge.export.artifact import ExportOptions, build_manifest
    from mgrade_edge.manifest import write_manifest

    step = streaming_step(config)
    calibration = calibration_for(step, config) if TARGETS[target].quantized else None
    directory.mkdir()
    opts = ExportOptions(target, state, calibration)
    result = resolve_exporter(TARGETS[target])(step, opts, directory)  # a tflm target writes its whole bundle
    manifest = build_manifest(step, opts, result, directory, TARGETS[target].precision.name)
    write_manifest(directory, manifest)
    return directory, manifest, step


C_CALIB_STREAMS = 2  # long calibration streams of ~1024 steps each for c bundles (the CLI default is 8)


def build_c_bundle(root: Path, name: str, precision: str = "float32", family: str = "c",
                   weights: str = "int8", tflm_dir: str | None = None) -> Path:
    """Export named config `name` (seed 0) through the real pipeline to target <family>-<precision>
    (c, or tflm-fused) under the new `root`, the dense weights stored as `weights`; quantised targets
    calibrate on 16 random sequences of 256 steps (seed 1)."""
    import numpy as np

    from mgrade_edge.checkpoint import save_checkpoint
    from mgrade_edge.pipeline import export_checkpoint

    root.mkdir(parents=True)
    ckpt = root / f"{name}.pt"
    save_checkpoint(ckpt, make_model(name), {})
    calib = None
    if precision != "float32":
        calib = root / "calib.npy"
        np.save(calib, random_sequences(NAMED_CONFIGS[name], 16, 256, seed=1))
    options = {"weights": weights} if family != "tflm" and precision != "float32" else {}
    if tflm_dir is not None:
        options["tflm_dir"] = tflm_dir
    export_checkpoint(ckpt, f"{family}-{precision}", root / "out", calib_file=calib, calib_sequences=C_CALIB_STREAMS,
                      validate=False, options=options)
    return root / "out"
