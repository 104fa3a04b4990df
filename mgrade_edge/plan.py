"""`mgrade-edge plan`: what a configuration will cost on a board, before any training.

Parameters, MACs per step, RAM (state + scratch + I/O) and flash per target from the analytic model
(analytic.py), and the c-int8 step's estimated cycles per step from a cost model fitted to board-test
estimates (benchmarks/plan_fit.py writes board/data/plan_costs.json: per core and variant, cycles =
a x MACs + b x channels x layers + c x layers + e, with its error on the bundled examples, which the fit
never saw). With --board and --rate, the same verdict and keys as board-test.
"""

from __future__ import annotations

import functools
import json

from .analytic import analytic_profile, step_macs
from .board.boards import board_keys
from .board.toolchain import DATA
from .config import MGRADEConfig

PLANNED_TARGETS = ("c-int8", "c-int16x8", "tflite-int8", "tflite-int16x8")
COSTS_FILE = DATA / "plan_costs.json"


@functools.cache
def cost_models() -> dict:
    return json.loads(COSTS_FILE.read_text())["cores"]


def cost_model_key(cpu: str, dsp: bool = True) -> str | None:
    """The fitted model for `cpu` (its DSP variant where fitted and asked for), or None."""
    models = cost_models()
    for key in ((f"{cpu}-dsp", cpu) if dsp else (cpu,)):
        if key in models:
            return key
    return None


def predicted_cycles(cfg: MGRADEConfig, key: str) -> float:
    c = cost_models()[key]["coefficients"]
    return (c["per_mac"] * step_macs(cfg) + c["per_channel_layer"] * cfg.d_model * cfg.n_layers
            + c["per_layer"] * cfg.n_layers + c["per_step"])


def plan(cfg: MGRADEConfig, board=None, rate: float | None = None, dsp: bool = True) -> dict:
    profiles = {target: analytic_profile(cfg, target) for target in PLANNED_TARGETS}
    targets = {target: {"ram_bytes": p["analytic_min_ram_bytes"], "flash_bytes": p["flash_bytes"]["total"],
                        "state_bytes": p["state_bytes"]["total"], "scratch_bytes": p["scratch_bytes"]}
               for target, p in profiles.items()}
    report = {"config": cfg.to_dict(), "params": profiles["c-int8"]["params"], "macs_per_step": step_macs(cfg),
              "targets": targets, "board": board.name if board else None, "estimated_cycles": None,
              "cost_model": None, "instructions_per_step": None}
    if board is None:
        return report
    key = cost_model_key(board.cpu, dsp)
    if key is not None:
        cycles = round(predicted_cycles(cfg, key))
        errors = [abs(c["error"]) for c in cost_models()[key]["held_out"]]
        report["estimated_cycles"] = {"low": cycles, "nominal": cycles, "high": cycles}
        report["cost_model"] = {"core": key, "target": "c-int8", "held_out_max_error": max(errors),
                                "source": "benchmarks/plan_fit.py (board-test estimates)"}
    c_int8 = targets["c-int8"]
    report.update(board_keys(board, board.clock_mhz * 1e6, rate, report["estimated_cycles"], None,
                             c_int8["ram_bytes"], c_int8["flash_bytes"]))
    return report


def format_plan(r: dict) -> str:
    cfg = r["config"]
    lines = [f"plan: d_in {cfg['d_in']}, d_model {cfg['d_model']}, layers {cfg['n_layers']}, kernel "
             f"{cfg['kernel_size']}, taps {cfg['n_taps']}, outputs {cfg['n_classes']}: {r['params']:,} parameters, "
             f"{r['macs_per_step']:,} MACs a step",
             "  target           RAM (state + scratch + I/O)   flash"]
    for target, t in r["targets"].items():
        lines.append(f"  {target:<16} {t['ram_bytes']:>10,} bytes              {t['flash_bytes']:>9,} bytes")
    if r["board"]:
        if r["estimated_cycles"]:
            m = r["cost_model"]
            lines.append(f"  estimated cycles {r['estimated_cycles']['nominal']:,} a step on {r['board']} "
                         f"(c-int8, cost model of {m['core']}; within {m['held_out_max_error']:.0%} of board-test's "
                         f"estimate on the bundled examples)")
        else:
            lines.append(f"  estimated cycles: no cost model for {r['board']}'s core")
        lines.append(f"  fits RAM {'yes' if r['fits_ram'] else 'NO'} ({r['ram_left_bytes']:,} bytes left), fits flash "
                     f"{'yes' if r['fits_flash'] else 'NO'} ({r['flash_left_bytes']:,} bytes left) with c-int8")
        if r.get("realtime"):
            lines.append(f"  {r['realtime']['line']}")
    return "\n".join(lines)
