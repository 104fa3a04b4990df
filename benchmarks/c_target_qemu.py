"""The c target's golden program on host, Cortex-M4 and Cortex-M55 (QEMU): pass/fail, output hash
(bit-identical everywhere?), RAM from the linked program and instructions per step, with and without
the DSP dot product.

    PYTHONPATH=. python benchmarks/c_target_qemu.py BUNDLE [BUNDLE ...] [--opt -O3|-Os] [--json]

A thin caller of `mgrade_edge.board.c_golden.board_test_c` (what `mgrade-edge board-test BUNDLE --cpu
CPU [--dsp]` runs): QEMU -icount shift=0, SysTick read around each step call of the first golden
pass, so the count is the step plus two SysTick reads, an instruction count, not cycles. --opt
replaces the board build's -O2 for the golden program's two sources.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

CPUS = ("host", "cortex-m4", "cortex-m55")


def run_bundle(bundle: Path, cpu: str, dsp: bool, opt: str = "") -> dict:
    from mgrade_edge.board.c_golden import board_test_c

    r = board_test_c(bundle, cpu=cpu, dsp=dsp, flags=(opt,) if opt else ())
    return {"bundle": bundle.name, "cpu": cpu, "dsp": dsp, "opt": opt or "-O2", "pass": r["passed"],
            "hash": r["output_hash"],
            "bit_exact_vs_mirror": r["bit_exact_vs_mirror"], "ram_bytes": r["ram_bytes"], **r["ram_parts"],
            "step_flash_bytes": r["step_flash_bytes"], "instructions_per_step": r["instructions_per_step"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundles", nargs="+", type=Path)
    parser.add_argument("--opt", default="", help="optimisation flag instead of the board build's -O2 (-O3, -Os)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = [run_bundle(bundle, cpu, dsp, args.opt) for bundle in args.bundles for cpu in CPUS
            for dsp in ((False, True) if cpu != "host" else (False,))]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            ips = r["instructions_per_step"]
            print(f"{r['bundle']:<14} {r['cpu']:<11} {r['opt']} dsp={'on ' if r['dsp'] else 'off'} "
                  f"{'PASS' if r['pass'] else 'FAIL'} hash {r['hash']} ram {r['ram_bytes']} "
                  f"(stack {r['stack']}) instructions/step {f'{ips:,}' if ips else 'n/a'}")
    hashes = {r["hash"] for r in rows}
    print(f"outputs bit-identical on every CPU and variant: {'yes' if len(hashes) == 1 else 'NO'}",
          file=sys.stderr)
    return 0 if all(r["pass"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
