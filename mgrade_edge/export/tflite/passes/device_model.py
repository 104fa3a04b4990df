"""The TFLite Micro bundle's model without the zero_state subgraph.

An internal-state model carries a `zero_state` signature because LiteRT can only restore its
variables by running one (reset_all_variables() does not give back their initial values). TFLite
Micro never runs it: MicroInterpreter::Reset() fills every resource variable with its zero point
(MicroResourceVariables::ResetAll), the stored form of zero. Yet TFLite Micro allocates that
subgraph's tensors, nodes and op data like any other: 1.6 KB of the digits arena. The bundle's model
leaves it out; LiteRT runs such a model too, resetting by opening the model again
(runtime/litert_runner.py). The standalone tflite targets keep it.
"""

from __future__ import annotations

from ....errors import ExportError
from ... import flatbuffer
from ..signatures import RESET_KEY

# ops whose options name other subgraphs: CALL_ONCE is renumbered, the others are not expected here
_SUBGRAPH_OPS = {"CALL_ONCE", "IF", "WHILE", "CALL", "STABLEHLO_COMPOSITE"}


def drop_signature_subgraph(model_bytes: bytes, signature_key: str) -> tuple[bytes, bool]:
    """(the model without the subgraph of `signature_key` and its signature, whether one was dropped)."""
    model = flatbuffer.read_model(model_bytes)
    signatures = list(model.signatureDefs or [])
    found = [s for s in signatures if (s.signatureKey or b"").decode() == signature_key]
    if not found:
        return model_bytes, False
    dropped = int(found[0].subgraphIndex)
    if dropped == 0:
        raise ExportError(f"signature {signature_key!r} is subgraph 0 (the step); refusing to drop it")
    for index, graph in enumerate(model.subgraphs):
        for op in graph.operators or []:
            name = flatbuffer.op_name(model, op)
            if name == "CALL_ONCE":
                target = int(op.builtinOptions.initSubgraphIndex)
                if target == dropped:
                    raise ExportError(f"subgraph {dropped} ({signature_key}) is called by CALL_ONCE; it cannot go")
                op.builtinOptions.initSubgraphIndex = target - (target > dropped)
            elif name in _SUBGRAPH_OPS and index != dropped:
                raise ExportError(f"the model uses {name}, which names subgraphs; cannot drop {signature_key!r}")
    model.subgraphs = [g for i, g in enumerate(model.subgraphs) if i != dropped]
    kept = [s for s in signatures if s is not found[0]]
    for s in kept:
        s.subgraphIndex = int(s.subgraphIndex) - (int(s.subgraphIndex) > dropped)
    model.signatureDefs = kept
    flatbuffer.clear_unused_buffers(model)  # the dropped subgraph's constants (its zeros of every state)

    return flatbuffer.write_model(model), True


def run(model_bytes: bytes) -> tuple[bytes, int]:
    """The pass (passes/__init__.py): the model without its zero_state subgraph; changed = 1 if it had one."""
    data, dropped = drop_signature_subgraph(model_bytes, RESET_KEY)
    return data, int(dropped)
