"""Run every int8 sigmoid of a converted model through TFLite's int16 sigmoid.

TFLite Micro's int8 LOGISTIC kernel evaluates each element with gemmlowp's fixed-point exp and
reciprocal: about 330 Cortex-M4 instructions an element, a quarter of the digits step (a profile of
the golden program under QEMU). Its int16 LOGISTIC is a 256-entry table with linear interpolation;
with the two requantisations below, ~85 instructions an element (benchmarks/tflm_diet.md).
So each int8 LOGISTIC (x -> y) becomes

    QUANTIZE (x int8 -> x16 int16) -> LOGISTIC (x16 -> y16 int16) -> QUANTIZE (y16 -> y int8)

with x16 = x's real value at scale s_x / 64, zero point 0 (|q - zp| <= 255, so 64 (q - zp) fits int16
and the first requantisation is exact), y16 at TFLite's int16 sigmoid scale 1/32768. y keeps its own
quantisation, so every consumer reads the same tensor as before. The int16 table's error (about 1e-4
of the output range, within 1/256's rounding) changes an int8 output by at most one step.

Two operators and two tensors more per sigmoid cost arena (node records, eval tensors, planner
records): ~280 bytes each on Cortex-M4, which is why `export --sigmoid int8` keeps the int8 kernel.
"""

from __future__ import annotations

from ... import flatbuffer

INT8, INT16 = 9, 7  # schema TensorType
INPUT_UPSCALE = 64  # x16 = 64 (q - zp): exact, |x16| <= 255 * 64 < 2^15
# The op versions TFLite assigns these signatures (lite/tools/versioning/op_version.cc): LOGISTIC on
# int16 is version 3, QUANTIZE with an int16 side version 2.
LOGISTIC_INT16_VERSION, QUANTIZE_INT16_VERSION = 3, 2


def _opcode_index(model, name: str, version: int) -> int:
    """Index of the model's operator code for builtin `name` (added if missing), at least `version`."""
    fb = flatbuffer.schema()
    code = getattr(fb.BuiltinOperator, name)
    for i, oc in enumerate(model.operatorCodes):
        if flatbuffer.builtin_code(oc) == code:
            oc.version = max(int(oc.version or 1), version)
            return i
    oc = fb.OperatorCodeT()
    oc.builtinCode = code
    oc.deprecatedBuiltinCode = min(code, 127)
    oc.version = version
    model.operatorCodes.append(oc)
    return len(model.operatorCodes) - 1


def _int16_tensor(like, name: bytes, scale: float):
    fb = flatbuffer.schema()
    t = fb.TensorT()
    t.shape = list(like.shape)
    t.shapeSignature = None if like.shapeSignature is None else list(like.shapeSignature)
    t.type = INT16
    t.buffer = 0  # buffer 0 is the schema's empty buffer: an activation
    t.name = name
    q = fb.QuantizationParametersT()
    q.scale, q.zeroPoint = [float(scale)], [0]
    t.quantization = q
    return t


def _int8_params(tensor) -> tuple[float, int] | None:
    q = tensor.quantization
    if tensor.type != INT8 or q is None or q.scale is None or len(q.scale) != 1:
        return None
    return float(q.scale[0]), int(q.zeroPoint[0])


def widen_int8_logistic(model_bytes: bytes) -> tuple[bytes, int]:
    """(the model with every int8 LOGISTIC of every subgraph run in int16, how many were rewritten).
    Same bytes and 0 when the model has none."""
    model = flatbuffer.read_model(model_bytes)
    fb = flatbuffer.schema()
    logistic = fb.BuiltinOperator.LOGISTIC
    targets = [(g, op) for g in model.subgraphs for op in (g.operators or [])
               if flatbuffer.builtin_code(model.operatorCodes[op.opcodeIndex]) == logistic
               and _int8_params(g.tensors[op.inputs[0]]) and _int8_params(g.tensors[op.outputs[0]])]
    if not targets:
        return model_bytes, 0
    logistic16 = _opcode_index(model, "LOGISTIC", LOGISTIC_INT16_VERSION)
    quantize = _opcode_index(model, "QUANTIZE", QUANTIZE_INT16_VERSION)
    for graph in model.subgraphs:
        rewritten = []
        for op in graph.operators or []:
            if not any(op is t for _, t in targets):
                rewritten.append(op)
                continue
            x, y = int(op.inputs[0]), int(op.outputs[0])
            x_scale, _ = _int8_params(graph.tensors[x])
            base = graph.tensors[y].name or b"sigmoid"
            graph.tensors.append(_int16_tensor(graph.tensors[x], base + b"/x16", x_scale / INPUT_UPSCALE))
            graph.tensors.append(_int16_tensor(graph.tensors[y], base + b"/y16", 1.0 / 32768))
            x16, y16 = len(graph.tensors) - 2, len(graph.tensors) - 1
            rewritten += [_operator(quantize, [x], [x16]), _operator(logistic16, [x16], [y16]),
                          _operator(quantize, [y16], [y])]
        graph.operators = rewritten

    return flatbuffer.write_model(model), len(targets)


def _operator(opcode_index: int, inputs: list[int], outputs: list[int]):
    op = flatbuffer.schema().OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = opcode_index, list(inputs), list(outputs)
    return op


def run(model_bytes: bytes) -> tuple[bytes, int]:
    """The pass (passes/__init__.py): every int8 LOGISTIC through the int16 table; changed = sigmoids."""
    return widen_int8_logistic(model_bytes)
