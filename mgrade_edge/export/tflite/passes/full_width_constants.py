"""Store the constant operand of an elementwise ADD / SUB / MUL in the shape of its other input.

`x + 0.5`, `x * c` and `h - 1` reach TFLite as a [1, d] tensor combined with a one-element constant,
i.e. a broadcast. CMSIS-NN's int8/int16 ADD and MUL take only inputs of equal shape and hand a
broadcast to the reference kernel, which requantises each element through three
MultiplyByQuantizedMultiplier calls: on the digits step under QEMU, the four scalar ADDs cost about
100 Cortex-M4 instructions an element against ~90 for CMSIS-NN's ADD, and the scalar MULs ~45 against
~36. Repeating the constant d times (same quantisation, d bytes of flash each) gives every kernel
equal shapes. A [d] constant against a [1, d] input (gamma and beta of the last LayerNorm) differs
in shape only, which CMSIS-NN also treats as a broadcast: it takes the [1, d] shape. No operator or
activation is added, so the arena does not grow.
"""

from __future__ import annotations

import numpy as np

from ... import flatbuffer

ELEMENTWISE = ("ADD", "SUB", "MUL")


def _constant(model, graph, index: int) -> bytes | None:
    if index < 0:
        return None
    data = model.buffers[graph.tensors[index].buffer].data
    return None if data is None or len(data) == 0 else bytes(bytearray(data))


def _shape(tensor) -> list[int]:
    return [int(s) for s in tensor.shape] if tensor.shape is not None else []


def _numel(shape) -> int:
    return int(np.prod([int(s) for s in shape])) if shape is not None else 1


def widen_scalar_constants(model_bytes: bytes) -> tuple[bytes, int]:
    """(the model with every constant operand of ADD/SUB/MUL in subgraph 0 that is a scalar, or has
    the other operand's size in another shape, stored in the other operand's shape; how many operands
    were changed). Same bytes and 0 when there is none."""
    model = flatbuffer.read_model(model_bytes)
    graph = model.subgraphs[0]
    fb = flatbuffer.schema()
    users: dict[int, int] = {}
    for g in model.subgraphs:
        for op in g.operators or []:
            for t in op.inputs if op.inputs is not None else []:
                if g is graph and t >= 0:
                    users[int(t)] = users.get(int(t), 0) + 1
    candidates = []  # (op, operand position, scalar tensor, shape to repeat it to)
    for op in graph.operators or []:
        if flatbuffer.op_name(model, op) not in ELEMENTWISE or op.inputs is None or len(op.inputs) != 2:
            continue
        for k in (0, 1):
            scalar, other = int(op.inputs[k]), int(op.inputs[1 - k])
            if _constant(model, graph, scalar) is None or _constant(model, graph, other) is not None:
                continue
            s_shape, o_shape = _shape(graph.tensors[scalar]), _shape(graph.tensors[other])
            if o_shape != _shape(graph.tensors[op.outputs[0]]) or s_shape == o_shape:
                continue
            # a scalar is repeated; a [d] against [1, d] only takes the other's shape (CMSIS-NN
            # compares shapes, not element counts)
            if _numel(s_shape) != 1 and _numel(s_shape) != _numel(o_shape):
                continue
            candidates.append((op, k, scalar, tuple(o_shape)))
    shapes_of: dict[int, set] = {}
    uses_of: dict[int, int] = {}
    for _, _, scalar, shape in candidates:
        shapes_of.setdefault(scalar, set()).add(shape)
        uses_of[scalar] = uses_of.get(scalar, 0) + 1
    widened: dict[tuple[int, tuple], int] = {}
    for op, k, scalar, shape in candidates:
        if (scalar, shape) not in widened:
            data = _constant(model, graph, scalar)
            buffer = fb.BufferT()
            buffer.data = list(data * (_numel(shape) // _numel(graph.tensors[scalar].shape)))
            model.buffers.append(buffer)
            tensor = _copy_tensor(graph.tensors[scalar])
            tensor.shape, tensor.buffer = list(shape), len(model.buffers) - 1
            # every user widens it to this one shape: widen it in place, no tensor is added
            if uses_of[scalar] == users.get(scalar, 0) and len(shapes_of[scalar]) == 1:
                graph.tensors[scalar] = tensor
                widened[scalar, shape] = scalar
            else:
                graph.tensors.append(tensor)
                widened[scalar, shape] = len(graph.tensors) - 1
        inputs = list(op.inputs)
        inputs[k] = widened[scalar, shape]
        op.inputs = inputs
    count = len(candidates)
    if not count:
        return model_bytes, 0
    flatbuffer.clear_unused_buffers(model)  # an in-place widening leaves the old scalar's buffer

    return flatbuffer.write_model(model), count


def _copy_tensor(t):
    fb = flatbuffer.schema()
    c = fb.TensorT()
    c.type, c.name, c.isVariable = t.type, t.name, t.isVariable
    c.quantization = t.quantization
    c.shapeSignature = None
    return c


def run(model_bytes: bytes) -> tuple[bytes, int]:
    """The pass (passes/__init__.py): every scalar constant of ADD/SUB/MUL at full width; changed = constants."""
    return widen_scalar_constants(model_bytes)
