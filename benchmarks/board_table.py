"""TFLite Micro bundles on real TensorFlow Lite Micro, and the native C step, per CPU: arena, RAM,
flash, instructions per step.

    TFLM_DIR=../shared/third_party/tflite-micro PYTHONPATH=. python benchmarks/board_table.py [--json OUT]
        [--targets tflm,c,fused]

Exports the digits example and the untrained speech-commands preset as int8 internal-state tflm
bundles, then runs `board-test` on the host (reference kernels) and on Cortex-M4 / Cortex-M55 under
QEMU (CMSIS-NN kernels). Arena = the smallest that works on that CPU, probed one process/boot per
probe; instructions are QEMU `-icount` counts, not cycles. The first run compiles TensorFlow Lite
Micro for each CPU (minutes); later runs reuse the object cache.

The c rows (`--target c --quant int8` bundles of the same two models, `board-test` of the C golden
program: no TFLite Micro needed): digits on the host, Cortex-M4 and Cortex-M55, the speech-commands
preset on the host and Cortex-M4, each Cortex-M also with -DMGRADE_USE_DSP. RAM = state + scratch +
I/O from the linked ELF's symbols + the step's stack high-water by stack painting; "identical" says
whether the output hash equals the hash of the Python integer mirror's outputs (so every row with
"yes" has bit-identical outputs).
The same two models exported with `--weights int16` (the dense weights stored in 16 bits: no
sign-extends in the SMLAD loop, twice their flash) run with -DMGRADE_USE_DSP on Cortex-M4 (and
digits on Cortex-M55).

The tflm-fused rows (`--target tflm-fused --quant int8`: the whole step as one custom op, the C
step inside TFLite Micro): digits on the host, Cortex-M4 and Cortex-M55, the speech-commands preset
on the host and Cortex-M4, each Cortex-M also with the step's -DMGRADE_USE_DSP. model_ram_bytes =
probed arena + the bundle's objects outside it (MicroInterpreter, resolver) + the step's static
scratch; "x fewer instructions" divides the builtin tflm row of the same model and CPU (same run).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CPUS = ("host", "cortex-m4", "cortex-m55")
FIELDS = ("arena_bytes_min", "arena_used_bytes", "ram_bytes", "model_ram_bytes", "flash_bytes", "model_flash_bytes",
          "instructions_per_step", "analytic_min_ram_bytes")
FUSED_FIELDS = ("arena_bytes_min", "interpreter_objects_bytes", "step_scratch_bytes", "model_ram_bytes",
                "analytic_min_ram_bytes", "ram_over_minimum", "flash_bytes", "instructions_per_step",
                "x_fewer_instructions")


def cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "mgrade_edge", *args], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)


C_FIELDS = ("ram_bytes", "state", "scratch", "io", "stack", "step_flash_bytes", "instructions_per_step",
            "instructions_per_mac", "analytic_min_ram_bytes", "ram_over_minimum")
C_RUNS = {"digits": ("host", "cortex-m4", "cortex-m55"), "speech-commands": ("host", "cortex-m4")}
# `export --weights int16` bundles of the same models: their point is the DSP path's speed, so only there
C_W16_RUNS = {"digits": ("cortex-m4", "cortex-m55"), "speech-commands": ("cortex-m4",)}


def bundles(work: Path, target: tuple[str, ...] = ("--target", "tflm"), suffix: str = "tflm",
            models: tuple[str, ...] = ("digits", "speech-commands")) -> dict[str, Path]:
    """One bundle per model: examples/<model>.pt, or the untrained speech-commands preset calibrated on
    seeded noise (it has no task data)."""
    out = {}
    for name in models:
        calib: tuple[str, ...] = ()
        if name == "speech-commands":
            ckpt = work / "speech_commands.pt"
            if not ckpt.exists():
                cli("init", "--preset", "speech-commands", "--out", str(ckpt))
            calib = ("--calib", str(noise_calibration(work)))
        else:
            ckpt = ROOT / "examples" / f"{name}.pt"
        out[name] = work / f"{name}_{suffix}"
        cli("export", str(ckpt), *target, "--out", str(out[name]), "--no-validate", *calib)
    return out


def c_rows(work: Path) -> list[dict]:
    from mgrade_edge.analytic import step_macs
    from mgrade_edge.board.c_golden import board_test_c
    from mgrade_edge.config import MGRADEConfig
    from mgrade_edge.manifest import read_manifest

    rows = []
    runs = [(model, bundle, "int8", cpu, dsp)
            for model, bundle in bundles(work, ("--target", "c", "--quant", "int8"), "c_int8").items()
            for cpu in C_RUNS[model] for dsp in ((False, True) if cpu != "host" else (False,))]
    runs += [(model, bundle, "int16", cpu, True)
             for model, bundle in bundles(work, ("--target", "c", "--quant", "int8", "--weights", "int16"),
                                          "c_int8_w16").items() for cpu in C_W16_RUNS[model]]
    macs_of = {}  # bundle -> multiply-accumulates per step (its manifest read once)
    for model, bundle, weights, cpu, dsp in runs:
        if bundle not in macs_of:
            macs_of[bundle] = step_macs(MGRADEConfig(**read_manifest(bundle)["config"]))
        macs = macs_of[bundle]
        r = board_test_c(bundle, cpu=cpu, dsp=dsp)
        ips = r["instructions_per_step"]
        kernels = r["kernels"] + ("-w16" if weights == "int16" else "")
        rows.append({"model": model, "cpu": cpu, "kernels": kernels, "weights": weights, "passed": r["passed"],
                     "identical": r["bit_exact_vs_mirror"], "output_hash": r["output_hash"],
                     **{k: r[k] for k in ("ram_bytes", "step_flash_bytes", "instructions_per_step",
                                          "analytic_min_ram_bytes", "ram_over_minimum")},
                     **r["ram_parts"], "macs_per_step": macs,
                     "instructions_per_mac": None if ips is None else round(ips / macs, 2)})
        print(f"done c {model} ({weights} weights) on {cpu}{' dsp' if dsp else ''}", file=sys.stderr,
              flush=True)
    return rows


def yes(flag) -> str:
    return "yes" if flag else "NO"


def print_table(lead: tuple[str, ...], fields: tuple[str, ...], rows: list[dict], lead_cells) -> None:
    """A markdown table: the `lead` columns (lead_cells(row) -> their texts), then one per field."""
    print("| " + " | ".join(lead + fields) + " |")
    print("|" + "---|" * (len(lead) + len(fields)))
    for r in rows:
        cells = [f"{r[k]:,}" if isinstance(r[k], int) else ("n/a" if r[k] is None else str(r[k])) for k in fields]
        print("| " + " | ".join([*lead_cells(r), *cells]) + " |")


def print_c_table(rows: list[dict]) -> None:
    print("\nNative C step (`--target c --quant int8`, golden program via `board-test`):\n")
    print_table(("model", "cpu", "variant", "passed", "identical"), C_FIELDS, rows,
                lambda r: [r["model"], r["cpu"], r["kernels"], yes(r["passed"]), yes(r["identical"])])
    hashes = {m: {r["output_hash"] for r in rows if r["model"] == m} for m in C_RUNS}
    print("\noutput hash per model on every CPU and variant: "
          + "; ".join(f"{m} {', '.join(sorted(h))}" for m, h in hashes.items()))


def fused_rows(work: Path, builtin: list[dict]) -> list[dict]:
    from mgrade_edge.board.tflm_golden import board_test

    rows = []
    for model, bundle in bundles(work, ("--target", "tflm-fused", "--quant", "int8"), "fused_int8").items():
        for cpu in C_RUNS[model]:
            for dsp in (False, True) if cpu != "host" else (False,):
                r = board_test(bundle, cpu=cpu, dsp=dsp)
                ref = next((b for b in builtin if b["model"] == model and b["cpu"] == cpu and b["passed"]), None)
                ips, ref_ips = r["instructions_per_step"], ref and ref["instructions_per_step"]
                measured = ("arena_bytes_min", "interpreter_objects_bytes", "step_scratch_bytes", "model_ram_bytes",
                            "analytic_min_ram_bytes", "flash_bytes", "instructions_per_step")
                rows.append({"model": model, "cpu": cpu, "variant": "arm-dsp" if dsp else "portable-c",
                             "passed": r["passed"], **{k: r[k] for k in measured},
                             "ram_over_minimum": round(r["model_ram_bytes"] / r["analytic_min_ram_bytes"], 2)
                             if r["model_ram_bytes"] and r["analytic_min_ram_bytes"] else None,
                             "x_fewer_instructions": round(ref_ips / ips, 2) if ips and ref_ips else None})
                print(f"done fused {model} on {cpu}{' dsp' if dsp else ''}", file=sys.stderr, flush=True)
    return rows


def print_fused_table(rows: list[dict]) -> None:
    print("\nOne custom op (`--target tflm-fused --quant int8`, golden program via `board-test`):\n")
    print_table(("model", "cpu", "variant", "passed"), FUSED_FIELDS, rows,
                lambda r: [r["model"], r["cpu"], r["variant"], yes(r["passed"])])


def noise_calibration(work: Path) -> Path:
    """The untrained preset has no task data: seeded noise streams of raw-audio shape [N, T, 1]."""
    import numpy as np

    path = work / "noise.npy"
    np.save(path, np.random.default_rng(0).normal(0, 0.3, size=(4, 1024, 1)).astype(np.float32))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="Also write the rows as JSON.")
    parser.add_argument("--targets", default="tflm,c,fused", help="Comma-separated: tflm, c, fused (default all).")
    args = parser.parse_args()
    targets = set(args.targets.split(","))
    from mgrade_edge.board.tflm_golden import board_test
    from mgrade_edge.errors import UserError

    rows, crows, frows = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        if "c" in targets:
            crows = c_rows(Path(tmp))
        for model, bundle in (bundles(Path(tmp)) if "tflm" in targets else {}).items():
            for cpu in CPUS:
                try:
                    report = board_test(bundle, cpu=cpu)
                except UserError as exc:  # e.g. a program too large for the machine's code memory
                    rows.append({"model": model, "cpu": cpu, "kernels": "-", "passed": False, "error": str(exc),
                                 **{k: None for k in FIELDS}})
                    continue
                rows.append({"model": model, "cpu": cpu, "kernels": report["kernels"], "passed": report["passed"],
                             **{k: report[k] for k in FIELDS}})
                print(f"done {model} on {cpu}", file=sys.stderr, flush=True)
        if "fused" in targets:
            frows = fused_rows(Path(tmp), rows)
    if rows:
        print_table(("model", "cpu", "kernels", "passed"), FIELDS, rows,
                    lambda r: [r["model"], r["cpu"], r["kernels"], yes(r["passed"])])
    for r in rows:
        if "error" in r:
            print(f"\n{r['model']} on {r['cpu']}: {r['error']}")
    if crows:
        print_c_table(crows)
    if frows:
        print_fused_table(frows)
    if args.json:
        args.json.write_text(json.dumps(rows + [{"target": "c", **r} for r in crows]
                                        + [{"target": "tflm-fused", **r} for r in frows], indent=1))


if __name__ == "__main__":
    main()
