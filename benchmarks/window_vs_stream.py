"""Streaming step vs re-running the non-streaming model over the last W inputs, int8, same run.

The alternative to streaming is to keep the last W inputs and re-run the parallel model over all of
them for every new output (profile.measure.build_window_model: every activation is [W, ...], the
minGRU recurrence unrolled over the window). Both are converted to int8 TFLite with the same
calibration streams and compared on:
- latency per output step: one window invoke vs one streaming-step invoke, in TFLite Micro and in
  LiteRT, timed interleaved (a window call, then a block of step calls, round after round). Only
  invoke() is timed; inputs are real quantised digits inputs, set outside the timed region;
- arena: the smallest TFLite Micro arena each model runs in (tflm_arena.measure_min_arena); the
  streaming model is the internal-state one (its state lives once, inside the arena).
A window that cannot be converted or measured is reported as failed; its numbers are then only given
as a linear extrapolation from measured windows, labelled analytic.
"""

from __future__ import annotations

import time

import numpy as np

from .common import summarize_us

STEP_CALLS_PER_ROUND = 100
# Untimed step invokes after each window call: the window model (up to megabytes of tensors and
# weights) evicts the small step model from the caches, and on a device only one of them would run.
STEP_WARMUP_CALLS = 3


def _representative(calibration, window: int):
    """Windows of the calibration streams (zero history first, as the window model assumes)."""
    def windows():
        for stream in calibration.streams:
            padded = np.concatenate([np.zeros((window, stream.shape[1]), np.float32), stream])
            for end in np.linspace(window, len(padded), 4).astype(int):
                yield {"u": padded[end - window:end]}
    return windows


def _quantize(values: np.ndarray, scale: float, zero_point: int, dtype) -> np.ndarray:
    info = np.iinfo(dtype)
    q = np.floor(np.abs(values / np.float32(scale)) + 0.5) * np.sign(values) + zero_point  # ties away from 0
    return np.clip(q, info.min, info.max).astype(dtype)


class WindowInterpreters:
    """The window model in TFLite Micro (at its measured arena) and in LiteRT, with one real window set."""

    def __init__(self, model_bytes: bytes, arena_size: int, window_inputs: np.ndarray):
        from ai_edge_litert.interpreter import Interpreter
        from tflite_micro import runtime

        from mgrade_edge.native_io import quiet_native_output

        self.tflm = runtime.Interpreter.from_bytes(model_bytes, arena_size=arena_size)
        detail = self.tflm.get_input_details(0)
        params = detail["quantization_parameters"]
        self.tflm.set_input(_quantize(window_inputs, params["scales"][0], params["zero_points"][0], detail["dtype"])
                            .reshape(detail["shape"]), 0)
        with quiet_native_output():
            self.litert = Interpreter(model_content=model_bytes, num_threads=1)
        self.litert.allocate_tensors()
        detail = self.litert.get_input_details()[0]
        scale, zero_point = detail["quantization"]
        self.litert.set_tensor(detail["index"], _quantize(window_inputs, scale, zero_point, detail["dtype"])
                               .reshape(detail["shape"]))
        out = self.litert.get_output_details()[0]
        self.litert_output = (out["index"], out["quantization"])

    def litert_y(self) -> np.ndarray:
        index, (scale, zero_point) = self.litert_output
        return (self.litert.get_tensor(index).astype(np.float32).reshape(-1) - zero_point) * scale


