"""Configure, build and test an exported bundle's CMake project as a firmware engineer would.

Builds run in a directory under mgrade-edge's cache (keyed by the test's name) into which the bundle is
mirrored file by file, only changed files rewritten: TensorFlow Lite Micro's objects stay built between
runs, as board-test's object cache does, so a warm run rebuilds only the bundle.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from mgrade_edge.board.build import cache_root
from mgrade_edge.board.toolchain import DATA
from mgrade_edge.export.cgen import CMAKE_DIR


def require_cmake() -> str:
    cmake = shutil.which("cmake")
    if cmake is None:
        pytest.skip("cmake not found: pip install cmake, or apt-get install cmake")
    return cmake


def mirror(src: Path, dst: Path) -> None:
    """Make dst hold exactly src's files, touching only files whose bytes differ (keeps mtimes for make)."""
    dst.mkdir(parents=True, exist_ok=True)
    wanted = {p.relative_to(src) for p in src.rglob("*") if p.is_file()}
    for rel in wanted:
        target = dst / rel
        data = (src / rel).read_bytes()
        if not target.is_file() or target.read_bytes() != data:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    for p in dst.rglob("*"):
        if p.is_file() and p.relative_to(dst) not in wanted:
            p.unlink()


def cmake_build_and_test(bundle: Path, name: str, *options: str, env: dict | None = None) -> dict:
    """Configure (with `options`), build and ctest the bundle; returns the ctest output, the seconds each
    phase took and the compile commands."""
    cmake = require_cmake()
    root = cache_root() / "cmake-tests" / name
    src, build = root / "src", root / "build"
    mirror(Path(bundle), src)
    times = {}
    start = time.monotonic()
    configure = [cmake, "-S", str(src), "-B", str(build), "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON", *options]
    run = subprocess.run(configure, capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    times["configure"] = time.monotonic() - start
    start = time.monotonic()
    run = subprocess.run([cmake, "--build", str(build), "-j2"], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    times["build"] = time.monotonic() - start
    run = subprocess.run(["ctest", "--test-dir", str(build), "--output-on-failure", "-V"], capture_output=True,
                         text=True, env=env)
    commands = json.loads((build / "compile_commands.json").read_text())
    return {"returncode": run.returncode, "output": run.stdout + run.stderr, "seconds": times,
            "commands": commands, "build": build}


def qemu_options(cpu, dsp: bool = False, tflm: bool = False) -> list[str]:
    """The toolchain file and board data for a bare-metal golden program under QEMU on `cpu` (a CpuSpec)."""
    mcpu = next(f for f in cpu.arch_flags if f.startswith("-mcpu=")).removeprefix("-mcpu=")
    abi = next(f for f in cpu.arch_flags if f.startswith("-mfloat-abi=")).removeprefix("-mfloat-abi=")
    options = [f"-DCMAKE_TOOLCHAIN_FILE={CMAKE_DIR / 'arm-none-eabi-gcc.cmake'}",
               f"-DMGRADE_CPU={mcpu}", f"-DMGRADE_FLOAT_ABI={abi}", f"-DMGRADE_QEMU_MACHINE={cpu.machine}",
               f"-DMGRADE_BOARD_STARTUP={DATA / 'startup.c'}",
               f"-DMGRADE_BOARD_LINKER_SCRIPT={DATA / cpu.linker_script}",
               f"-DMGRADE_USE_DSP={'ON' if dsp else 'OFF'}"]
    if tflm:
        options += [f"-DMGRADE_BOARD_TIMER={DATA / 'micro_time_systick.cc'}", f"-DMGRADE_BOARD_CLOCK_HZ={cpu.clock_hz}"]
    return options
