"""The measured half of `profile` (and `profile_report`, analytic + measured; imports profile, never
the reverse): export the step, measure its TFLite Micro arena, and account for it.

- The streaming step is exported by `export.tflite.export_tflite`, its smallest working arena found
  by `tflm_arena.measure_min_arena`, then one interpreter runs 1 ... 10,000 steps at exactly that
  arena and the allocation breakdown is read after each count: a streaming model must not grow.
- The measured arena is split into what the model needs (state, the graph's peak live tensors) and
  what the interpreter adds (tensor and node structs, kernel op data, planner headroom at init), so
  the ratio to the analytic minimum is explained, not just printed.
- The non-streaming alternative is measured too: the parallel model over a window of W inputs,
  layer by layer (every activation is [W, ...]), converted at the same precision.
"""

from __future__ import annotations

import multiprocessing
import pickle
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from ..analytic import DEFAULT_STEPS, DEFAULT_WINDOWS, analytic_profile
from ..config import MGRADEConfig
from ..errors import DataError, ExportError
from ..export import PRECISIONS, flatbuffer, get_target, resolve_state
from ..export.artifact import ExportOptions
from ..export.flatbuffer import TYPE_BYTES, n_inputs
from ..export.tflite.passes import device_model
from ..export.tflm.arena import DEFAULT_MARGIN, arena_after_steps, measure_min_arena
from ..native_io import import_tensorflow
from .inputs import random_sequences, untrained_model
from .measure_c import measure_profile_c

ALIGN = 16  # TFLite Micro aligns every arena allocation to 16 bytes
TIMING_CALLS = 200
# Calibration when none is given: the arena does not depend on the calibrated ranges, and converting
# is the profile's slowest part (every sample runs through the float graph), so a few streams do.
RANDOM_CALIBRATION = (4, 64)  # sequences x steps
WINDOW_CALIBRATION_STREAMS = 2  # streams (x 2 window positions each) calibrating a window model
STRUCT_TYPES = ("TfLiteEvalTensor data", "Persistent TfLiteTensor data", "Persistent TfLiteTensor quantization data",
                "NodeAndRegistration struct")


