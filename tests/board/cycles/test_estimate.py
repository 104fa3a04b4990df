"""Estimated cycles from a call profile: each class's table row, refills, pipelined loads, the memory model."""

from collections import Counter

import pytest

from mgrade_edge.board.cycles.disasm import Insn
from mgrade_edge.board.cycles.estimate import TIMINGS, estimate, timing_for
from mgrade_edge.board.cycles.timing import MemoryModel
from mgrade_edge.board.cycles.trace import CallProfile


def profile(rows, calls=1):
    """rows: (mnemonic, operands, size, executions, taken, paired) at consecutive addresses."""
    insns, executed, taken, paired = {}, Counter(), Counter(), Counter()
    address = 0x100
    for mnemonic, operands, size, count, n_taken, n_paired in rows:
        insns[address] = Insn(address, size, mnemonic, operands)
        executed[address], taken[address], paired[address] = count, n_taken, n_paired
        address += size
    return CallProfile("f", calls, executed, taken, paired, insns)


def test_a_loop_on_the_cortex_m4():
    """subs + bne taken 999 of 1000 times: 1 + (1 + refill 1..3) a taken iteration."""
    p = profile([("subs", "r0, #1", 2, 1000, 0, 0), ("bne", "0x100", 2, 1000, 999, 0)])
    e = estimate(p, timing_for("cortex-m4"))
    assert (e["low"], e["nominal"], e["high"]) == (2000 + 999, 2000 + 2 * 999, 2000 + 3 * 999)
    assert e["instructions_traced"] == 2000 and e["taken_branches"] == 999


def test_loads_multiples_pop_pc_and_calls_on_the_m4():
    p = profile([("ldr", "r1, [r0]", 2, 10, 0, 0), ("ldr", "r2, [r0, #4]", 2, 10, 0, 10),  # the second overlaps
                 ("ldmia", "r0!, {r1, r2, r3}", 2, 5, 0, 0), ("pop", "{r4, r5, pc}", 2, 2, 2, 0),
                 ("sdiv", "r0, r1, r2", 4, 1, 0, 0)])
    e = estimate(p, timing_for("cortex-m4"))
    # ldr 2x10, paired ldr 1x10 (high 2x10); ldm (1+3)x5; pop (1+3)x2 + refill x2; sdiv 2/7/12
    assert e["low"] == 20 + 10 + 20 + 8 + 2 + 2
    assert e["nominal"] == 20 + 10 + 20 + 8 + 4 + 7
    assert e["high"] == 20 + 20 + 20 + 8 + 6 + 12


def test_the_cortex_m0plus_table_differs_where_its_manual_does():
    p = profile([("bl", "f", 4, 1, 1, 0), ("muls", "r0, r1", 2, 1, 0, 0), ("pop", "{r4, pc}", 2, 1, 1, 0)])
    e = estimate(p, timing_for("cortex-m0plus"))
    # BL 3; MULS 1 (fast multiplier) or 32 (small); POP {r4, pc} 3 + N = 5
    assert (e["low"], e["nominal"], e["high"]) == (3 + 1 + 5, 3 + 1 + 5, 3 + 32 + 5)


def test_the_memory_model_adds_wait_states_nobody_hides():
    p = profile([("subs", "r0, #1", 2, 100, 0, 0), ("bne", "0x100", 2, 100, 100, 0)])
    core = estimate(p, timing_for("cortex-m4"))
    flash = MemoryModel(5, code_cache=False, data_cache=False, flash_line_bytes=16)
    e = estimate(p, timing_for("cortex-m4"), flash, constant_bytes_per_call=64)
    assert e["low"] == core["low"]
    assert e["nominal"] == core["nominal"] + 100 * 5 + 64 // 16 * 5  # every refill, each flash line once
    assert e["high"] == core["high"] + 100 * 5 + 64 // 4 * 5  # every refill, every word
    cached = estimate(p, timing_for("cortex-m4"), MemoryModel(5, code_cache=True, data_cache=True), 64)
    assert cached["nominal"] == core["nominal"]


def test_an_instruction_the_core_does_not_have_is_an_error():
    with pytest.raises(ValueError, match="cortex-m3 has no timing for smlad"):
        estimate(profile([("smlad", "r0, r1, r2, r0", 4, 1, 0, 0)]), timing_for("cortex-m3"))


def test_every_table_cites_its_source_and_orders_its_ranges():
    for timing in TIMINGS.values():
        assert timing.source
        for cls, (low, nominal, high) in timing.classes.items():
            assert low <= nominal <= high, (timing.core, cls)
        assert timing.refill[0] <= timing.refill[1] <= timing.refill[2]
    assert timing_for("cortex-m7") is None and timing_for("riscv32") is None
