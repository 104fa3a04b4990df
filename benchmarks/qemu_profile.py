"""Where a step's Cortex-M instructions go: a per-function (or per-source-line) instruction profile of
a bundle's golden program under QEMU.

    TFLM_DIR=../shared/third_party/tflite-micro PYTHONPATH=. python benchmarks/qemu_profile.py BUNDLE \
        [--cpu cortex-m4] [--dsp | --mve] [--lines | --functions] [--top 40]

BUNDLE is a tflm bundle (the golden program with real TensorFlow Lite Micro, CMSIS-NN kernels) or a
`--target c` bundle (its golden program; --dsp adds -DMGRADE_USE_DSP). QEMU logs every translated
block's instructions (`-d in_asm`) and every block it executes (`-d exec,nochain`: no block
chaining, so every execution is logged); each executed block adds its instructions to their
addresses. Addresses map to functions through the ELF's symbol table (`nm`), or with --lines to
source lines (`addr2line`, the program built with -g; c bundles only, whose step is one function
once inlined). Counts are per step: the whole run's count over the golden program's steps, so start-up
and the checks are spread over them (a few percent). QEMU gives instruction counts, not cycles.

This is how the int8 LOGISTIC (a quarter of the digits step) was found (benchmarks/tflm_diet.md).
"""

from __future__ import annotations

import argparse
import bisect
import collections
import re
import subprocess
import sys
import tempfile
from pathlib import Path

_INSN = re.compile(r"^0x([0-9a-f]{8}):")
_EXEC = re.compile(r"^Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/")
# QEMU's in_asm disassembler does not know Helium (MVE): it prints such a 32-bit Thumb instruction as
# ".byte lo, hi" for its first halfword and then decodes the second halfword as an instruction of its
# own. A first halfword of 0b11101..., 0b11110... or 0b11111... opens a 32-bit instruction.
_BYTES = re.compile(r"^0x[0-9a-f]{8}:\s+(?:[0-9a-f]+\s+)?\.byte\s+0x([0-9a-f]{2}),\s*0x([0-9a-f]{2})\s*$")


def _opens_32bit(line: str) -> bool:
    m = _BYTES.match(line)
    return bool(m) and (int(m.group(2), 16) >> 3) >= 0b11101


def instructions_per_address(log_lines) -> collections.Counter:
    """Executed instructions per guest address from a QEMU `-d in_asm,exec,nochain` log."""
    blocks: dict[int, list[int]] = {}
    current = None
    second_half = None  # the address QEMU printed as an instruction but is a 32-bit one's second halfword
    counts: collections.Counter = collections.Counter()
    for line in log_lines:
        m = _INSN.match(line)
        if m:
            pc = int(m.group(1), 16)
            if pc == second_half:
                second_half = None
                continue
            if current is None:  # the first instruction of a translated block names it
                current = pc
                blocks[current] = []
            blocks[current].append(pc)
            second_half = pc + 2 if _opens_32bit(line) else None
            continue
        if line.startswith("IN:"):
            current = None
            continue
        m = _EXEC.match(line)
        if m:
            current = None
            for pc in blocks.get(int(m.group(1), 16), ()):
                counts[pc] += 1
    return counts


def by_symbol(counts: collections.Counter, symbols: list[tuple[int, str]]) -> collections.Counter:
    """Sum per function: `symbols` = (start address, name) sorted by address."""
    starts = [a for a, _ in symbols]
    out: collections.Counter = collections.Counter()
    for pc, n in counts.items():
        i = bisect.bisect_right(starts, pc) - 1
        out[symbols[i][1] if i >= 0 else "?"] += n
    return out


def _symbols(elf: Path) -> list[tuple[int, str]]:
    text = subprocess.run(["arm-none-eabi-nm", "-C", "--defined-only", "-n", str(elf)], capture_output=True,
                          text=True, check=True).stdout
    out = []
    for line in text.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1] in "tTwW":
            out.append((int(parts[0], 16) & ~1, parts[2]))  # Thumb addresses carry bit 0
    return out


