"""mgrade-edge plan: the analytic figures per target, the fitted cost model's prediction and the verdict."""

from __future__ import annotations

import json

import pytest

from mgrade_edge import plan as plan_module
from mgrade_edge.analytic import analytic_profile, step_macs
from mgrade_edge.board.boards import get_board
from mgrade_edge.config import MGRADEConfig
from tests.helpers import run_main

COSTS = {"cortex-m4-dsp": {"coefficients": {"per_mac": 1.5, "per_channel_layer": 100.0, "per_layer": 1000.0,
                                            "per_step": 500.0}, "held_out": [{"error": 0.05}, {"error": -0.1}]}}


@pytest.fixture
def costs(monkeypatch):
    monkeypatch.setattr(plan_module, "cost_models", lambda: COSTS)


def test_without_a_board_the_analytic_figures_per_target():
    cfg = MGRADEConfig(d_in=1, d_model=32, n_layers=2, n_classes=10, kernel_size=16, n_taps=4)
    r = plan_module.plan(cfg)
    assert r["macs_per_step"] == step_macs(cfg) and r["estimated_cycles"] is None
    for target in plan_module.PLANNED_TARGETS:
        assert r["targets"][target]["ram_bytes"] == analytic_profile(cfg, target)["analytic_min_ram_bytes"]


def test_the_cost_model_and_the_verdict(costs):
    cfg = MGRADEConfig(d_in=1, d_model=32, n_layers=2, n_classes=10, kernel_size=16, n_taps=4)
    cycles = 1.5 * step_macs(cfg) + 100 * 64 + 1000 * 2 + 500
    r = plan_module.plan(cfg, get_board("stm32l4r5"), rate=1000)
    assert r["estimated_cycles"]["nominal"] == round(cycles)
    assert r["cost_model"]["core"] == "cortex-m4-dsp" and r["cost_model"]["held_out_max_error"] == 0.1
    assert r["real_time"] is (cycles * 1000 <= 120e6) and r["duty_cycle"]["nominal"] == round(cycles * 1000 / 120e6, 4)
    assert r["fits_ram"] and r["ram_left_bytes"] == 640 * 1024 - r["targets"]["c-int8"]["ram_bytes"]
    assert plan_module.plan(cfg, get_board("stm32h7a3"), rate=1000)["estimated_cycles"] is None  # no M7 model


def test_the_command(costs, capsys, monkeypatch):
    code, out, err = run_main(["plan", "--d-model", "32", "--layers", "2", "--kernel-size", "16", "--taps", "4",
                               "--board", "stm32l4r5", "--rate", "100", "--json"], capsys, monkeypatch)
    assert code == 0, err
    r = json.loads(out)
    assert r["config"]["d_model"] == 32 and r["board"] == "stm32l4r5" and r["real_time"] is True
    code, out, _ = run_main(["plan", "--preset", "speech-commands"], capsys, monkeypatch)
    assert code == 0 and "407,939 parameters" in out


@pytest.mark.parametrize("args, needle", [
    (["--rate", "100"], "--rate needs --board"),
    (["--sample-rate", "8000"], "--sample-rate is a training option"),
])
def test_plan_errors_are_one_line(args, needle, capsys, monkeypatch):
    code, out, err = run_main(["plan", *args], capsys, monkeypatch)
    assert code == 2 and out == "" and needle in err and len(err.strip().splitlines()) == 1
