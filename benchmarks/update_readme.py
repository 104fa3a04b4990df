"""Copy benchmarks/results.md into README.md between the results markers, and the native C step's
and the tflm-fused bundle's per-CPU tables rendered from benchmarks/board_table.json between the
c-board-table and fused-board-table markers (run by `make bench`)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- results:start -->", "<!-- results:end -->"
C_START, C_END = "<!-- c-board-table:start -->", "<!-- c-board-table:end -->"
F_START, F_END = "<!-- fused-board-table:start -->", "<!-- fused-board-table:end -->"
CPU_NAMES = {"host": "host (x86-64)", "cortex-m4": "Cortex-M4", "cortex-m55": "Cortex-M55"}
VARIANTS = {"portable-c": "portable", "arm-dsp": "`-DMGRADE_USE_DSP`",
            "arm-dsp-w16": "`-DMGRADE_USE_DSP`, `--weights int16`"}


def replace_section(text: str, start: str, end: str, body: str, where: Path) -> str:
    if start not in text or end not in text:
        sys.exit(f"error: {where} has no {start} ... {end} section")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body.strip()}\n{end}{tail}"


def builtin_instructions(rows: list[dict]) -> dict:
    """(model, cpu) -> instructions per step of the builtin-op tflm bundle (the rows without a target)."""
    return {(r["model"], r["cpu"]): r.get("instructions_per_step") for r in rows if "target" not in r}


def fused_board_table(rows: list[dict]) -> str:
    """The tflm-fused rows: arena and the objects beside it, RAM against the analytic minimum and
    against the builtin-op bundle's, and instructions against the builtin bundle's on the same CPU."""
    builtin = {(r["model"], r["cpu"]): r for r in rows if "target" not in r}
    lines = ["| model | CPU | C step | model RAM = arena + interpreter objects + step scratch | / analytic min | "
             "builtin tflm model RAM | instructions per step | builtin tflm / this |",
             "|---|---|---|---|---|---|---|---|"]
    for r in (r for r in rows if r.get("target") == "tflm-fused"):
        ref = builtin.get((r["model"], r["cpu"]), {})
        ips, ref_ips = r["instructions_per_step"], ref.get("instructions_per_step")
        lines.append("| " + " | ".join([
            r["model"], CPU_NAMES.get(r["cpu"], r["cpu"]), VARIANTS.get(r["variant"], r["variant"]),
            f"{r['model_ram_bytes']:,} = {r['arena_bytes_min']:,} + {r['interpreter_objects_bytes']:,} + "
            f"{r['step_scratch_bytes']:,}",
            f"{r['ram_over_minimum']:.2f}x of {r['analytic_min_ram_bytes']:,}",
            f"{ref['model_ram_bytes']:,}" if ref.get("model_ram_bytes") else "n/a",
            f"{ips:,}" if ips else "n/a", f"{ref_ips / ips:.2f}x" if ips and ref_ips else ""]) + " |")
    passed = all(r["passed"] for r in rows if r.get("target") == "tflm-fused")
    lines += ["", f"{'Every row passed' if passed else 'NOT every row passed'}: every logit equal to the integer "
                  f"reference's on the golden stream."]
    return "\n".join(lines)


def c_board_table(rows: list[dict]) -> str:
    """The c rows of board_table.json as the README's table: RAM with its parts, flash, instructions,
    and the TFLite Micro + CMSIS-NN instructions of the same model on the same CPU for the ratio."""
    tflm = builtin_instructions(rows)
    lines = ["| model | CPU | variant | RAM = state + scratch + I/O + stack | / analytic min | step flash | "
             "instructions per step | per MAC | TFLite Micro / this |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in (r for r in rows if r.get("target") == "c"):
        ips, ref = r["instructions_per_step"], tflm.get((r["model"], r["cpu"]))
        lines.append("| " + " | ".join([
            r["model"], CPU_NAMES.get(r["cpu"], r["cpu"]), VARIANTS.get(r["kernels"], r["kernels"]),
            f"{r['ram_bytes']:,} = {r['state']:,} + {r['scratch']:,} + {r['io']:,} + {r['stack']:,}",
            f"{r['ram_over_minimum']:.2f}x of {r['analytic_min_ram_bytes']:,}", f"{r['step_flash_bytes']:,}",
            f"{ips:,}" if ips else "n/a", f"{r['instructions_per_mac']:.2f}" if r["instructions_per_mac"] else "",
            f"{ref / ips:.2f}x" if ips and ref else ""]) + " |")
    hashes = sorted({f"{r['model']} `{r['output_hash']}`" for r in rows if r.get("target") == "c"})
    passed = all(r["passed"] and r["identical"] for r in rows if r.get("target") == "c")
    lines += ["", f"{'Every row passed' if passed else 'NOT every row passed'}, its outputs bit-identical to the "
                  f"integer mirror (output hashes: {', '.join(hashes)})."]
    return "\n".join(lines)


def update(readme: Path, results: Path, board_json: Path | None = None) -> None:
    text = replace_section(readme.read_text(), START, END, results.read_text(), readme)
    if board_json is not None and board_json.is_file():
        import json

        rows = json.loads(board_json.read_text())
        text = replace_section(text, C_START, C_END, c_board_table(rows), readme)
        text = replace_section(text, F_START, F_END, fused_board_table(rows), readme)
    readme.write_text(text)


if __name__ == "__main__":
    update(ROOT / "README.md", ROOT / "benchmarks" / "results.md", ROOT / "benchmarks" / "board_table.json")
    print("README.md results, c and fused board tables updated from benchmarks/results.md and board_table.json")
