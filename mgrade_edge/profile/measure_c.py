"""The measured half of `profile --target c`: export the generated C step, build its golden program
for the host with the board layer, and measure what the step needs from the compiled program.

- state, scratch and I/O: symbol sizes in the linked program (g_state, the step object's .data/.bss,
  g_io_x + g_io_y; board.c_golden.measure_ram), compared with the sizes the generator planned;
- stack: the step's high-water by stack painting (main.c), after each step count in `steps`
  (1 ... 10,000): a streaming step must not grow, and neither may anything else, as nothing is
  allocated at run time (the step object references no heap function, checked here);
- flash: code + constant data of the step object (.text, .rodata);
- the analytic minimum of the same precision (mgrade_edge.analytic) it is compared to.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from ..board.build import cache_root
from ..board.c_golden import (
    build_c_golden,
    measure_ram,
    object_flash,
    planned_ram,
    run_c_golden,
    static_stack_bound,
    step_object,
)
from ..export.artifact import ExportOptions
from ..export.c.export import export_c
from ..jsonutil import thousands as num
from .inputs import random_sequences, untrained_model

HEAP_FUNCTIONS = ("malloc", "calloc", "realloc", "free", "aligned_alloc", "posix_memalign")


def undefined_symbols(nm: str, obj: Path) -> list[str]:
    out = subprocess.run([nm, "-u", str(obj)], capture_output=True, text=True, check=True).stdout
    return sorted({line.split()[-1] for line in out.splitlines() if line.strip()})


def _export_bundle(step, target: str, calibration, out_dir: Path) -> dict:
    """Writes the bundle's sources; returns its c details (as a manifest would hold them)."""

    result = export_c(step, ExportOptions(target=target, state="internal", calibration=calibration,
                                          model_name="profile"), out_dir)
    return {**result.details["c"], "target": target, "config": step.cfg.to_dict()}


def measure_c_step(step, target: str, steps: tuple[int, ...], calibration, cpu: str = "host") -> dict:
    """Measured RAM parts, stack per step count and flash of the exported C step on `cpu`."""

    (cache_root() / "programs").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mgrade-profile-c-", dir=cache_root() / "programs") as tmp:
        bundle = Path(tmp) / "bundle"
        bundle.mkdir()
        facts = _export_bundle(step, target, calibration, bundle)
        program, facts = build_c_golden(bundle, cpu, Path(tmp) / "build", facts=facts)
        stack, passed, line = {}, True, ""
        for n in sorted(set(steps)):
            run = run_c_golden(program, n)
            stack[n] = run.stack_bytes
            passed, line = passed and run.passed, run.line
        ram = measure_ram(program, facts)
        obj = step_object(program)
        flash = object_flash(program.toolchain, obj)
        undefined = undefined_symbols(program.toolchain.nm, obj)
        bound = static_stack_bound(program.toolchain, bundle, facts)
    ram.pop("elf")
    return {"cpu": cpu, "golden_passed": passed, "golden_line": line, "state_bytes": ram["state"],
            "scratch_bytes": ram["scratch"], "io_bytes": ram["io"], "scratch_symbols": ram["scratch_symbols"],
            "planned": planned_ram(facts), "stack_bytes_after_steps": stack,
            "stack_bytes_static_bound": bound["bytes"], "stack_static_bound_external_calls": bound["external_calls"],
            "flash_bytes": flash, "external_references": undefined,
            "heap_functions_referenced": [f for f in undefined if f in HEAP_FUNCTIONS]}


def measure_profile_c(report: dict, cfg, model, target: str, steps: tuple[int, ...], calibration,
                      cpu: str = "host") -> None:
    """Fill the measured keys of `report` in place for a c target (see profile.measure.profile_report)."""
    from ..quantize import calibration_set
    from ..streaming import to_streaming

    model_source = "given model" if model is not None else "untrained model (seed 0)"
    model = model if model is not None else untrained_model(cfg)
    step = to_streaming(model)
    if calibration is None and report["precision"] != "float32":
        calibration = calibration_set(step, random_sequences(cfg.d_in, 16, 256),
                                      source="random data (16 smooth random sequences x 256 steps, seed 0)")
    m = measure_c_step(step, target, steps, calibration, cpu)
    static = m["state_bytes"] + m["scratch_bytes"] + m["io_bytes"]
    ram = {n: None if s is None else static + s for n, s in m["stack_bytes_after_steps"].items()}
    known = [v for v in ram.values() if v is not None]
    delta = (max(known) - min(known)) if len(known) == len(ram) else None
    peak = max(known) if known else None
    report.update(
        ram_bytes_after_steps=ram, ram_delta_bytes=delta,
        ram_over_minimum=None if peak is None else peak / report["analytic_min_ram_bytes"],
        measured={"engine": "c", "model": model_source, "calibration": getattr(calibration, "source", None),
                  "ram_bytes": peak, "stack_bytes": max((s for s in m["stack_bytes_after_steps"].values()
                                                         if s is not None), default=None), **m})


def format_measured_c(report: dict) -> list[str]:
    """The report lines of a measured c profile (profile.report calls this for engine c)."""
    m = report["measured"]
    plan, fl = m["planned"], m["flash_bytes"]

    ratio = report["ram_over_minimum"]
    delta = report["ram_delta_bytes"]
    heap = m["heap_functions_referenced"]
    agree = (m["state_bytes"], m["scratch_bytes"], m["io_bytes"]) == (plan["state"], plan["scratch"], plan["io"])
    return ["", f"measured C step ({m['model']}, {m['cpu']}, golden {'PASS' if m['golden_passed'] else 'FAIL'}): "
                f"from the linked golden program",
            f"  RAM             state {m['state_bytes']:,} + scratch {m['scratch_bytes']:,} + I/O {m['io_bytes']:,} "
            f"+ stack {num(m['stack_bytes'])} = {num(m['ram_bytes'])}"
            + (f" ({ratio:.2f}x the analytic minimum {report['analytic_min_ram_bytes']:,})" if ratio else ""),
            f"  planned         state {plan['state']:,} + scratch {plan['scratch']:,} + I/O {plan['io']:,} "
            f"(the generator's sizes; symbols {'agree' if agree else 'DIFFER'})",
            "  after steps     " + ", ".join(f"{k}: {num(v)}" for k, v in report["ram_bytes_after_steps"].items())
            + f" -> delta {num(delta)} bytes" + (" (constant)" if delta == 0 else " (NOT constant)"),
            "  stack           high-water by stack painting: "
            + ", ".join(f"{k}: {num(v)}" for k, v in m["stack_bytes_after_steps"].items())
            + f" (compiler's call-graph bound {num(m['stack_bytes_static_bound'])}"
            + (f" + {', '.join(m['stack_static_bound_external_calls'])})" if m["stack_static_bound_external_calls"]
               else ")"),
            f"  heap            {'none (the step references no allocator)' if not heap else 'USES ' + ', '.join(heap)}",
            f"  flash           code {fl['code']:,} + constants {fl['const']:,} = {fl['total']:,} (the step object)"]
