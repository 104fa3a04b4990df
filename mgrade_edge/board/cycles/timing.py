"""A core's timing table and a board's memory model: what turns an executed instruction stream into cycles.

Every cost is a range (low, nominal, high) in cycles. A table gives each instruction class's cycles when the
instruction does not branch, `refill` the extra cycles of a taken branch or any other write of the PC
(pipeline refill), and `pipelined` the cycles of a single load or store that directly follows another load
or store (their address and data phases overlap). Multiple-register transfers cost `base` + one per
register. The memory model adds the wait states of flash the core's caches do not hide.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Range = tuple[float, float, float]


@dataclass(frozen=True)
class CoreTiming:
    core: str
    source: str  # the manual and section the table is taken from
    classes: dict[str, Range]  # class -> cycles, not counting a taken branch's refill
    refill: Range  # extra cycles when the instruction wrote the PC (taken branch, BL, POP {pc}, ...)
    per_register: Range = (1, 1, 1)  # LDM/STM/PUSH/POP: classes[...] + this per register moved
    pop_pc: Range = (0, 0, 0)  # extra cycles of a POP/LDM that loads the PC, beyond its refill
    pipelined: Range | None = None  # a load/store right after a load/store (None: no such overlap)
    notes: tuple[str, ...] = ()
    cites: dict[str, str] = field(default_factory=dict)  # class -> the table row it comes from


@dataclass(frozen=True)
class MemoryModel:
    """Flash between the core and its code and constants, at the board's clock.

    low: code and constants come without wait states (caches hit, or they run from RAM/TCM);
    nominal: the instruction cache or prefetcher (when the board has one) hides fetches, a taken branch
    without one pays the wait states, and each flash line of constant data read in a call pays them once;
    high: every taken branch and every 32-bit word of constant data read pays the wait states.
    """

    flash_wait_states: int = 0
    code_cache: bool = True  # an instruction cache / prefetch accelerator in front of the flash
    data_cache: bool = False
    flash_line_bytes: int = 16  # bytes a flash read returns (STM32: 128 bits)
    name: str = "no wait states (code and constants in zero-wait-state memory)"

    def extra(self, taken: float, constant_bytes: float) -> Range:
        ws = self.flash_wait_states
        if not ws:
            return (0.0, 0.0, 0.0)
        nominal = (0 if self.code_cache else taken * ws) + (0 if self.data_cache else
                                                             constant_bytes / self.flash_line_bytes * ws)
        return (0.0, float(nominal), float(taken * ws + constant_bytes / 4 * ws))
