"""The instructions QEMU executes inside the calls of one function, from its execution trace.

QEMU runs the program with `-singlestep` (one guest instruction per translation block) and
`-d exec,nochain` (every executed block logged, none chained past the log): one trace line per executed
instruction, in order. The trace is read from a pipe as QEMU writes it (a digits run is tens of millions
of lines) and only the calls of `function` are kept: from its entry until the return address of the call
that entered it, so everything it calls (libgcc helpers included) counts and the caller does not.
`check_against` compares the instructions per call with the -icount figure of the golden run.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..run import RUN_TIMEOUT_S, run_command
from ..toolchain import BoardError, Toolchain
from .disasm import Insn, disassemble, symbol_address

TRACE_TIMEOUT_S = 20 * RUN_TIMEOUT_S  # tracing slows QEMU down about tenfold
MAX_CALLS = 16  # calls traced before QEMU is stopped: the step's cost hardly varies from call to call


@dataclass
class CallProfile:
    """What the calls of one function executed."""

    function: str
    calls: int = 0
    executed: Counter = field(default_factory=Counter)  # address -> executions inside the calls
    taken: Counter = field(default_factory=Counter)  # address -> executions that branched (next != address + size)
    paired: Counter = field(default_factory=Counter)  # address -> executions right after a `pairs` instruction
    insns: dict[int, Insn] = field(default_factory=dict)

    @property
    def instructions(self) -> int:
        return sum(self.executed.values())

    @property
    def instructions_per_call(self) -> float:
        return self.instructions / self.calls if self.calls else 0.0


def _trace_pc(line: str) -> int | None:
    """The guest PC of a `-d exec` line: 'Trace 0: 0x7f.. [00800408/000000dc/00000110/ff020201] fn'."""
    start = line.find("[")
    if not line.startswith("Trace") or start < 0:
        return None
    return int(line[start + 1:].split("/", 2)[1], 16)


def trace_calls(tc: Toolchain, elf: Path, function: str, args: tuple[str, ...] = (),
                pairs=lambda insn: False, max_calls: int | None = MAX_CALLS) -> CallProfile:
    """Run `elf` under QEMU with the execution trace and profile the first `max_calls` calls of `function`
    (None: every call; QEMU is stopped once they are traced). `pairs(insn)`: instructions whose
    back-to-back executions are counted (`paired`: single loads/stores, which overlap)."""
    if not tc.cpu.bare_metal:
        raise BoardError("estimated cycles need an emulated core: choose a --cpu other than host")
    insns = disassemble(tc, elf)
    entry = symbol_address(tc, elf, function)
    profile = CallProfile(function, insns=insns)
    with tempfile.TemporaryDirectory(prefix="mgrade-trace-") as tmp:
        fifo = Path(tmp) / "trace"
        os.mkfifo(fifo)
        cmd = run_command(tc, elf, args)
        cmd = cmd[:1] + ["-singlestep", "-d", "exec,nochain", "-D", str(fifo)] + cmd[1:]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        complete = False
        timer = threading.Timer(TRACE_TIMEOUT_S, proc.kill)
        timer.start()
        # if QEMU ends before opening its log (a bad option, a crash), the reader's open() would wait forever
        threading.Thread(target=_unblock_reader, args=(proc, fifo), daemon=True).start()
        try:
            with open(fifo) as log:
                complete = _read(log, entry, insns, profile, {a for a, insn in insns.items() if pairs(insn)},
                                 max_calls)
            if complete:
                proc.kill()  # enough calls traced: the rest of the program is not needed
        finally:
            timer.cancel()
            proc.wait()
    if proc.returncode < 0 and not complete:  # only the timer kills an incomplete trace
        raise BoardError(f"the traced run of {elf.name} on {tc.cpu.name} was stopped after {TRACE_TIMEOUT_S} s")
    if not profile.calls:
        why = f"QEMU exit status {proc.returncode}" if proc.returncode else f"it never called {function}"
        raise BoardError(f"the traced run of {elf.name} on {tc.cpu.name} failed: {why}")
    return profile


def _read(log, entry: int, insns: dict[int, Insn], profile: CallProfile, pairing: set[int],
          max_calls: int | None) -> bool:
    """Fold the trace into `profile`; True once `max_calls` calls are complete (stop reading)."""
    executed, taken, paired = profile.executed, profile.taken, profile.paired
    previous, return_to = None, None  # return_to: the address the current call returns to (None: outside)
    for line in log:
        pc = _trace_pc(line)
        if pc is None:
            continue
        if return_to is None:
            if pc == entry and previous is not None:
                return_to = previous + _size(insns, previous)  # the successor of the call instruction
                profile.calls += 1
                executed[pc] += 1
            previous = pc
            continue
        if pc != previous + _size(insns, previous):
            taken[previous] += 1  # a branch, call or return that went elsewhere than the next instruction
        if pc == return_to:
            return_to = None
            if max_calls is not None and profile.calls >= max_calls:
                return True
        else:
            executed[pc] += 1
            if pc in pairing and previous in pairing:
                paired[pc] += 1
        previous = pc
    return False


def _unblock_reader(proc: subprocess.Popen, fifo: Path) -> None:
    """Once QEMU has exited, open and close the pipe for writing: a reader still waiting in open() gets EOF."""
    proc.wait()
    try:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:  # no reader left (ENXIO) or the folder is gone: nothing waits
        pass


def _size(insns: dict[int, Insn], address: int) -> int:
    insn = insns.get(address)
    if insn is None:
        raise BoardError(f"the trace executed 0x{address:x}, which the ELF's disassembly does not hold")
    return insn.size
