"""int8 sigmoids run through the int16 table: the graph has no int8 LOGISTIC left, and for every one
of the 256 int8 inputs LiteRT and TFLite Micro give the exact sigmoid within one output step."""

import numpy as np
import pytest

from mgrade_edge.export import flatbuffer
from mgrade_edge.export.tflite.passes.logistic16 import widen_int8_logistic

INPUT_RANGE = 9.0  # the sigmoid's input spans [-9, 9]: both flat ends and the steep middle


@pytest.fixture(scope="module")
def sigmoid_model():
    """An int8 model y = sigmoid(x) over x in [-9, 9], converted the way every step is."""
    from mgrade_edge.export.tflite.export import convert_functions
    from mgrade_edge.native_io import import_tensorflow

    tf = import_tensorflow()

    class Sigmoid(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 16], tf.float32, name="x")])
        def __call__(self, x):
            return tf.sigmoid(x)

    module = Sigmoid()

    def representative():
        for lo in np.linspace(-INPUT_RANGE, INPUT_RANGE - 1, 8):
            yield [np.linspace(lo, lo + 1, 16, dtype=np.float32).reshape(1, 16)]
        yield [np.full((1, 16), INPUT_RANGE, np.float32)]

    return convert_functions(module, [module.__call__.get_concrete_function()], "int8", representative)


def _io_params(model_bytes):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_content=model_bytes,
                     experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    return it.get_input_details()[0]["quantization"], it.get_output_details()[0]["quantization"]


def _all_int8_inputs():
    return np.arange(-128, 128, dtype=np.int8).reshape(16, 1, 16)


def _litert_outputs(model_bytes):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_content=model_bytes,
                     experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    it.allocate_tensors()
    i, o = it.get_input_details()[0]["index"], it.get_output_details()[0]["index"]
    out = []
    for x in _all_int8_inputs():
        it.set_tensor(i, x)
        it.invoke()
        out.append(it.get_tensor(o).copy())
    return np.concatenate(out, axis=None)


def _tflm_outputs(model_bytes):
    from tflite_micro import runtime

    it = runtime.Interpreter.from_bytes(model_bytes, arena_size=16384)
    out = []
    for x in _all_int8_inputs():
        it.set_input(x, 0)
        it.invoke()
        out.append(it.get_output(0).copy())
    return np.concatenate(out, axis=None)


def _exact(model_bytes):
    (s_x, z_x), (s_y, z_y) = _io_params(model_bytes)
    x = s_x * (_all_int8_inputs().reshape(-1).astype(np.float64) - z_x)
    return np.clip(np.round(1.0 / (1.0 + np.exp(-x)) / s_y) + z_y, -128, 127)


def test_no_int8_sigmoid_is_left(sigmoid_model):
    model = flatbuffer.read_model(sigmoid_model)
    graph = model.subgraphs[0]
    names = [flatbuffer.op_name(model, op) for op in graph.operators]
    assert names == ["QUANTIZE", "LOGISTIC", "QUANTIZE"]
    logistic = graph.operators[1]
    assert graph.tensors[logistic.inputs[0]].type == graph.tensors[logistic.outputs[0]].type == 7  # int16


def test_litert_and_tflite_micro_give_the_sigmoid_within_one_step(sigmoid_model):
    exact = _exact(sigmoid_model)
    for outputs in (_litert_outputs(sigmoid_model), _tflm_outputs(sigmoid_model)):
        error = np.abs(outputs.astype(np.int64) - exact)
        assert error.max() <= 1, int(error.max())
        assert np.mean(error) < 0.1  # almost every value is the rounded sigmoid itself


def test_a_model_without_int8_sigmoids_is_unchanged(sigmoid_model):
    assert widen_int8_logistic(sigmoid_model) == (sigmoid_model, 0)


@pytest.mark.parametrize("kernel", ["int16", "int8"])
def test_the_export_option_chooses_the_kernel_and_records_it(kernel, tiny_calibrated_step, tmp_path):
    from mgrade_edge.export.artifact import ExportOptions
    from mgrade_edge.export.tflite.export import export_tflite
    from mgrade_edge.export.tflite.options import TfliteInt8Options

    step, calibration = tiny_calibrated_step
    result = export_tflite(step, ExportOptions("tflite-int8", "external", calibration,
                                                options=TfliteInt8Options(sigmoid=kernel)), tmp_path)
    model = flatbuffer.read_model((tmp_path / result.model_file).read_bytes())
    graph = model.subgraphs[0]
    input_types = {graph.tensors[op.inputs[0]].type for op in graph.operators
                   if flatbuffer.op_name(model, op) == "LOGISTIC"}
    assert input_types == ({7} if kernel == "int16" else {9})  # int16 / int8
    assert result.details["sigmoid"]["kernel"] == kernel
    assert (result.details["sigmoid"]["rewritten"] > 0) == (kernel == "int16")