def _by_line(counts: collections.Counter, elf: Path, own_source: str | None = None) -> collections.Counter:
    """Per source line ("file:line"). With `own_source` (a file name prefix, e.g. "mgrade_"), an
    instruction inlined from a header (an ACLE or MVE intrinsic) counts for the line of that source
    which inlined it (addr2line -i's chain), not for the header."""
    pcs = sorted(counts)
    text = subprocess.run(["arm-none-eabi-addr2line", "-a", "-i", "-e", str(elf), *map(hex, pcs)],
                          capture_output=True, text=True, check=True).stdout
    chains: dict[int, list[str]] = {}
    for line in text.splitlines():
        if line.startswith("0x"):
            chain = chains.setdefault(int(line, 16), [])
        else:
            chain.append(line.split(" ")[0].rsplit("/", 1)[-1])
    out: collections.Counter = collections.Counter()
    for pc in pcs:
        chain = chains.get(pc) or ["??:0"]
        own = [loc for loc in chain if own_source and loc.startswith(own_source)]
        out[own[0] if own else chain[0]] += counts[pc]
    return out


_FUNCTION_START = re.compile(r"^[A-Za-z_][\w \*]*?\b(\w+)\((?!.*;\s*$)")


def enclosing_functions(source: Path) -> dict[int, str]:
    """Line number -> the C function whose body holds it, for a generated step source (top-level
    definitions start at column 0 and end at a line `}`); lines outside a function are absent."""
    out: dict[int, str] = {}
    current = None
    for number, line in enumerate(source.read_text().splitlines(), 1):
        m = None if current else _FUNCTION_START.match(re.sub(r"^__attribute__\(\(\w+\)\)\s*", "", line))
        if m and not line.startswith(("typedef", "#")):
            current = m.group(1)
        if current:
            out[number] = current
            if line.startswith("}"):
                current = None
    return out


def _by_function(by_line: collections.Counter, bundle: Path) -> collections.Counter:
    """Per C function of the step source, inlined helpers counted as themselves (from --lines)."""
    sources = {p.name: enclosing_functions(p) for p in bundle.glob("mgrade_*.c")}
    out: collections.Counter = collections.Counter()
    for location, n in by_line.items():
        name, _, number = location.partition(":")
        function = sources.get(name, {}).get(int(number), None) if number.isdigit() else None
        out[f"{function}()" if function else location] += n
    return out


def build(bundle: Path, cpu: str, dsp: bool, lines: bool, out_dir: Path, mve: bool = False,
          defines: tuple[str, ...] = ()):
    """(program, steps run by one boot, argv) for a c, tflm or tflm-fused bundle."""
    from mgrade_edge.board.c_golden import build_c_golden, is_c_bundle

    if is_c_bundle(bundle):
        from mgrade_edge.board.c_golden import MVE_DEFINE

        helium = (MVE_DEFINE,) if mve else ()
        program, facts = build_c_golden(bundle, cpu, out_dir, dsp=dsp or mve, defines=helium + defines,
                                        flags=("-g",) if lines else ())
        # main.c: the golden pass, its rerun, the step_block pass and the stack-painting pass (argv[1]
        # steps, default the same)
        steps = 4 * int(re.search(r"#define GOLDEN_STEPS (\d+)", (bundle / "main.c").read_text()).group(1))
        return program, steps, ()
    if lines:
        raise SystemExit("--lines is for c bundles (TensorFlow Lite Micro's kernels are separate functions)")
    from mgrade_edge.board.program import build_program
    from mgrade_edge.board.tflm_golden import (
        BUNDLE_SOURCES,
        CAPACITY_FACTOR,
        bundle_constants,
        check_bundle,
        default_kernels,
        fused_program_sources,
        golden_program_spec,
    )
    from mgrade_edge.board.toolchain import get_cpu
    from mgrade_edge.tflm_tree import find_tree

    bundle = check_bundle(bundle)
    consts = bundle_constants(bundle)
    arena = consts["kTensorArenaMinimum"] + consts["kTensorArenaMargin"]
    spec_cpu = get_cpu(cpu)
    sources = fused_program_sources(bundle)  # a tflm-fused bundle also links its op and C step (--dsp applies)
    program = build_program(spec_cpu, golden_program_spec(bundle, find_tree(default_kernels(cpu), None), spec_cpu,
                                                          CAPACITY_FACTOR * arena, dsp and sources is not None,
                                                          sources or BUNDLE_SOURCES), out_dir)
    return program, consts["kGoldenSteps"], (str(arena),)


