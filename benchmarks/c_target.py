"""The c target's memory on Cortex-M4, measured from the compiled object, against the analytic minimum.

    PYTHONPATH=. python benchmarks/c_target.py [--out DIR] [--json]

For digits (examples/digits.pt, int8 and float32) and the speech-commands preset (untrained, int8,
calibrated on seeded noise: its data set is not bundled; memory does not depend on the weights'
values except through ring trimming, which noise-calibrated dense kernels never trigger), exports
the bundle, compiles mgrade_<name>.c with arm-none-eabi-gcc -O2 for Cortex-M4 with -fstack-usage
and reports:
- state: sizeof(<prefix>_state) (the C's own state_bytes()), i.e. rings + h + head indices;
- scratch: the sizes of the static scratch symbols (nm);
- stack: the deepest call chain of the step from the compiler's per-function stack usage (.su);
- flash: .text + .rodata of the object (code + const weights + tables);
- x86 host instructions per step (callgrind on the golden program, when valgrind is installed).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
M4_FLAGS = ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-std=c99", "-O2")
SCRATCH_SYMBOLS = ("g_xw", "g_vw", "g_slots", "g_scratch")
# The step's call chains (caller -> callee); the stack bound is the deepest sum along one chain.
CALLS = {"step": ["step_acc"], "step_q": ["step_acc"], "step_acc": ["layer_step", "dot", "dot4"],
         "layer_step": ["layer_norm", "dot", "dot4", "conv4", "conv1", "gru_update", "residual_x1", "sig_q15",
                        "gelu_q16", "rec_out_value", "matvec", "sigmoid", "gelu", "rec_act"],
         "gru_update": ["sig_q15", "rq", "rq_sat"], "residual_x1": ["rq", "rq2_sat"],
         "layer_norm": ["isqrt62", "isqrt64", "rq", "rq_sat", "rdiv", "sat"], "gelu_q16": ["sig_q15"],
         "rec_out_value": ["rec_act_q16", "rq_sat"], "rec_act_q16": ["gelu_q16", "sig_q15"],
         "rec_act": ["gelu", "sigmoid"]}


def export(checkpoint: Path, precision: str, out: Path, calib: Path | None) -> dict:
    from mgrade_edge.pipeline import export_checkpoint

    return export_checkpoint(checkpoint, f"c-{precision}", out, calib_file=calib, validate=False, force=True)


def stack_bound(su_file: Path, prefix: str) -> int:
    usage = {}
    for line in su_file.read_text().splitlines():
        name, size = line.split("\t")[0].rsplit(":", 1)[-1], int(line.split("\t")[1])
        name = name.split(".")[0]  # gcc's clones: layer_norm.constprop, gelu_q16.part.0
        name = name.removeprefix(prefix + "_")
        usage[name] = max(usage.get(name, 0), size)

    def depth(fn: str) -> int:
        # an inlined function has no .su line of its own, but its callees may still be real calls
        return usage.get(fn, 0) + max([depth(c) for c in CALLS.get(fn, [])] or [0])

    return max(depth("step"), depth("step_q") if "step_q" in usage else 0)


def measure_m4(bundle: Path, prefix: str, work: Path) -> dict:
    cc = shutil.which("arm-none-eabi-gcc")
    if cc is None:
        return {"skipped": "arm-none-eabi-gcc not installed"}
    obj = work / f"{prefix}.o"
    subprocess.run([cc, *M4_FLAGS, "-fstack-usage", "-c", str(bundle / f"{prefix}.c"), "-o", str(obj)],
                   check=True, cwd=work)
    sections = {}
    for line in subprocess.run(["arm-none-eabi-size", "-A", str(obj)], capture_output=True, text=True,
                               check=True).stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
            sections[parts[0]] = int(parts[1])
    symbols = {}
    for line in subprocess.run(["arm-none-eabi-nm", "-S", "--size-sort", str(obj)], capture_output=True, text=True,
                               check=True).stdout.splitlines():
        addr, size, kind, name = line.split()
        symbols[name] = int(size, 16)
    scratch = sum(symbols.get(s, 0) for s in SCRATCH_SYMBOLS)
    text = sum(v for k, v in sections.items() if k.startswith(".text"))
    rodata = sum(v for k, v in sections.items() if k.startswith(".rodata"))
    return {"scratch_bytes": scratch, "stack_bytes": stack_bound(work / f"{prefix}.su", prefix),
            "flash_bytes": text + rodata, "text_bytes": text, "rodata_bytes": rodata,
            "bss_bytes": sum(v for k, v in sections.items() if k.startswith(".bss"))}


def host_instructions(bundle: Path, prefix: str, work: Path, entry: str) -> float | None:
    """x86-64 instructions per golden step (callgrind Ir inside the public step function / its calls)."""
    if shutil.which("valgrind") is None:
        return None
    exe = work / "golden"
    # a small stack paint: writing 16 KB below the stack pointer can fault under valgrind, whose client
    # stack grows only as the stack pointer moves (the count covers the step calls only either way)
    subprocess.run(["gcc", "-std=c99", "-O2", "-DMGRADE_STACK_PAINT_BYTES=1024", str(bundle / "main.c"),
                    str(bundle / f"{prefix}.c"), "-lm", "-o", str(exe)], check=True)
    out = work / "callgrind.out"
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--collect-atstart=no",
                    f"--toggle-collect={prefix}_{entry}",
                    str(exe)], capture_output=True, check=True)
    text = subprocess.run(["callgrind_annotate", str(out)], capture_output=True, text=True).stdout
    match = re.search(r"([\d,]+)\s+\(100\.0%\)\s+PROGRAM TOTALS", text) or re.search(r"([\d,]+)\s+PROGRAM TOTALS", text)
    calls = step_calls(out.read_text(), f"{prefix}_{entry}")
    return int(match.group(1).replace(",", "")) / calls if match and calls else None


def step_calls(callgrind_out: str, function: str) -> int:
    """How many times `function` was called, from a callgrind output file (main.c runs the golden
    stream twice and then the stack measurement, so the count is not a fixed multiple of the steps)."""
    ids, total, callee = {}, 0, None
    for line in callgrind_out.splitlines():
        m = re.match(r"cfn=\((\d+)\)(?: (\S+))?", line)
        if m:  # a call record: "cfn=(id) [name]", then its "calls=N ..." line
            ids.setdefault(m.group(1), m.group(2))
            callee = ids[m.group(1)]
        elif callee is not None:
            if callee == function and line.startswith("calls="):
                total += int(line.split("=")[1].split()[0])
            callee = None
    return total


def run_case(name: str, checkpoint: Path, precision: str, work: Path, calib: Path | None) -> dict:
    from mgrade_edge.analytic import analytic_profile, step_macs
    from mgrade_edge.config import MGRADEConfig

    manifest = export(checkpoint, precision, work / f"{name}-{precision}", calib)
    facts = manifest["details"]["c"]
    bundle, prefix = work / f"{name}-{precision}", facts["prefix"]
    cfg = MGRADEConfig.from_dict(manifest["config"])
    analytic_target = "tflite" if precision == "float32" else f"tflite-{precision}"
    minimum = analytic_profile(cfg, analytic_target)["analytic_min_ram_bytes"]
    m4 = measure_m4(bundle, prefix, work)
    row = {"model": name, "precision": precision, "state_bytes": facts["state_bytes"], "ring_rows": facts["rows"],
           "io_bytes_if_not_aliased": facts["io_bytes"], "analytic_min_ram_bytes": minimum,
           "macs_per_step": step_macs(cfg), "cortex_m4": m4}
    if "scratch_bytes" in m4:
        ram = facts["state_bytes"] + m4["scratch_bytes"] + m4["stack_bytes"]
        row.update(ram_bytes=ram, ram_over_minimum=round(ram / minimum, 3))
    ir = host_instructions(bundle, prefix, work, "step" if precision == "float32" else "step_q")
    row["x86_instructions_per_step"] = ir
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    work = Path(args.out or tempfile.mkdtemp(prefix="c-target-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    from mgrade_edge.presets import write_untrained_checkpoint

    speech = write_untrained_checkpoint("speech-commands", work / "speech-commands.pt")
    noise = work / "noise.npy"
    np.save(noise, np.random.default_rng(0).normal(size=(8, 1024, 1)).astype(np.float32))
    rows = [run_case("digits", ROOT / "examples" / "digits.pt", "int8", work, None),
            run_case("digits", ROOT / "examples" / "digits.pt", "float32", work, None),
            run_case("speech-commands", speech, "int8", work, noise)]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            m4 = r["cortex_m4"]
            print(f"{r['model']:<16} {r['precision']:<8} state {r['state_bytes']:,} + scratch "
                  f"{m4.get('scratch_bytes', '?'):,} + stack {m4.get('stack_bytes', '?'):,} = RAM "
                  f"{r.get('ram_bytes', '?'):,} B ({r.get('ram_over_minimum', '?')}x the analytic minimum "
                  f"{r['analytic_min_ram_bytes']:,}); flash {m4.get('flash_bytes', '?'):,} B; "
                  f"x86 instructions/step {r['x86_instructions_per_step'] or 'n/a'}; MACs/step {r['macs_per_step']:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
