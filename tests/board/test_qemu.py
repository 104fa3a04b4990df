"""Bare metal under QEMU: exit codes, argv over semihosting, and the instruction count the SysTick
gives under -icount shift=0, checked with a loop of known length (2 instructions per iteration)."""

import pytest

from mgrade_edge.board.build import SourceSet
from mgrade_edge.board.program import ProgramSpec, build_program
from mgrade_edge.board.run import run_program, ticks_to_instructions
from mgrade_edge.board.toolchain import CPUS, BoardError, find_toolchain
from tests.board.conftest import require_board

LOOP = r"""
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
uint32_t mgrade_systick_now(void);
int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 0;
  uint32_t t0 = mgrade_systick_now();
#if defined(__riscv)
  __asm__ volatile("1: addi %0, %0, -1\n bnez %0, 1b" : "+r"(n));
#else
  __asm__ volatile(".syntax unified\n1: subs %0, %0, #1\n bne 1b" : "+l"(n) : : "cc");
#endif
  printf("ticks %lu\n", (unsigned long)(mgrade_systick_now() - t0));
  return 3;
}
"""


@pytest.mark.parametrize("cpu", [name for name, spec in CPUS.items() if spec.bare_metal])
def test_loop_of_known_length_counts_its_instructions(cpu, tmp_path):
    try:
        find_toolchain(cpu)
    except BoardError:
        if CPUS[cpu].family == "riscv":  # optional packages: TensorFlow Lite Micro's boards do not need them
            pytest.skip(f"the {cpu} toolchain is not installed (make board-tools installs it)")
        require_board(cpu, "reference")  # skips or fails with the reason
    (tmp_path / "loop.c").write_text(LOOP)
    program = build_program(cpu, ProgramSpec((SourceSet((tmp_path / "loop.c",)),), name="loop"), tmp_path)
    counts = {}
    for n in (100_000, 300_000):
        result = run_program(program.toolchain, program.elf, (str(n),))
        assert result.exit_code == 3, result.output  # main's return value is QEMU's exit status
        counts[n] = ticks_to_instructions(program.toolchain, int(result.output.split()[1]))  # picolibc: stderr
    # The difference removes the fixed cost around the loop: 2 instructions per extra iteration,
    # within one SysTick period (40 / 31.25 / 62.5 instructions; one on riscv32, whose counter is minstret).
    assert abs((counts[300_000] - counts[100_000]) - 2 * 200_000) <= 2 * 1e9 / program.toolchain.cpu.clock_hz
