"""Reorder the step subgraph's operators so that state copies live as briefly as possible.

TFLite Micro runs a subgraph's operators in stored order and plans the arena's non-persistent
tensors by that order, so the order decides the peak. The converter hoists every READ_VARIABLE to
the start of the step and sinks the delay-line update (the slice of the window and its
ASSIGN_VARIABLE) to the end: each layer's state copy, window and new delay line then stay live
across all other layers. The rewrite keeps the computation and only moves operators:

- a READ_VARIABLE moves down to right before the first operator that uses its value;
- an ASSIGN_VARIABLE and the operators that only feed assignments move up to right after their
  inputs exist.

It stays a valid order: every operator still comes after the producers of its inputs, and the
operators on one resource variable (READ before ASSIGN) keep their relative order. Only subgraph 0
(the step) is touched; CALL_ONCE and VAR_HANDLE keep their place at the start.
"""

from __future__ import annotations

from ... import flatbuffer

READ, ASSIGN = "READ_VARIABLE", "ASSIGN_VARIABLE"


def schedule(names: list[str], inputs: list[list[int]], outputs: list[list[int]], graph_outputs=()) -> list[int]:
    """A new order (indices into the given operator lists), see the module docstring."""
    n = len(names)
    producer = {t: i for i, outs in enumerate(outputs) for t in outs}
    consumers: dict[int, list[int]] = {}
    for i, ins in enumerate(inputs):
        for t in ins:
            consumers.setdefault(t, []).append(i)
    # ops on the same resource handle (a VAR_HANDLE output) keep their original relative order
    handle_ops: dict[int, list[int]] = {}
    for i, ins in enumerate(inputs):
        if names[i] in (READ, ASSIGN) and ins:
            handle_ops.setdefault(ins[0], []).append(i)
    before_on_handle = {i: ops[:k] for ops in handle_ops.values() for k, i in enumerate(ops)}

    # ops whose results only feed assignments (computed backwards from the ASSIGNs)
    feeds_assign = [names[i] == ASSIGN for i in range(n)]
    for i in reversed(range(n)):
        users = [c for t in outputs[i] for c in consumers.get(t, [])]
        if (users and all(feeds_assign[c] for c in users) and not set(outputs[i]) & set(graph_outputs)
                and names[i] != READ):
            feeds_assign[i] = True

    assign_side = [i for i in range(n) if feeds_assign[i]]
    order, done = [], set()

    def deps(i: int) -> list[int]:
        return [producer[t] for t in inputs[i] if t in producer] + before_on_handle.get(i, [])

    def emit(i: int) -> None:
        if i in done:
            return
        for d in deps(i):
            if names[d] == READ:
                emit(d)  # a deferred read, needed now
        if any(d not in done for d in deps(i)):
            raise AssertionError(f"operator {i} ({names[i]}) scheduled before its inputs")
        done.add(i)
        order.append(i)
        flush_assignments()

    def flush_assignments() -> None:
        progress = True
        while progress:
            progress = False
            for j in assign_side:
                if j not in done and all(d in done for d in deps(j)):
                    done.add(j)
                    order.append(j)
                    progress = True

    for i in range(n):
        if names[i] == READ and inputs[i] and inputs[i][0] in producer:
            continue  # deferred to its first user
        emit(i)
    for i in range(n):  # reads nobody uses keep their place at the end
        emit(i)
    return order


def run(model_bytes: bytes) -> tuple[bytes, int]:
    """The pass (passes/__init__.py): subgraph 0's operators in the order of `schedule` (the same bytes if
    unchanged); changed = operators that moved."""
    model = flatbuffer.read_model(model_bytes)
    graph = model.subgraphs[0]
    ops = list(graph.operators or [])
    names = [flatbuffer.op_name(model, op) for op in ops]
    ins = [[int(t) for t in (op.inputs if op.inputs is not None else []) if t >= 0] for op in ops]
    outs = [[int(t) for t in (op.outputs if op.outputs is not None else []) if t >= 0] for op in ops]
    order = schedule(names, ins, outs, [int(t) for t in graph.outputs])
    moved = sum(i != o for i, o in enumerate(order))
    if not moved:
        return model_bytes, 0
    graph.operators = [ops[i] for i in order]
    return flatbuffer.write_model(model), moved

