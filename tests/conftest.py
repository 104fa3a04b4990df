"""Shared pytest fixtures; built artifacts are session fixtures (built once, removed with pytest's tmp dirs)."""

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def tflite_artifact(tmp_path_factory):
    """tflite_artifact(target, config, state) -> (directory, manifest, torch step), exported once per session.

    Callers must not modify the returned directory or manifest (copy them first): later tests reuse them.
    """
    from tests.artifacts import build_tflite_artifact

    root = tmp_path_factory.mktemp("tflite-artifacts")
    built: dict[tuple[str, str, str], tuple] = {}

    def get(target: str, config: str, state: str):
        key = (target, config, state)
        if key not in built:
            built[key] = build_tflite_artifact(root / "-".join(key), target, config, state)
        return built[key]

    return get


@pytest.fixture(scope="session")
def c_bundle(tmp_path_factory):
    """c_bundle(config, precision="float32", weights="int8") -> the --out directory of a c-<precision>
    export of the seeded named config (dense weights stored as `weights`), exported once per session
    (callers must not modify it)."""
    from tests.artifacts import build_c_bundle

    root = tmp_path_factory.mktemp("c-bundles")
    built: dict[tuple[str, str], object] = {}

    def get(config: str, precision: str = "float32", weights: str = "int8"):
        key = config, precision, weights
        if key not in built:
            built[key] = build_c_bundle(root / "-".join(key), config, precision, weights=weights)
        return built[key]

    return get


@pytest.fixture(scope="session")
def tiny_calibrated_step():
    """(streaming step, calibration) of the tiny named config: the input of every tflm bundle test."""
    from mgrade_edge.quantize import calibration_set
    from mgrade_edge.streaming import to_streaming
    from tests.helpers import make_model, random_sequences

    model = make_model("tiny", seed=0)
    step = to_streaming(model)
    calibration = calibration_set(step, random_sequences(model.cfg, 8, 64, seed=1), n_sequences=2, stream_steps=256)
    return step, calibration
