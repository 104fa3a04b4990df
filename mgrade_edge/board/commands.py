"""The build and run commands of `mgrade-edge board-test`, as text for the docs.

Rendered from the same functions the board test calls (build.compile_command, build.link_command,
run.run_command) with placeholders for paths, so the documented commands cannot drift from the
ones that are run; tests/board/test_commands.py checks docs/board-commands.md holds them verbatim.
"""

from __future__ import annotations

from pathlib import Path

from ..tflm_tree import include_dirs_of
from .build import SourceSet, compile_command, link_command
from .c_golden import golden_defines
from .run import run_command
from .tflm_golden import DEFINES
from .toolchain import DATA, Toolchain, get_cpu

TREE, BUNDLE, BOARD = Path("$TFLM_TREE"), Path("$BUNDLE"), Path("$BOARD_DATA")


def _placeholder_toolchain(cpu_name: str) -> Toolchain:
    cpu = get_cpu(cpu_name)
    p = cpu.prefix
    return Toolchain(cpu, p + "gcc", p + "g++", p + "ar", p + "size", p + "nm",
                     cpu.qemu_binary if cpu.bare_metal else None)


def build_snippet(cpu_name: str, kernels: str) -> str:
    """Shell commands equivalent to what board-test runs for (cpu, kernels), one per step."""
    tc = _placeholder_toolchain(cpu_name)
    cpu = tc.cpu
    inc = tuple(include_dirs_of(TREE, kernels))  # a real tree passes those of them that exist
    defines = DEFINES + (("CMSIS_NN",) if kernels == "cmsis-nn" else ())
    own = SourceSet((), (BUNDLE, *inc), (*defines, "MGRADE_ARENA_CAPACITY=<2 x kTensorArenaSize>"))
    tflm = SourceSet((), inc, defines)

    def cmd(words) -> str:
        return " ".join(str(w).replace(str(DATA), str(BOARD)) for w in words)

    lines = [f"# {cpu.name}, {kernels} kernels; TFLM_TREE: a create_tflm_tree.py tree, BUNDLE: the bundle folder"
             + (", BOARD_DATA: mgrade_edge/board/data" if cpu.bare_metal else "")]
    lines.append("# bundle sources (main.cc, mgrade_stream.cc, model_data.cc):")
    lines.append(cmd(compile_command(tc, BUNDLE / "main.cc", own, Path("main.o"))))
    lines.append("# TFLite Micro core, the kernels op_resolver.h registers (each FILE.cc):")
    lines.append(cmd(compile_command(tc, TREE / "FILE.cc", tflm, Path("FILE.o"))))
    if kernels == "cmsis-nn":
        lines.append("# CMSIS-NN (each third_party/cmsis_nn/Source/**/FILE.c):")
        lines.append(cmd(compile_command(tc, TREE / "FILE.c", tflm, Path("FILE.o"))))
    timer = ("micro_time_systick.cc", (f"MGRADE_BOARD_CLOCK_HZ={cpu.clock_hz}",)) if cpu.bare_metal else (
        "micro_time_none.cc", ())
    lines.append("# the timer port" + (" and the start code:" if cpu.bare_metal else ":"))
    lines.append(cmd(compile_command(tc, DATA / timer[0], SourceSet((), inc, timer[1]), Path("micro_time.o"))))
    if cpu.bare_metal:
        lines.append(cmd(compile_command(tc, cpu.startup_source, SourceSet(()), Path("startup.o"))))
    lines.append(cmd([tc.ar, "rcs", "libtflm.a", "<TFLite Micro and CMSIS-NN objects>"]))
    own_objects = [Path("main.o"), Path("mgrade_stream.o"), Path("model_data.o"), Path("micro_time.o")]
    if cpu.bare_metal:
        own_objects.append(Path("startup.o"))
    lines.append(cmd(link_command(tc, own_objects, [Path("libtflm.a")], Path("mgrade_golden.elf"))))
    lines.append(cmd(run_command(tc, Path("mgrade_golden.elf"), ("[ARENA_BYTES]",))))
    return "\n".join(lines) + "\n"


def c_build_snippet(cpu_name: str, dsp: bool = False) -> str:
    """Shell commands equivalent to what board-test runs for a c bundle on `cpu_name`."""

    tc = _placeholder_toolchain(cpu_name)
    cpu = tc.cpu
    defines = golden_defines(cpu, dsp)
    group = SourceSet((), (BUNDLE,), defines)

    def cmd(words) -> str:
        return " ".join(str(w).replace(str(DATA), str(BOARD)) for w in words)

    lines = [f"# {cpu.name}, c bundle{' with the DSP dot product' if dsp else ''}; BUNDLE: the bundle folder, "
             "MODEL: its mgrade_<model>.c" + (", BOARD_DATA: mgrade_edge/board/data" if cpu.bare_metal else "")]
    lines.append(cmd(compile_command(tc, BUNDLE / "main.c", group, Path("main.o"))))
    lines.append(cmd(compile_command(tc, BUNDLE / "MODEL.c", group, Path("MODEL.o"))))
    objects = [Path("main.o"), Path("MODEL.o")]
    if cpu.bare_metal:
        lines.append(cmd(compile_command(tc, cpu.startup_source, SourceSet(()), Path("startup.o"))))
        objects.append(Path("startup.o"))
    lines.append(cmd(link_command(tc, objects, [], Path("golden.elf"))))
    lines.append(cmd(run_command(tc, Path("golden.elf"), ("[STACK_STEPS]",))))
    lines.append(cmd([tc.nm, "-S", "golden.elf"]) + "  # g_state, g_io_x, g_io_y and the step's scratch symbols")
    return "\n".join(lines) + "\n"