def time_interleaved(pairs: dict, stream_inputs: dict, rounds: int) -> dict:
    """pairs: {engine: (window_invoke, step_invoke, set_step_input)}. Per round and engine: one timed
    window invoke, STEP_WARMUP_CALLS untimed step invokes, then STEP_CALLS_PER_ROUND timed step
    invokes (each input set untimed)."""
    clock = time.perf_counter_ns
    window_ns = {e: [] for e in pairs}
    step_ns = {e: [] for e in pairs}
    position = 0
    for _ in range(rounds):
        for engine, (window_invoke, step_invoke, set_input) in pairs.items():
            t0 = clock()
            window_invoke()
            window_ns[engine].append(clock() - t0)
            for _ in range(STEP_WARMUP_CALLS):
                step_invoke()
            for k in range(STEP_CALLS_PER_ROUND):
                set_input(stream_inputs[engine][(position + k) % len(stream_inputs[engine])])
                t0 = clock()
                step_invoke()
                step_ns[engine].append(clock() - t0)
        position += STEP_CALLS_PER_ROUND
    out = {}
    for engine in pairs:
        window, step = summarize_us(window_ns[engine]), summarize_us(step_ns[engine])
        out[engine] = {"window_invoke": window, "step_invoke": step,
                       "latency_ratio": window["median_us"] / step["median_us"]}
    return out


def _stream_invokers(runners: dict) -> tuple[dict, dict]:
    """(invoke, set_input) of the streaming step in each engine, from its runner's own interpreter."""
    tflm, litert = runners["tflm"], runners["litert"]

    def set_tflm(q):
        tflm.interpreter.set_input(q, tflm.x_pos)

    def set_litert(q):
        litert.interpreter.set_tensor(litert.x_index, q)

    return ({"tflm": tflm.interpreter.invoke, "litert": litert.interpreter.invoke},
            {"tflm": set_tflm, "litert": set_litert})


def measure_one_window(step, window: int, calibration, stream: np.ndarray, runners: dict, time_budget_s: float,
                       min_rounds: int, log=print) -> dict:
    from mgrade_edge.analytic import peak_live, step_dataflow
    from mgrade_edge.export import PRECISIONS
    from mgrade_edge.export.tflm.arena import DEFAULT_MARGIN, measure_min_arena
    from mgrade_edge.profile.measure import build_window_model, convert, graph_summary
    from mgrade_edge.runtime.base import run_stream
    from mgrade_edge.runtime.torch_runner import TorchRunner

    start = time.perf_counter()
    module, function = build_window_model(step, window)
    model_bytes = convert(module, function, "int8", _representative(calibration, window))
    del module, function
    convert_s = time.perf_counter() - start
    start = time.perf_counter()
    arena = measure_min_arena(model_bytes)
    arena_s = time.perf_counter() - start
    graph = graph_summary(model_bytes)
    log(f"  W={window}: converted in {convert_s:.0f} s ({len(model_bytes)} bytes, {graph['ops']} ops), "
        f"arena measured in {arena_s:.0f} s: {arena.minimum} bytes")

    window_inputs = stream[:window]
    interpreters = WindowInterpreters(model_bytes, arena.minimum + DEFAULT_MARGIN, window_inputs)
    # The window model from zero history equals the streaming step reset at the window's start:
    # its int8 output is compared with the float step's output after the same W inputs.
    interpreters.litert.invoke()
    reference = run_stream(TorchRunner(step), window_inputs)[-1]
    window_err = float(np.abs(interpreters.litert_y() - reference).max())

    invoke, set_input = _stream_invokers(runners)
    q_inputs = {e: [runners[e].io.quantize_x(x) for x in stream[:STEP_CALLS_PER_ROUND * 64]] for e in runners}
    pairs = {"tflm": (interpreters.tflm.invoke, invoke["tflm"], set_input["tflm"]),
             "litert": (interpreters.litert.invoke, invoke["litert"], set_input["litert"])}
    start = time.perf_counter()
    interpreters.tflm.invoke()
    interpreters.litert.invoke()
    per_round = time.perf_counter() - start
    rounds = max(min_rounds, min(200, int(time_budget_s / max(per_round, 1e-6))))
    timing = time_interleaved(pairs, q_inputs, rounds)

    cfg, act = step.cfg, PRECISIONS["int8"].act
    return {
        "window": window, "source": "measured", "convert_s": round(convert_s, 1), "arena_search_s": round(arena_s, 1),
        "model_file_bytes": len(model_bytes), "constant_data_bytes": graph["constant_data_bytes"],
        "ops": graph["ops"], "tensors": graph["tensors"],
        "arena_min_bytes": arena.minimum, "arena_recorded_total_bytes": arena.allocations["total"],
        "arena_persistent_bytes": arena.allocations["persistent"],
        "arena_non_persistent_bytes": arena.allocations["non_persistent"],
        "analytic_activation_and_io_bytes": (peak_live(step_dataflow(cfg, window))[0] + window * cfg.d_in
                                             + cfg.n_classes) * act,
        "y_max_abs_err_vs_float_step": window_err,
        "rounds": rounds, "timing": timing,
    }


