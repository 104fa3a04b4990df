"""`make bench`: every benchmark of examples/digits.pt in one run, engines side by side.

1. per-step latency of every engine (torch eager, onnxruntime, LiteRT, TFLite Micro), interleaved;
2. the streaming int8 step vs re-running the non-streaming model over W = 64, 256, 1024 inputs
   (latency per output step and TFLite Micro arena);
3. accuracy, agreement and error of every precision on the digits test set;
4. parameters, model file bytes, measured TFLite Micro arenas and state bytes.
Writes results.json (every raw number plus machine information) and results.md (the tables, also
printed). Takes about 10 minutes on a 2-core machine; `--quick` is a ~2 minute smoke run.

    .venv/bin/python benchmarks/run_all.py [--quick] [--out-dir DIR] [--artifacts-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the benchmarks package importable
    sys.path.insert(0, str(ROOT))


@dataclass(frozen=True)
class Settings:
    latency_steps: int  # timed calls per engine (reported medians need >= 1000)
    latency_block: int  # calls per engine per round-robin turn
    latency_warmup: int
    windows: tuple[int, ...]
    window_time_budget_s: float  # interleaved timing time per window length (sets the number of rounds)
    window_min_rounds: int
    validate_steps: int  # long-stream steps of each validation
    validate_max_sequences: int | None  # None = the whole digits test set


FULL = Settings(latency_steps=5000, latency_block=100, latency_warmup=200, windows=(64, 256, 1024),
                window_time_budget_s=3.0, window_min_rounds=10, validate_steps=2000, validate_max_sequences=None)
QUICK = Settings(latency_steps=300, latency_block=50, latency_warmup=20, windows=(64,),
                 window_time_budget_s=0.5, window_min_rounds=3, validate_steps=200, validate_max_sequences=40)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="benchmarks/run_all.py", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer steps, W=64 only and 40 test sequences: checks the suite runs, numbers are "
                             "not the reference ones (default output directory: a temporary one)")
    parser.add_argument("--out-dir", type=Path, default=None,
                        help="where results.json and results.md go (default: benchmarks/, or "
                             "$TMPDIR/mgrade-bench-quick with --quick so a quick run never replaces the full results)")
    parser.add_argument("--artifacts-dir", type=Path, default=None,
                        help="keep the exported artifacts here (default: a temporary directory, deleted at the end)")
    parser.add_argument("--render-only", action="store_true",
                        help="measure nothing: re-render results.md (and the goals) from results.json in --out-dir")
    parser.add_argument("--reuse-artifacts", action="store_true",
                        help="with --artifacts-dir: keep artifacts already there that were exported from the same "
                             "checkpoint instead of exporting again")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.reuse_artifacts and args.artifacts_dir is None:
        parser.error("--reuse-artifacts needs --artifacts-dir DIR (the default directory is temporary)")
    if args.out_dir is None:
        args.out_dir = Path(tempfile.gettempdir()) / "mgrade-bench-quick" if args.quick else ROOT / "benchmarks"
    return args


def run(settings: Settings, artifacts_dir: Path, reuse: bool = False, log=print) -> dict:
    from benchmarks import accuracy, common, latency

    results: dict = {"machine": common.machine_info(), "settings": asdict(settings)}
    timings = results["section_seconds"] = {}

    def section(name: str, title: str):
        log(f"[{time.strftime('%H:%M:%S')}] {title}")
        timings[name] = time.perf_counter()

    def done(name: str):
        timings[name] = round(time.perf_counter() - timings[name], 1)

    section("export", "exporting artifacts")
    artifacts = common.export_artifacts(artifacts_dir, log, reuse)
    done("export")
    step = common.load_step()
    stream = common.input_stream(settings.latency_warmup + settings.latency_steps)

    section("latency", f"per-step latency, {settings.latency_steps} calls per engine")
    results["latency"] = latency.measure_latency(artifacts, step, stream, settings.latency_steps,
                                                 settings.latency_block, settings.latency_warmup)
    done("latency")

    section("accuracy", "accuracy per precision (validate_artifact)")
    results["accuracy"] = accuracy.measure_accuracy(artifacts, settings.validate_steps,
                                                    settings.validate_max_sequences, log)
    done("accuracy")
    section("memory", "parameters, flash, TFLite Micro arenas")
    results["memory"] = accuracy.measure_memory(artifacts, log)
    done("memory")

    section("window_vs_stream", f"streaming vs window re-inference, W = {', '.join(map(str, settings.windows))}")
    results["window_vs_stream"] = measure_window_part(settings, artifacts, step, stream, log)
    done("window_vs_stream")
    results["machine"]["load_average_at_end"] = list(os.getloadavg())
    return results


def measure_window_part(settings: Settings, artifacts: dict, step, stream, log) -> dict:
    from benchmarks import window_vs_stream
    from benchmarks.common import CHECKPOINT
    from mgrade_edge.checkpoint import load_checkpoint
    from mgrade_edge.manifest import read_manifest
    from mgrade_edge.pipeline import calibration_sequences
    from mgrade_edge.quantize import calibration_set
    from mgrade_edge.runtime import open_runner

    # The same calibration streams as the exported int8 models (the pipeline's defaults).
    sequences, source = calibration_sequences(load_checkpoint(CHECKPOINT), None)
    calibration = calibration_set(step, sequences, n_sequences=8, source=source)
    directory = artifacts["tflite-int8-internal"]
    model_bytes = (Path(directory) / read_manifest(directory)["model_file"]).read_bytes()
    runners = {engine: open_runner(directory, engine) for engine in ("tflm", "litert")}
    return window_vs_stream.measure_windows(step, list(settings.windows), calibration, model_bytes, runners, stream,
                                            settings.window_time_budget_s, settings.window_min_rounds, log)


def write_outputs(results: dict, out_dir: Path) -> tuple[Path, Path]:
    from benchmarks.report import render_markdown
    from mgrade_edge.jsonutil import dumps

    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "results.json", out_dir / "results.md"
    json_path.write_text(dumps(results) + "\n")
    md_path.write_text(render_markdown(results))
    return json_path, md_path


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from benchmarks.report import evaluate_goals, render_markdown

    if args.render_only:
        import json

        results = json.loads((args.out_dir / "results.json").read_text())
        results["goals"] = evaluate_goals(results)
        json_path, md_path = write_outputs(results, args.out_dir)
        print(render_markdown(results))
        print(f"re-rendered {md_path} from {json_path} (no measurement)")
        return 0
    settings = QUICK if args.quick else FULL
    start = time.perf_counter()
    if args.artifacts_dir is not None:
        results = run(settings, args.artifacts_dir, args.reuse_artifacts)
    else:
        with tempfile.TemporaryDirectory(prefix="mgrade-bench-") as tmp:
            results = run(settings, Path(tmp))
    results["quick"] = bool(args.quick)
    results["elapsed_s"] = round(time.perf_counter() - start, 1)
    results["goals"] = evaluate_goals(results)
    json_path, md_path = write_outputs(results, args.out_dir)
    print()
    print(render_markdown(results))
    print(f"wrote {json_path} and {md_path} in {results['elapsed_s'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
