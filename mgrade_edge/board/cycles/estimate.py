"""Estimated cycles per call from a traced call profile, a core's timing table and a memory model."""

from __future__ import annotations

from . import cortex_m0plus, cortex_m3, cortex_m4, cortex_m33
from .thumb import classify, registers_moved
from .timing import CoreTiming, MemoryModel, Range
from .trace import CallProfile, trace_calls

MULTIPLE = ("load_multiple", "store_multiple")
SINGLE_MEMORY = ("load", "store")
NO_WAIT_STATES = MemoryModel()
TIMINGS = {t.core: t for t in (cortex_m0plus.TIMING, cortex_m3.TIMING, cortex_m4.TIMING, cortex_m33.TIMING)}
# Cores with no per-instruction timing modelled here: their figures stay instruction counts, with the
# fewest cycles an instruction can take there (dual issue: half a cycle) as the only bound.
NOT_MODELLED = {
    "cortex-m7": ("dual-issue with branch prediction: no per-instruction table to weight a stream with", 0.5),
    "cortex-m55": ("dual-issue scalar pipeline and MVE beats: not modelled yet", 0.5),
    "riscv32": ("QEMU's virt machine is no particular core: no RISC-V core table yet", 1.0),
    "host": ("the host runs natively: no emulated instruction stream", None),
}



def timing_for(cpu: str) -> CoreTiming | None:
    """The core's timing table, or None where no per-instruction table is modelled (NOT_MODELLED says why)."""
    return TIMINGS.get(cpu)


def pairs_in_pipeline(insn) -> bool:
    """Single loads and stores: back to back they overlap (CoreTiming.pipelined)."""
    return classify(insn.mnemonic) in SINGLE_MEMORY


def estimate(profile: CallProfile, timing: CoreTiming, memory: MemoryModel = NO_WAIT_STATES,
             constant_bytes_per_call: float = 0.0) -> dict:
    """{"low", "nominal", "high"} estimated cycles per call, and what they are made of."""
    core = [0.0, 0.0, 0.0]
    taken_total = 0
    by_class: dict[str, int] = {}
    for address, count in profile.executed.items():
        insn = profile.insns[address]
        cls = classify(insn.mnemonic)
        if insn.mnemonic == "bl" and "branch_link" in timing.classes:
            cls = "branch_link"
        if cls not in timing.classes:
            raise ValueError(f"{timing.core} has no timing for {insn.mnemonic} ({cls}) at 0x{address:x}")
        by_class[cls] = by_class.get(cls, 0) + count
        taken = profile.taken.get(address, 0)
        taken_total += taken
        paired = profile.paired.get(address, 0) if cls in SINGLE_MEMORY and timing.pipelined else 0
        for i in range(3):
            cost = timing.classes[cls][i] * (count - paired) + (timing.pipelined[i] * paired if paired else 0)
            if cls in MULTIPLE:
                cost += timing.per_register[i] * registers_moved(insn.operands) * count
                if "pc" in insn.operands:
                    cost += timing.pop_pc[i] * count
            core[i] += cost + timing.refill[i] * taken
    calls = profile.calls
    memory_extra = memory.extra(taken_total / calls, constant_bytes_per_call)
    per_call = [core[i] / calls + memory_extra[i] for i in range(3)]
    instructions = profile.instructions_per_call
    return {
        "low": round(per_call[0]), "nominal": round(per_call[1]), "high": round(per_call[2]),
        "instructions_traced": round(instructions), "calls_traced": calls,
        "cycles_per_instruction": _ratio(per_call, instructions),
        "taken_branches": round(taken_total / calls),
        "core_table": timing.source, "memory": memory.name,
        "memory_cycles": {"low": round(memory_extra[0]), "nominal": round(memory_extra[1]),
                          "high": round(memory_extra[2])},
        "instruction_mix": {k: round(v / calls) for k, v in sorted(by_class.items(), key=lambda kv: -kv[1])},
    }


def _ratio(per_call: list[float], instructions: float) -> Range:
    return tuple(round(c / instructions, 3) if instructions else 0.0 for c in per_call)


def estimate_for_program(tc, elf, function: str, memory: MemoryModel = NO_WAIT_STATES,
                         constant_bytes_per_call: float = 0.0, args: tuple[str, ...] = ()) -> dict:
    """Trace `function`'s calls in `elf` on its CPU and estimate them; for a core without a timing table,
    {"estimated_cycles": None, "not_modelled": why, "min_cycles_per_instruction": bound}."""
    cpu = tc.cpu.name
    timing = timing_for(cpu)
    if timing is None:
        reason, bound = NOT_MODELLED.get(cpu, ("no timing table", None))
        return {"estimated_cycles": None, "not_modelled": reason, "min_cycles_per_instruction": bound}
    profile = trace_calls(tc, elf, function, args, pairs=pairs_in_pipeline)
    found = estimate(profile, timing, memory, constant_bytes_per_call)
    return {"estimated_cycles": {k: found.pop(k) for k in ("low", "nominal", "high")}, "model": found}
