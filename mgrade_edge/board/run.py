"""Run a built program natively (host) or bare metal under qemu-system-arm with semihosting.

Under QEMU the program's stdout arrives over semihosting and its exit code (newlib's exit() ->
SYS_EXIT) becomes QEMU's exit status. `-icount shift=0` makes every guest instruction advance the
virtual clock by exactly 1 ns, so the SysTick counter the startup code runs at the machine's
processor clock counts instructions / (1e9 / clock_hz): an instruction count, not cycles.
"""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .toolchain import Toolchain

RUN_TIMEOUT_S = 120
FAULT_EXIT = 1  # what QEMU returns when the startup code reports a fault (HardFault, ...)


@dataclass(frozen=True)
class RunResult:
    exit_code: int  # negative: killed by that signal (host); 124: timed out
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False  # stopped after the run's time limit

    @property
    def output(self) -> str:
        """stdout then stderr (TFLite Micro's reference DebugLog prints to stderr)."""
        return self.stdout + self.stderr


def run_command(tc: Toolchain, elf: Path, args: tuple[str, ...] = ()) -> list[str]:
    if not tc.cpu.bare_metal:
        return [str(elf), *args]
    semihosting = ",".join(["enable=on", "target=native", f"arg={Path(elf).name}", *(f"arg={a}" for a in args)])
    return [tc.qemu, "-M", tc.cpu.machine, "-cpu", tc.cpu.qemu_cpu, *tc.cpu.qemu_args, "-nographic", "-monitor", "none",
            "-serial", "none", "-semihosting-config", semihosting, "-icount", "shift=0", "-kernel", str(elf)]


def run_program(tc: Toolchain, elf: Path, args: tuple[str, ...] = (), timeout: float = RUN_TIMEOUT_S) -> RunResult:
    """One process (host) or one boot (QEMU) of `elf` with `args` as argv[1:]."""
    start = time.monotonic()
    try:
        proc = subprocess.run(run_command(tc, elf, tuple(map(str, args))), capture_output=True, text=True,
                              timeout=timeout, errors="replace")
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return RunResult(124, out, f"timed out after {timeout} s", time.monotonic() - start, timed_out=True)
    return RunResult(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)


def ticks_to_instructions(tc: Toolchain, ticks: int) -> float | None:
    """SysTick ticks at the machine's clock -> guest instructions (1 instruction = 1 ns under -icount shift=0)."""
    if not tc.cpu.bare_metal or not tc.cpu.clock_hz:
        return None
    return ticks * 1e9 / tc.cpu.clock_hz


_RESULT = re.compile(r"^(PASS|FAIL): (.*)$", re.M)


def golden_result(text: str, exit_code: int) -> tuple[bool, str]:
    """(passed, line) of a golden program's output, TFLite Micro's or the C step's: passing needs the
    last PASS/FAIL line to say PASS and exit code 0; `line` is that line, or the last line printed."""
    results = _RESULT.findall(text)
    line = f"{results[-1][0]}: {results[-1][1]}" if results else next(
        (ln.strip() for ln in reversed(text.splitlines()) if ln.strip()), f"no output (exit code {exit_code})")
    return exit_code == 0 and bool(results) and results[-1][0] == "PASS", line
