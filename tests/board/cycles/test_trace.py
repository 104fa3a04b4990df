"""The execution trace counts exactly the instructions of the traced calls: a loop of known length,
checked against the arithmetic and against QEMU's -icount figure, on each modelled core."""

import pytest

from mgrade_edge.board.build import SourceSet
from mgrade_edge.board.cycles.estimate import estimate, pairs_in_pipeline, timing_for
from mgrade_edge.board.cycles.trace import trace_calls
from mgrade_edge.board.program import ProgramSpec, build_program
from mgrade_edge.board.run import run_program, ticks_to_instructions
from mgrade_edge.board.toolchain import BoardError
from tests.board.conftest import require_toolchain

SPIN = r"""
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
uint32_t mgrade_systick_now(void);
/* n iterations of 2 instructions, then the return: 2n + 1 instructions, n taken branches */
__attribute__((naked, noinline)) void spin(int n) {
  __asm__(".syntax unified\n1: subs r0, r0, #1\n bne 1b\n bx lr\n");
}
int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 0;
  uint32_t t0 = mgrade_systick_now();
  spin(n);
  printf("ticks %lu\n", (unsigned long)(mgrade_systick_now() - t0));
  spin(n);
  return 3;
}
"""
N = 5000


@pytest.mark.parametrize("cpu, per_iteration", [("cortex-m0plus", (3, 3, 3)), ("cortex-m4", (3, 4, 5))])
def test_a_loop_of_known_length(cpu, per_iteration, tmp_path):
    require_toolchain(cpu)
    (tmp_path / "spin.c").write_text(SPIN)
    program = build_program(cpu, ProgramSpec((SourceSet((tmp_path / "spin.c",)),), name="spin"), tmp_path)
    profile = trace_calls(program.toolchain, program.elf, "spin", (str(N),), pairs=pairs_in_pipeline)
    assert profile.calls == 2 and profile.instructions_per_call == 2 * N + 1
    assert sum(profile.taken.values()) == 2 * N  # N - 1 loop branches and the return, per call
    run = run_program(program.toolchain, program.elf, (str(N),))
    icount = ticks_to_instructions(program.toolchain, int(run.output.split()[1]))
    assert abs(icount - (2 * N + 1)) <= 20  # the counter reads around the call
    e = estimate(profile, timing_for(cpu))
    # subs 1, bne 1 + refill when taken, bx lr 1 + refill
    assert (e["low"], e["nominal"], e["high"]) == tuple(p * N + 1 for p in per_iteration)


def test_an_emulator_that_fails_to_start_is_an_error_not_a_hang(tmp_path, monkeypatch):
    import mgrade_edge.board.cycles.trace as trace

    require_toolchain("cortex-m4")
    (tmp_path / "spin.c").write_text(SPIN)
    program = build_program("cortex-m4", ProgramSpec((SourceSet((tmp_path / "spin.c",)),), name="spin"), tmp_path)
    real = trace.run_command
    monkeypatch.setattr(trace, "run_command", lambda tc, elf, args: real(tc, elf, args) + ["-no-such-option"])
    with pytest.raises(BoardError, match="the traced run of spin.elf on cortex-m4 failed: QEMU exit status 1"):
        trace_calls(program.toolchain, program.elf, "spin", (str(N),))
