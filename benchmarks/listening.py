"""The always-on listener, side by side with MLPerf Tiny's streaming wakeword reference: per model its
features, parameters, MACs per hop, the whole audio path's RAM, flash and instructions per hop on a
Cortex-M4 under QEMU (front end / network), the duty cycle at 120 MHz (estimated cycles, stm32l4r5),
keyword accuracy (float and the int8 C step) and the wakeword score on the 20-minute stream.

    TFLM_DIR=../shared/third_party/tflite-micro PYTHONPATH=. python benchmarks/listening.py [--json F] [--minutes M]

Our rows: examples/wakeword.pt and examples/keywords_frames.pt exported to c-int8 and board-tested with
their audio path (--dsp). MLPerf's row: str_ww_ref_model.tflite under TFLite Micro + CMSIS-NN on the same
QEMU core, the network alone, one inference per 32 ms hop; its stream score uses its own front end
settings (64 ms window, 32 ms hop) on the same synthetic stream.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MLPERF = ROOT.parent / "shared" / "mlperf-tiny" / "str_ww_ref_model.tflite"
MLPERF_HOPS_PER_S = 1 / 0.032
CLOCK_HZ = 120e6
MODELS = ("wakeword", "keywords_frames")


def our_row(name: str, tmp: Path, minutes: float) -> dict:
    from mgrade_edge.analytic import step_macs
    from mgrade_edge.board.audio_golden import board_test_audio
    from mgrade_edge.board.boards import get_board
    from mgrade_edge.checkpoint import load_checkpoint
    from mgrade_edge.model import count_parameters
    from mgrade_edge.pipeline import export_checkpoint
    from mgrade_edge.tasks import frontend_spec
    from mgrade_edge.validate import validate_artifact
    from mgrade_edge.wakeword_stream.command import run_evaluate_stream

    ckpt_path = ROOT / "examples" / f"{name}.pt"
    ckpt = load_checkpoint(ckpt_path)
    meta = ckpt.metadata
    front = frontend_spec(meta["task"], meta.get("task_options"))
    bundle = tmp / f"{name}_c"
    export_checkpoint(ckpt_path, "c-int8", bundle, validate=False)
    board = get_board("stm32l4r5")
    audio = board_test_audio(bundle, "cortex-m4", dsp=True, cycles=True, memory=board.memory)
    per_hop = audio["instructions_per_hop"]
    row = {"model": f"mGRADE {name}", "features": front.describe(), "params": count_parameters(ckpt.model),
           "macs_per_hop": step_macs(ckpt.config), "hops_per_second": front.steps_per_second,
           "ram_bytes": audio["ram_bytes"], "flash_bytes": audio["flash_bytes"],
           "instructions_per_hop": per_hop, "bit_exact_on_m4": audio["passed"],
           "instructions_per_second": per_hop["total"] * front.steps_per_second,
           "duty_cycle_nominal": audio["estimated_cycles_per_hop"]["nominal"] * front.steps_per_second / CLOCK_HZ,
           "train": {k: meta.get(k) for k in ("train_seconds", "epochs_run", "seed")}}
    if meta["task"] == "keywords":
        v = validate_artifact(ckpt_path, bundle, steps=2000)
        row["accuracy_float"], row["accuracy_int8_c"] = v["accuracy_ref"], v["accuracy_artifact"]
    else:
        report, _, _ = run_evaluate_stream([ckpt_path, bundle], minutes, 50, 0, 0.5, None, None, 0.0, 0.0)
        row["stream"] = {d["name"]: {k: d[k] for k in ("true_positives", "false_negatives", "false_positives")}
                         for d in report["detectors"]}
        row["stream_int8_c"] = row["stream"][report["detectors"][1]["name"]]
    return row


def mlperf_row(minutes: float) -> dict:
    from mgrade_edge.board.boards import get_board
    from mgrade_edge.export.tflm.any_model import board_test_tflite
    from mgrade_edge.wakeword_stream.command import run_evaluate_stream

    board = get_board("stm32l4r5")
    r = board_test_tflite(MLPERF, "cortex-m4", "cmsis-nn", cycles=True, memory=board.memory)
    report, _, _ = run_evaluate_stream([MLPERF], minutes, 50, 0, 0.5, None, None, 0.0, 0.0)
    d = report["detectors"][0]
    return {"model": "MLPerf str_ww_ref_model (TFLM + CMSIS-NN)", "features": d["features"],
            "params": None, "macs_per_hop": 652_551, "hops_per_second": MLPERF_HOPS_PER_S,
            "ram_bytes": r["arena_bytes_min"], "flash_bytes": r["flash_bytes"],
            "instructions_per_hop": {"front_end": None, "network": r["instructions_per_invoke"],
                                     "total": r["instructions_per_invoke"]},
            "instructions_per_second": r["instructions_per_invoke"] * MLPERF_HOPS_PER_S,
            "duty_cycle_nominal": r["estimated_cycles"]["nominal"] * MLPERF_HOPS_PER_S / CLOCK_HZ,
            "stream_int8_c": {k: d[k] for k in ("true_positives", "false_negatives", "false_positives")}}


def markdown(rows: list[dict], minutes: float) -> str:
    head = ("| model | features | params | MACs/hop | RAM | flash | instructions/hop (front end / network) "
            "| M instr/s of audio | duty @120 MHz (est.) | keywords acc. float / int8 C | wakeword found / missed / "
            f"false alarms ({minutes:g} min) |")
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        i = r["instructions_per_hop"]
        fe = "-" if i["front_end"] is None else f"{i['front_end']:,}"
        acc = (f"{r['accuracy_float']:.1%} / {r['accuracy_int8_c']:.1%}" if "accuracy_float" in r else "")
        s = r.get("stream_int8_c")
        ww = f"{s['true_positives']} / {s['false_negatives']} / {s['false_positives']}" if s else ""
        params = "" if r["params"] is None else f"{r['params']:,}"
        lines.append(f"| {r['model']} | {r['features']} | {params} | {r['macs_per_hop']:,} | {r['ram_bytes']:,} B "
                     f"| {r['flash_bytes']:,} B | {i['total']:,} ({fe} / {i['network']:,}) "
                     f"| {r['instructions_per_second'] / 1e6:.2f} | {r['duty_cycle_nominal']:.1%} | {acc} | {ww} |")
    return "\n".join(lines)


def main() -> None:
    sys.path.insert(0, str(ROOT))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--minutes", type=float, default=20.0)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in MODELS:
            if (ROOT / "examples" / f"{name}.pt").is_file():
                rows.append(our_row(name, Path(tmp), args.minutes))
    rows.append(mlperf_row(args.minutes))
    print(markdown(rows, args.minutes))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str))


if __name__ == "__main__":
    main()
