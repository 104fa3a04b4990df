"""Board presets: a real part's core, clock and memory, for estimated cycles and the real-time verdict.

A preset names the CPU of the CPU table whose instruction stream and timing stand for its core, the clock
it runs at, and its flash memory model (board/cycles/timing.py MemoryModel). Where a figure is an
assumption rather than the vendor's published value, its note says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from .cycles.timing import MemoryModel
from .toolchain import BoardError


@dataclass(frozen=True)
class Board:
    name: str
    part: str
    cpu: str  # the CPU table entry that runs its instruction stream under QEMU
    clock_mhz: float
    sram_kb: int  # on-chip SRAM (all banks)
    flash_kb: int  # code flash (on chip, or the usual external part where the chip has none)
    memory: MemoryModel
    note: str


BOARDS = {b.name: b for b in (
    Board("stm32l4r5", "STM32L4R5ZI (NUCLEO-L4R5ZI, MLPerf Tiny's Cortex-M4 board)", "cortex-m4", 120, 640, 2048,
          MemoryModel(5, code_cache=True, data_cache=True, flash_line_bytes=8,
                      name="flash 5 wait states at 120 MHz, ART accelerator (instruction and data cache, prefetch)"),
          "5 wait states at 120 MHz (reference manual RM0432, flash read latency); 64-bit flash lines"),
    Board("nrf52840", "nRF52840 (Cortex-M4F)", "cortex-m4", 64, 256, 1024,
          MemoryModel(0, name="code and constants assumed without wait states (instruction cache enabled)"),
          "64 MHz; flash wait states are not modelled (assumed hidden by the instruction cache)"),
    Board("stm32u585", "STM32U585 (Cortex-M33)", "cortex-m33", 160, 786, 2048,
          MemoryModel(4, code_cache=True, data_cache=True,
                      name="flash 4 wait states at 160 MHz, instruction and data caches"),
          "160 MHz; 4 flash wait states assumed at that clock; ICACHE and DCACHE enabled"),
    Board("rp2040", "RP2040 (Raspberry Pi Pico, Cortex-M0+)", "cortex-m0plus", 133, 264, 2048,
          MemoryModel(0, name="code and constants assumed in SRAM (copied from the XIP flash)"),
          "133 MHz; flash: the Pico's 2 MB external QSPI part; XIP flash behind a 16 KB cache is not modelled: the "
          "step is assumed to run from SRAM"),
    Board("stm32h7a3", "STM32H7A3 (Cortex-M7)", "cortex-m7", 280, 1376, 2048,
          MemoryModel(0, name="code and constants assumed in the L1 caches / TCM"), "280 MHz"),
    Board("alif-e3-he", "Alif Ensemble E3, high-efficiency core (Cortex-M55 with Helium)", "cortex-m55", 160, 512,
          2048, MemoryModel(0, name="code and data assumed in the core's tightly coupled memories"),
          "160 MHz; SRAM: the HE core's 256 KB ITCM + 256 KB DTCM; flash: a 2 MB share of the chip's MRAM "
          "(assumed)"),
    Board("esp32-c3", "ESP32-C3 (RISC-V RV32IMC)", "riscv32", 160, 400, 4096,
          MemoryModel(0, name="code assumed in the flash cache / IRAM"),
          "160 MHz; 4 MB in-package flash; the virt machine's RV32IMAC code stands for its RV32IMC"),
)}


def get_board(name: str) -> Board:
    if name not in BOARDS:
        raise BoardError(f"--board {name!r} is not one of {', '.join(BOARDS)}")
    return BOARDS[name]


def realtime_verdict(cycles: dict | None, instructions: float | None, clock_hz: float, rate_hz: float,
                     min_cpi: float | None = None) -> dict:
    """Whether one step per 1/rate_hz seconds fits the clock: duty cycle (busy fraction) and the highest
    rate, from the estimated cycles' range; without a timing model only the bound `min_cpi` cycles per
    instruction (the core can do no better) gives a lower bound of the duty cycle."""
    if cycles is not None:
        duty = {k: cycles[k] * rate_hz / clock_hz for k in ("low", "nominal", "high")}
        keeps_up = True if duty["high"] <= 1 else False if duty["low"] > 1 else None
        basis = "estimated cycles"
    else:
        bounded = instructions is not None and min_cpi is not None
        duty = {"at_least": instructions * min_cpi * rate_hz / clock_hz} if bounded else {}
        keeps_up = False if bounded and duty["at_least"] > 1 else None
        basis = f"instructions at no fewer than {min_cpi} cycles each (no timing model)" if bounded else "none"
    needed = None if cycles is None else cycles["nominal"] * rate_hz
    return {"rate_hz": rate_hz, "clock_hz": clock_hz, "basis": basis,
            "duty_cycle": {k: round(v, 4) for k, v in duty.items()}, "keeps_up": keeps_up,
            "real_time_factor": None if cycles is None else round(clock_hz / needed, 4),
            "needs_clock_hz": needed,
            "max_rate_hz": None if cycles is None else {k: round(clock_hz / cycles[k], 1)
                                                         for k in ("low", "nominal", "high")}}


def memory_fit(board: Board, ram_bytes: int | None, flash_bytes: int | None) -> dict:
    """Whether the measured RAM and flash fit the board, and what is left."""
    ram, flash = board.sram_kb * 1024, board.flash_kb * 1024
    return {"fits_ram": None if ram_bytes is None else ram_bytes <= ram,
            "ram_left_bytes": None if ram_bytes is None else ram - ram_bytes,
            "fits_flash": None if flash_bytes is None else flash_bytes <= flash,
            "flash_left_bytes": None if flash_bytes is None else flash - flash_bytes}


def verdict_line(verdict: dict, board_name: str | None, per: str = "step") -> str:
    """One line: e.g. 'real time: NO - needs 1.41 GHz at 16,000 steps/s (nrf52840 runs 64 MHz)'."""
    answer = {True: "YES", False: "NO", None: "UNDECIDED"}[verdict["keeps_up"]]
    where = f"{board_name} runs" if board_name else "the clock is"
    if verdict["needs_clock_hz"] is not None:
        need = verdict["needs_clock_hz"]
        text = f"needs {need / 1e9:.3g} GHz" if need >= 1e9 else f"needs {need / 1e6:.3g} MHz"
        text += f" (nominal estimate; duty cycle {verdict['duty_cycle']['nominal']:.1%})"
    else:
        duty = verdict["duty_cycle"]
        text = f"duty cycle at least {duty['at_least']:.1%}" if duty else "no estimate"
    return (f"real time: {answer} - {text} at {verdict['rate_hz']:,g} {per}s/s ({where} "
            f"{verdict['clock_hz'] / 1e6:g} MHz)")


def fit_lines(report: dict) -> str:
    """The memory-fit lines of a board-test report with a --board ('' without one)."""
    if not report.get("board"):
        return ""
    board = get_board(report["board"])
    parts = []
    for what, key, size in (("RAM", "ram", board.sram_kb), ("flash", "flash", board.flash_kb)):
        fits = report[f"fits_{key}"]
        answer = "unknown" if fits is None else ("yes" if fits else "NO")
        left = report[f"{key}_left_bytes"]
        parts.append(f"\n  fits {what:<17} {answer}" + ("" if left is None else
                                                          f" ({left:,} of {size * 1024:,} bytes left on {board.name})"))
    return "".join(parts)


def timing_lines(r: dict, per: str = "step") -> list[str]:
    """The estimated cycles and the real-time verdict of a board-test report, when they were asked for."""
    model = r.get("estimated_cycles_model")
    lines = []
    if r.get("estimated_cycles"):
        c, m = r["estimated_cycles"], model["model"]
        lines += [f"  estimated_cycles       {c['low']:,} / {c['nominal']:,} / {c['high']:,} per {per} (low / "
                  f"nominal / high; an estimate: {m['instructions_traced']:,} traced instructions x {m['core_table']}, "
                  f"{m['memory']})"]
    elif model:
        lines += [f"  estimated_cycles       not estimated on {r['cpu']}: {model['not_modelled']}"]
    verdict = r.get("realtime")
    if verdict:
        duty = ", ".join(f"{k} {v:.1%}" for k, v in verdict["duty_cycle"].items()) or "unknown"
        lines += [f"  {verdict['line']}", f"    duty cycle           {duty} (from {verdict['basis']})"]
        if verdict.get("max_rate_hz"):
            top = verdict["max_rate_hz"]
            lines += [f"    highest rate         {top['high']:,.0f} / {top['nominal']:,.0f} / {top['low']:,.0f} "
                      f"{per}s/s (at the high / nominal / low estimate)"]
    return lines


def board_keys(board: Board | None, clock_hz: float, rate: float | None, cycles: dict | None, instructions,
               ram_bytes, flash_bytes, min_cpi: float | None = None) -> dict:
    """The stable board keys of a report (docs/timing.md): board, clock_hz, rate_hz, real_time, duty_cycle,
    fits_ram, fits_flash, ram_left_bytes, flash_left_bytes; with a rate the verdict's details ("realtime")."""
    keys = {"board": board.name if board else None, "clock_hz": clock_hz or None, "rate_hz": rate,
            "real_time": None, "duty_cycle": None,
            **(memory_fit(board, ram_bytes, flash_bytes) if board else
               {"fits_ram": None, "fits_flash": None, "ram_left_bytes": None, "flash_left_bytes": None})}
    if rate is not None:
        verdict = realtime_verdict(cycles, instructions, clock_hz, rate, min_cpi)
        keys["realtime"] = {**verdict, "board": keys["board"], "line": verdict_line(verdict, keys["board"])}
        keys.update(real_time=verdict["keeps_up"], duty_cycle=verdict["duty_cycle"])
    return keys
