"""Time on the chip for the bundled examples: per core, instructions and estimated cycles per step of the
c-int8 step, and per board preset its steps per second and the verdict at the example's natural rate.

Each example is exported once (`--target c --quant int8`), each (core, variant) traced once under QEMU,
and the trace is weighted by every board preset's memory model on that core. Natural rates: keywords
8 kHz raw audio (one step a sample); spoken digits 100 MFCC frames/s (assumed 10 ms hop); digits 16 kHz
(pixels read as if they were an audio stream, the comparison of docs/timing.md).

    TFLM_DIR=../shared/third_party/tflite-micro PYTHONPATH=. python benchmarks/timing_table.py [--json F]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = {"digits": 16_000, "keywords": 8_000, "spoken_digits": 100}
# (core, variant): portable C, the Arm DSP path (SMLAD), or Helium (MVE dot products on the DSP path)
CORES = (("cortex-m0plus", "portable"), ("cortex-m3", "portable"), ("cortex-m4", "portable"), ("cortex-m4", "dsp"),
         ("cortex-m33", "dsp"), ("cortex-m7", "dsp"), ("cortex-m55", "dsp"), ("cortex-m55", "helium"),
         ("riscv32", "portable"))


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from benchmarks.update_docs import timing_table_md
    from mgrade_edge.board.boards import BOARDS, realtime_verdict
    from mgrade_edge.board.c_golden import (
        MVE_DEFINE,
        build_c_golden,
        object_flash,
        run_c_golden,
        step_function,
        step_object,
    )
    from mgrade_edge.board.cycles.estimate import NOT_MODELLED, estimate, pairs_in_pipeline, timing_for
    from mgrade_edge.board.cycles.trace import trace_calls
    from mgrade_edge.board.run import ticks_to_instructions
    from mgrade_edge.errors import UserError
    from mgrade_edge.pipeline import export_checkpoint

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, rate in EXAMPLES.items():
            bundle = Path(tmp) / name
            export_checkpoint(ROOT / "examples" / f"{name}.pt", "c-int8", bundle, validate=False)
            for cpu, variant in CORES:
                dsp, defines = variant == "dsp", ((MVE_DEFINE,) if variant == "helium" else ())
                try:
                    program, facts = build_c_golden(bundle, cpu, Path(tmp) / f"{name}-{cpu}-{variant}", dsp=dsp,
                                                    defines=defines)
                except UserError as exc:  # e.g. the microbit's 16 KB of RAM
                    rows.append({"example": name, "cpu": cpu, "variant": variant, "error": str(exc)})
                    continue
                run = run_c_golden(program)
                instructions = ticks_to_instructions(program.toolchain, run.ticks) / run.timed_steps
                constants = object_flash(program.toolchain, step_object(program))["const"]
                timing = timing_for(cpu)
                profile = (trace_calls(program.toolchain, program.elf, step_function(facts), ("1",),
                                       pairs=pairs_in_pipeline) if timing else None)
                for board in [b for b in BOARDS.values() if b.cpu == cpu] or [None]:
                    cycles = estimate(profile, timing, board.memory, constants) if profile and board else (
                        estimate(profile, timing, constant_bytes_per_call=constants) if profile else None)
                    c = None if cycles is None else {k: cycles[k] for k in ("low", "nominal", "high")}
                    row = {"example": name, "cpu": cpu, "variant": variant, "passed": run.passed,
                           "instructions_per_step": round(instructions), "estimated_cycles": c,
                           "board": board.name if board else None, "rate_hz": rate}
                    if board:
                        v = realtime_verdict(c, instructions, board.clock_mhz * 1e6, rate,
                                             NOT_MODELLED.get(cpu, (None, None))[1])
                        row.update(real_time=v["keeps_up"], duty_cycle=v["duty_cycle"],
                                   steps_per_s=v["max_rate_hz"])
                    rows.append(row)
    print("\n".join(timing_table_md(rows)))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
