"""Build and run any C/C++ program for a CPU: the generic layer the TFLite Micro board test uses.

    spec = ProgramSpec(groups=[SourceSet(sources, include_dirs, defines)], libraries=[...])
    program = build_program("cortex-m4", spec, out_dir)       # cached objects, startup code, link
    result = run_program(program.toolchain, program.elf, args=("123",))
    sizes = measure_elf(program.toolchain, program.elf)

Bare-metal programs get board/data/startup.c (vector table, reset handler, semihosting stdio,
argv from QEMU's `-semihosting-config arg=...`, SysTick as a 24-bit counter plus wraps, readable
with `uint32_t mgrade_systick_now(void)`) and the machine's linker script.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .build import BuildStats, SourceSet, archive, compile_sources, link
from .toolchain import CpuSpec, Toolchain, find_toolchain, get_cpu


@dataclass(frozen=True)
class ProgramSpec:
    groups: tuple[SourceSet, ...]  # the program's own sources (always linked)
    libraries: tuple[SourceSet, ...] = ()  # archived: only objects the program references are linked
    name: str = "program"


@dataclass
class Program:
    toolchain: Toolchain
    elf: Path
    stats: BuildStats = field(default_factory=BuildStats)  # compiled vs cached objects, all groups


def startup_sources(cpu: CpuSpec) -> tuple[SourceSet, ...]:
    return (SourceSet((cpu.startup_source,)),) if cpu.bare_metal else ()


def build_program(cpu: CpuSpec | str, spec: ProgramSpec, out_dir: Path, jobs: int | None = None) -> Program:
    """Compile (or take from the cache) every source of `spec` for `cpu` and link out_dir/<name>.elf."""
    cpu = get_cpu(cpu) if isinstance(cpu, str) else cpu
    tc = find_toolchain(cpu)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    own = list(spec.groups) + list(startup_sources(cpu))
    stats = compile_sources(tc, own + list(spec.libraries), jobs)
    n_own = sum(len(g.sources) for g in own)
    objects, library_objects = stats.objects[:n_own], stats.objects[n_own:]
    libraries = [archive(tc, library_objects, out_dir / f"lib{spec.name}_deps.a")] if library_objects else []
    elf = link(tc, objects, libraries, out_dir / f"{spec.name}.elf")
    return Program(tc, elf, stats)
