"""An ELF's instructions by address, from the toolchain's objdump (Thumb-2 and RISC-V)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..toolchain import BoardError, Toolchain


@dataclass(frozen=True)
class Insn:
    address: int
    size: int  # bytes: 2 or 4
    mnemonic: str  # lower case, without the .w/.n width qualifier
    operands: str


# "   80c:	f8d3 2004 	ldr.w	r2, [r3, #4]"  /  "80000014:	168002ef          	jal	t0,8000017c <x>"
_LINE = re.compile(r"^\s*([0-9a-f]+):\s+((?:[0-9a-f]{2,8} ?)+)\s+([a-z][\w.]*)\s*(.*)$")


def objdump_path(tc: Toolchain) -> str:
    return tc.nm[: -len("nm")] + "objdump"


def disassemble(tc: Toolchain, elf: Path) -> dict[int, Insn]:
    """address -> instruction, for every instruction of the ELF's code sections."""
    proc = subprocess.run([objdump_path(tc), "-d", str(elf)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise BoardError(f"disassembling {elf.name} failed: {proc.stderr.strip().splitlines()[-1:]}")
    insns = {}
    for line in proc.stdout.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        address = int(m.group(1), 16)
        size = sum(len(word) for word in m.group(2).split()) // 2
        mnemonic = m.group(3).lower()
        for suffix in (".w", ".n"):
            mnemonic = mnemonic.removesuffix(suffix)
        insns[address] = Insn(address, size, mnemonic, m.group(4).split(";")[0].split("@")[0].strip())
    return insns


def symbol_address(tc: Toolchain, elf: Path, name: str) -> int:
    """The address of function `name` (Thumb: without the interworking bit): its symbol, or with a "re:"
    prefix the one function whose demangled name matches the regular expression (C++ functions)."""
    pattern = re.compile(name[3:]) if name.startswith("re:") else None
    out = subprocess.run([tc.nm, *(("-C",) if pattern else ()), str(elf)], capture_output=True, text=True,
                         check=True).stdout
    found = set()
    for line in out.splitlines():
        address, kind, symbol = (line.split(maxsplit=2) + ["", "", ""])[:3]
        if kind in ("t", "T") and (pattern.search(symbol) if pattern else symbol == name):
            found.add(int(address, 16) & ~1)
    if len(found) != 1:
        raise BoardError(f"{elf.name} has {'no' if not found else 'more than one'} function {name}")
    return found.pop()
