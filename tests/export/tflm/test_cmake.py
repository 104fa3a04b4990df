"""A tflm bundle's CMake project builds TensorFlow Lite Micro from TFLM_DIR (only this model's kernels when
the export had the tree), the model library `mgrade::model` and the golden test, and passes it on the host;
without TFLM_DIR it stops with one message naming the fix."""

from __future__ import annotations

import os
import subprocess

import pytest

from mgrade_edge.board.build import CXX_FLAGS
from mgrade_edge.board.tflm_golden import board_test
from tests.artifacts import build_c_bundle
from tests.board.conftest import require_board
from tests.cmake_build import cmake_build_and_test, require_cmake


@pytest.fixture(scope="module")
def tflm_bundle(tmp_path_factory):
    require_board("host", "reference")
    return build_c_bundle(tmp_path_factory.mktemp("tflm-cmake") / "b", "tiny", "int8", family="tflm",
                          tflm_dir=os.environ["TFLM_DIR"])


def test_host_build_passes_the_golden_like_board_test(tflm_bundle):
    cmake_lists = (tflm_bundle / "CMakeLists.txt").read_text()
    assert '"ALL"' in cmake_lists and 'set(_mgrade_kernels "ALL")' not in cmake_lists  # kernels listed at export
    result = cmake_build_and_test(tflm_bundle, "tflm-host", f"-DTFLM_DIR={os.environ['TFLM_DIR']}")
    assert result["returncode"] == 0, result["output"][-3000:]
    assert "every logit equals the golden output" in result["output"]
    assert any(c["file"].endswith("fully_connected.cc") for c in result["commands"])
    stream = next(c["command"].split() for c in result["commands"] if c["file"].endswith("mgrade_stream.cc"))
    assert set(CXX_FLAGS) - {"-std=c++17"} <= set(stream) and "-DTF_LITE_STATIC_MEMORY" in stream, stream
    assert not any(c["file"].endswith("/conv.cc") for c in result["commands"])  # a kernel this model does not use
    report = board_test(tflm_bundle, cpu="host", kernels="reference", probe=False)
    assert report["passed"] and "every logit equals the golden output" in report["result_line"]


def test_a_missing_tree_is_one_fatal_error_naming_the_fix(tflm_bundle, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TFLM_DIR"}
    run = subprocess.run([require_cmake(), "-S", str(tflm_bundle), "-B", str(tmp_path / "b")], capture_output=True,
                         text=True, env=env)
    message = " ".join(run.stderr.split())
    assert run.returncode != 0 and "is not a TensorFlow Lite Micro tree: pass -DTFLM_DIR=PATH" in message, message


def test_a_tree_in_a_folder_named_test_keeps_its_core(tflm_bundle, tmp_path):
    """Core files are filtered by file name (as board-test does), not by path: a tree checked out below a
    folder called `test` (CI clones often are) must still compile the interpreter."""
    import json

    link = tmp_path / "ci_test" / "tflite-micro"
    link.parent.mkdir()
    link.symlink_to(os.environ["TFLM_DIR"])
    build = tmp_path / "build"
    run = subprocess.run([require_cmake(), "-S", str(tflm_bundle), "-B", str(build), f"-DTFLM_DIR={link}",
                          "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    files = [c["file"] for c in json.loads((build / "compile_commands.json").read_text())]
    assert any(f.endswith("tensorflow/lite/micro/micro_interpreter.cc") for f in files)
    assert not any("kernel_runner" in f or f.endswith("_test.cc") for f in files)
