"""Board presets and the real-time verdict: units, then board-test --board --rate on a c bundle."""

import json

import pytest

from mgrade_edge.board.boards import BOARDS, get_board, realtime_verdict
from mgrade_edge.board.toolchain import CPUS, BoardError
from tests.board.conftest import require_board, require_toolchain
from tests.helpers import run_main


def test_every_preset_names_a_cpu_of_the_table():
    for board in BOARDS.values():
        assert board.cpu in CPUS and board.clock_mhz > 0 and board.memory.name, board.name
    with pytest.raises(BoardError, match="--board 'pi5' is not one of stm32l4r5"):
        get_board("pi5")


def test_the_verdict_follows_the_range():
    cycles = {"low": 900, "nominal": 1000, "high": 1100}
    assert realtime_verdict(cycles, 800, 1e6, 900)["keeps_up"] is True  # 1100 x 900 < 1e6
    assert realtime_verdict(cycles, 800, 1e6, 1200)["keeps_up"] is False  # 900 x 1200 > 1e6
    straddles = realtime_verdict(cycles, 800, 1e6, 1000)
    assert straddles["keeps_up"] is None and straddles["duty_cycle"] == {"low": 0.9, "nominal": 1.0, "high": 1.1}
    assert straddles["max_rate_hz"] == {"low": 1111.1, "nominal": 1000.0, "high": 909.1}


def test_without_a_timing_model_only_a_lower_bound_decides():
    bound = realtime_verdict(None, 1000, 1e6, 3000, min_cpi=0.5)
    assert bound["duty_cycle"] == {"at_least": 1.5} and bound["keeps_up"] is False
    assert realtime_verdict(None, 1000, 1e6, 1000, min_cpi=0.5)["keeps_up"] is None
    assert realtime_verdict(None, 1000, 1e6, 1000)["keeps_up"] is None


def test_board_test_with_a_board_and_a_rate(tiny_c_bundle, capsys, monkeypatch):
    require_toolchain("cortex-m4")
    code, out, err = run_main(["board-test", tiny_c_bundle, "--board", "stm32l4r5", "--dsp", "--rate", "100",
                               "--json"], capsys, monkeypatch)
    assert code == 0, err
    r = json.loads(out)
    assert r["cpu"] == "cortex-m4" and r["board"] == "stm32l4r5" and r["passed"]
    c = r["estimated_cycles"]
    assert 0 < c["low"] <= c["nominal"] <= c["high"]
    model = r["estimated_cycles_model"]["model"]
    # the traced calls are the golden's step calls: the same instructions the -icount run counted
    assert abs(model["instructions_traced"] - r["instructions_per_step"]) <= 0.001 * r["instructions_per_step"] + 30
    assert c["low"] >= model["instructions_traced"]  # no Cortex-M4 instruction takes less than a cycle
    v = r["realtime"]
    assert v["clock_hz"] == 120e6 and v["rate_hz"] == 100 and v["keeps_up"] is True
    assert v["duty_cycle"]["nominal"] == round(c["nominal"] * 100 / 120e6, 4)
    # the stable top-level keys (docs/timing.md)
    assert (r["clock_hz"], r["rate_hz"], r["real_time"], r["duty_cycle"]) == (120e6, 100, True, v["duty_cycle"])
    assert r["fits_ram"] and r["ram_left_bytes"] == 640 * 1024 - r["ram_bytes"]
    assert r["fits_flash"] and r["flash_left_bytes"] == 2048 * 1024 - r["step_flash_bytes"]
    assert v["line"].startswith("real time: YES - needs ") and "(stm32l4r5 runs 120 MHz)" in v["line"]


def test_require_real_time_makes_a_no_exit_1(tiny_c_bundle, capsys, monkeypatch):
    require_toolchain("cortex-m4")
    code, out, _ = run_main(["board-test", tiny_c_bundle, "--board", "nrf52840", "--rate", "1e7",
                             "--require-real-time"], capsys, monkeypatch)
    assert code == 1 and "real time: NO - needs " in out and "(nrf52840 runs 64 MHz)" in out
    code, _, _ = run_main(["board-test", tiny_c_bundle, "--board", "nrf52840", "--rate", "1e7"], capsys, monkeypatch)
    assert code == 0  # the verdict alone never changes the exit code


@pytest.mark.parametrize("args, needle", [
    (["--rate", "100"], "--rate needs a clock: pass --board NAME or --clock-mhz MHZ"),
    (["--board", "stm32l4r5", "--cpu", "cortex-m3"], "--board stm32l4r5 runs on --cpu cortex-m4, not cortex-m3"),
    (["--cycles"], "estimated cycles need an emulated core"),
])
def test_timing_option_errors_are_one_line(tiny_c_bundle, capsys, monkeypatch, args, needle):
    code, out, err = run_main(["board-test", tiny_c_bundle, *args], capsys, monkeypatch)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and needle in err, (code, out, err)


def test_a_tflm_bundle_on_a_board_traces_its_step(tiny_bundles):
    """The calls of the bundle's step() (quantise, invoke, dequantise, feedback) are what is traced."""
    from mgrade_edge.board.tflm_golden import board_test

    require_board("cortex-m4", "cmsis-nn")
    r = board_test(tiny_bundles("int8", "internal"), cpu="cortex-m4", probe=False, cycles=True,
                   memory=get_board("stm32l4r5").memory)
    assert r["passed"], r["result_line"]
    model = r["estimated_cycles_model"]["model"]
    assert abs(model["instructions_traced"] - r["instructions_per_step"]) <= 0.001 * r["instructions_per_step"] + 30
    assert model["instructions_traced"] <= r["estimated_cycles"]["low"] <= r["estimated_cycles"]["high"]
