"""Text report of a profile: the analytic breakdown, what was measured, RAM against T."""

from __future__ import annotations

from ..analytic import ARENA_GOAL_RATIO
from ..compute import format_compute
from .measure_c import format_measured_c


def _row(cells, widths) -> str:
    return "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))


def format_report(report: dict) -> str:
    """A readable summary table of a profile_report dict (bytes unless stated)."""
    c, fp, fl, st = report["config"], report["paper_footprint_values"], report["flash_bytes"], report["state_bytes"]
    lines = [f"mGRADE memory profile: {report['target']} ({report['precision']}), d={c['d_model']} L={c['n_layers']} "
             f"Γ={c['kernel_size']} M={c['n_taps']} d_in={c['d_in']} C={c['n_classes']}",
             f"parameters      {report['params']:,} (deployed constants {report['deployed_values']:,} values: "
             f"dense Γ-lag kernels instead of M taps)",
             f"paper footprint {fp['total_values']:,} values = {fp['params']:,} params + {fp['state_values']:,} state "
             f"(current sample not counted)",
             "flash           " + " + ".join(f"{k} {v:,}" for k, v in fl["by_dtype"].items())
             + f" + quant params {fl['quant_params']:,} = {fl['total']:,}",
             f"RAM minimum     state {st['total']:,} (delay lines {st['delay_lines']:,} + hidden {st['hidden']:,}) "
             f"+ scratch {report['scratch_bytes']:,} + I/O {sum(report['io_bytes'].values()):,} "
             f"= {report['analytic_min_ram_bytes']:,}", ""]
    if "compute" in report:  # added by cli.py for checkpoints and presets
        lines.insert(-1, format_compute(report["compute"]))
    fe = report.get("frontend")
    if fe:
        lines.insert(-1, f"front end       {fe['features']}: " + (
            f"{fe['memory_bytes']:,} bytes, of it {fe['kept_between_hops_bytes']:,} kept between hops, fixed at init "
            f"({fe['where']})" if "memory_bytes" in fe else fe["unavailable"]))
    widths = (9, 9, 9, 10, 8, 9)
    lines.append(_row(("part", "params", "flash", "delay", "hidden", "scratch"), widths))
    for part, e in report["per_layer"].items():
        lines.append(_row((part, f"{e['params']:,}", f"{e['flash_bytes']:,}", f"{e['state_bytes']['delay_line']:,}",
                           f"{e['state_bytes']['hidden']:,}", f"{e['scratch_bytes']:,}"), widths))
    lines += _measured_lines(report)
    comp = report["comparisons"]
    names = list(comp["bytes"])
    widths = [7] + [max(12, len(n)) for n in names]
    lines += ["", "RAM against sequence length T (analytic, bytes):", _row(["T"] + names, widths)]
    for i, t in enumerate(comp["T"]):
        lines.append(_row([t] + [f"{comp['bytes'][n][i]:,}" for n in names], widths))
    lines += [f"  {n}: {note}" for n, note in comp["notes"].items()]
    return "\n".join(lines)


def _measured_lines(report: dict) -> list[str]:
    m = report.get("measured")
    if not m:
        return ["", "measured TFLite Micro arena: not measured"]
    if m.get("engine") == "c":
        return format_measured_c(report)
    ratio, delta = report["arena_over_minimum"], report["arena_delta_bytes"]
    fl, g = report["flash_bytes"], m["graph"]
    lines = ["", f"measured ({m['state']} state, {m['model']}): model file {m['model_file_bytes']:,}, of which "
                 f"constants {g['constant_data_bytes']:,} (analytic {sum(fl['by_dtype'].values()):,}) and quant "
                 f"params {g['quant_param_bytes']:,} (analytic, weights only {fl['quant_params']:,}); {g['ops']} ops",
             f"  TFLite Micro arena minimum {m['arena_min_bytes']:,} "
             f"(recorded total {m['arena_recorded_total_bytes']:,} = persistent {m['arena_persistent_bytes']:,}"
             f" + non-persistent {m['arena_non_persistent_bytes']:,})",
             "  after steps     " + ", ".join(f"{k}: {v:,}" for k, v in report["arena_bytes"].items())
             + f" -> delta {delta:,} bytes" + (" (constant)" if delta == 0 else " (NOT constant)"),
             f"  arena/minimum   {ratio:.2f}x (goal <= {ARENA_GOAL_RATIO}x: "
             f"{'met' if ratio <= ARENA_GOAL_RATIO else 'missed'}); the arena minimum is made of:"]
    lines += [f"    {k.replace('_', ' '):<46} {v:>10,}" for k, v in m["accounting"].items()]
    lines.append(f"  host time       {m['step_us_host']:.1f} us per step (TFLite Micro reference kernels, x86 host)")
    for w, e in m.get("window_reinference", {}).items():
        lines.append(f"  re-run W={w:<5} arena {e['arena_min_bytes']:,}, "
                     f"non-persistent {e['arena_non_persistent_bytes']:,} "
                     f"(analytic {e['analytic_activation_and_io_bytes']:,}), {e['ops']} ops, "
                     f"{e['call_us_host']:.0f} us per call ({e['call_us_host'] / m['step_us_host']:.1f}x the step)")
    return lines
