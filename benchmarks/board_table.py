"""TFLite Micro bundles on real TensorFlow Lite Micro, per CPU: arena, RAM, flash, instructions per step.

    TFLM_DIR=../shared/third_party/tflite-micro PYTHONPATH=. python benchmarks/board_table.py [--json OUT]

Exports the digits example and the untrained speech-commands preset as int8 internal-state tflm
bundles, then runs `board-test` on the host (reference kernels) and on Cortex-M4 / Cortex-M55 under
QEMU (CMSIS-NN kernels). Arena = the smallest that works on that CPU, probed one process/boot per
probe; instructions are QEMU `-icount` counts, not cycles. The first run compiles TensorFlow Lite
Micro for each CPU (minutes); later runs reuse the object cache.
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
FIELDS = ("arena_bytes_min", "arena_used_bytes", "ram_bytes", "flash_bytes", "model_flash_bytes",
          "instructions_per_step", "analytic_min_ram_bytes")


def cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "mgrade_edge", *args], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)


def bundles(work: Path) -> dict[str, Path]:
    preset = work / "speech_commands.pt"
    cli("init", "--preset", "speech-commands", "--out", str(preset))
    out = {}
    for name, ckpt in (("digits", ROOT / "examples" / "digits.pt"), ("speech-commands", preset)):
        out[name] = work / f"{name}_tflm"
        calib = () if name == "digits" else ("--calib", str(noise_calibration(work)))
        cli("export", str(ckpt), "--target", "tflm", "--out", str(out[name]), "--no-validate", *calib)
    return out


def noise_calibration(work: Path) -> Path:
    """The untrained preset has no task data: seeded noise streams of raw-audio shape [N, T, 1]."""
    import numpy as np

    path = work / "noise.npy"
    np.save(path, np.random.default_rng(0).normal(0, 0.3, size=(4, 1024, 1)).astype(np.float32))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="Also write the rows as JSON.")
    args = parser.parse_args()
    from mgrade_edge.board.tflm_golden import board_test
    from mgrade_edge.errors import UserError

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model, bundle in bundles(Path(tmp)).items():
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
    print("| model | cpu | kernels | passed | " + " | ".join(FIELDS) + " |")
    print("|" + "---|" * (4 + len(FIELDS)))
    for r in rows:
        cells = [f"{r[k]:,}" if isinstance(r[k], int) else ("n/a" if r[k] is None else str(r[k])) for k in FIELDS]
        print(f"| {r['model']} | {r['cpu']} | {r['kernels']} | {'yes' if r['passed'] else 'NO'} | "
              + " | ".join(cells) + " |")
    for r in rows:
        if "error" in r:
            print(f"\n{r['model']} on {r['cpu']}: {r['error']}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
