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
    memory: MemoryModel
    note: str


BOARDS = {b.name: b for b in (
    Board("stm32l4r5", "STM32L4R5ZI (NUCLEO-L4R5ZI, MLPerf Tiny's Cortex-M4 board)", "cortex-m4", 120,
          MemoryModel(5, code_cache=True, data_cache=True, flash_line_bytes=8,
                      name="flash 5 wait states at 120 MHz, ART accelerator (instruction and data cache, prefetch)"),
          "5 wait states at 120 MHz (reference manual RM0432, flash read latency); 64-bit flash lines"),
    Board("nrf52840", "nRF52840 (Cortex-M4F)", "cortex-m4", 64,
          MemoryModel(0, name="code and constants assumed without wait states (instruction cache enabled)"),
          "64 MHz; flash wait states are not modelled (assumed hidden by the instruction cache)"),
    Board("stm32u585", "STM32U585 (Cortex-M33)", "cortex-m33", 160,
          MemoryModel(4, code_cache=True, data_cache=True,
                      name="flash 4 wait states at 160 MHz, instruction and data caches"),
          "160 MHz; 4 flash wait states assumed at that clock; ICACHE and DCACHE enabled"),
    Board("rp2040", "RP2040 (Raspberry Pi Pico, Cortex-M0+)", "cortex-m0plus", 133,
          MemoryModel(0, name="code and constants assumed in SRAM (copied from the XIP flash)"),
          "133 MHz; XIP flash behind a 16 KB cache is not modelled: the step is assumed to run from SRAM"),
    Board("stm32h7a3", "STM32H7A3 (Cortex-M7)", "cortex-m7", 280,
          MemoryModel(0, name="code and constants assumed in the L1 caches / TCM"), "280 MHz"),
    Board("corstone-300", "Arm Corstone-300 MPS3 image AN547 (Cortex-M55, the machine QEMU emulates)", "cortex-m55",
          32, MemoryModel(0, name="code and data in SRAM"), "32 MHz FPGA image"),
    Board("esp32-c3", "ESP32-C3 (RISC-V RV32IMC)", "riscv32", 160,
          MemoryModel(0, name="code assumed in the flash cache / IRAM"), "160 MHz; the virt machine's RV32IMAC code"),
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
    return {"rate_hz": rate_hz, "clock_hz": clock_hz, "basis": basis,
            "duty_cycle": {k: round(v, 4) for k, v in duty.items()}, "keeps_up": keeps_up,
            "max_rate_hz": None if cycles is None else {k: round(clock_hz / cycles[k], 1)
                                                         for k in ("low", "nominal", "high")}}
