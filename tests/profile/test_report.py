"""The text report of a profile."""

import json

from mgrade_edge.profile.measure import profile_report
from mgrade_edge.profile.report import format_report
from tests.helpers import NAMED_CONFIGS, make_model

REPORT_KEYS = {"params", "flash_bytes", "state_bytes", "scratch_bytes", "paper_footprint_values", "arena_bytes",
               "arena_delta_bytes", "arena_over_minimum", "comparisons", "per_layer"}


def test_report_keys_and_json():
    report = profile_report(NAMED_CONFIGS["digits_like"], make_model("digits_like"), measure=False)
    assert REPORT_KEYS <= set(report)
    assert set(report["per_layer"]) == {"encoder", "layer_0", "layer_1", "decoder"}
    assert json.loads(json.dumps(report))["state_bytes"]["total"] == 2 * (15 * 16 + 16)
    text = format_report(report)
    assert "paper footprint" in text and "RAM minimum" in text and "transformer_kv" in text


def test_a_filter_bank_models_profile_names_its_front_end(signal_library):
    from mgrade_edge.profile.cli import frontend_memory

    fe = frontend_memory({"task": "wakeword", "task_options": {"window_ms": 32.0, "hop_ms": 32.0}})
    assert 0 < fe["kept_between_hops_bytes"] < fe["memory_bytes"] and "32 ms hop" in fe["features"]
    assert frontend_memory({"task": "digits"}) is None
    assert frontend_memory({"task": "keywords"}) is None  # raw samples: no front end
