"""Training throughput on this CPU: samples per second of one single-threaded process against two
processes under torchrun (DistributedDataParallel, gloo, one thread each), side by side in one run.

    TFLM_DIR=../shared/third_party/tflite-micro PYTHONPATH=. python benchmarks/train_throughput.py [--json F]

Each row trains a short run of a bundled recipe (the recipe's model, fewer clips and epochs) twice and
reads samples/s from the runs' metrics logs (the mean over epochs after the first, which pays warm-up).
Run it on an idle machine: both runs share its cores.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# name -> train arguments (a short run of each recipe's model)
RECIPES = {
    "digits": ["--task", "digits", "--epochs", "4"],
    "spoken-digits": ["--task", "spoken-digits", "--epochs", "3"],
    "keywords raw 8 kHz": ["--task", "keywords", "--sample-rate", "8000", "--train-clips", "256", "--val-clips", "32",
                           "--test-clips", "32", "--d-model", "32", "--kernel-size", "64", "--taps", "8", "--conv-ln",
                           "--rec-ln", "--batch-size", "16", "--epochs", "3"],
    "keywords frames 16 kHz": ["--task", "keywords", "--features", "filterbank", "--sample-rate", "16000",
                               "--train-clips", "2048", "--val-clips", "64", "--test-clips", "64", "--d-model", "64",
                               "--epochs", "3"],
}


def samples_per_s(metrics: Path) -> float:
    with open(metrics) as f:
        rows = [float(r["samples_per_s"]) for r in csv.DictReader(f)]
    later = rows[1:] or rows
    return sum(later) / len(later)


def train(args: list[str], out: Path, processes: int) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    head = [sys.executable] + (["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(processes)]
                               if processes > 1 else [])
    subprocess.run([*head, "-m", "mgrade_edge", "train", *args, "--out", str(out), "--force"], env=env, check=True,
                   capture_output=True, text=True)
    return samples_per_s(out.with_name(out.name + ".metrics.csv"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, recipe in RECIPES.items():
            one = train(recipe, Path(tmp) / "one.pt", 1)
            two = train(recipe, Path(tmp) / "two.pt", 2)
            rows.append({"recipe": name, "one_process": round(one, 1), "two_processes": round(two, 1),
                         "ratio": round(two / one, 2)})
    print("| recipe | 1 process (samples/s) | 2 processes | ratio |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['recipe']} | {r['one_process']:,} | {r['two_processes']:,} | {r['ratio']:.2f}x |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
