"""The c target's golden program on host, Cortex-M4 and Cortex-M55 (QEMU): pass/fail, output hash
(bit-identical everywhere?) and instructions per step, with and without the DSP dot product.

    PYTHONPATH=. python benchmarks/c_target_qemu.py BUNDLE [BUNDLE ...] [--opt -O3] [--json]

Builds with mgrade_edge.board (its startup code, linker scripts and QEMU runner with -icount
shift=0, where SysTick ticks convert to instructions; --opt replaces the board build's -O2 for the
golden program's two sources). The golden program reads SysTick around each
step call of its first pass (64 steps), so the count is the step plus two SysTick reads.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

CPUS = ("host", "cortex-m4", "cortex-m55")


def run_bundle(bundle: Path, cpu: str, dsp: bool, work: Path, opt: str = "") -> dict:
    from mgrade_edge.board.build import SourceSet, measure_elf
    from mgrade_edge.board.program import ProgramSpec, build_program
    from mgrade_edge.board.run import run_program, ticks_to_instructions
    from mgrade_edge.export.artifact import read_manifest

    facts = read_manifest(bundle)["details"]["c"]
    defines = (("MGRADE_SYSTICK",) if cpu != "host" else ()) + (("MGRADE_USE_DSP",) if dsp else ())
    spec = ProgramSpec((SourceSet((bundle / "main.c", bundle / f"{facts['prefix']}.c"), (bundle,), defines,
                                  (opt,) if opt else ()),),
                       name=f"golden_{cpu}{'_dsp' if dsp else ''}{opt}")
    program = build_program(cpu, spec, work)
    result = run_program(program.toolchain, program.elf)
    out = result.output
    row = {"bundle": bundle.name, "cpu": cpu, "dsp": dsp, "opt": opt or "-O2", "exit_code": result.exit_code,
           "pass": out.startswith("PASS"), "hash": (re.search(r"output hash (\w+)", out) or [None, None])[1]}
    ticks = re.search(r"ticks (\d+) for (\d+) steps", out)
    if ticks:
        instructions = ticks_to_instructions(program.toolchain, int(ticks.group(1)))
        row["instructions_per_step"] = instructions / int(ticks.group(2)) if instructions else None
    if cpu != "host":
        sizes = measure_elf(program.toolchain, program.elf)
        row.update(elf_text=sizes.text, elf_data=sizes.data, elf_bss=sizes.bss)
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundles", nargs="+", type=Path)
    parser.add_argument("--opt", default="", help="optimisation flag instead of the board build's -O2 (-O3, -Os)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="c-qemu-"))
    rows = []
    for bundle in args.bundles:
        for cpu in CPUS:
            for dsp in ((False, True) if cpu != "host" else (False,)):
                rows.append(run_bundle(bundle, cpu, dsp, work, args.opt))
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            ips = r.get("instructions_per_step")
            print(f"{r['bundle']:<14} {r['cpu']:<11} {r['opt']} dsp={'on ' if r['dsp'] else 'off'} "
                  f"{'PASS' if r['pass'] else 'FAIL'} hash {r['hash']} "
                  f"instructions/step {f'{ips:,.0f}' if ips else 'n/a'}"
                  + (f" text {r['elf_text']:,}" if "elf_text" in r else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
