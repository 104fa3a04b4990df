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

from ..errors import BoardError, UserError  # noqa: F401 - BoardError: board modules import it from here

DATA = Path(__file__).parent / "data"
APT_PACKAGES = ("gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm "
                "gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc")
APT_HINT = f"install it with: apt-get install -y --no-install-recommends {APT_PACKAGES}"


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
    mve: bool = False  # has integer Helium (MVE): the C step's dot products in vector instructions
    stack_paint_bytes: int = 16384  # the c golden program's stack painting depth: below the machine's stack size
    family: str = "arm"  # arm: newlib + rdimon, our vector table (startup.c); riscv: picolibc (startup_riscv.c)
    cxx: bool = True  # has a C++ library: TensorFlow Lite Micro programs build (picolibc's riscv32 here has none)
    qemu_args: tuple[str, ...] = ()  # machine options beyond -M/-cpu (riscv32: no firmware, the ELF is all)

    @property
    def qemu_binary(self) -> str:
        return {"arm": "qemu-system-arm", "riscv": "qemu-system-riscv32"}[self.family]

    @property
    def startup_source(self) -> Path:
        return DATA / {"arm": "startup.c", "riscv": "startup_riscv.c"}[self.family]

    def link_flags(self) -> tuple[str, ...]:
        """Flags a bare-metal link adds: the machine's memory map, start code and semihosting C library."""
        if self.family == "riscv":  # picolibc's crt0 and picolibc.ld, placed by symbols; argv by --wrap=main
            return ("--oslib=semihost", "--crt0=hosted", "-Wl,--wrap=main",
                    *(f"-Wl,--defsym={k}={v}" for k, v in RISCV_VIRT_MAP))
        # our own vector table and reset handler replace crt0; rdimon gives stdio and exit over semihosting
        return ("-nostartfiles", "--specs=rdimon.specs", "-L", str(DATA), "-T", str(DATA / self.linker_script))

    @property
    def bare_metal(self) -> bool:
        return self.machine is not None


CPUS: dict[str, CpuSpec] = {}


def _register(spec: CpuSpec) -> None:
    if spec.name in CPUS:
        raise ValueError(f"duplicate cpu {spec.name}")
    CPUS[spec.name] = spec


_register(CpuSpec("host", "", ()))
# QEMU's riscv32 virt machine has RAM at 0x80000000 (128 MB): the program's "flash" (code and constants)
# takes its first 4 MB, RAM the next 4 MB, with a 32 KB stack like the Cortex-M scripts.
RISCV_VIRT_MAP = (("__flash", "0x80000000"), ("__flash_size", "0x400000"), ("__ram", "0x80400000"),
                  ("__ram_size", "0x400000"), ("__stack_size", "0x8000"))
# QEMU 7.2 machines. The MPS2 images for the M3, M4 and M7 share one memory map (code 4 MB at 0, RAM 4 MB
# at 0x20000000) and a 25 MHz clock; AN505's M33 boots Secure, so code and RAM sit at the secure aliases
# (mps2_an505.ld), at 20 MHz; mps3-an547's M55 runs at 32 MHz. Each clock is checked with a loop of known
# length (tests/board/test_qemu.py): a wrong one would scale every instruction count.
# microbit is an nRF51 (Cortex-M0, ARMv6-M, the M0+'s instruction set; QEMU has no M0+ model): 256 KB flash,
# 16 KB RAM, 16 MHz.
_register(CpuSpec("cortex-m0plus", "arm-none-eabi-", ("-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"),
                  "microbit", "cortex-m0", "microbit.ld", 16_000_000, stack_paint_bytes=4096))
_register(CpuSpec("cortex-m3", "arm-none-eabi-", ("-mcpu=cortex-m3", "-mthumb", "-mfloat-abi=soft"),
                  "mps2-an385", "cortex-m3", "mps2_an386.ld", 25_000_000))
_register(CpuSpec("cortex-m4", "arm-none-eabi-", ("-mcpu=cortex-m4+nofp", "-mthumb", "-mfloat-abi=soft"),
                  "mps2-an386", "cortex-m4", "mps2_an386.ld", 25_000_000, dsp=True))
_register(CpuSpec("cortex-m7", "arm-none-eabi-", ("-mcpu=cortex-m7+nofp", "-mthumb", "-mfloat-abi=soft"),
                  "mps2-an500", "cortex-m7", "mps2_an386.ld", 25_000_000, dsp=True))
_register(CpuSpec("cortex-m33", "arm-none-eabi-", ("-mcpu=cortex-m33+nofp", "-mthumb", "-mfloat-abi=soft"),
                  "mps2-an505", "cortex-m33", "mps2_an505.ld", 20_000_000, dsp=True))
_register(CpuSpec("cortex-m55", "arm-none-eabi-", ("-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard"),
                  "mps3-an547", "cortex-m55", "mps3_an547.ld", 32_000_000, dsp=True, mve=True))
# RV32IMAC on QEMU's virt machine with picolibc. Its counter is minstret, which counts instructions, so the
# "clock" is 1 GHz: one tick = one instruction (run.ticks_to_instructions).
_register(CpuSpec("riscv32", "riscv64-unknown-elf-", ("-march=rv32imac", "-mabi=ilp32", "--specs=picolibc.specs"),
                  "virt", "rv32", "picolibc.ld", 1_000_000_000, family="riscv", cxx=False,
                  qemu_args=("-bios", "none")))


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
    p = cpu.prefix
    what = f"the {'RISC-V' if cpu.family == 'riscv' else 'Arm'} GNU toolchain for {cpu.name}"
    tc = Toolchain(cpu, _which(p + "gcc", what), _which(p + "g++", what), _which(p + "ar", what),
                   _which(p + "size", what), _which(p + "nm", what),
                   _which(cpu.qemu_binary, f"the emulator for {cpu.machine}"))
    if cpu.family == "arm":
        _check_arm_libraries(tc)
    else:
        _check_picolibc(tc)
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


@functools.cache
def _check_picolibc(tc: Toolchain) -> None:
    """gcc-riscv64-unknown-elf has no C library; picolibc-riscv64-unknown-elf brings it and picolibc.specs."""
    out = subprocess.run([tc.cc, *tc.cpu.arch_flags, "-print-file-name=picolibc.specs"], capture_output=True,
                         text=True).stdout.strip()
    if not out or not Path(out).is_absolute() or not Path(out).exists():
        raise BoardError(f"picolibc for {tc.cpu.name} not found (picolibc-riscv64-unknown-elf is missing); {APT_HINT}")
