"""TFLMRunner: a .tflite artifact in the TensorFlow Lite Micro interpreter (the tflite-micro wheel).

TFLite Micro's I/O is positional and unnamed, so the runner maps names through the positional order
recorded at export time (manifest details input_order/output_order, read from the same flatbuffer).
It runs subgraph 0 only, so an internal-state model is reset with the interpreter's own reset(),
which restores the variables' initial values (the stored form of zero, zero point included).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ExportError
from .base import Runner
from .litert_runner import TFLiteIO, check_detail

MIN_DEFAULT_ARENA = 64 * 1024
DEFAULT_ARENA_FACTOR = 10


def default_arena_size(model_bytes: int) -> int:
    """Generous: 10x the model (the interpreter's own heuristic), at least 64 KB."""
    return max(MIN_DEFAULT_ARENA, DEFAULT_ARENA_FACTOR * model_bytes)


class TFLMRunner(Runner):
    name = "tflm"

    def __init__(self, directory: Path, manifest: dict, arena_size: int | None = None):
        from tflite_micro.python.tflite_micro import runtime

        self.model_path = Path(directory) / manifest["model_file"]
        self.data = self.model_path.read_bytes()
        self.io = TFLiteIO(manifest)
        self.arena_size = int(arena_size) if arena_size is not None else default_arena_size(len(self.data))
        details = manifest["details"]
        try:
            inputs, outputs = list(details["input_order"]), list(details["output_order"])
        except KeyError:
            raise ExportError(f"{directory}/manifest.json has no input_order/output_order details; "
                              f"re-export the artifact") from None
        self.x_pos = inputs.index("x")
        self.y_pos = outputs.index("y")
        self.state_pos = [(inputs.index(p.name_in), outputs.index(p.name_out)) for p in self.io.pairs]
        self.state_in = [p for p, _ in self.state_pos]
        self.state_out = list(zip([p for _, p in self.state_pos], self.io.feedbacks))
        self.interpreter = runtime.Interpreter.from_bytes(self.data, arena_size=self.arena_size)
        self._check_against_manifest(inputs, outputs)
        self.state = self.io.initial_state()

    def _check_against_manifest(self, inputs: list[str], outputs: list[str]) -> None:
        expected = {"x": self.io.x, "y": self.io.y}
        for pair in self.io.pairs:
            expected[pair.name_in], expected[pair.name_out] = pair.q_in, pair.q_out
        for names, get_details in ((inputs, self.interpreter.get_input_details),
                                   (outputs, self.interpreter.get_output_details)):
            for position, name in enumerate(names):
                detail = get_details(position)
                params = detail["quantization_parameters"]
                scales, zero_points = params["scales"], params["zero_points"]
                detail = {"dtype": detail["dtype"], "shape": detail["shape"],
                          "quantization": (float(scales[0]) if len(scales) else 0.0,
                                           int(zero_points[0]) if len(zero_points) else 0)}
                check_detail(name, detail, expected[name], self.model_path)

    def reset(self) -> None:
        if self.io.internal:
            self.interpreter.reset()
        self.state = self.io.initial_state()

    def step(self, x: np.ndarray) -> np.ndarray:
        it = self.interpreter
        it.set_input(self.io.quantize_x(x), self.x_pos)
        for pos, value in zip(self.state_in, self.state):
            it.set_input(value, pos)
        it.invoke()
        get = it.get_output
        if self.state_out:
            self.state = [get(p) if f is None else f(get(p)) for p, f in self.state_out]
        return self.io.dequantize_y(get(self.y_pos))
