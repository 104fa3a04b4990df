"""A tflm-fused bundle under real TensorFlow Lite Micro: the golden program passes with no logit
off on the host and on Cortex-M4 (QEMU, the C step's DSP path), the probed arena holds the state and
fits the emitted size, the measured step scratch is the planned one, and a model file from another
export is refused by the op instead of running other weights."""

from __future__ import annotations

import shutil

import pytest

from mgrade_edge.board.tflm_golden import board_test
from mgrade_edge.manifest import read_manifest
from tests.artifacts import build_c_bundle
from tests.board.conftest import require_board


@pytest.fixture(scope="module")
def fused(tmp_path_factory):
    return build_c_bundle(tmp_path_factory.mktemp("fused") / "odd", "odd", "int8", family="tflm-fused")


@pytest.mark.parametrize("cpu, kernels, dsp", [("host", "reference", False), ("cortex-m4", "cmsis-nn", True)])
def test_golden_program_passes_with_the_state_in_the_arena(fused, cpu, kernels, dsp):
    require_board(cpu, kernels)
    r = board_test(fused, cpu=cpu, kernels=kernels, dsp=dsp)
    facts = read_manifest(fused)["details"]["c"]
    assert r["passed"] and r["fused"], r["result_line"]
    assert "every logit equals the golden output" in r["result_line"]
    assert facts["state_bytes"] < r["arena_bytes_min"] <= r["emitted_arena_bytes"]
    assert r["step_scratch_bytes"] == facts["scratch_bytes"]  # the step's statics, measured = planned
    assert r["model_ram_bytes"] == r["arena_bytes_min"] + r["interpreter_objects_bytes"] + r["step_scratch_bytes"]
    assert (r["instructions_per_step"] is None) == (cpu == "host")


def test_a_kernel_from_another_export_is_refused(fused, tmp_path):
    require_board("host", "reference")
    step_id = read_manifest(fused)["details"]["tflm_fused"]["step_id"]
    mixed = tmp_path / "mixed"
    shutil.copytree(fused, mixed)
    op = mixed / "mgrade_step_op.cc"  # as if built from another export's step: only its id differs
    op.write_text(op.read_text().replace(f'kStepId[] = "{step_id}"', f'kStepId[] = "{step_id[::-1]}"'))
    assert op.read_text() != (fused / "mgrade_step_op.cc").read_text()
    r = board_test(mixed, cpu="host", probe=False)
    assert not r["passed"] and r["result_line"].startswith("FAIL: init")
    assert board_test(fused, cpu="host", probe=False)["passed"]
