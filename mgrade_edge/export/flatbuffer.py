"""The one reader and writer of .tflite flatbuffers: the schema module, builtin op names and tensor types.

Every tool that looks inside a converted model (the TFLite exporter's description, the TFLite Micro
bundle's layout, the profiler's graph summary, the arena prober) reads it through here. The schema
is TFLite Micro's generated Python module (imported only when used; it does not import TensorFlow).
"""

from __future__ import annotations

from functools import lru_cache

import flatbuffers

# TensorType -> bytes per element (schema.fbs); RESOURCE (13) handles hold no data in the arena.
TYPE_BYTES = {0: 4, 1: 2, 2: 4, 3: 1, 4: 8, 6: 1, 7: 2, 9: 1, 10: 8, 13: 0}


def schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated

    return schema_py_generated


def read_model(data: bytes):
    """The whole model as schema.ModelT (object API: subgraphs, tensors, operators, signatureDefs)."""
    fb = schema()
    return fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(data, 0))


def write_model(model) -> bytes:
    """A schema.ModelT packed back into .tflite bytes (file identifier TFL3): what every graph rewrite returns."""

    builder = flatbuffers.Builder(1 << 16)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def root(data: bytes):
    """The zero-copy reader (schema.Model), for walking a large graph without building objects."""
    return schema().Model.GetRootAsModel(data, 0)


@lru_cache(maxsize=1)
def op_names() -> dict[int, str]:
    """Builtin operator code -> name (e.g. 9 -> FULLY_CONNECTED)."""
    return {v: k for k, v in vars(schema().BuiltinOperator).items() if not k.startswith("_")}


@lru_cache(maxsize=1)
def type_names() -> dict[int, str]:
    """TensorType code -> lower-case name (9 -> int8)."""
    return {v: k.lower() for k, v in vars(schema().TensorType).items() if not k.startswith("_")}


def builtin_code(code) -> int:
    """An OperatorCode's builtin code (old models keep codes < 127 in the deprecated field)."""
    if hasattr(code, "builtinCode"):
        return max(code.builtinCode, code.deprecatedBuiltinCode)
    return max(code.BuiltinCode(), code.DeprecatedBuiltinCode())


def op_name(model, op) -> str:
    """The builtin name of an operator of a ModelT (unknown codes become '#<code>')."""
    code = builtin_code(model.operatorCodes[op.opcodeIndex])
    return op_names().get(code, f"#{code}")


def used_ops(model) -> list[str]:
    """Sorted builtin op names used by any subgraph of a ModelT."""
    return sorted({op_name(model, op) for sg in model.subgraphs for op in (sg.operators or [])})


def clear_unused_buffers(model) -> None:
    """Empty every buffer of a ModelT that no tensor refers to any more (a rewrite's leftovers), so it
    takes no flash. Buffer 0, the schema's empty buffer, stays."""
    used = {int(t.buffer) for g in model.subgraphs for t in g.tensors}
    for i, buffer in enumerate(model.buffers):
        if i and i not in used and buffer.data is not None:
            buffer.data = None


def n_inputs(data: bytes) -> int:
    """Number of inputs of subgraph 0 (TFLite Micro addresses inputs by position)."""
    return root(data).Subgraphs(0).InputsLength()
