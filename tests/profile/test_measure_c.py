"""`profile --target c`: the compiled C step measured on the host (symbols, painted stack, flash)."""

import pytest

from mgrade_edge.board.toolchain import BoardError, find_toolchain
from mgrade_edge.profile.measure import profile_report
from mgrade_edge.profile.report import format_report


@pytest.fixture(scope="module")
def c_profile(tiny_calibrated_step):
    try:
        find_toolchain("host")
    except BoardError as exc:
        pytest.skip(str(exc))
    from tests.helpers import make_model

    _, calibration = tiny_calibrated_step  # calibrated on this very model (tests/conftest.py)
    model = make_model("tiny", seed=0)
    return profile_report(model.cfg, model, target="c-int8", steps=(1, 10, 1000), calibration=calibration,
                          windows=None)


def test_measured_parts_are_the_planned_ones_and_constant_over_steps(c_profile):
    r, m = c_profile, c_profile["measured"]
    assert m["engine"] == "c" and m["golden_passed"], m["golden_line"]
    plan = m["planned"]
    assert (m["state_bytes"], m["scratch_bytes"], m["io_bytes"]) == (plan["state"], plan["scratch"], plan["io"])
    assert set(m["stack_bytes_after_steps"]) == {1, 10, 1000} and m["stack_bytes"] > 0
    assert r["ram_delta_bytes"] == 0 and m["ram_bytes"] == m["state_bytes"] + m["scratch_bytes"] + m[
        "io_bytes"] + m["stack_bytes"]
    assert m["heap_functions_referenced"] == [] and m["flash_bytes"]["const"] > 0
    assert r["ram_over_minimum"] == m["ram_bytes"] / r["analytic_min_ram_bytes"]


def test_report_prints_the_measured_c_step(c_profile):
    text = format_report(c_profile)
    assert "measured C step" in text and "(constant)" in text and "symbols agree" in text


def test_target_c_means_c_int8_and_a_bad_target_is_one_line(capsys, monkeypatch):
    import json

    from tests.helpers import run_main

    code, out, _ = run_main(["profile", "--preset", "digits", "--target", "c", "--no-measure", "--json"], capsys,
                            monkeypatch)
    assert code == 0 and json.loads(out)["target"] == "c-int8"
    code, out, err = run_main(["profile", "--preset", "digits", "--target", "c-int4", "--no-measure"], capsys,
                              monkeypatch)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "c-int8" in err


def test_cortex_m4_profile_is_measured_under_qemu_and_constant(tiny_calibrated_step):
    """The same measurement on a Cortex-M4 (QEMU): the parts from that CPU's linked program, constant."""
    try:
        find_toolchain("cortex-m4")
    except BoardError as exc:
        pytest.skip(str(exc))
    from tests.helpers import make_model

    _, calibration = tiny_calibrated_step
    model = make_model("tiny", seed=0)
    r = profile_report(model.cfg, model, target="c-int8", steps=(1, 100), calibration=calibration, windows=None,
                       cpu="cortex-m4")
    m = r["measured"]
    assert m["cpu"] == "cortex-m4" and m["golden_passed"], m["golden_line"]
    planned = tuple(m["planned"][k] for k in ("state", "scratch", "io"))
    assert (m["state_bytes"], m["scratch_bytes"], m["io_bytes"]) == planned
    assert r["ram_delta_bytes"] == 0 and m["stack_bytes"] > 0


def test_cpu_other_than_host_needs_a_measured_c_target(capsys, monkeypatch):
    from tests.helpers import run_main

    for args in (["--target", "tflite-int8"], ["--target", "c", "--no-measure"], ["--target", "c", "--cpu", "z80"]):
        cpu = [] if "--cpu" in args else ["--cpu", "cortex-m4"]
        code, out, err = run_main(["profile", "--preset", "digits", *args, *cpu], capsys, monkeypatch)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
        assert ("c target" in err) or ("not one of host" in err), err
