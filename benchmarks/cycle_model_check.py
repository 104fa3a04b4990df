"""The cycle model against published real-board results: MLPerf Tiny's models on the NUCLEO-L4R5ZI preset.

Runs each reference model through `board-test MODEL.tflite --board stm32l4r5` (TensorFlow Lite Micro with
today's CMSIS-NN from $TFLM_DIR, Cortex-M4 under QEMU, the executed instructions traced and weighted by
the Cortex-M4 TRM's timings and the board's flash model) and prints the estimated inferences per second
beside the published ones (../shared/mlperf-tiny/README.md). The published runs used other software
versions, so the comparison bounds the model; it does not fit it.

    TFLM_DIR=../shared/third_party/tflite-micro PYTHONPATH=. python benchmarks/cycle_model_check.py [--json F]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MLPERF = ROOT.parent / "shared" / "mlperf-tiny"
# inferences per second at 120 MHz, MLPerf Tiny closed division, NUCLEO-L4R5ZI (../shared/mlperf-tiny/README.md)
PUBLISHED = {"kws_ref_model.tflite": {"TFLite Micro 2.3.1 (v0.5)": 5.497, "microTVM + CMSIS-NN (v1.1)": 10.019,
                                      "ST X-CUBE-AI 8.0 (v1.1)": 13.759}}


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from benchmarks.update_docs import cycle_check_md
    from mgrade_edge.board.boards import get_board
    from mgrade_edge.export.tflm.any_model import board_test_tflite

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args()
    board = get_board("stm32l4r5")
    rows = []
    for name in ("kws_ref_model.tflite", "str_ww_ref_model.tflite"):
        r = board_test_tflite(MLPERF / name, cpu=board.cpu, cycles=True, memory=board.memory)
        c = r["estimated_cycles"]
        rate = {k: board.clock_mhz * 1e6 / c[k] for k in ("low", "nominal", "high")}
        rows.append({"model": name, "instructions": r["instructions_per_invoke"], "estimated_cycles": c,
                     "cycles_per_instruction": r["estimated_cycles_model"]["model"]["cycles_per_instruction"],
                     "estimated_inferences_per_s": {k: round(v, 2) for k, v in rate.items()},
                     "published_inferences_per_s": PUBLISHED.get(name, {}), "arena_bytes_min": r["arena_bytes_min"]})
    print("\n".join(cycle_check_md({"board": board.name, "rows": rows})))
    if args.json:
        args.json.write_text(json.dumps({"board": board.name, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
