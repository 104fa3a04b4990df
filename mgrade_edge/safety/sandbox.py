"""TFLite models from an artifact directory: checked structurally, then test-run in a child process.

A .tflite file is a flatbuffer the interpreters trust: an out-of-range tensor index or a constant
buffer shorter than its tensor makes TFLite Micro or LiteRT read out of bounds and SIGSEGV the
whole process, with nothing on stderr. So before a runner loads a model in this process:
1. every index in the flatbuffer is checked against its table and every constant buffer against its
   tensor's size (pure Python: a malformed flatbuffer raises, it cannot crash);
2. a child process (`python -m mgrade_edge.safety.sandbox ENGINE MODEL`) loads the model in the same
   engine and invokes it a few times; if that child dies, the parent reports one line instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np

from ..errors import ArtifactError
from ..runtime.tflm_runner import default_arena_size

PREFLIGHT_INVOKES = 3
PREFLIGHT_TIMEOUT_S = 120
OK_MARKER = "MGRADE_PREFLIGHT_OK"
_ELEMENT_BYTES = {0: 4, 1: 2, 2: 4, 3: 1, 4: 8, 6: 1, 7: 2, 9: 1, 10: 8, 11: 16, 16: 4}  # TensorType -> bytes


def check_structure(model_path: Path) -> None:
    """Indices and buffer sizes of a .tflite flatbuffer, without any interpreter."""
    data = Path(model_path).read_bytes()
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ArtifactError(f"{model_path} is not a TFLite flatbuffer (no TFL3 identifier); re-export the artifact")
    try:
        problem = _first_problem(data)
    except Exception as exc:  # noqa: BLE001 - a flatbuffer that does not even parse
        problem = f"it does not parse ({type(exc).__name__})"
    if problem:
        raise ArtifactError(f"{model_path} is damaged: {problem}; re-export the artifact")


def _first_problem(data: bytes) -> str | None:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    model = fb.Model.GetRootAsModel(data, 0)
    n_buffers, n_codes = model.BuffersLength(), model.OperatorCodesLength()
    for g in range(model.SubgraphsLength()):
        graph = model.Subgraphs(g)
        n_tensors = graph.TensorsLength()
        for what, count, get in (("input", graph.InputsLength(), graph.Inputs),
                                 ("output", graph.OutputsLength(), graph.Outputs)):
            for i in range(count):
                if not 0 <= get(i) < n_tensors:
                    return f"subgraph {g} {what} {i} names tensor {get(i)} of {n_tensors}"
        for o in range(graph.OperatorsLength()):
            op = graph.Operators(o)
            if not 0 <= op.OpcodeIndex() < n_codes:
                return f"operator {o} of subgraph {g} has opcode {op.OpcodeIndex()} of {n_codes}"
            for what, count, get in (("input", op.InputsLength(), op.Inputs),
                                     ("output", op.OutputsLength(), op.Outputs)):
                for i in range(count):
                    if not -1 <= get(i) < n_tensors:  # -1 marks an omitted optional input
                        return f"operator {o} of subgraph {g} {what} {i} names tensor {get(i)} of {n_tensors}"
        for t in range(n_tensors):
            tensor = graph.Tensors(t)
            if not 0 <= tensor.Buffer() < max(n_buffers, 1):
                return f"tensor {t} of subgraph {g} names buffer {tensor.Buffer()} of {n_buffers}"
            buffer = model.Buffers(tensor.Buffer())
            stored = buffer.DataLength() if buffer is not None else 0
            if stored == 0 and buffer is not None and buffer.Size():
                stored = buffer.Size()  # data kept outside the flatbuffer (offset/size)
            if stored and not tensor.ShapeSignatureLength():
                needed = _ELEMENT_BYTES.get(tensor.Type(), 1)
                for d in range(tensor.ShapeLength()):
                    needed *= max(tensor.Shape(d), 0)
                if stored < needed:
                    return f"constant tensor {t} of subgraph {g} needs {needed} bytes, its buffer holds {stored}"
    return None


def preflight(model_path: Path, engine: str) -> None:
    """Check the model, then load and invoke it in a child process; a crash there is one ArtifactError here."""
    check_structure(model_path)
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    cmd = [sys.executable, "-m", "mgrade_edge.safety.sandbox", engine, str(model_path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PREFLIGHT_TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired:
        raise ArtifactError(f"{model_path} did not finish {PREFLIGHT_INVOKES} steps in {engine} within "
                          f"{PREFLIGHT_TIMEOUT_S} s; re-export the artifact") from None
    if proc.returncode == 0 and OK_MARKER in proc.stdout:
        return
    if proc.returncode < 0:
        how = f"crashed the {engine} interpreter ({signal.Signals(-proc.returncode).name})"
    else:
        lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
        how = f"cannot be run by {engine} ({lines[-1][:200] if lines else f'exit code {proc.returncode}'})"
    raise ArtifactError(f"{model_path} {how} in a test run; the file is damaged or was edited, re-export the artifact")


def _child(engine: str, model_path: str) -> None:
    data = Path(model_path).read_bytes()
    if engine == "tflm":
        from tflite_micro.python.tflite_micro import runtime

        it = runtime.Interpreter.from_bytes(data, arena_size=default_arena_size(len(data)))
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

        n_inputs = fb.Model.GetRootAsModel(data, 0).Subgraphs(0).InputsLength()
        inputs = [np.zeros(d["shape"], d["dtype"]) for d in map(it.get_input_details, range(n_inputs))]
        for _ in range(PREFLIGHT_INVOKES):
            for i, value in enumerate(inputs):
                it.set_input(value, i)
            it.invoke()
    else:
        from ai_edge_litert.interpreter import Interpreter

        it = Interpreter(model_content=data, num_threads=1)  # as LiteRTRunner loads it
        it.allocate_tensors()
        for _ in range(PREFLIGHT_INVOKES):
            for d in it.get_input_details():
                it.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
            it.invoke()
    print(OK_MARKER, flush=True)


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
