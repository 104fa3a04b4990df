"""Constant operands of ADD / SUB / MUL take the shape of the other operand (no broadcast left for
CMSIS-NN to hand to the reference kernels), and the model still computes the same function, in int8
and in int16x8 (2-byte elements repeated), on LiteRT and on TFLite Micro."""

import numpy as np
import pytest

from mgrade_edge.export import flatbuffer
from mgrade_edge.export.tflite.passes.full_width_constants import ELEMENTWISE, widen_scalar_constants

D = 16
BETA = np.linspace(-0.5, 0.5, D).astype(np.float32)


def _function(tf, x):
    """A scalar ADD, a scalar MUL, a scalar SUB and a [d] ADD against [1, d] inputs."""
    return ((x + 0.5) * 1.5 - 0.25) * x + tf.constant(BETA)


def _reference(x):
    return ((x + 0.5) * 1.5 - 0.25) * x + BETA


def _inputs(n=32, seed=0):
    return np.random.default_rng(seed).uniform(-2, 2, size=(n, 1, D)).astype(np.float32)


def _convert(precision):
    from mgrade_edge.export.tflite.export import convert_functions
    from mgrade_edge.native_io import import_tensorflow

    tf = import_tensorflow()

    class Step(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, D], tf.float32, name="x")])
        def __call__(self, x):
            return _function(tf, x)

    module = Step()

    def representative():
        for x in _inputs(64, seed=1):
            yield [x]
        yield [np.full((1, D), 2.0, np.float32)]
        yield [np.full((1, D), -2.0, np.float32)]

    return convert_functions(module, [module.__call__.get_concrete_function()], precision, representative)


@pytest.fixture(scope="module", params=["int8", "int16x8"])
def converted(request):
    return request.param, _convert(request.param)


def _constant_operand_shapes(model_bytes):
    model = flatbuffer.read_model(model_bytes)
    graph = model.subgraphs[0]
    pairs = []
    for op in graph.operators:
        if flatbuffer.op_name(model, op) in ELEMENTWISE:
            a, b = (graph.tensors[t] for t in op.inputs)
            if any(model.buffers[t.buffer].data is not None for t in (a, b)):
                pairs.append((list(a.shape), list(b.shape)))
    return pairs


def test_every_constant_operand_has_the_other_operands_shape(converted):
    _, model_bytes = converted
    pairs = _constant_operand_shapes(model_bytes)
    assert len(pairs) >= 3  # the scalar ADD/MUL/SUB may fold together, the [d] ADD stays
    assert all(a == b == [1, D] for a, b in pairs), pairs
    assert widen_scalar_constants(model_bytes) == (model_bytes, 0)


def _quantised_io(model_bytes):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_content=model_bytes,
                     experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    i, o = it.get_input_details()[0], it.get_output_details()[0]
    return it, i, o


def test_litert_and_tflite_micro_compute_the_function(converted):
    from tflite_micro import runtime

    precision, model_bytes = converted
    it, i, o = _quantised_io(model_bytes)
    it.allocate_tensors()
    (s_x, z_x), (s_y, z_y) = i["quantization"], o["quantization"]
    micro = runtime.Interpreter.from_bytes(model_bytes, arena_size=16384)
    info = np.iinfo(i["dtype"])
    for x in _inputs():
        xq = np.clip(np.round(x / s_x) + z_x, info.min, info.max).astype(i["dtype"])
        it.set_tensor(i["index"], xq)
        it.invoke()
        lite = it.get_tensor(o["index"]).astype(np.float64)
        micro.set_input(xq, 0)
        micro.invoke()
        tflm = micro.get_output(0).astype(np.float64)
        expected = _reference(s_x * (xq.astype(np.float64) - z_x))
        # a handful of rescalings, each within one step of its own output
        for got in (lite, tflm):
            assert np.max(np.abs(s_y * (got - z_y) - expected)) <= 6 * s_y, precision
