"""LiteRTRunner: a .tflite artifact in the LiteRT interpreter (ai-edge-litert), one step per call.

The runner owns quantising x, dequantising y and, for external state, feeding the state outputs back
as the next inputs. A state output is kept *raw* (integers) when requantising it to its input's
(scale, zero point) cannot change any value, so feedback adds no rounding; otherwise it is
requantised. The arithmetic is mgrade_edge.qio's (the same as the generated C++); TFLiteIO here only
adds fast per-step paths for x and y and is shared with the TFLite Micro runner.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import ExportError
from ..native_io import quiet_native_output
from ..qio import INT_RANGES, QParams, StatePair, requantize, requantize_is_identity  # noqa: F401  (re-exported)
from .base import Runner

SMALL_INPUT = 16  # up to this many input values, quantising x in plain Python is the faster route


class TFLiteIO:
    """What both TFLite runners need from a manifest: qparams of x, y and every state pair."""

    def __init__(self, manifest: dict):
        infos = {t["name"]: t for t in manifest["tensors"]}
        self.internal = manifest["state"] == "internal"
        self.details = manifest.get("details", {})
        self.x = QParams.from_info(infos["x"])
        self.y = QParams.from_info(infos["y"])
        self.pairs: list[StatePair] = []
        if not self.internal:
            for name_in, name_out in manifest["signature"]["state_pairs"]:
                self.pairs.append(StatePair(name_in, name_out, QParams.from_info(infos[name_in]),
                                            QParams.from_info(infos[name_out])))
        self.feedbacks = [pair.feedback_function() for pair in self.pairs]
        self._x_scale = np.float32(self.x.scale or 1.0)
        self._x_dtype = np.dtype(self.x.dtype)
        self._y_scale = np.float32(self.y.scale or 1.0)
        self._y_zero_point = np.float32(self.y.zero_point)

    def initial_state(self) -> list[np.ndarray]:
        return [pair.q_in.zeros() for pair in self.pairs]

    # The two per-step conversions run on every Python call, so they avoid numpy's per-call overhead
    # where it dominates: np.clip alone costs as much as a small int8 invoke, and for the few input
    # channels of a step plain Python arithmetic is faster than any ufunc chain.
    def quantize_x(self, x: np.ndarray) -> np.ndarray:
        if not self.x.quantized:
            return np.asarray(x, dtype=np.float32).reshape(self.x.shape)
        scaled = np.asarray(x, dtype=np.float32) / self._x_scale  # float32 quotient, as TFLite computes it
        if scaled.size > SMALL_INPUT:
            return self.x.quantize(x)
        lo, hi = INT_RANGES[self.x.dtype]
        zero_point = self.x.zero_point
        q = [min(max(int(math.copysign(math.floor(abs(v) + 0.5), v)) + zero_point, lo), hi)
             for v in scaled.reshape(-1).tolist()]
        return np.array(q, dtype=self._x_dtype).reshape(self.x.shape)

    def dequantize_y(self, raw: np.ndarray) -> np.ndarray:
        if not self.y.quantized:
            return raw.reshape(-1)
        return (raw.reshape(-1).astype(np.float32) - self._y_zero_point) * self._y_scale


def check_detail(name: str, detail: dict, expected: QParams, model: Path) -> None:
    """The model file must match the manifest (a stale manifest would silently mis-scale values)."""
    dtype = np.dtype(detail["dtype"]).name
    scale, zero_point = detail["quantization"]
    same = dtype == expected.dtype and tuple(int(s) for s in detail["shape"]) == expected.shape
    if expected.quantized:
        same = same and bool(np.isclose(scale, expected.scale, rtol=1e-6, atol=0)) and zero_point == expected.zero_point
    if not same:
        raise ExportError(f"tensor {name} of {model} does not match manifest.json ({dtype} {list(detail['shape'])} "
                          f"scale {scale} zero point {zero_point}); re-export the artifact directory")


class LiteRTRunner(Runner):
    name = "litert"

    def __init__(self, directory: Path, manifest: dict):
        self.model_path = Path(directory) / manifest["model_file"]
        self.io = TFLiteIO(manifest)
        self._open()
        key = self.io.details.get("signature_key", "serving_default")
        signature = self.interpreter.get_signature_runner(key)
        details = {**signature.get_input_details(), **signature.get_output_details()}
        del signature  # while a signature runner exists the interpreter refuses to invoke
        for name, q in [("x", self.io.x), ("y", self.io.y)] + [
                (n, q) for p in self.io.pairs for n, q in ((p.name_in, p.q_in), (p.name_out, p.q_out))]:
            if name not in details:
                raise ExportError(f"{self.model_path} has no tensor {name} in signature {key}; re-export the artifact")
            check_detail(name, details[name], q, self.model_path)
        self.x_index = details["x"]["index"]
        self.y_index = details["y"]["index"]
        self.state_in = [details[p.name_in]["index"] for p in self.io.pairs]
        self.state_out = list(zip([details[p.name_out]["index"] for p in self.io.pairs], self.io.feedbacks))
        self.reset_key = self.io.details.get("reset_signature_key") if self.io.internal else None
        if self.reset_key is not None:
            dummy = next(iter(self.interpreter.get_signature_runner(self.reset_key).get_input_details().values()))
            self.reset_input = {"dummy": np.zeros(dummy["shape"], dummy["dtype"])}
        # A fresh interpreter starts from the model's initial values (zero state); reset() is only
        # needed after steps have run, so the first run really does start from the initial values.
        self.state = self.io.initial_state()

    def _open(self) -> None:
        from ai_edge_litert.interpreter import Interpreter

        with quiet_native_output():  # LiteRT announces its XNNPACK delegate on fd 2 while allocating
            self.interpreter = Interpreter(model_path=str(self.model_path), num_threads=1)
            self.interpreter.allocate_tensors()

    def reset(self) -> None:
        if self.io.internal and self.reset_key is None:
            # a tflm bundle's model has no zero_state (export/tflite/passes/device_model.py): a fresh interpreter
            # starts from the initial values; the tensor indices stay the same
            self._open()
        elif self.reset_key is not None:
            # reset_all_variables() does not restore the variables' initial values; the model's own
            # zero_state signature assigns the stored form of zero to every variable. The signature
            # runner is dropped right away: while it exists the interpreter refuses to invoke.
            self.interpreter.get_signature_runner(self.reset_key)(**self.reset_input)
        self.state = self.io.initial_state()

    def step(self, x: np.ndarray) -> np.ndarray:
        it = self.interpreter
        it.set_tensor(self.x_index, self.io.quantize_x(x))
        for index, value in zip(self.state_in, self.state):
            it.set_tensor(index, value)
        it.invoke()
        get = it.get_tensor
        if self.state_out:
            self.state = [get(i) if f is None else f(get(i)) for i, f in self.state_out]
        return self.io.dequantize_y(get(self.y_index))
