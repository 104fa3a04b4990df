"""The golden program of real bundles, built against real TensorFlow Lite Micro and run."""

import os

import pytest

from mgrade_edge.board.tflm_golden import board_test, parse_golden_output, search_min_arena
from tests.board.conftest import require_board

PASS_LINE = "PASS: 32 steps, every logit equals the golden output; arena used 28080 of 37664 bytes"


def test_parse_pass_with_timing():
    run = parse_golden_output(f"noise\n{PASS_LINE}\nTIME: 32 steps took 430000 ticks at 25000000 ticks per second\n", 0)
    assert run.passed and run.arena_used_bytes == 28080 and (run.steps, run.ticks, run.ticks_per_second) == (
        32, 430000, 25000000)


def test_parse_needs_both_pass_line_and_exit_code_zero():
    assert not parse_golden_output(PASS_LINE, 1).passed
    assert not parse_golden_output("mgrade-board: HardFault\n", 0).passed
    fail = parse_golden_output("FAIL: 32 steps, worst error 3 quantisation steps at step 4 (tolerance 1); "
                               "arena used 100 of 200 bytes\n", 1)
    assert not fail.passed and fail.arena_used_bytes == 100 and fail.line.startswith("FAIL: 32 steps")
    assert parse_golden_output("", 139).line == "no output (exit code 139)"


@pytest.mark.parametrize("true_min", [16, 1008, 1024, 4096])
def test_arena_search_finds_the_smallest_passing_size(true_min):
    probed = []

    class Run:
        def __init__(self, arena):
            probed.append(arena)
            self.passed = arena >= true_min

    found, probes = search_min_arena(Run, used=max(16, true_min - 512), known_ok=true_min + 3000)
    assert found == true_min and len(probed) == len(probes) and all(p["ok"] == (p["arena"] >= true_min) for p in probes)


# (cpu, kernels, quant, state): int8 / int16x8 / external state on the host, int8 on Cortex-M4.
BOARD_CASES = [("host", "reference", "int8", "internal"), ("host", "reference", "int16x8", "internal"),
               ("host", "reference", "int8", "external"), ("cortex-m4", "cmsis-nn", "int8", "internal")]


@pytest.mark.parametrize("cpu, kernels, quant, state", BOARD_CASES)
def test_golden_program_passes_on_real_tflm(tiny_bundles, cpu, kernels, quant, state):
    require_board(cpu, kernels)
    report = board_test(tiny_bundles(quant, state), cpu=cpu, kernels=kernels)
    assert report["passed"], report["result_line"]
    used, arena_min = report["arena_used_bytes"], report["arena_bytes_min"]
    # The search's own evidence: one step less failed, the minimum passed.
    assert {"arena": arena_min, "ok": True} in report["probes"] + [{"arena": report["emitted_arena_bytes"], "ok": True}]
    assert {"arena": arena_min - 16, "ok": False} in report["probes"]
    assert used < arena_min <= report["emitted_arena_bytes"] * 2
    assert report["model_flash_bytes"] == (tiny_bundles(quant, state) / "model.tflite").stat().st_size
    assert report["flash_bytes"] > report["model_flash_bytes"] and report["ram_bytes"] >= arena_min
    if cpu == "host":
        assert report["instructions_per_step"] is None
    else:
        assert report["instructions_per_step"] > 1000


def test_an_int16x8_golden_recorded_with_the_tree_passes_on_cortex_m4_cmsis_nn(tmp_path):
    """The golden is recorded by the host build of the tree the bundle is built with (the Python wheel's
    int16 kernels may differ from that tree's by a step); the CMSIS-NN build on Cortex-M4 must equal it."""
    import json

    import numpy as np

    from mgrade_edge.board.tflm_golden import record_golden_outputs
    from tests.artifacts import build_c_bundle

    require_board("host", "reference")
    require_board("cortex-m4", "cmsis-nn")
    tflm_dir = os.environ["TFLM_DIR"]
    bundle = build_c_bundle(tmp_path / "b", "digits_like", "int16x8", family="tflm", tflm_dir=tflm_dir)
    golden = json.loads((bundle / "manifest.json").read_text())["details"]["tflm"]["golden"]
    assert golden["recorded_by"]["tree"] and golden["recorded_by"]["wheel_vs_tree_max_steps"] >= 0
    recorded, _ = record_golden_outputs(bundle, tflm_dir)  # recording twice gives the same outputs
    text = (bundle / "golden_io.h").read_text()
    body = text[text.index("kGoldenOutput"):]
    values = [int(v) for v in body[body.index("{") + 1:body.index("}")].replace("\n", " ").split(",") if v.strip()]
    assert np.array_equal(np.asarray(values).reshape(recorded.shape), recorded)
    report = board_test(bundle, cpu="cortex-m4", kernels="cmsis-nn", probe=False)
    assert report["passed"] and "every logit equals the golden output" in report["result_line"], report["result_line"]
