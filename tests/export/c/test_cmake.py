"""A c bundle's CMake project: a static library `mgrade::model` and the golden test, built on the host and
cross-built for Cortex-M4 with the shipped toolchain file and run under QEMU by ctest, with the flags and
the golden result board-test gets from its own compiler calls."""

from __future__ import annotations

import re

import pytest

from mgrade_edge.board.build import C_FLAGS
from mgrade_edge.board.c_golden import board_test_c
from mgrade_edge.board.toolchain import get_cpu
from tests.board.conftest import require_toolchain
from tests.cmake_build import cmake_build_and_test, qemu_options

HASH = re.compile(r"output hash ([0-9a-f]{8})")


@pytest.fixture(scope="module")
def bundle(c_bundle):
    return c_bundle("digits_like", "int8")


def model_flags(result: dict, prefix: str) -> list[str]:
    entry = next(c for c in result["commands"] if c["file"].endswith(f"{prefix}.c"))
    return entry["command"].split()


def test_host_build_passes_its_golden_with_board_tests_flags_and_result(bundle):
    prefix = next(p.stem for p in bundle.glob("mgrade_*.c"))
    result = cmake_build_and_test(bundle, "c-host")
    assert result["returncode"] == 0 and "PASS: " in result["output"], result["output"][-2000:]
    flags = model_flags(result, prefix)
    assert set(C_FLAGS) <= set(flags), flags  # -std=c11 -O2 and the section flags, as board-test compiles
    assert flags.index("-O2") > max((i for i, f in enumerate(flags) if f.startswith("-O") and f != "-O2"), default=-1)
    board = board_test_c(bundle, cpu="host")
    assert HASH.search(result["output"]).group(1) == board["output_hash"]


def test_cortex_m4_cross_build_runs_under_qemu_and_matches_board_test(bundle):
    dsp = True  # the SMLAD path: the flags that differ most from the host build
    require_toolchain("cortex-m4")
    cpu = get_cpu("cortex-m4")
    result = cmake_build_and_test(bundle, "c-cortex-m4", *qemu_options(cpu, dsp=dsp))
    assert result["returncode"] == 0 and "qemu-system-arm" in result["output"], result["output"][-2000:]
    prefix = next(p.stem for p in bundle.glob("mgrade_*.c"))
    flags = model_flags(result, prefix)
    assert set(cpu.arch_flags) - {"-mcpu=cortex-m4+nofp"} <= set(flags) and "-DMGRADE_USE_DSP" in flags, flags
    board = board_test_c(bundle, cpu="cortex-m4", dsp=dsp)
    assert HASH.search(result["output"]).group(1) == board["output_hash"] == board["expected_output_hash"]


def test_weight_storage_is_fixed_by_the_export(bundle, tmp_path):
    import subprocess

    from tests.cmake_build import require_cmake

    run = subprocess.run([require_cmake(), "-S", str(bundle), "-B", str(tmp_path / "build"), "-DMGRADE_WEIGHTS=int16"],
                         capture_output=True, text=True)
    message = " ".join(run.stderr.split())  # CMake wraps its messages
    assert run.returncode != 0 and "re-export with `mgrade-edge export ... --weights int16`" in message, message
