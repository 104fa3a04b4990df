"""Where a C step's instructions go, by kind of work: the dense dot products, the delay convolution, and
everything that is not a multiply-accumulate (requantisation, LayerNorm, the minGRU gates, the MLP
activation, the layer's glue), per step, for one `--target c --quant int8` bundle on Cortex-M4 (DSP path)
and Cortex-M55 (Helium).

    TFLM_DIR=../shared/third_party/tflite-micro PYTHONPATH=. python benchmarks/step_breakdown.py \
        [--model speech-commands|digits|keywords_frames] [--json F]

Each build is one traced boot of the golden program (benchmarks/qemu_profile.py --functions: QEMU's
executed blocks mapped to source lines, each line to the C function holding it, inlined helpers
counted as themselves, ACLE/MVE intrinsics for the function using them); per step = the whole run
over its steps. The golden harness (main.c, the C
library) is listed apart and not in the step's total. Instruction counts, not cycles.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KINDS = {  # kind -> the step source's functions doing it
    "dense dot products": ("dot4", "dot4x2", "dot", "byte_at", "half_lo"),
    # on Helium, conv_lanes also does the delay block's epilogue (rq by m_v, the residual)
    "delay convolution": ("conv4", "conv1", "sxtb16_ror8", "conv_lanes", "ring_row_offsets"),
    "requantisation": ("rq_hi", "rq_fast", "rq_fast1", "rq", "rq_sat", "rq2_sat", "clamp32", "clamp64", "mul_hi32",
                       "rq_fast_lanes", "rq_fast_lanes_at", "rq_fast_lanes1", "clamp_lanes",
                       "residual_x1", "x1_lanes", "rec_out_value", "conv_ln_residual", "rec_residual", "rec_out_rows4",
                       "mlp_out_rows4"),
    "LayerNorm": ("layer_norm_into", "layer_norm", "layer_norm_q", "rdiv", "isqrt62", "isqrt32"),
    "minGRU gates": ("gru_update", "gru_update4", "sig_q15", "sig_q15_lanes", "rq_g_h", "rq_g_h_lanes", "mul_wide",
                     "rec_act_q16"),
    # on Helium, mlp_in_rows4 is the first MLP layer's whole epilogue (both requantisations and GELU)
    "MLP activation (GELU)": ("gelu_q16", "mlp_in_rows4"),
    # Helium's table gathers and interpolation, shared by the minGRU's sigmoids and the MLP's GELU
    "table lookups (Helium: sigmoid and GELU)": ("table_lanes",),
    "layer glue (epilogues, loops)": ("layer_step_n", "layer_step", "layer_step2", "step_acc_n", "step_acc1",
                                      "step_acc2", "step_acc_m", "API", "quantize_input"),
}
MAC_KINDS = ("dense dot products", "delay convolution")
BUILDS = (("cortex-m4", "DSP", True, False), ("cortex-m55", "Helium", True, True))


def kind_of(location: str) -> str:
    """The kind of a profile entry: a step function's ("name()"; ACLE and MVE intrinsics are counted for
    the function using them), else the golden harness's."""
    function = location[:-2] if location.endswith("()") else None
    return next((kind for kind, functions in KINDS.items() if function in functions), "harness (not the step)")


def breakdown(bundle: Path, cpu: str, dsp: bool, mve: bool) -> dict:
    from benchmarks.qemu_profile import profile

    table, steps, result = profile(bundle, cpu, dsp, mve, by="functions")
    kinds: collections.Counter = collections.Counter()
    functions: collections.Counter = collections.Counter()
    for location, n in table.items():
        kind = kind_of(location)
        kinds[kind] += n
        if not kind.startswith("harness"):
            functions[re.sub(r":\d+$", "", location)] += n
    step = sum(n for k, n in kinds.items() if not k.startswith("harness"))
    mac = sum(kinds[k] for k in MAC_KINDS)
    return {"cpu": cpu, "result": result, "steps": steps,
            "per_step": {k: round(n / steps) for k, n in kinds.most_common()},
            "step_total": round(step / steps), "not_mac": round((step - mac) / steps),
            "top_functions": {k: round(n / steps) for k, n in functions.most_common(12)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="speech-commands", choices=("speech-commands", "digits", "keywords_frames"))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from benchmarks.board_table import bundles

    with tempfile.TemporaryDirectory() as tmp:
        bundle = bundles(Path(tmp), ("--target", "c", "--quant", "int8"), "c", (args.model,))[args.model]
        runs = [{"build": label, **breakdown(bundle, cpu, dsp, mve)} for cpu, label, dsp, mve in BUILDS]
    print(f"{args.model}, c-int8 step, instructions per step by kind (QEMU, not cycles):\n")
    print("| kind | " + " | ".join(f"{r['cpu']} {r['build']}" for r in runs) + " |")
    print("|---|" + "---|" * len(runs))
    for kind in [*KINDS, "harness (not the step)"]:
        cells = [f"{r['per_step'].get(kind, 0):,}" for r in runs]
        print(f"| {kind} | " + " | ".join(cells) + " |")
    print("| **step** | " + " | ".join(f"**{r['step_total']:,}**" for r in runs) + " |")
    print("| not a multiply-accumulate | " + " | ".join(f"{r['not_mac']:,}" for r in runs) + " |")
    for r in runs:
        print(f"\n{r['cpu']} {r['build']}: {r['result'][:60]}...; top functions per step: "
              + ", ".join(f"{k} {v:,}" for k, v in r["top_functions"].items()))
    if args.json:
        args.json.write_text(json.dumps({"model": args.model, "runs": runs}, indent=2) + "\n")


if __name__ == "__main__":
    main()