def _align(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


# ---- what the exported graph itself needs ------------------------------------------------------

def graph_summary(model_bytes: bytes) -> dict:
    """Ops, constant and quantisation-parameter bytes, resource-variable bytes and the ideal peak of
    live non-constant tensors of subgraph 0 (every buffer 16-byte aligned, perfect packing)."""

    model = flatbuffer.root(model_bytes)
    op_names = flatbuffer.op_names()
    sg = model.Subgraphs(0)

    def tensor_bytes(i: int) -> int:
        t = sg.Tensors(i)
        buf = model.Buffers(t.Buffer()) if t.Buffer() < model.BuffersLength() else None
        if buf is not None and (buf.DataLength() > 0 or buf.Offset() > 0):
            return 0  # a constant: lives in flash
        return int(np.prod([t.Shape(k) for k in range(t.ShapeLength())] or [1])) * TYPE_BYTES.get(t.Type(), 4)

    ops, histogram, variable_bytes = [], {}, 0
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        name = op_names.get(flatbuffer.builtin_code(code), "CUSTOM")
        histogram[name] = histogram.get(name, 0) + 1
        inputs = [op.Inputs(k) for k in range(op.InputsLength()) if op.Inputs(k) >= 0]
        outputs = [op.Outputs(k) for k in range(op.OutputsLength())]
        if name == "ASSIGN_VARIABLE":  # the value written has the variable's size and dtype (unaligned)
            variable_bytes += tensor_bytes(inputs[1])
        ops.append((inputs, outputs))
    first = {sg.Inputs(k): 0 for k in range(sg.InputsLength())}
    last = {sg.Outputs(k): len(ops) for k in range(sg.OutputsLength())}
    for i, (inputs, outputs) in enumerate(ops):
        for t in outputs:
            first.setdefault(t, i)
        for t in inputs:
            last[t] = max(last.get(t, i), i)
    qparams = 0
    for i in range(sg.TensorsLength()):
        q = sg.Tensors(i).Quantization()
        qparams += 0 if q is None else 4 * q.ScaleLength() + 8 * q.ZeroPointLength()
    sizes = {t: _align(tensor_bytes(t)) for t in first}
    peak = max((sum(s for t, s in sizes.items() if first[t] <= i <= last.get(t, first[t])) for i in range(len(ops))),
               default=0)
    return {"ops": len(ops), "op_histogram": dict(sorted(histogram.items())), "tensors": sg.TensorsLength(),
            "subgraphs": model.SubgraphsLength(), "resource_variable_bytes": variable_bytes,
            "constant_data_bytes": sum(model.Buffers(b).DataLength() for b in range(model.BuffersLength())),
            "quant_param_bytes": qparams,
            "peak_live_tensor_bytes": peak}


def account_arena(measured_min: int, allocations: dict, graph: dict, analytic: dict) -> dict:
    """The measured minimum arena as the analytic minimum plus named excesses (bytes; they sum exactly).

    TFLite Micro's arena = non-persistent head (tensors planned per invoke) + persistent tail
    (resource variables, kernel op data, tensor and node structs), plus memory only needed while
    AllocateTensors plans (the minimum arena exceeds the recorded total by that much).
    """
    types = allocations.get("types", {})
    structs = sum(types.get(k, {}).get("used", 0) for k in STRUCT_TYPES)
    buffers = types.get("Persistent buffer data", {}).get("used", 0)
    variables, graph_peak = graph["resource_variable_bytes"], graph["peak_live_tensor_bytes"]
    scratch_and_io = analytic["scratch_bytes"] + sum(analytic["io_bytes"].values())
    parts = {
        "analytic_minimum": analytic["analytic_min_ram_bytes"],
        "state_variables_beyond_analytic": variables - analytic["state_bytes"]["total"],
        "graph_tensors_beyond_analytic_scratch_and_io": graph_peak - scratch_and_io,
        "planner_fragmentation": allocations["non_persistent"] - graph_peak,
        "interpreter_structs": structs,
        "kernel_op_data": buffers - variables,
        "other_persistent": allocations["persistent"] - structs - buffers,
        "init_only_headroom": measured_min - allocations["total"],
    }
    if sum(parts.values()) != measured_min:
        raise AssertionError(f"arena accounting {parts} does not add up to {measured_min}")
    return parts


# ---- exporting and measuring the streaming step ------------------------------------------------

def progress(message: str) -> None:
    """One line on stderr while measuring (stdout stays the report): elapsed wall time, and CPU time
    of this process and its finished probe children (on a shared machine the wall time says little)."""

    cpu = sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for f in ("ru_utime", "ru_stime"))
    print(f"profile [{time.perf_counter() - _START[0]:6.1f} s, cpu {cpu:6.1f} s] {message}", file=sys.stderr,
          flush=True)


_START = [time.perf_counter()]


def _export_step(step, target: str, state: str, calibration) -> tuple[bytes, dict]:
    from ..export.tflite.export import export_tflite

    with tempfile.TemporaryDirectory(prefix="mgrade-profile-") as tmp:
        result = export_tflite(step, ExportOptions(target=target, state=state, calibration=calibration), Path(tmp))
        data = (Path(tmp) / result.model_file).read_bytes()
    if state == "internal":  # measured as a tflm bundle carries it: without the zero_state subgraph

        data, _ = device_model.run(data)
    return data, result.details


def time_invoke(model_bytes: bytes, arena: int, calls: int = TIMING_CALLS) -> float:
    """Mean microseconds per TFLite Micro invoke (zero inputs) with a known-good arena, host CPU."""
    from tflite_micro import runtime

    interpreter = runtime.Interpreter.from_bytes(model_bytes, arena_size=arena)
    for i in range(n_inputs(model_bytes)):
        det = interpreter.get_input_details(i)
        interpreter.set_input(np.zeros(det["shape"], det["dtype"]), i)
    for _ in range(3):
        interpreter.invoke()
    start = time.perf_counter()
    for _ in range(calls):
        interpreter.invoke()
    return (time.perf_counter() - start) / calls * 1e6