def profile(bundle: Path, cpu: str, dsp: bool, mve: bool = False, defines: tuple[str, ...] = (),
            by: str = "symbols") -> tuple[collections.Counter, int, str]:
    """(instructions per symbol, source line or C function over the whole run, steps run, the PASS/FAIL
    line) of one traced boot of the bundle's golden program; `by`: symbols, lines or functions."""
    from mgrade_edge.board.run import run_command

    with tempfile.TemporaryDirectory(prefix="qemu-profile-") as tmp:
        lines = by in ("lines", "functions")
        program, steps, run_args = build(bundle, cpu, dsp, lines, Path(tmp), mve, defines)
        log = Path(tmp) / "qemu.log"
        cmd = run_command(program.toolchain, program.elf, run_args)
        cmd = cmd[:1] + ["-d", "in_asm,exec,nochain", "-D", str(log)] + cmd[1:]
        run = subprocess.run(cmd, capture_output=True, text=True)
        result = next((ln for ln in (run.stdout + run.stderr).splitlines() if ln.startswith(("PASS", "FAIL"))),
                      f"no PASS/FAIL line (exit {run.returncode})")
        with open(log) as f:
            counts = instructions_per_address(f)
        own = "mgrade_" if by == "functions" else None  # intrinsics count for the step's function using them
        table = _by_line(counts, program.elf, own) if lines else by_symbol(counts, _symbols(program.elf))
        if by == "functions":
            table = _by_function(table, bundle)
    return table, steps, result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--cpu", default="cortex-m4", choices=("cortex-m4", "cortex-m55"))
    parser.add_argument("--dsp", action="store_true", help="c bundles: build with -DMGRADE_USE_DSP")
    parser.add_argument("--mve", action="store_true", help="c bundles on cortex-m55: the Helium build")
    parser.add_argument("--define", action="append", default=[], metavar="NAME",
                        help="c bundles: one more -D for the step (e.g. MGRADE_BLOCK_PAIRS); repeatable")
    parser.add_argument("--lines", action="store_true", help="c bundles: per source line instead of per function")
    parser.add_argument("--functions", action="store_true",
                        help="c bundles: per C function of the step source, inlined ones counted apart "
                             "(ACLE/MVE intrinsics for the function using them)")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args(argv)

    table, steps, result = profile(args.bundle, args.cpu, args.dsp, args.mve, tuple(args.define),
                                   "functions" if args.functions else ("lines" if args.lines else "symbols"))
    total = sum(table.values())
    print(f"{args.bundle} on {args.cpu}{' (Helium)' if args.mve else (' (DSP)' if args.dsp else '')}: {result}")
    print(f"{total:,} instructions over {steps} steps: {total / steps:,.0f} per step (start-up included)\n")
    print("| per step | share | " + ("source line" if args.lines else "function") + " |\n|---|---|---|")
    for name, n in table.most_common(args.top):
        print(f"| {n / steps:,.0f} | {100 * n / total:.1f}% | {name[:110]} |")
    return 0 if result.startswith("PASS") else 1


if __name__ == "__main__":
    sys.exit(main())
