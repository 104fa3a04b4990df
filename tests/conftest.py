"""Shared pytest fixtures; built artifacts are session fixtures (built once, removed with pytest's tmp dirs).

Tiers (markers declared in pyproject.toml): `make test-fast` runs `-m "not board and not tflite and not
slow"`. A test is marked here by where it lives or what its id names, so a new test in a board or
TFLite module is tiered without a decorator; SLOW lists the remaining tests measured above ~1.5 s
(`pytest --durations=0`).
"""

import numpy as np
import pytest

TIERS = {
    # builds a program with a C/C++ toolchain (the c runner compiles a shared library too)
    "board": ("tests/board/test_build.py", "tests/board/test_c_golden.py", "tests/board/test_qemu.py",
              "tests/board/test_tflm_fused_golden.py", "tests/board/test_tflm_golden.py",
              "tests/test_tflm_tree.py", "tests/board/cycles/test_trace.py", "tests/export/c/test_generator.py",
              "tests/board/test_audio_board.py", "tests/export/c/test_audio.py",
              "tests/wakeword_stream/test_evaluate_stream.py",
              "tests/export/c/test_int_step.py",
              "tests/export/tflm_fused/", "tests/export/c/test_kernels.py", "tests/export/tflm/test_any_model.py",
              "tests/runtime/test_c_runner.py",
              "tests/profile/test_measure_c.py",
              "/test_cmake.py",
              "test_board_test_", "test_a_linker_overflow", "test_dsp_on_the_host", "test_a_golden_run_that_never",
              "test_a_new_target_is_one_registry_line", "test_validate_engine_c", "[c-", "-c-", "[c]"),
    # converts with the TFLite converter or runs LiteRT / the TFLite Micro interpreter
    "tflite": ("tests/export/tflite/", "tests/export/tflm/",
               "tests/runtime/test_litert_runner.py", "tests/runtime/test_tflm_runner.py",
               "tests/safety/test_sandbox.py", "tests/profile/test_measure.py", "tests/test_manifest.py",
               "tflite", "tflm", "litert"),
    "slow": ("test_two_exports_are_byte_identical", "test_imported_c_gsc_exports_validates_and_profiles",
             "test_sigterm_mid_export_leaves_nothing", "test_state_precision_study_rows",
             "test_int8_stays_close_to_torch_over_the_stream", "test_float32_step_tracks_float64_parallel",
             "test_calibration_stream_length_is_chosen_and_recorded", "test_measured_profile_of_a_tiny_checkpoint",
             "test_export_refuses_weights_that_overflow", "test_concurrent_exports_one_wins",
             "test_float_matches_torch_every_step", "test_exporting_twice_gives_identical_bytes",
             "test_onnx_export_writes_model_and_manifest", "test_force_replaces_our_artifact",
             "test_existing_output_refused_unless_force"),
}


def pytest_collection_modifyitems(items):
    for item in items:
        for marker, patterns in TIERS.items():
            if any(p in item.nodeid for p in patterns):
                item.add_marker(marker)


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


@pytest.fixture(scope="session")
def signal_library():
    """The host build of the audio front end (TFLite Micro's signal library through TFLM_DIR): skips
    naming the fix without it, fails when TFLM_DIR is set but the build does not work."""
    import os

    from mgrade_edge.frontend.host import library
    from mgrade_edge.frontend.spec import FrontendError

    try:
        return library()
    except FrontendError as exc:
        if os.environ.get("TFLM_DIR"):
            pytest.fail(f"TFLM_DIR is set but the front end cannot be built: {exc}")
        pytest.skip(str(exc))
