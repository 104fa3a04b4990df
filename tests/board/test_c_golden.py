"""The c target's golden program built with the board layer: RAM from the linked program's symbols,
the step's stack by painting, bit-identical outputs on the host and under QEMU."""

import json
import re
import shutil

import pytest

from mgrade_edge.board.c_golden import (
    BLOCK_PAIRS_DEFINE,
    board_test_c,
    expected_output_hash,
    fnv1a,
    format_c_board_report,
    mve_defines,
    parse_c_golden_output,
)
from mgrade_edge.board.toolchain import get_cpu
from tests.board.conftest import require_toolchain
from tests.helpers import run_main

PASS_LINE = ("PASS: 64 steps, worst error 0 (every output equals the golden, tolerance 0), output hash a04b5b3d, "
             "rerun identical; state 1636 bytes, scratch 528 bytes")


def test_parse_pass_with_ticks_and_stack():
    run = parse_c_golden_output(f"{PASS_LINE}\nticks 421 for 64 steps (inside the step calls)\n"
                                "stack: 320 bytes high-water over 100 steps (16384 bytes painted)\n", 0)
    assert run.passed and run.output_hash == "a04b5b3d"
    assert (run.ticks, run.timed_steps, run.stack_bytes, run.stack_steps, run.stack_painted_bytes) == (
        421, 64, 320, 100, 16384)


def test_parse_the_block_pass():
    run = parse_c_golden_output(f"{PASS_LINE}\nblock: 64 steps in calls of 16, output hash a04b5b3d, identical\n"
                                "ticks 421 for 64 steps (inside the step calls)\n"
                                "block ticks 400 for 64 steps (inside the step_block calls)\n", 0)
    assert (run.block_steps, run.block_identical, run.block_ticks) == (16, True, 400)
    different = parse_c_golden_output("block: 64 steps in calls of 5, output hash 00000000, DIFFERENT\n", 1)
    assert (different.block_steps, different.block_identical, different.passed) == (5, False, False)


def test_parse_needs_pass_and_exit_zero_and_reports_an_exceeded_paint_region():
    assert not parse_c_golden_output(PASS_LINE, 1).passed
    assert not parse_c_golden_output("mgrade-board: HardFault\n", 0).passed
    over = parse_c_golden_output(f"{PASS_LINE}\nstack: more than the 4096 painted bytes over 64 steps\n", 0)
    assert over.stack_bytes is None and (over.stack_steps, over.stack_painted_bytes) == (64, 4096)


def test_fnv1a_is_the_programs_hash():
    assert fnv1a(b"") == "811c9dc5" and fnv1a(b"a") == "e40c292c"  # the published FNV-1a 32-bit vectors


@pytest.fixture(scope="module")
def host_report(tiny_c_bundle):
    require_toolchain("host")
    return board_test_c(tiny_c_bundle, cpu="host")


def test_host_ram_from_symbols_equals_what_the_generator_planned(host_report):
    r = host_report
    assert r["passed"] and r["bit_exact_vs_mirror"], r["result_line"]
    parts, plan = r["ram_parts"], r["planned_ram_parts"]
    assert (parts["state"], parts["scratch"], parts["io"]) == (plan["state"], plan["scratch"], plan["io"])
    assert 0 < parts["stack"] < r["stack_painted_bytes"]
    assert r["ram_bytes"] == sum(parts.values())
    assert r["step_flash_bytes"] > r["model_flash_bytes"] > 0 and r["instructions_per_step"] is None


def test_stack_painting_sees_a_deeper_stack(tiny_c_bundle, host_report, tmp_path):
    """The same step behind a wrapper holding a written 1 KB local buffer: the high-water must grow by it."""
    pad = 1024
    bundle = tmp_path / "deeper"
    shutil.copytree(tiny_c_bundle, bundle)
    source = bundle / "mgrade_tiny.c"
    text, n = re.subn(r"\bvoid API\(step_q\)\(", "static void step_q_inner(", source.read_text())
    assert n == 1, "the step template no longer defines API(step_q) this way; update this test"
    source.write_text(text + f"""
void API(step_q)(API(state) *s, const act_t *xq, act_t *yq) {{
  volatile unsigned char pad[{pad}];
  unsigned i;
  for (i = 0; i < {pad}u; ++i) pad[i] = (unsigned char)i;
  step_q_inner(s, xq, yq);
  (void)pad[0];
}}
""")
    deeper = board_test_c(bundle, cpu="host")
    assert deeper["passed"], deeper["result_line"]
    assert host_report["stack_bytes"] + pad <= deeper["stack_bytes"] <= host_report["stack_bytes"] + pad + 256


# One QEMU run per core: the DSP variant where the core has it (M4, M7, M33), the portable C on M0+ (ARMv6-M:
# no 32x32->64 multiply), M3 (no DSP extension) and RV32IMAC (picolibc, its own start code), and on M55
# what board-test builds there by default: the Helium dot products.
@pytest.mark.parametrize("cpu, dsp", [("cortex-m0plus", False), ("cortex-m3", False), ("cortex-m4", True),
                                      ("cortex-m7", True), ("cortex-m33", True), ("cortex-m55", False),
                                      ("riscv32", False)])
