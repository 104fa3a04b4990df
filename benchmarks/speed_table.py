"""The C step's speed per core against TensorFlow Lite Micro + CMSIS-NN on the same core: instructions
per step, instructions per multiply-accumulate, estimated cycles where the core has a timing model, and
how many times fewer instructions than the interpreter, for the digits example, the untrained
speech-commands preset and the frame-rate keyword model.

    TFLM_DIR=../shared/third_party/tflite-micro PYTHONPATH=. python benchmarks/speed_table.py [--json F]
        [--models digits,speech-commands,keywords_frames]

Per model, one `--target c --quant int8` bundle and one `--target tflm` (int8) bundle; every row is a
`board-test` of its golden program under QEMU (-icount: instruction counts, not cycles), all in one run:
- Cortex-M4: the portable C, the Arm DSP path (SMLAD), the DSP path's step_block in calls of 16 built
  with -DMGRADE_BLOCK_PAIRS (instructions per step of the block pass), TensorFlow Lite Micro with
  CMSIS-NN's DSP kernels;
- Cortex-M55: the portable C, the DSP path, Helium (MVE dot products), Helium with block pairs,
  TensorFlow Lite Micro with CMSIS-NN (built for the M55: its MVE kernels).
Estimated cycles (Cortex-M4 only: the one core here with a documented timing model checked against
published boards; no wait states) come from one more traced run per row. Every c row's outputs must
hash as the export's integer mirror's (bit-exact) and the block pass must equal the single steps.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("digits", "speech-commands", "keywords_frames")
# (cpu, label, dsp, defines, block): the c rows; "block": report the block pass's instructions per step
C_ROWS = (("cortex-m4", "portable C", False, (), False),
          ("cortex-m4", "DSP (SMLAD)", True, (), False),
          ("cortex-m4", "DSP, step_block pairs", True, ("MGRADE_BLOCK_PAIRS",), True),
          ("cortex-m55", "portable C", False, (), False),
          ("cortex-m55", "DSP (SMLAD)", True, (), False),
          ("cortex-m55", "Helium (MVE)", True, ("MGRADE_USE_MVE",), False),
          ("cortex-m55", "Helium, step_block pairs", True, ("MGRADE_USE_MVE", "MGRADE_BLOCK_PAIRS"), True))
TFLM_CPUS = ("cortex-m4", "cortex-m55")
CYCLE_CPUS = ("cortex-m4",)


def model_rows(model: str, work: Path) -> list[dict]:
    from benchmarks.board_table import bundles
    from mgrade_edge.analytic import step_macs
    from mgrade_edge.board.c_golden import board_test_c
    from mgrade_edge.board.tflm_golden import board_test
    from mgrade_edge.config import MGRADEConfig
    from mgrade_edge.manifest import read_manifest

    c = bundles(work, ("--target", "c", "--quant", "int8"), "c", (model,))[model]
    tflm = bundles(work, ("--target", "tflm"), "tflm", (model,))[model]
    macs = step_macs(MGRADEConfig(**read_manifest(c)["config"]))
    reference = {}
    rows = []
    for cpu in TFLM_CPUS:
        r = board_test(tflm, cpu=cpu, cycles=cpu in CYCLE_CPUS)
        reference[cpu] = r["instructions_per_step"] if r["passed"] else None
        rows.append(row(model, cpu, "TFLite Micro + CMSIS-NN", r["passed"], r["instructions_per_step"], macs,
                        r.get("estimated_cycles"), None))
        print(f"done {model} tflm {cpu}", file=sys.stderr, flush=True)
    for cpu, label, dsp, defines, block in C_ROWS:
        r = board_test_c(c, cpu=cpu, dsp=dsp, defines=defines, cycles=cpu in CYCLE_CPUS and not block)
        ok = r["passed"] and r["bit_exact_vs_mirror"] and r["block_identical"]
        ips = r["instructions_per_step_in_blocks"] if block else r["instructions_per_step"]
        rows.append(row(model, cpu, label, ok, ips, macs, r.get("estimated_cycles"), reference.get(cpu),
                        r["ram_bytes"], r["step_flash_bytes"]))
        print(f"done {model} c {cpu} {label}", file=sys.stderr, flush=True)
    return rows


def row(model, cpu, label, passed, ips, macs, cycles, reference, ram=None, flash=None) -> dict:
    return {"model": model, "cpu": cpu, "variant": label, "passed": bool(passed), "instructions_per_step": ips,
            "macs_per_step": macs, "instructions_per_mac": round(ips / macs, 2) if ips else None,
            "estimated_cycles_nominal": cycles and cycles["nominal"],
            "x_fewer_than_tflm": round(reference / ips, 2) if ips and reference else None,
            "ram_bytes": ram, "step_flash_bytes": flash}


def table(rows: list[dict]) -> list[str]:
    out = ["| model | cpu | variant | passed | instructions/step | instructions/MAC | est. cycles (M4) | "
           "x fewer than TFLM | RAM | step flash |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        def cell(v, fmt="{:,}"):
            return "n/a" if v is None else fmt.format(v)
        out.append(f"| {r['model']} | {r['cpu']} | {r['variant']} | {'yes' if r['passed'] else 'NO'} | "
                   f"{cell(r['instructions_per_step'])} | {cell(r['instructions_per_mac'], '{:.2f}')} | "
                   f"{cell(r['estimated_cycles_nominal'])} | {cell(r['x_fewer_than_tflm'], '{:.2f}x')} | "
                   f"{cell(r['ram_bytes'])} | {cell(r['step_flash_bytes'])} |")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--models", default=",".join(MODELS))
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models.split(","):
            if model not in MODELS:
                raise SystemExit(f"unknown model {model!r}: choose from {', '.join(MODELS)}")
            work = Path(tmp) / model
            work.mkdir()
            rows += model_rows(model, work)
    print("\n".join(table(rows)))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
