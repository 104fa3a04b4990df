"""Per-step latency of every engine on the same inputs, measured round-robin so machine noise hits
all engines alike.

One "step" is one Python call `runner.step(x)`: quantising x, feeding the state back (external
state), invoking, dequantising y. That is what an application loop on the host pays; for the
interpreters' invoke alone see window_vs_stream.py.

Procedure: every runner is reset and warmed up on the same inputs; then, round after round, each
runner streams the next `block` inputs of the same stream, every call timed on its own
(perf_counter_ns). The engine order rotates every round so no engine always runs right after
another. The garbage collector is off while timing (as timeit does) so its pauses land on no engine.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass

import numpy as np

from .common import summarize_us

REFERENCE = "torch eager"


@dataclass(frozen=True)
class Engine:
    label: str
    artifact: str | None  # artifact key (benchmarks.common.ARTIFACTS); None = the torch step itself
    engine: str  # torch | onnxruntime | litert | tflm
    precision: str
    state: str


ENGINES = (
    Engine(REFERENCE, None, "torch", "float32", "external"),
    Engine("onnxruntime float32", "onnx", "onnxruntime", "float32", "external"),
    Engine("onnxruntime int8", "onnx-int8", "onnxruntime", "int8", "external"),
    Engine("LiteRT float32", "tflite", "litert", "float32", "external"),
    Engine("LiteRT int8", "tflite-int8", "litert", "int8", "external"),
    Engine("LiteRT int16x8", "tflite-int16x8", "litert", "int16x8", "external"),
    Engine("LiteRT int8 internal state", "tflite-int8-internal", "litert", "int8", "internal"),
    Engine("TFLM int8", "tflite-int8", "tflm", "int8", "external"),
    Engine("TFLM int16x8", "tflite-int16x8", "tflm", "int16x8", "external"),
    Engine("TFLM int8 internal state", "tflite-int8-internal", "tflm", "int8", "internal"),
)


def open_runners(artifacts: dict, step) -> dict:
    """{engine label: Runner} for every entry of ENGINES."""
    import torch

    from mgrade_edge.runtime import open_runner
    from mgrade_edge.runtime.torch_runner import TorchRunner

    torch.set_num_threads(1)  # every engine runs on one thread
    runners = {}
    for eng in ENGINES:
        runners[eng.label] = TorchRunner(step) if eng.artifact is None else open_runner(artifacts[eng.artifact],
                                                                                          eng.engine)
    return runners


def time_round_robin(runners: dict, stream: np.ndarray, steps: int, block: int, warmup: int) -> dict[str, list[int]]:
    """Per-call nanoseconds of `steps` calls per runner, interleaved in blocks of `block` calls."""
    if steps < 1 or block < 1:
        raise ValueError(f"steps={steps} and block={block} must be >= 1")
    if len(stream) < warmup + steps:
        raise ValueError(f"stream of {len(stream)} steps is shorter than warmup + steps = {warmup + steps}")
    labels = list(runners)
    samples: dict[str, list[int]] = {label: [] for label in labels}
    for runner in runners.values():
        runner.reset()
        for x in stream[:warmup]:
            runner.step(x)
    clock = time.perf_counter_ns
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for round_index, start in enumerate(range(warmup, warmup + steps, block)):
            inputs = stream[start:min(start + block, warmup + steps)]
            shift = round_index % len(labels)
            for label in labels[shift:] + labels[:shift]:
                step, out = runners[label].step, samples[label]
                for x in inputs:
                    t0 = clock()
                    step(x)
                    out.append(clock() - t0)
    finally:
        if was_enabled:
            gc.enable()
    return samples


def measure_latency(artifacts: dict, step, stream: np.ndarray, steps: int, block: int, warmup: int) -> dict:
    """Latency statistics per engine plus the speedup of each over torch eager (median / median)."""
    runners = open_runners(artifacts, step)
    samples = time_round_robin(runners, stream, steps, block, warmup)
    rows = []
    for eng in ENGINES:
        stats = summarize_us(samples[eng.label])
        rows.append({"engine": eng.label, "runtime": eng.engine, "artifact": eng.artifact,
                     "precision": eng.precision, "state": eng.state, **stats})
    reference = next(r for r in rows if r["engine"] == REFERENCE)["median_us"]
    for row in rows:
        row["speedup_vs_torch_eager"] = reference / row["median_us"]
    return {"steps_per_engine": steps, "block": block, "warmup": warmup, "threads": 1,
            "what": "one Python call runner.step(x) incl. quantise / state feedback / dequantise",
            "rows": rows}
