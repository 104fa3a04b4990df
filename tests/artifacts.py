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
    from mgrade_edge.export import TARGETS
    from mgrade_edge.export.artifact import ExportOptions, build_manifest, write_manifest
    from mgrade_edge.export.tflite import export_tflite

    step = streaming_step(config)
    calibration = calibration_for(step, config) if TARGETS[target].quantized else None
    directory.mkdir()
    opts = ExportOptions(target, state, calibration)
    result = export_tflite(step, opts, directory)
    manifest = build_manifest(step, opts, result, directory, TARGETS[target].precision.name)
    write_manifest(directory, manifest)
    return directory, manifest, step