def test_cortex_m_outputs_are_bit_identical_to_the_host_and_the_mirror(tiny_c_bundle, host_report, cpu, dsp):
    require_toolchain(cpu)
    r = board_test_c(tiny_c_bundle, cpu=cpu, dsp=dsp, defines=mve_defines(get_cpu(cpu), None))
    assert r["passed"], r["result_line"]
    assert r["output_hash"] == host_report["output_hash"] == expected_output_hash(tiny_c_bundle)
    assert r["kernels"] == ("helium" if cpu == "cortex-m55" else "arm-dsp" if dsp else "portable-c") and r["cpu"] == cpu
    assert (r["ram_parts"]["state"], r["ram_parts"]["scratch"], r["ram_parts"]["io"]) == tuple(
        r["planned_ram_parts"].values())
    assert r["ram_parts"]["stack"] > 0 and r["instructions_per_step"] > 1000


def _one_error_line(code, out, err, needle):
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and needle in err, (code, out, err)


def test_board_test_errors_are_one_line_exit_2(tiny_c_bundle, tmp_path, capsys, monkeypatch):
    _one_error_line(*run_main(["board-test", tiny_c_bundle, "--cpu", "host", "--dsp"], capsys, monkeypatch),
                    "--dsp uses the Arm DSP instructions")
    _one_error_line(*run_main(["board-test", tiny_c_bundle, "--cpu", "cortex-m3", "--dsp"], capsys, monkeypatch),
                    "it needs a --cpu with them (cortex-m4, cortex-m7, cortex-m33, cortex-m55), not cortex-m3")
    _one_error_line(*run_main(["board-test", tiny_c_bundle, "--cpu", "cortex-m4", "--mve"], capsys, monkeypatch),
                    "--mve needs a core with Helium (cortex-m55), not cortex-m4")
    _one_error_line(*run_main(["board-test", tiny_c_bundle, "--kernels", "reference"], capsys, monkeypatch),
                    "is a c bundle")
    broken = tmp_path / "broken"
    shutil.copytree(tiny_c_bundle, broken)
    (broken / "main.c").unlink()
    _one_error_line(*run_main(["board-test", broken], capsys, monkeypatch), "main.c is missing")
    _one_error_line(*run_main(["board-test", tmp_path, "--dsp"], capsys, monkeypatch),
                    "not an mgrade-edge artifact directory")


def test_painted_stack_agrees_with_the_compilers_call_graph_on_the_host(host_report):
    """The host step calls nothing outside its object, so the deepest -fcallgraph-info chain bounds
    the painted high-water from above, and painting finds most of it (frames are written)."""
    r = host_report
    if r["stack_static_bound_external_calls"]:
        pytest.skip(f"the host step calls {r['stack_static_bound_external_calls']}: the bound is not complete")
    assert 0.5 * r["stack_bytes_static_bound"] <= r["stack_bytes"] <= r["stack_bytes_static_bound"]


def _block_pairs(bundle, cpu="host", dsp=False, steps=5):
    """step_block in calls of `steps` (odd: each call ends with a single step after its pairs)."""
    return board_test_c(bundle, cpu=cpu, dsp=dsp, defines=(BLOCK_PAIRS_DEFINE, f"MGRADE_BLOCK_STEPS={steps}"))


def test_block_pairs_give_the_single_steps_outputs_with_a_second_column_of_scratch(tiny_c_bundle, host_report):
    r = _block_pairs(tiny_c_bundle)
    assert r["passed"] and r["block_identical"] and r["block_steps"] == 5 and r["block_pairs"], r["result_line"]
    assert r["output_hash"] == host_report["output_hash"]
    assert host_report["block_identical"] and not host_report["block_pairs"]  # without: a loop of steps
    assert r["ram_parts"]["scratch"] == 2 * r["planned_ram_parts"]["scratch"]
    assert "step_block" in format_c_board_report(r)


def test_a_wrong_block_step_fails_the_golden(tiny_c_bundle, tmp_path):
    """The block pass can fail: the pair path's second column fed the first column's input."""
    bundle = tmp_path / "wrong_pairs"
    shutil.copytree(tiny_c_bundle, bundle)
    source = bundle / "mgrade_tiny.c"
    text, n = re.subn(r"uq \+ \(long\)k \* D_IN", "uq", source.read_text())
    assert n == 1, "the step template no longer reads column k's input this way; update this test"
    source.write_text(text)
    r = _block_pairs(bundle)
    assert not r["passed"] and r["block_identical"] is False, r["result_line"]


@pytest.mark.board
def test_block_pairs_on_cortex_m4_with_the_dsp_path(tiny_c_bundle, host_report):
    require_toolchain("cortex-m4")
    r = _block_pairs(tiny_c_bundle, "cortex-m4", dsp=True, steps=16)
    assert r["passed"] and r["block_identical"] and r["output_hash"] == host_report["output_hash"], r["result_line"]
    assert r["instructions_per_step_in_blocks"] > 1000


@pytest.mark.board
def test_board_test_on_cortex_m55_reports_the_helium_and_the_dsp_build(tiny_c_bundle, capsys, monkeypatch):
    require_toolchain("cortex-m55")
    code, out, err = run_main(["board-test", tiny_c_bundle, "--cpu", "cortex-m55", "--json"], capsys, monkeypatch)
    assert code == 0, err
    report = json.loads(out)
    other = report["without_helium"]
    assert report["kernels"] == "helium" and other["kernels"] == "arm-dsp" and other["passed"]
    assert other["output_hash"] == report["output_hash"] == expected_output_hash(tiny_c_bundle)
    assert other["instructions_per_step"] > 0 and report["instructions_per_step"] > 0
