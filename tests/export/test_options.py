"""Per-target options (export/options.py): each target's class, the CLI flags built from them, and the
refusals of a flag the chosen target does not take."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass

import pytest

from mgrade_edge.errors import ExportError
from mgrade_edge.export import TARGETS, get_target
from mgrade_edge.export.artifact import ExportOptions
from mgrade_edge.export.options import (
    Flag,
    TargetOptions,
    build_target_options,
    cli_flags,
    option,
    options_class,
    spell_targets,
)


@pytest.mark.parametrize("name", list(TARGETS))
def test_every_target_has_an_options_class_whose_defaults_are_valid(name):
    target = get_target(name)
    options = options_class(target)()
    options.check(target)
    assert ExportOptions(name, target.states[0]).options == options
    with pytest.raises(FrozenInstanceError):  # an exporter cannot change what the user chose
        options.__setattr__("anything", 1)


def test_flags_and_who_takes_them():
    flags = {name: (flag.flag, spell_targets(takers)) for name, (flag, takers) in cli_flags().items()}
    assert flags == {"sigmoid": ("--sigmoid", "tflite-int8 / tflm --quant int8"),
                     "cpu": ("--cpu", "tflm"), "tflm_dir": ("--tflm-dir", "tflm"),
                     "weights": ("--weights", "c --quant int8|int16x8 / tflm-fused")}


@pytest.mark.parametrize("target, given, message", [
    ("tflite", {"sigmoid": "int8"}, "--sigmoid applies to tflite-int8 / tflm --quant int8 only, not tflite"),
    ("c-float32", {"weights": "int16"}, "--weights applies to c --quant int8|int16x8 / tflm-fused only, not c-float32"),
    ("onnx", {"cpu": "cortex-m4"}, "--cpu applies to tflm only, not onnx"),
    ("c-int8", {"weights": "int4"}, "--weights 'int4': choose one of int8, int16"),
    ("tflm-int8", {"sigmoid": "tanh"}, "--sigmoid 'tanh': choose one of int16, int8"),
    ("tflm-int8", {"cpu": "cortex-a53"}, "--cpu 'cortex-a53': choose one of host"),
])
def test_a_flag_the_target_does_not_take_or_a_bad_value_is_one_line(target, given, message):
    with pytest.raises(ExportError, match=message.replace("|", r"\|")) as info:
        build_target_options(get_target(target), given)
    assert "\n" not in str(info.value)


def test_given_flags_reach_the_options_and_absent_ones_keep_the_default():
    options = build_target_options(get_target("tflm-int8"), {"sigmoid": "int8", "cpu": None, "tflm_dir": "/t"})
    assert (options.sigmoid, options.cpu, options.tflm_dir) == ("int8", None, "/t")
    assert build_target_options(get_target("c-int8-h8"), {"weights": "int16"}).weights == "int16"


def test_a_flag_from_its_environment_variable_is_ignored_where_it_does_not_apply():
    """$TFLM_DIR is set for every export; only the tflm targets use it."""
    options = build_target_options(get_target("c-int8"), {"tflm_dir": "/tree"}, from_env=frozenset({"tflm_dir"}))
    assert options == options_class(get_target("c-int8"))()
    with pytest.raises(ExportError, match="--tflm-dir applies to tflm only"):
        build_target_options(get_target("c-int8"), {"tflm_dir": "/tree"})


def test_export_options_refuse_another_targets_options_class():
    from mgrade_edge.export.c.options import CIntOptions

    with pytest.raises(ExportError, match="target tflite-int8 takes TfliteInt8Options, not CIntOptions"):
        ExportOptions("tflite-int8", "external", options=CIntOptions())


def test_two_classes_declaring_one_flag_differently_are_a_registry_bug(monkeypatch):
    """The CLI has one option per name: a target declaring --weights with other choices is caught."""
    import mgrade_edge.export.options as options_module
    from mgrade_edge.targets import Target

    @dataclass(frozen=True)
    class OtherWeights(TargetOptions):
        weights: str = option("int8", Flag("--weights", "other", choices=("int8",)))

    monkeypatch.setitem(TARGETS, "zz-other", Target("zz-other", get_target("c-int8").precision, ("internal",),
                                                    ("c",), "c.export:export_c", "c", options="x:y"))
    monkeypatch.setattr(options_module, "options_class",
                        lambda t: OtherWeights if t.name == "zz-other" else options_class(t))
    with pytest.raises(ValueError, match="option weights is declared differently"):
        options_module.cli_flags()
