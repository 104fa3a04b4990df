"""The pass list (export/tflite/passes/__init__.py): its order, when each pass applies, and that an export
records what each pass changed. Each pass has its own test beside this one."""

from __future__ import annotations

import importlib

import pytest

from mgrade_edge.export import PRECISIONS
from mgrade_edge.export.tflite import passes
from mgrade_edge.export.tflite.passes import PASSES, PassContext, run_passes


def applied(precision: str, sigmoid: str = "int16", state: str | None = None, device_model: bool = False) -> list:
    context = PassContext(PRECISIONS[precision], sigmoid, state, device_model)
    return [p.name for p in PASSES if p.applies(context)]


def test_every_pass_is_a_module_with_run():
    for graph_pass in PASSES:
        module = importlib.import_module(f"{passes.__name__}.{graph_pass.name}")
        assert callable(module.run), graph_pass.name


@pytest.mark.parametrize("precision, sigmoid, state, device_model, expected", [
    ("float32", "int16", "external", False, []),
    ("float32", "int16", "internal", True, ["op_order", "device_model"]),
    ("int8", "int16", "external", False, ["full_width_constants", "logistic16"]),
    ("int8", "int8", "external", False, ["full_width_constants"]),
    ("int8", "int16", "internal", False, ["full_width_constants", "logistic16", "op_order"]),
    ("int8", "int16", "internal", True, ["full_width_constants", "logistic16", "op_order", "device_model"]),
    ("int16x8", "int16", "internal", True, ["full_width_constants", "op_order", "device_model"]),
    ("int8", "int16", None, False, ["full_width_constants", "logistic16"]),  # the profiler's functions
])
def test_which_passes_run_and_in_what_order(precision, sigmoid, state, device_model, expected):
    assert applied(precision, sigmoid, state, device_model) == expected


def test_run_passes_runs_them_in_order_and_counts(monkeypatch):
    calls = []

    def fake(name):
        def run(data):
            calls.append(name)
            return data + name.encode()[:1], len(name)
        return run

    for graph_pass in PASSES:
        module = importlib.import_module(f"{passes.__name__}.{graph_pass.name}")
        monkeypatch.setattr(module, "run", fake(graph_pass.name))
    data, changed = run_passes(b"", PassContext(PRECISIONS["int8"], "int16", "internal", True))
    assert calls == [p.name for p in PASSES] and data == b"flod"
    assert changed == {p.name: len(p.name) for p in PASSES}


@pytest.mark.tflite
def test_an_export_records_what_each_pass_changed(tiny_calibrated_step, tmp_path):
    from mgrade_edge.export.artifact import ExportOptions
    from mgrade_edge.export.tflite.export import export_tflite

    step, calibration = tiny_calibrated_step
    result = export_tflite(step, ExportOptions("tflite-int8", "internal", calibration), tmp_path)
    changed = result.details["passes"]
    assert list(changed) == ["full_width_constants", "logistic16", "op_order"]
    assert changed["logistic16"] >= 1 and changed["op_order"] >= 1, changed  # the tiny step has sigmoids and state
