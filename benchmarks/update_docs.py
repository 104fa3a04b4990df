"""Write docs/results.md and docs/board-commands.md whole (run by `make bench`; never edit them by hand).

results.md: benchmarks/results.md (run_all.py's tables) and the native C step's and the tflm-fused
bundle's per-CPU tables rendered from benchmarks/board_table.json. board-commands.md: the build and run
commands of `mgrade-edge board-test`, rendered from the functions it calls (mgrade_edge.board.commands),
so the documented commands cannot drift from the ones that run (tests/board/test_commands.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
C_START, C_END = "<!-- c-board-table:start -->", "<!-- c-board-table:end -->"
CPU_NAMES = {"host": "host (x86-64)", "cortex-m4": "Cortex-M4", "cortex-m55": "Cortex-M55"}
VARIANTS = {"portable-c": "portable", "arm-dsp": "`-DMGRADE_USE_DSP`",
            "arm-dsp-w16": "`-DMGRADE_USE_DSP`, `--weights int16`"}
GENERATED = "<!-- Written whole by benchmarks/update_docs.py (make bench); do not edit by hand. -->"


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


def timing_table_md(rows: list[dict]) -> list[str]:
    """benchmarks/timing_table.py's rows as a markdown table."""
    lines = ["| example | core | variant | instructions/step | estimated cycles/step (nominal) | board | steps/s "
             "(nominal) | natural rate | real time |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        variant = r.get("variant") or ("dsp" if r["dsp"] else "portable")  # older runs recorded only dsp
        if "error" in r:
            lines.append(f"| {r['example']} | {r['cpu']} | {variant} | {r['error']} | | | | | |")
            continue
        c, rate = r["estimated_cycles"], (r.get("steps_per_s") or {}).get("nominal")
        verdict = {True: "yes", False: "NO", None: "undecided"}.get(r.get("real_time"), "") if r["board"] else ""
        lines.append(f"| {r['example']} | {r['cpu']} | {variant} | {r['instructions_per_step']:,} | "
                     f"{'-' if c is None else format(c['nominal'], ',')} | {r['board'] or '-'} | "
                     f"{'-' if rate is None else format(rate, ',.0f')} | {r['rate_hz']:,} | {verdict} |")
    return lines


def cycle_check_md(check: dict) -> list[str]:
    """benchmarks/cycle_model_check.py's rows as a markdown table."""
    lines = ["| model | instructions / inference | estimated cycles (low / nominal / high) | estimated inf/s "
             "(from high / nominal / low) | published inf/s |", "|---|---|---|---|---|"]
    for r in check["rows"]:
        c, rate = r["estimated_cycles"], r["estimated_inferences_per_s"]
        published = "; ".join(f"{k}: {v}" for k, v in r["published_inferences_per_s"].items()) or "-"
        lines.append(f"| {r['model']} | {r['instructions']:,} | {c['low']:,} / {c['nominal']:,} / {c['high']:,} "
                     f"| {rate['high']} / {rate['nominal']} / {rate['low']} | {published} |")
    return lines


def timing_section(timing_json: Path, check_json: Path) -> list[str]:
    """The time-on-the-chip tables (benchmarks/timing_table.py, benchmarks/cycle_model_check.py), when run."""
    parts = []
    if timing_json.is_file():
        parts += ["## Time on the chip: the bundled examples", "",
                  "`benchmarks/timing_table.py`: c-int8, estimated cycles (nominal) from the traced instruction stream",
                  "and the core's timing table with each board preset's memory model (docs/timing.md); M7, M55 and",
                  "RISC-V have no table (instructions only; the verdict then rests on the bound of their fastest",
                  "instruction). Natural rates: keywords 8 kHz raw audio, spoken digits 100 MFCC frames/s (assumed),",
                  "digits 16 kHz (its pixels read as an audio stream).", "",
                  *timing_table_md(json.loads(timing_json.read_text())), ""]
    if check_json.is_file():
        check = json.loads(check_json.read_text())
        parts += ["## The cycle model against MLPerf Tiny's published results", "",
                  f"`benchmarks/cycle_model_check.py`, board preset {check['board']}; published figures from",
                  "../shared/mlperf-tiny/README.md (same board, other software).", "", *cycle_check_md(check), ""]
    return parts


def results_page(results: Path, board_json: Path | None) -> str:
    rows = json.loads(board_json.read_text()) if board_json is not None and board_json.is_file() else []
    parts = [GENERATED, "", "# Results", "",
             "Measured by `make bench` on this project's machine (2 shared x86-64 cores): `benchmarks/run_all.py`",
             "writes benchmarks/results.md, `benchmarks/board_table.py` benchmarks/board_table.json, and",
             "`benchmarks/update_docs.py` this page from both.", "", results.read_text().strip(), ""]
    if rows:
        parts += ["## The C step per CPU", "",
                  "`benchmarks/board_table.py --targets c`: digits is examples/digits.pt, speech-commands the",
                  "untrained preset calibrated on seeded noise; int8, uint16 h; arm-none-eabi-gcc 12.2 -O2; RAM in",
                  "bytes. QEMU instruction counts, not cycles. The last column is TensorFlow Lite Micro + CMSIS-NN's",
                  "instructions per step for the same model on the same CPU over the C step's.", "",
                  c_board_table(rows), "",
                  "## tflm-fused per CPU", "",
                  "`benchmarks/board_table.py --targets tflm,fused`: int8, the same two models; the ratio column is",
                  "the builtin-op bundle's instructions on the same CPU over these.", "",
                  fused_board_table(rows), ""]
    parts += timing_section(ROOT / "benchmarks" / "timing_table.json", ROOT / "benchmarks" / "cycle_model_check.json")
    return "\n".join(parts)


def board_commands_page() -> str:
    from mgrade_edge.board.commands import build_snippet, c_build_snippet

    return "\n".join([
        GENERATED, "", "# What board-test runs", "",
        "Rendered from the functions `mgrade-edge board-test` calls (mgrade_edge.board.commands), with",
        "placeholders for paths.", "", "## A tflm bundle", "", "```sh",
        build_snippet("host", "reference") + "\n" + build_snippet("cortex-m4", "cmsis-nn").rstrip("\n"), "```", "",
        "## The C step", "", "```sh",
        "\n".join(c_build_snippet(cpu, dsp) for cpu, dsp in (("host", False), ("cortex-m4", True), ("riscv32", False)))
        .rstrip("\n"), "```", ""])


def update(docs: Path, results: Path, board_json: Path | None = None) -> None:
    (docs / "results.md").write_text(results_page(results, board_json))
    (docs / "board-commands.md").write_text(board_commands_page())


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    update(DOCS, ROOT / "benchmarks" / "results.md", ROOT / "benchmarks" / "board_table.json")
    print("docs/results.md and docs/board-commands.md written from benchmarks/results.md, board_table.json "
          "and mgrade_edge.board.commands")
