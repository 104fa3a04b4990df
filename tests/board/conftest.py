"""Board tests build bundles against real TensorFlow Lite Micro (TFLM_DIR) and run them natively or
under QEMU. Without the tree or the tools they skip and name what is missing; with TFLM_DIR set to
a valid tree, a missing tool is a failure, not a skip (the environment promised to run them)."""

import os

import pytest

from mgrade_edge.board.toolchain import BoardError, find_toolchain
from mgrade_edge.tflm_tree import find_tree


def _tflm_dir_valid() -> bool:
    try:
        find_tree("reference")
        return True
    except BoardError:
        return False


def require_board(cpu: str, kernels: str):
    """Skip (naming the fix) unless toolchain and tree are there; fail instead when TFLM_DIR is valid."""
    try:
        find_toolchain(cpu)
        find_tree(kernels)
    except BoardError as exc:
        if os.environ.get("TFLM_DIR") and _tflm_dir_valid():
            pytest.fail(f"TFLM_DIR is set and valid, but the board test cannot run: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def tiny_bundles(tiny_calibrated_step, tmp_path_factory):
    """(quant, state) -> bundle directory, exported once per session."""
    from mgrade_edge.export.tflm.export import export_tflm_bundle

    step, calibration = tiny_calibrated_step
    cache = {}

    def get(quant: str, state: str):
        if (quant, state) not in cache:
            directory = tmp_path_factory.mktemp(f"board_{quant}_{state}")
            export_tflm_bundle(step, quant, state, calibration, directory, "tiny", "tiny")
            cache[quant, state] = directory
        return cache[quant, state]

    return get


def require_toolchain(cpu: str):
    """Skip with the one-line reason (what to install) unless the compilers/emulator for `cpu` exist."""
    try:
        find_toolchain(cpu)
    except BoardError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def tiny_c_bundle(tiny_calibrated_step, tmp_path_factory):
    """A c-int8 bundle of the tiny step with the manifest fields board-test reads, exported once."""
    from mgrade_edge.export.artifact import ExportOptions, build_manifest
    from mgrade_edge.export.c.export import export_c
    from mgrade_edge.manifest import write_manifest

    step, calibration = tiny_calibrated_step
    directory = tmp_path_factory.mktemp("board_c_int8")
    opts = ExportOptions(target="c-int8", state="internal", calibration=calibration, model_name="tiny")
    result = export_c(step, opts, directory)
    write_manifest(directory, build_manifest(step, opts, result, directory, "int8"))
    return directory
