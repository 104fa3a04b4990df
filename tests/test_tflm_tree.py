"""Finding TensorFlow Lite Micro trees (one TFLM_DIR for both kernel variants) and kernel choice."""

import pytest

from mgrade_edge.board.toolchain import BoardError
from mgrade_edge.errors import UserError
from mgrade_edge.tflm_tree import find_tree, kernel_sources, resolver_methods_of


def fake_tree(root, cmsis=False):
    micro = root / "tensorflow/lite/micro"
    (micro / "kernels").mkdir(parents=True)
    (micro / "micro_interpreter.h").write_text("")
    if cmsis:
        (micro / "kernels/cmsis_nn").mkdir()
    return root


def test_one_variable_finds_both_trees_beside_each_other(tmp_path, monkeypatch):
    ref = fake_tree(tmp_path / "tflite-micro")
    cmsis = fake_tree(tmp_path / "tflite-micro-cmsis-nn", cmsis=True)
    monkeypatch.setenv("TFLM_DIR", str(ref))
    assert find_tree("reference").root == ref.resolve() and find_tree("cmsis-nn").root == cmsis.resolve()
    monkeypatch.setenv("TFLM_DIR", str(cmsis))
    assert find_tree("reference").root == ref.resolve()
    assert find_tree("cmsis-nn", tmp_path).root == cmsis.resolve()  # the parent folder works too


def test_missing_tree_errors_name_the_fix(tmp_path, monkeypatch):
    monkeypatch.delenv("TFLM_DIR", raising=False)
    with pytest.raises(UserError, match="pass --tflm-dir PATH or set TFLM_DIR"):
        find_tree("reference")
    with pytest.raises(BoardError, match=r"--tflm-dir=.* is not a directory"):
        find_tree("reference", tmp_path / "nope")
    with pytest.raises(BoardError, match="is not a TensorFlow Lite Micro tree"):
        find_tree("reference", tmp_path)
    only_ref = fake_tree(tmp_path / "mytree")
    with pytest.raises(BoardError, match="has only reference kernels .* OPTIMIZED_KERNEL_DIR=cmsis_nn"):
        find_tree("cmsis-nn", only_ref)
    with pytest.raises(BoardError, match="--kernels 'fast' is not one of cmsis-nn, reference"):
        find_tree("fast", only_ref)


def test_kernel_files_follow_the_registration_and_common_files(tmp_path):
    root = fake_tree(tmp_path / "t")
    micro = root / "tensorflow/lite/micro"
    (micro / "micro_mutable_op_resolver.h").write_text(
        "  TfLiteStatus AddDepthwiseConv2D(\n"
        "      const TFLMRegistration& registration = Register_DEPTHWISE_CONV_2D()) {\n"
        "    return AddBuiltin(BuiltinOperator_DEPTHWISE_CONV_2D, registration, ParseDepthwiseConv2D);\n  }\n")
    k = micro / "kernels"
    (k / "depthwise_conv.cc").write_text("TFLMRegistration Register_DEPTHWISE_CONV_2D() { return {}; }\n")
    (k / "depthwise_conv_common.cc").write_text('#include "tensorflow/lite/micro/kernels/depthwise_conv.h"\n')
    (k / "depthwise_conv.h").write_text('#include "tensorflow/lite/micro/kernels/conv.h"\n')
    (k / "conv_common.cc").write_text("const int kConvInputTensor = 0;\n")
    (k / "add.cc").write_text("TFLMRegistration Register_ADD() { return {}; }\n")
    assert [p.name for p in kernel_sources(find_tree("reference", root), ["AddDepthwiseConv2D"])] == [
        "conv_common.cc", "depthwise_conv.cc", "depthwise_conv_common.cc"]
    with pytest.raises(BoardError, match="AddAdd is not a MicroMutableOpResolver method"):
        kernel_sources(find_tree("reference", root), ["AddAdd"])
    resolver = tmp_path / "op_resolver.h"
    resolver.write_text("  if (resolver.AddAdd() != kTfLiteOk) return kTfLiteError;  // ADD\n")
    assert resolver_methods_of(resolver) == ["AddAdd"]
