"""Every quantised target of one checkpoint, side by side against the float torch step.

    PYTHONPATH=. python benchmarks/workload_targets.py examples/keywords.pt [--steps 100000] [--jobs 1]
        [--targets tflite-int8,tflite-int16x8,c:int8,c:int16x8] [--out-dir DIR] [--json FILE]

For each target: `mgrade-edge export CKPT --target T [--quant Q] --out DIR --no-validate`, then
`mgrade-edge validate CKPT DIR --steps STEPS --json` (the checkpoint's test set, each sequence from a
reset state, plus one long stream of them back to back). Targets run `--jobs` at a time, each in its
own process on one thread; the default is one at a time, which leaves a core to other work (a keywords
validate peaks at 1-4 GB, as it scores clips while they stream). Prints a markdown table of the targets
that validated and one line for each that did not.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

DEFAULT_TARGETS = "tflite-int8,tflite-int16x8,c:int8,c:int16x8"


def mgrade_edge() -> list[str]:
    return [sys.executable, "-m", "mgrade_edge"]


def export_and_validate(checkpoint: str, target: str, out: Path, steps: int) -> dict:
    """One target: export, validate; the validate report plus wall times."""
    name, _, quant = target.partition(":")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    export = mgrade_edge() + ["export", checkpoint, "--target", name, "--out", str(out), "--no-validate", "--force"]
    if quant:
        export += ["--quant", quant]
    subprocess.run(export, check=True, env=env, capture_output=True, text=True)
    exported = time.perf_counter()
    done = subprocess.run(mgrade_edge() + ["validate", checkpoint, str(out), "--steps", str(steps), "--json"],
                          env=env, capture_output=True, text=True)
    if done.returncode not in (0, 1):  # 1 = outside tolerance: still a report
        raise RuntimeError(f"validate {target} failed: {done.stderr.strip().splitlines()[-1:]}")
    report = json.loads(done.stdout)
    report.update(label=target.replace(":", " "), export_s=round(exported - start, 1),
                  validate_s=round(time.perf_counter() - exported, 1))
    return report


def table(reports: list[dict]) -> str:
    ref = reports[0]["accuracy_ref"]
    head = (f"| | max abs err | RMS err | cosine (sequences / long stream) | top-1 agreement | "
            f"accuracy (float {100 * ref:.2f}%) | drift ratio ({reports[0]['long_stream']['steps']:,} steps) "
            f"| within tolerance |")
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for r in reports:
        seq, long = r["test_sequences"], r["long_stream"]
        lines.append(f"| {r['label']} | {r['max_abs_err']:.3g} | {r['rms_err']:.3g} | {seq['cosine']:.5f} / "
                     f"{long['cosine']:.5f} | {100 * r['agreement']:.2f}% | {100 * r['accuracy_artifact']:.2f}% "
                     f"| {r['drift_ratio']:.2f} | {'yes' if r['within_tolerance'] else 'no'} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--targets", default=DEFAULT_TARGETS, help="comma-separated; TARGET:QUANT for tflm/c")
    parser.add_argument("--out-dir", type=Path, default=None, help="keep the artifacts here (default: a temp dir)")
    parser.add_argument("--json", type=Path, default=None, help="also write the reports here")
    args = parser.parse_args(argv)

    targets = [t for t in args.targets.split(",") if t]
    with tempfile.TemporaryDirectory() as tmp:
        root = args.out_dir or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(export_and_validate, args.checkpoint, t, root / t.replace(":", "-"), args.steps)
                       for t in targets]
            reports, failures = [], []
            for target, future in zip(targets, futures):
                try:
                    reports.append(future.result())
                except (RuntimeError, subprocess.CalledProcessError, ValueError) as error:  # keep the others
                    failures.append(f"- {target}: not measured ({error})")
    if not reports:
        print("\n".join(failures))
        return 1
    print(f"{args.checkpoint}: test set {reports[0]['test_sequences']['count']} x "
          f"{reports[0]['test_sequences']['steps_each']} steps, long stream {args.steps:,} steps")
    print(table(reports))
    for r in reports:
        print(f"- {r['label']}: export {r['export_s']} s, validate {r['validate_s']} s")
    if failures:
        print("\n".join(failures))
    if args.json:
        args.json.write_text(json.dumps(reports, indent=1))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
