"""The graph rewrites of a converted .tflite, run in order on the converter's output.

Each pass is one module here with `run(model_bytes) -> (model_bytes, changed)`, where `changed` counts
what it rewrote (0: the same bytes back), and its own test in tests/export/tflite/passes/. A pass
reads and writes the flatbuffer through export/flatbuffer.py only. `PASSES` is the order: constants are
widened before the sigmoids are (logistic16 adds operators whose operands are already full width),
operators are scheduled once every operator exists, and the device model drops the reset subgraph
last (op_order touches subgraph 0 only, and its indices must not move under it).

How to add a pass: write passes/<name>.py with run(), add one `GraphPass` line below saying when it
applies, and tests/export/tflite/passes/test_<name>.py.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from ....targets import Precision


@dataclass(frozen=True)
class PassContext:
    """What decides which passes run on one conversion."""

    precision: Precision
    sigmoid: str = "int16"  # int8 graphs: the sigmoid kernel chosen (--sigmoid)
    state: str | None = None  # the step's state placement; None: other converted functions (the profiler's)
    device_model: bool = False  # the .tflite of a TensorFlow Lite Micro bundle


@dataclass(frozen=True)
class GraphPass:
    name: str  # its module in this package
    applies: Callable[[PassContext], bool]
    why: str


PASSES: tuple[GraphPass, ...] = (
    GraphPass("full_width_constants", lambda c: c.precision.quantized,
              "CMSIS-NN's integer ADD/SUB/MUL take equal shapes only; a broadcast constant falls back to the "
              "reference kernel"),
    GraphPass("logistic16", lambda c: c.precision.name == "int8" and c.sigmoid == "int16",
              "TFLite Micro's int8 LOGISTIC costs ~330 Cortex-M4 instructions an element, its int16 table ~85"),
    GraphPass("op_order", lambda c: c.state == "internal",
              "state reads late and delay-line writes early: the arena plans a shorter life for each copy"),
    GraphPass("device_model", lambda c: c.state == "internal" and c.device_model,
              "TFLite Micro resets the variables itself; the zero_state subgraph only costs arena"),
)


def run_passes(model_bytes: bytes, context: PassContext) -> tuple[bytes, dict[str, int]]:
    """The model after every pass that applies to `context`, in order, and {pass: changed} of those run."""
    changed = {}
    for graph_pass in PASSES:
        if graph_pass.applies(context):
            module = importlib.import_module(f"{__name__}.{graph_pass.name}")
            model_bytes, changed[graph_pass.name] = module.run(model_bytes)
    return model_bytes, changed
