"""CPUs the board layer builds for, and finding the compilers and emulator each one needs.

A CPU is a frozen `CpuSpec`: compiler prefix, code-generation flags, and for a Cortex-M the QEMU
machine, its linker script and the SysTick clock the instruction count is derived from. `host`
builds with the system gcc/g++ and runs natively. A missing tool is a `BoardError` (a UserError:
one line naming what to install, exit code 2).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError

DATA = Path(__file__).parent / "data"
APT_PACKAGES = "gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm"
APT_HINT = f"install it with: apt-get install -y --no-install-recommends {APT_PACKAGES}"


class BoardError(UserError):
    """Something the board build or run needs is missing or wrong (toolchain, emulator, tree, bundle)."""


@dataclass(frozen=True)
class CpuSpec:
    name: str
    prefix: str  # "" (host gcc) or "arm-none-eabi-"
    arch_flags: tuple[str, ...]  # code generation, for compiling and linking
    machine: str | None = None  # QEMU machine; None: run natively
    qemu_cpu: str | None = None
    linker_script: str | None = None  # file in board/data
    clock_hz: int = 0  # SysTick (processor) clock of the QEMU machine
    dsp: bool = False  # has the Arm DSP extension (SMLAD ...): the C step's --dsp path can run

    @property
    def bare_metal(self) -> bool:
        return self.machine is not None


CPUS: dict[str, CpuSpec] = {}


def _register(spec: CpuSpec) -> None:
    if spec.name in CPUS:
        raise ValueError(f"duplicate cpu {spec.name}")
    CPUS[spec.name] = spec


_register(CpuSpec("host", "", ()))
# QEMU 7.2 machines. The MPS2 images for the M3, M4 and M7 share one memory map (code 4 MB at 0, RAM 4 MB
# at 0x20000000) and a 25 MHz clock; AN505's M33 boots Secure, so code and RAM sit at the secure aliases
# (mps2_an505.ld), at 20 MHz; mps3-an547's M55 runs at 32 MHz. Each clock is checked with a loop of known
# length (tests/board/test_qemu.py): a wrong one would scale every instruction count.
_register(CpuSpec("cortex-m3", "arm-none-eabi-", ("-mcpu=cortex-m3", "-mthumb", "-mfloat-abi=soft"),
                  "mps2-an385", "cortex-m3", "mps2_an386.ld", 25_000_000))
_register(CpuSpec("cortex-m4", "arm-none-eabi-", ("-mcpu=cortex-m4+nofp", "-mthumb", "-mfloat-abi=soft"),
                  "mps2-an386", "cortex-m4", "mps2_an386.ld", 25_000_000, dsp=True))
_register(CpuSpec("cortex-m7", "arm-none-eabi-", ("-mcpu=cortex-m7+nofp", "-mthumb", "-mfloat-abi=soft"),
                  "mps2-an500", "cortex-m7", "mps2_an386.ld", 25_000_000, dsp=True))
_register(CpuSpec("cortex-m33", "arm-none-eabi-", ("-mcpu=cortex-m33+nofp", "-mthumb", "-mfloat-abi=soft"),
                  "mps2-an505", "cortex-m33", "mps2_an505.ld", 20_000_000, dsp=True))
_register(CpuSpec("cortex-m55", "arm-none-eabi-", ("-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard"),
                  "mps3-an547", "cortex-m55", "mps3_an547.ld", 32_000_000, dsp=True))


def get_cpu(name: str) -> CpuSpec:
    if name not in CPUS:
        raise BoardError(f"--cpu {name!r} is not one of {', '.join(CPUS)}")
    return CPUS[name]


@dataclass(frozen=True)
class Toolchain:
    cpu: CpuSpec
    cc: str
    cxx: str
    ar: str
    size: str
    nm: str
    qemu: str | None  # None for host

    @functools.cached_property
    def identity(self) -> str:
        """Compiler version text: part of every cache key, so another compiler never reuses objects."""
        out = subprocess.run([self.cxx, "--version"], capture_output=True, text=True).stdout
        return f"{self.cxx}: {out.splitlines()[0] if out else '?'}"


def _which(tool: str, what: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise BoardError(f"{tool} not found on PATH ({what}); {APT_HINT}")
    return path


def find_toolchain(cpu: CpuSpec | str) -> Toolchain:
    """Absolute paths of the compilers, binutils and (Cortex-M) QEMU for `cpu`, or a BoardError."""
    cpu = get_cpu(cpu) if isinstance(cpu, str) else cpu
    if not cpu.bare_metal:
        need = "the host C/C++ compiler"
        return Toolchain(cpu, _host("gcc", need), _host("g++", need), _host("ar", need), _host("size", need),
                         _host("nm", need), None)
    p, what = cpu.prefix, f"the Arm GNU toolchain for {cpu.name}"
    tc = Toolchain(cpu, _which(p + "gcc", what), _which(p + "g++", what), _which(p + "ar", what),
                   _which(p + "size", what), _which(p + "nm", what),
                   _which("qemu-system-arm", f"the emulator for {cpu.machine}"))
    _check_arm_libraries(tc)
    return tc


def _host(tool: str, what: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise BoardError(f"{tool} not found on PATH ({what}); install it with: apt-get install -y g++ binutils")
    return path


@functools.cache
def _check_arm_libraries(tc: Toolchain) -> None:
    """gcc-arm-none-eabi alone compiles C but has no newlib or libstdc++: <cmath> and <new> fail."""
    for lib, package in (("libc.a", "libnewlib-arm-none-eabi"), ("libstdc++.a", "libstdc++-arm-none-eabi-newlib")):
        out = subprocess.run([tc.cxx, *tc.cpu.arch_flags, f"-print-file-name={lib}"], capture_output=True,
                             text=True).stdout.strip()
        if not out or not Path(out).is_absolute() or not Path(out).exists():
            raise BoardError(f"{lib} for {tc.cpu.name} not found ({package} is missing); {APT_HINT}")
