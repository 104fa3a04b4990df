"""The TFLite Micro step's size per model: ops, tensors, smallest arena on the host and on Cortex-M4,
instructions per step, next to the analytic minimum.

    TFLM_DIR=../shared/third_party/tflite-micro PYTHONPATH=. python benchmarks/tflm_diet.py \
        [--json OUT] [--before benchmarks/tflm_diet_before.json] [--cpu cortex-m4] [--sigmoid int16|int8]

Exports the digits example and the untrained speech-commands preset as int8 internal-state tflm
bundles (as benchmarks/board_table.py does), reads the step graph (subgraph 0: ops, tensors; all
subgraphs: what the interpreter allocates structs for), probes the smallest arena with the TFLite
Micro Python interpreter (host, 64-bit, reference kernels) and with `board-test` on the CPUs given
(real TFLite Micro, CMSIS-NN, QEMU -icount: instruction counts, not cycles). With --before, a JSON
written by an earlier run (e.g. of an older commit: `PYTHONPATH=<old checkout> python
benchmarks/tflm_diet.py --json old.json`) is printed as the "before" rows with the ratios.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CALIBRATION_STREAMS = (4, 1024)


def cli(root: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "mgrade_edge", *args], cwd=root, check=True, stdout=subprocess.DEVNULL)


def export_bundles(root: Path, work: Path, extra: tuple[str, ...] = ()) -> dict[str, Path]:
    import numpy as np

    preset, noise = work / "speech_commands.pt", work / "noise.npy"
    cli(root, "init", "--preset", "speech-commands", "--out", str(preset))
    # the untrained preset has no task data: seeded noise streams of raw-audio shape [N, T, 1]
    np.save(noise, np.random.default_rng(0).normal(0, 0.3, size=(*CALIBRATION_STREAMS, 1)).astype(np.float32))
    out = {}
    for name, ckpt, calib in (("digits", root / "examples" / "digits.pt", ()),
                              ("speech-commands", preset, ("--calib", str(noise)))):
        out[name] = work / f"{name}_tflm"
        cli(root, "export", str(ckpt), "--target", "tflm", "--out", str(out[name]), "--no-validate", *calib, *extra)
    return out


def graph_counts(model_bytes: bytes) -> dict:
    from mgrade_edge.export import flatbuffer

    model = flatbuffer.read_model(model_bytes)
    step = model.subgraphs[0]
    return {"ops": len(step.operators or []), "tensors": len(step.tensors or []),
            "ops_all_subgraphs": sum(len(g.operators or []) for g in model.subgraphs),
            "tensors_all_subgraphs": sum(len(g.tensors or []) for g in model.subgraphs),
            "subgraphs": len(model.subgraphs), "model_bytes": len(model_bytes)}


def measure(bundle: Path, cpus: list[str]) -> dict:
    from mgrade_edge.board.tflm_golden import board_test
    from mgrade_edge.export.tflm.arena import measure_min_arena

    model_bytes = (bundle / "model.tflite").read_bytes()
    row = graph_counts(model_bytes)
    row["arena_min_host_python"] = measure_min_arena(model_bytes).minimum
    for cpu in cpus:
        report = board_test(bundle, cpu=cpu)
        row[f"passed_{cpu}"] = report["passed"]
        row[f"arena_min_{cpu}"] = report["arena_bytes_min"]
        if report["instructions_per_step"] is not None:  # QEMU counts; none on the host
            row[f"instructions_{cpu}"] = report["instructions_per_step"]
        row["analytic_min_ram_bytes"] = report["analytic_min_ram_bytes"]
    return row


def table(rows: dict[str, dict], before: dict[str, dict] | None) -> str:
    keys = list(dict.fromkeys(k for r in rows.values() for k in r if not k.startswith("passed_")))
    lines = ["| model | build | " + " | ".join(keys) + " |", "|" + "---|" * (2 + len(keys))]

    def cells(r):
        return " | ".join(f"{r[k]:,}" if isinstance(r.get(k), int) else str(r.get(k, "n/a")) for k in keys)

    for model, row in rows.items():
        old = (before or {}).get(model)
        if old:
            lines.append(f"| {model} | before | {cells(old)} |")
        lines.append(f"| {model} | {'after' if old else 'now'} | {cells(row)} |")
        if old:
            ratio = {k: f"{row[k] / old[k]:.2f}x" for k in keys
                     if isinstance(row.get(k), int) and isinstance(old.get(k), int) and old[k]}
            lines.append(f"| {model} | after/before | " + " | ".join(ratio.get(k, "") for k in keys) + " |")
    for model, row in rows.items():
        analytic = row.get("analytic_min_ram_bytes")
        ratios = [f"{k} {row[k] / analytic:.1f}x" for k in keys
                  if k.startswith("arena_min") and analytic and isinstance(row.get(k), int)]
        lines.append(f"\n{model}: arena / analytic minimum: " + ", ".join(ratios))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="Also write the rows as JSON.")
    parser.add_argument("--before", type=Path, help="JSON of an earlier run, printed as the before rows.")
    parser.add_argument("--cpu", action="append", help="board-test CPUs (default: cortex-m4; 'none' to skip)")
    parser.add_argument("--sigmoid", choices=("int16", "int8"), default=None,
                        help="export's --sigmoid (default: the export default, int16)")
    args = parser.parse_args()
    import mgrade_edge

    root = Path(mgrade_edge.__file__).resolve().parents[1]
    cpus = [c for c in (args.cpu or ["cortex-m4"]) if c != "none"]
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        extra = ("--sigmoid", args.sigmoid) if args.sigmoid else ()
        for model, bundle in export_bundles(root, Path(tmp), extra).items():
            rows[model] = measure(bundle, cpus)
            print(f"done {model}", file=sys.stderr, flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    before = json.loads(args.before.read_text()) if args.before else None
    print(table(rows, before))


if __name__ == "__main__":
    main()
