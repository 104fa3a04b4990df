"""Fit `mgrade-edge plan`'s cost model: estimated cycles per step of the c-int8 step, per core and variant,
as a linear function of the configuration (MACs, channels x layers, layers, 1), from board-test estimates.

Fitted on untrained models of varied shapes (random weights and calibration; the instruction stream does
not depend on trained values beyond which rescaling form a call site takes), then checked on the three
trained bundled examples, which the fit never sees. Writes mgrade_edge/board/data/plan_costs.json.

    TFLM_DIR=../shared/third_party/tflite-micro PYTHONPATH=. python benchmarks/plan_fit.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "mgrade_edge" / "board" / "data" / "plan_costs.json"
CORES = (("cortex-m0plus", False), ("cortex-m3", False), ("cortex-m4", False), ("cortex-m4", True),
         ("cortex-m33", True))
FIT = [  # (d_in, d_model, n_layers, n_classes, kernel_size, n_taps, conv_ln, rec_ln)
    (1, 16, 1, 10, 16, 4, False, False), (1, 32, 2, 10, 32, 8, True, True), (4, 24, 3, 5, 8, 4, False, True),
    (13, 48, 2, 10, 16, 4, False, False), (1, 64, 1, 12, 64, 8, True, False), (8, 40, 4, 20, 24, 6, True, True),
    (1, 20, 2, 35, 48, 8, False, False), (2, 56, 2, 8, 12, 4, True, True),
]
HELD_OUT = ("digits", "keywords", "spoken_digits")


def features(cfg) -> list[float]:
    from mgrade_edge.analytic import step_macs

    return [step_macs(cfg), cfg.d_model * cfg.n_layers, cfg.n_layers, 1.0]


def measure(bundle: Path, cpu: str, dsp: bool, work: Path) -> float:
    """board-test's nominal estimate of the bundle's step (board-test --cycles, no board's wait states)."""
    from mgrade_edge.board.c_golden import build_c_golden, object_flash, step_function, step_object
    from mgrade_edge.board.cycles.estimate import estimate_for_program

    program, facts = build_c_golden(bundle, cpu, work, dsp=dsp)
    constants = object_flash(program.toolchain, step_object(program))["const"]
    timing = estimate_for_program(program.toolchain, program.elf, step_function(facts),
                                  constant_bytes_per_call=constants, args=("1",))
    return float(timing["estimated_cycles"]["nominal"])


def main() -> None:
    sys.path.insert(0, str(ROOT))
    import torch

    from mgrade_edge.checkpoint import load_checkpoint, save_checkpoint
    from mgrade_edge.config import MGRADEConfig
    from mgrade_edge.model import MGRADE
    from mgrade_edge.pipeline import export_checkpoint

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        bundles = []
        for i, (d_in, d, layers, classes, gamma, taps, conv_ln, rec_ln) in enumerate(FIT):
            cfg = MGRADEConfig(d_in=d_in, d_model=d, n_layers=layers, n_classes=classes, kernel_size=gamma,
                               n_taps=taps, conv_ln=conv_ln, rec_ln=rec_ln)
            torch.manual_seed(i)
            ckpt = tmp / f"fit{i}.pt"
            save_checkpoint(ckpt, MGRADE(cfg).eval(), {})
            calib = tmp / f"fit{i}.npy"
            np.save(calib, np.random.default_rng(i).standard_normal((8, 256, d_in)).astype(np.float32))
            export_checkpoint(ckpt, "c-int8", tmp / f"fit{i}", calib_file=calib, calib_sequences=2, validate=False)
            bundles.append(("fit", f"fit{i}", cfg, tmp / f"fit{i}"))
        for name in HELD_OUT:
            ckpt = ROOT / "examples" / f"{name}.pt"
            export_checkpoint(ckpt, "c-int8", tmp / name, calib_sequences=2, validate=False)
            bundles.append(("held_out", name, load_checkpoint(ckpt).config, tmp / name))
        result = {}
        for cpu, dsp in CORES:
            key = f"{cpu}{'-dsp' if dsp else ''}"
            rows = [(kind, name, features(cfg), measure(path, cpu, dsp, tmp / f"{key}-{name}"))
                    for kind, name, cfg, path in bundles]
            fit = [r for r in rows if r[0] == "fit"]
            coef, *_ = np.linalg.lstsq(np.array([r[2] for r in fit]), np.array([r[3] for r in fit]), rcond=None)
            checks = [{"example": name, "estimated": round(cycles), "predicted": round(float(np.dot(coef, f))),
                       "error": round(float(np.dot(coef, f)) / cycles - 1, 4)} for kind, name, f, cycles in rows
                      if kind == "held_out"]
            fitted = [{"config": name, "estimated": round(cycles), "predicted": round(float(np.dot(coef, f)))}
                      for kind, name, f, cycles in fit]
            result[key] = {"coefficients": dict(zip(("per_mac", "per_channel_layer", "per_layer", "per_step"),
                                                    map(float, coef))), "fit": fitted, "held_out": checks}
            print(key, {c["example"]: c["error"] for c in checks}, flush=True)
    OUT.write_text(json.dumps({"method": __doc__.splitlines()[0], "fit_configs": FIT, "cores": result},
                              indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