def extrapolate(measured: list[dict], window: int) -> dict:
    """Analytic stand-in for a window that could not be measured: arena and invoke time linear in W
    through the two largest measured windows (both grow linearly: every tensor is [W, ...] and the
    unrolled recurrence adds a fixed number of ops per timestep)."""
    if len(measured) < 2:
        return {"window": window, "source": "not measured, too few measured windows to extrapolate"}
    a, b = sorted(measured, key=lambda r: r["window"])[-2:]

    def line(va: float, vb: float) -> float:
        return va + (vb - va) * (window - a["window"]) / (b["window"] - a["window"])

    timing = {e: {"window_invoke": {"median_us": line(a["timing"][e]["window_invoke"]["median_us"],
                                                      b["timing"][e]["window_invoke"]["median_us"])}}
              for e in a["timing"]}
    return {"window": window, "source": f"analytic: linear extrapolation from W={a['window']} and W={b['window']}",
            "arena_min_bytes": int(line(a["arena_min_bytes"], b["arena_min_bytes"])), "timing": timing}


def measure_windows(step, windows: list[int], calibration, stream_model_bytes: bytes, runners: dict,
                    stream: np.ndarray, time_budget_s: float, min_rounds: int, log=print) -> dict:
    """The streaming int8 model's arena, then every window; ratios window / streaming per W."""
    from mgrade_edge.analytic import analytic_profile
    from mgrade_edge.export.tflm.arena import measure_min_arena

    arena = measure_min_arena(stream_model_bytes)
    streaming = {"arena_min_bytes": arena.minimum, "arena_recorded_total_bytes": arena.allocations["total"],
                 "arena_persistent_bytes": arena.allocations["persistent"],
                 "arena_non_persistent_bytes": arena.allocations["non_persistent"],
                 "analytic_min_ram_bytes": analytic_profile(step.cfg, "tflite-int8")["analytic_min_ram_bytes"],
                 "model_file_bytes": len(stream_model_bytes)}
    log(f"  streaming int8 (internal state): arena {arena.minimum} bytes")
    rows, failed = [], []
    for window in windows:
        try:
            rows.append(measure_one_window(step, window, calibration, stream, runners, time_budget_s, min_rounds, log))
        except Exception as exc:  # noqa: BLE001 - recorded and reported, the other windows still run
            log(f"  W={window}: FAILED ({type(exc).__name__}: {exc})")
            failed.append({"window": window, "error": f"{type(exc).__name__}: {exc}"})
    measured = list(rows)
    for fail in failed:
        rows.append({**extrapolate(measured, fail["window"]), "error": fail["error"]})
    for row in rows:
        if "arena_min_bytes" in row:
            row["arena_ratio"] = row["arena_min_bytes"] / streaming["arena_min_bytes"]
        if "analytic_activation_and_io_bytes" in row:
            row["analytic_ratio"] = row["analytic_activation_and_io_bytes"] / streaming["analytic_min_ram_bytes"]
        for engine, t in row.get("timing", {}).items():
            if "latency_ratio" not in t:  # extrapolated: against the streaming step measured at the largest W
                largest = max(measured, key=lambda r: r["window"])["timing"][engine]
                t["latency_ratio"] = t["window_invoke"]["median_us"] / largest["step_invoke"]["median_us"]
    return {"precision": "int8", "streaming": streaming, "windows": sorted(rows, key=lambda r: r["window"]),
            "what": "invoke() only, real quantised inputs set outside the timed region; arena = smallest "
                    "TFLite Micro arena that loads the model and runs 3 invokes"}