def measure_profile(report: dict, cfg, model, target: str, steps: tuple[int, ...], calibration, state: str,
                    windows) -> None:
    """Fill the measured keys of `report` in place (see profile.profile_report)."""
    from ..quantize import calibration_set
    from ..streaming import to_streaming

    _START[0] = time.perf_counter()
    model_source = "given model" if model is not None else "untrained model (seed 0)"
    model = model if model is not None else untrained_model(cfg)
    step = to_streaming(model)
    if calibration is None and report["precision"] != "float32":
        n, length = RANDOM_CALIBRATION
        calibration = calibration_set(step, random_sequences(cfg.d_in, n, length),
                                      source=f"random data ({n} smooth random sequences x {length} steps, seed 0)")
    # Two cores: the window models (converted and probed one after the other) run in a second process
    # beside the step's conversion, arena probe and stream, which run here; threads would not overlap
    # (the converter holds the GIL most of the time). Spawned, not forked: TensorFlow is not fork-safe.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        # Pickled here by value: handed to the pool as they are, torch tensors would travel as shared
        # file descriptors through a listener socket in the private temp directory, which is removed
        # before multiprocessing's own exit handlers run.
        job = pickle.dumps((step, calibration))
        windows_done = pool.submit(_window_reports, job, tuple(windows), report["precision"],
                                   _START[0]) if windows else None
        progress(f"converting the step ({target}, {state} state)")
        model_bytes, details = _export_step(step, target, state, calibration)
        graph = graph_summary(model_bytes)
        progress(f"probing the smallest arena of the step ({graph['ops']} ops)")
        arena = measure_min_arena(model_bytes, on_probe=_probe_line)
        progress(f"streaming {max(steps):,} steps at the {arena.minimum:,}-byte arena (a child process)")
        after = arena_after_steps(model_bytes, list(steps), arena.minimum)
        windows_measured = windows_done.result() if windows_done else {}
    window_reports = {}
    for w, (window_report, window_bytes) in windows_measured.items():
        time_window(window_report, window_bytes, w)
        window_reports[w] = window_report
    totals = {int(k): v["total"] for k, v in sorted(after.items())}
    first, last = totals[min(totals)], totals[max(totals)]
    report.update(
        arena_bytes=totals, arena_delta_bytes=last - first,
        arena_over_minimum=arena.minimum / report["analytic_min_ram_bytes"],
        measured={
            "state": state, "model": model_source, "model_file_bytes": len(model_bytes),
            "calibration": getattr(calibration, "source", None),
            "arena_min_bytes": arena.minimum, "arena_recommended_bytes": arena.minimum + DEFAULT_MARGIN,
            "arena_recorded_total_bytes": arena.allocations["total"],
            "arena_persistent_bytes": arena.allocations["persistent"],
            "arena_non_persistent_bytes": arena.allocations["non_persistent"],
            "allocation_types": arena.allocations.get("types", {}),
            "graph": graph, "accounting": account_arena(arena.minimum, arena.allocations, graph, report),
            "step_us_host": time_invoke(model_bytes, arena.minimum + DEFAULT_MARGIN),
            "export_details": {k: v for k, v in details.items() if isinstance(v, (int, float, str, bool))},
        })
    if windows:
        report["measured"]["window_reinference"] = window_reports
    progress("done")


def _probe_line(arena: int, ok: bool) -> None:
    progress(f"  arena {arena:,} bytes: {'ok' if ok else 'too small'}")


# ---- the non-streaming alternative: the parallel model re-run over a window --------------------

def build_window_model(step, window: int):
    """(tf.Module, concrete function u [W, d_in] -> y [1, C]): the newest output from the whole window."""

    tf = import_tensorflow()

    from ..export.tflite.tf_step import extract_weights, window_network

    weights = extract_weights(step)
    spec = tf.TensorSpec([window, step.cfg.d_in], tf.float32, name="u")

    class WindowModel(tf.Module):
        @tf.function(input_signature=[spec])
        def run(self, u):
            return {"y": window_network(tf, weights, u, window)}

    module = WindowModel()
    return module, module.run.get_concrete_function()


def convert(module, function, precision: str, representative=None) -> bytes:
    """TFLite flatbuffer of the window model, with the same converter settings as the step export."""
    from ..export.tflite.export import convert_functions

    return convert_functions(module, [function], precision, representative)


def _window_reports(job: bytes, windows: tuple[int, ...], precision: str, start: float) -> dict:
    """measure_window for each window length, in the profile's second process: job is the pickled
    (step, calibration) of this very profile run (its progress lines keep the parent's clock:
    perf_counter is the system's monotonic clock)."""
    step, calibration = pickle.loads(job)  # our own objects, pickled by the parent a moment ago
    _START[0] = start
    return {w: measure_window(step, w, precision, calibration) for w in windows}


