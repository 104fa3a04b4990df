"""The target registry is the one description of a target: CLI spellings, runners and exporters derive from it."""

import pytest

from mgrade_edge.errors import ExportError
from mgrade_edge.export import (
    PRECISIONS,
    TARGETS,
    cli_target_names,
    get_target,
    quant_choices,
    resolve_cli_target,
    resolve_exporter,
)
from mgrade_edge.runtime import ENGINES


@pytest.mark.parametrize("name", list(TARGETS))
def test_every_target_is_complete(name):
    t = TARGETS[name]
    assert t.precision is PRECISIONS[t.precision.name]
    assert t.states and t.engines and set(t.engines) <= set(ENGINES)
    assert callable(resolve_exporter(t))
    assert t.tolerance is not None
    # every registered target is reachable from the CLI, and resolves back to itself
    quant = t.precision.name if t.by_quant else None
    assert resolve_cli_target(t.cli_name, quant) is t


def test_cli_spellings_and_quant_choices():
    assert cli_target_names() == ["onnx", "onnx-int8", "tflite", "tflite-int8", "tflite-int16x8", "tflm", "c",
                                  "c-int8-h8", "c-int8-h32", "c-int16x8-h32", "tflm-fused"]
    assert quant_choices("tflm") == ["int8", "int16x8"]
    assert quant_choices("c") == ["int8", "int16x8", "float32"]
    assert resolve_cli_target("tflm").name == "tflm-int8"  # the first precision is the default
    assert get_target("tflm-int16x8").tolerance == get_target("tflite-int16x8").tolerance
    with pytest.raises(ExportError, match="--quant 'int4' is not one of int8, int16x8"):
        resolve_cli_target("tflm", "int4")
    with pytest.raises(ExportError, match="--quant applies to --target tflm / c / tflm-fused only"):
        resolve_cli_target("tflite-int8", "int16x8")
    with pytest.raises(ExportError, match="unknown target 'coreml'"):
        resolve_cli_target("coreml")


@pytest.mark.parametrize("name", list(PRECISIONS))
def test_precision_widths_match_value_dtype(name):
    import numpy as np

    p = PRECISIONS[name]
    assert np.dtype(p.value_dtype).itemsize == p.act
    assert p.dtype("activation") == p.value_dtype or not p.quantized
    assert (p.converter_ops is None) == (not p.quantized)


def test_a_new_target_is_one_registry_line(tmp_path, capsys, monkeypatch, request):
    """A float C step under a name of its own: registered (the one line a new target adds), it exports,
    validates and board-tests through the CLI, which dispatch on the manifest's target via the registry."""
    import json

    from mgrade_edge.targets import FLOAT32, Target, register
    from tests.helpers import run_main, save_tiny_digits_checkpoint

    request.addfinalizer(lambda: TARGETS.pop("c-demo", None))
    register(Target("c-demo", FLOAT32, ("internal",), ("c",), TARGETS["c-float32"].exporter, "c",
                    facts=dict(TARGETS["c-float32"].facts), board="c"))
    ckpt = save_tiny_digits_checkpoint(tmp_path / "tiny.pt")
    out = tmp_path / "demo"
    code, _, err = run_main(["export", ckpt, "--target", "c-demo", "--out", out, "--no-validate"], capsys, monkeypatch)
    assert code == 0, err
    assert json.loads((out / "manifest.json").read_text())["target"] == "c-demo"
    code, stdout, err = run_main(["validate", ckpt, out, "--steps", "200", "--json"], capsys, monkeypatch)
    assert code == 0 and json.loads(stdout)["within_tolerance"], err
    code, stdout, err = run_main(["board-test", out, "--json"], capsys, monkeypatch)
    assert code == 0 and json.loads(stdout)["target"] == "c-demo", err


@pytest.mark.parametrize("quant, bits, name", [("int8", 8, "c-int8-h8"), ("int8", 16, "c-int8"),
                                               ("int8", 32, "c-int8-h32"), ("int16x8", 16, "c-int16x8"),
                                               ("int16x8", 32, "c-int16x8-h32")])
def test_the_c_variants_are_options_of_c(quant, bits, name):
    from mgrade_edge.targets import resolve_h_bits

    assert resolve_h_bits(resolve_cli_target("c", quant), bits).name == name


@pytest.mark.parametrize("target, quant, bits, fragment", [
    ("c", "int16x8", 8, "--h-bits 8 with --quant int16x8: choose one of 16, 32"),
    ("c", "float32", 16, "--h-bits applies to --target c with --quant int8 or int16x8, not c-float32"),
    ("tflm", "int8", 16, "not tflm-int8"),
])
def test_h_bits_elsewhere_is_refused(target, quant, bits, fragment):
    from mgrade_edge.targets import resolve_h_bits

    with pytest.raises(ExportError, match=fragment.replace("-", r"\-")):
        resolve_h_bits(resolve_cli_target(target, quant), bits)


def test_an_old_c_spelling_still_exports_with_a_deprecation_note(tmp_path, capsys, monkeypatch):
    from tests.helpers import run_main, save_tiny_digits_checkpoint

    ckpt = save_tiny_digits_checkpoint(tmp_path / "tiny.pt")
    old, new = tmp_path / "old", tmp_path / "new"
    code, _, err = run_main(["export", ckpt, "--target", "c-int8-h8", "--out", old, "--no-validate"], capsys,
                            monkeypatch)
    assert code == 0 and err.strip() == ("note: --target c-int8-h8 is deprecated and goes in the next release; use "
                                         "--target c --quant int8 --h-bits 8"), err
    code, _, err = run_main(["export", ckpt, "--target", "c", "--quant", "int8", "--h-bits", "8", "--out", new,
                             "--no-validate"], capsys, monkeypatch)
    assert code == 0 and err == "", err
    assert (old / "mgrade_tiny.c").read_bytes() == (new / "mgrade_tiny.c").read_bytes()
