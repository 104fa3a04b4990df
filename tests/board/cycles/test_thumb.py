"""Thumb mnemonics to the timing classes of the Cortex-M instruction tables."""

import pytest

from mgrade_edge.board.cycles.thumb import classify, registers_moved


@pytest.mark.parametrize("mnemonic, cls", [
    ("add", "alu"), ("adds", "alu"), ("addeq", "alu"), ("movcs", "alu"), ("bics", "alu"), ("lsls", "alu"),
    ("ssat", "alu"), ("b", "branch"), ("bne", "branch"), ("bls", "branch"), ("bl", "branch"), ("bx", "branch"),
    ("cbz", "branch"), ("ldr", "load"), ("ldrsb", "load"), ("ldrbne", "load"), ("strh", "store"),
    ("ldrd", "load_dual"), ("strd", "store_dual"), ("ldmia", "load_multiple"), ("pop", "load_multiple"),
    ("push", "store_multiple"), ("mul", "mul"), ("muls", "mul"), ("mla", "mla"), ("umull", "mul64"),
    ("smlal", "mla64"), ("smlad", "dsp"), ("sxtb16", "dsp"), ("smmul", "dsp"), ("sdiv", "divide"),
    ("ite", "it"), ("tbb", "table_branch"),
])
def test_classify(mnemonic, cls):
    assert classify(mnemonic) == cls


def test_registers_moved():
    assert registers_moved("{r4, r5, r6, pc}") == 4
    assert registers_moved("r0!, {r1-r3}") == 3
    assert registers_moved("{r4-r11, lr}") == 9