def measure_window(step, window: int, precision: str, calibration) -> tuple[dict, bytes]:
    """Arena and file size of the parallel model over `window` inputs, and the model itself."""

    def representative():
        for stream in calibration.streams[:WINDOW_CALIBRATION_STREAMS]:
            padded = np.concatenate([np.zeros((window, stream.shape[1]), np.float32), stream])
            for end in np.linspace(window, len(padded), 2).astype(int):
                yield {"u": padded[end - window:end]}

    progress(f"window model W={window}: converting")
    module, function = build_window_model(step, window)
    model_bytes = convert(module, function, precision, representative if calibration is not None else None)
    graph = graph_summary(model_bytes)
    progress(f"window model W={window}: probing the smallest arena ({graph['ops']} ops)")
    arena = measure_min_arena(model_bytes, on_probe=_probe_line)
    from ..analytic import peak_live, step_dataflow

    cfg, act = step.cfg, PRECISIONS[precision].act
    analytic = (peak_live(step_dataflow(cfg, window))[0] + window * cfg.d_in + cfg.n_classes) * act
    return {"model_file_bytes": len(model_bytes), "ops": graph["ops"], "arena_min_bytes": arena.minimum,
            "analytic_activation_and_io_bytes": analytic,
            "arena_persistent_bytes": arena.allocations["persistent"],
            "arena_non_persistent_bytes": arena.allocations["non_persistent"],
            "graph_peak_live_tensor_bytes": graph["peak_live_tensor_bytes"]}, model_bytes


def time_window(report: dict, model_bytes: bytes, window: int) -> None:
    """Host time per call of a window model (report: measure_window's), timed in the main process
    once nothing else runs, like the step it is compared with; fewer calls for the long windows."""

    calls = max(3, 320 // window)
    report["call_us_host"] = time_invoke(model_bytes, report["arena_min_bytes"] + DEFAULT_MARGIN, calls=calls)


# ---- the whole profile: analytic, then measured ------------------------------------------------

def profile_report(config: MGRADEConfig, model=None, target: str = "tflite-int8", steps=DEFAULT_STEPS,
                   measure: bool = True, calibration=None, state: str = "internal", windows=DEFAULT_WINDOWS,
                   cpu: str = "host") -> dict:
    """Analytic profile, plus (measure=True) the exported model's measured TFLite Micro arena, and the
    arena of the non-streaming model re-run over each window length in `windows` (None: skip).

    Internal state by default: the state then lives once, in the arena's resource variables, as on a
    device; external state would hold every state tensor twice (as input and as output) and leave
    the feedback copy to the application.
    """
    if model is not None and model.cfg != config:
        raise ValueError(f"model config {model.cfg} differs from the config to profile {config}")
    for name, values in (("step counts", steps), ("window lengths", windows or (1,))):
        if not values or any(not isinstance(v, int) or isinstance(v, bool) or v < 1 for v in values):
            raise DataError(f"{name} {list(values)} must be positive integers, e.g. "
                            f"{','.join(map(str, DEFAULT_STEPS if name == 'step counts' else DEFAULT_WINDOWS))}")
    if measure and get_target(target).format not in ("tflite", "c"):
        raise ExportError(f"measuring needs a TFLite target (the TFLite Micro arena) or a c target (the "
                          f"compiled C step), got {target!r}; choose tflite, tflite-int8, tflite-int16x8 or "
                          f"c, or profile without measuring")
    if cpu != "host" and not (measure and get_target(target).format == "c"):
        raise ExportError(f"--cpu {cpu} measures the compiled C step on that CPU: it needs a c target "
                          f"(e.g. --target c) and measuring; the TFLite Micro arena is probed on the host "
                          f"(use `mgrade-edge board-test` for a bundle on a Cortex-M)")
    if measure:
        state = resolve_state(get_target(target), state)
    report = analytic_profile(config, target, model)
    report.update(arena_bytes={}, arena_delta_bytes=None, arena_over_minimum=None, measured=None)
    if measure and get_target(target).format == "c":
        measure_profile_c(report, config, model, target, tuple(steps), calibration, cpu)
    elif measure:
        measure_profile(report, config, model, target, tuple(steps), calibration, state, windows)
    return report
