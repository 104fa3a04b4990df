"""TFLite export: float32, int8 and int16x8 models with external or internal (resource variable) state.

    export_tflite(step, ExportOptions(target, state, calibration), out_dir) -> ExportResult

The step is rebuilt in TensorFlow (tf_step.py) and converted with `from_concrete_functions`. Quantised
targets are calibrated in stream order: external-state models see the step inputs (x and every
state_in) at every step of the calibration streams; internal-state models replay the raw streams
through x so their variables evolve as on a device, with the variables zeroed between streams.

Everything a runner needs is read back from the converted flatbuffer, not assumed: the dtype and
(scale, zero point) of every signature tensor, the positional input/output order of subgraph 0
(TFLite Micro has no names), the resource variables and their storage type.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import ExportError
from ...native_io import import_tensorflow, quiet_native_output
from ...streaming import StreamingMGRADE
from .. import SIGMOID_KERNELS, Precision, flatbuffer, get_precision, get_target, resolve_state, targets_with
from ..artifact import ExportOptions, ExportResult, TensorInfo
from .passes import PassContext, run_passes
from .signatures import EXTERNAL_KEY, RESET_KEY, STEP_KEY

MODEL_FILE = "model.tflite"
# Signature keys: external-state models get the converter's default key; internal-state models have
# "step" and "zero_state" (subgraph order follows the sorted keys; the step must be subgraph 0).

STATE_HANDLING = {
    "external": "The runner keeps each state output raw and feeds it back as the next state input "
                "when requantising it to the input's (scale, zero point) would change no value (always "
                "for int8 delay lines, whose CONCATENATION forces one scale on window and line), and "
                "otherwise (an h or int16 delay line whose scales really differ) requantises it first.",
    "internal": "State lives in resource variables inside the model, read and assigned with the same "
                "(scale, zero point) by every step, so no requantisation happens outside the graph; "
                "a reset runs the zero_state signature (LiteRT) or the interpreter's reset() (TFLite Micro); "
                "a tflm bundle's model has no zero_state (passes/device_model.py), so LiteRT reopens it.",
}


_CUT_NOTE = ("softplus cut at {cutoff}: the gate terms it changes (by a factor of at most 1 + e^-{cutoff}) are kept "
             "exact in float graphs and left out of integer graphs, where they are below one quantisation step")


def export_tflite(step: StreamingMGRADE, opts: ExportOptions, out_dir: Path) -> ExportResult:
    """Convert `step` to `out_dir/model.tflite`; returns the tensors, state handling and details."""
    precision = _check_options(opts)
    data, sigmoid, changed = convert_step(step, precision, opts.state, opts.calibration,
                                 getattr(opts.options, "sigmoid", SIGMOID_KERNELS[0]),
                                 device_model=opts.options.device_model)
    out_dir = Path(out_dir)
    (out_dir / MODEL_FILE).write_bytes(data)
    tensors, details = describe_model(data, step, opts.state)
    if sigmoid is not None:
        details["sigmoid"] = sigmoid
    details["passes"] = changed  # graph rewrites run, and what each changed
    notes = []
    if precision.quantized:
        steps = sum(len(s) for s in opts.calibration.streams)
        how = "the step inputs of every step" if opts.state == "external" else "x through the variables"
        notes.append(f"calibrated in stream order on {how} of {len(opts.calibration.streams)} streams, "
                     f"{steps} steps ({opts.calibration.source})")
        if step.cfg.softplus_cutoff is not None:
            notes.append(_CUT_NOTE.format(cutoff=step.cfg.softplus_cutoff))
    return ExportResult(MODEL_FILE, tensors, STATE_HANDLING[opts.state], notes=notes, details=details)


def _check_options(opts: ExportOptions) -> Precision:
    if get_target(opts.target).format != "tflite":
        raise ExportError(f"target {opts.target!r} is not a TFLite target; choose one of "
                          f"{', '.join(targets_with(format='tflite'))}")
    resolve_state(get_target(opts.target), opts.state)
    precision = get_target(opts.target).precision
    if precision.quantized:
        calib = opts.calibration
        if calib is None or not getattr(calib, "streams", None):
            raise ExportError(f"target {opts.target} needs calibration data; pass a calibration set recorded "
                              f"along long streams (quantize.calibration_set)")
    return precision


# ---- conversion --------------------------------------------------------------------------------

def convert_step(step: StreamingMGRADE, precision: Precision | str, state: str, calibration=None,
                 sigmoid: str = "int16", device_model: bool = False) -> tuple[bytes, dict | None, dict[str, int]]:
    """The .tflite flatbuffer of `step` (deterministic: same step and calibration -> same bytes), for int8
    how its sigmoids run, and what each graph pass changed (see convert_functions); `device_model`: the
    model of a TensorFlow Lite Micro bundle (passes.device_model)."""
    from .tf_step import build_external_step, build_internal_step

    precision = get_precision(precision) if isinstance(precision, str) else precision
    build = build_external_step if state == "external" else build_internal_step
    module, functions = build(step, quantized=precision.quantized, variance_fc=precision.name != "int16x8")
    representative = _representative_dataset(step, calibration, state) if precision.quantized else None
    return convert_functions(module, functions, precision, representative, variables=state == "internal",
                             sigmoid=sigmoid, report=True, state=state, device_model=device_model)


def convert_functions(module, functions: list, precision: Precision | str, representative=None,
                      variables: bool = False, sigmoid: str = "int16", report: bool = False, state: str | None = None,
                      device_model: bool = False):
    """Concrete functions -> .tflite: float32, or full integer (int8, or int16 activations with int8
    weights) with integer I/O; `variables` keeps resource variables (stored quantised when quantising).
    Then the graph passes that apply (passes/__init__.py), e.g. for int8 with sigmoid="int16" every int8
    LOGISTIC runs through TFLite's int16 table (logistic16: ~20% fewer Cortex-M4 instructions a step,
    ~5-8% more TFLite Micro arena); "int8" keeps it. `state`: the step's placement (None: other functions).
    Returns the bytes, or with `report` (bytes, {"kernel", "rewritten"} or None for other precisions,
    {pass: changed}).
    The one place converter settings live: the step export, the profiler's window model and the
    arena tests all convert through here."""

    precision = get_precision(precision) if isinstance(precision, str) else precision
    tf = import_tensorflow()
    converter = tf.lite.TFLiteConverter.from_concrete_functions(functions, module)
    if variables:
        converter.experimental_enable_resource_variables = True
    if precision.quantized:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        if variables:
            converter._experimental_variable_quantization = True  # store the variables quantised
        converter.target_spec.supported_ops = [getattr(tf.lite.OpsSet, precision.converter_ops)]
        converter.inference_input_type = converter.inference_output_type = getattr(tf, precision.value_dtype)
        # FULLY_CONNECTED with per-tensor weight scales. int16x8: CMSIS-NN (the optimised kernels of
        # Cortex-M users) has no per-channel int16 FULLY_CONNECTED and refuses the graph at init
        # ("Node FULLY_CONNECTED ... failed to prepare"); every kernel set runs per-tensor. int8: a
        # per-channel FULLY_CONNECTED keeps an int32 multiplier and shift per output channel in the
        # TFLite Micro arena (8 bytes a channel: 4.3 KB of digits' 34 KB host arena), and per-tensor
        # int8 stays within the int8 tolerance on every tested model (tests/export/tflite/test_export.py).
        converter._experimental_disable_per_channel_quantization_for_dense_layers = True
    try:
        with quiet_native_output() as native_text:
            data = bytes(converter.convert())
    except Exception as exc:  # the converter's own errors are internal failures, keep them chained
        raise RuntimeError(f"TFLite conversion ({precision.name}) failed: {exc}\n"
                           f"converter output:\n{native_text()}") from exc
    if precision.name == "int8" and sigmoid not in SIGMOID_KERNELS:
        raise ExportError(f"unknown sigmoid kernel {sigmoid!r}; choose one of {', '.join(SIGMOID_KERNELS)}")
    data, changed = run_passes(data, PassContext(precision, sigmoid, state, device_model))
    how = {"kernel": sigmoid, "rewritten": changed.get("logistic16", 0)} if precision.name == "int8" else None
    return (data, how, changed) if report else data


def _representative_dataset(step: StreamingMGRADE, calibration, state: str):
    """A generator factory yielding name-keyed inputs in stream order (the flatbuffer's input order
    is not the function's argument order, so positional lists would feed the wrong tensors)."""
    if state == "external":
        def recorded():
            for sample in calibration.samples():
                yield {name: np.asarray(value, dtype=np.float32) for name, value in sample.items()}
        return recorded

    x_shape = step.signature.spec("x").shape

    def replay():
        for stream in calibration.streams:
            # each stream starts from zero state, as after a device reset
            yield RESET_KEY, {"dummy": np.zeros(1, np.float32)}
            for x in np.asarray(stream, dtype=np.float32):
                yield STEP_KEY, {"x": x.reshape(x_shape)}
    return replay


# ---- reading the converted model back -----------------------------------------------------------

def describe_model(data: bytes, step: StreamingMGRADE, state: str) -> tuple[list[TensorInfo], dict]:
    """TensorInfo of every signature tensor (and of the state variables) plus runner details."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    # Only metadata is read here, so no default (XNNPACK) delegate: it would just announce itself on fd 2.
    interpreter = Interpreter(model_content=data, num_threads=1,
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    key = EXTERNAL_KEY if state == "external" else STEP_KEY
    signatures = interpreter.get_signature_list()
    if key not in signatures:
        raise RuntimeError(f"converted model has signatures {sorted(signatures)}, expected {key!r}")
    runner = interpreter.get_signature_runner(key)
    by_name = {**runner.get_input_details(), **runner.get_output_details()}
    # Subgraph 0's positional I/O order, as TFLite Micro sees it, named through the signature.
    name_of_index = {d["index"]: n for n, d in by_name.items()}
    input_order = [name_of_index[d["index"]] for d in interpreter.get_input_details()]
    output_order = [name_of_index[d["index"]] for d in interpreter.get_output_details()]

    sig = step.signature
    wanted = sig.input_names + sig.output_names if state == "external" else ["x", "y"]
    if sorted(wanted) != sorted(by_name):
        raise RuntimeError(f"signature {key!r} has tensors {sorted(by_name)}, expected {sorted(wanted)}")
    tensors = [_tensor_info(n, sig.spec(n).role, by_name[n]) for n in sig.input_names + sig.output_names
               if n in by_name]

    structure = _flatbuffer_structure(data)
    if state == "internal":
        for name in sig.input_names[1:]:  # every state_in, stored in the variable named without "_in"
            var = structure["variables"].get(name.removesuffix("_in"))
            if var is None:
                raise RuntimeError(f"resource variable for {name} not found in {sorted(structure['variables'])}")
            tensors.append(TensorInfo(name, "state_in", var["shape"], var["dtype"], var["scale"],
                                      var["zero_point"], graph_name=name.removesuffix("_in")))
    details = {
        "signature_key": key,
        # None for an internal-state model without zero_state (a tflm bundle): reset by reopening it
        "reset_signature_key": RESET_KEY if state == "internal" and RESET_KEY in signatures else None,
        "input_order": input_order,
        "output_order": output_order,
        "ops": structure["ops"],
        "op_counts": structure["op_counts"],
        "resource_variables": structure["resource_variables"],
        "variables": structure["variables"],
        "subgraphs": structure["subgraphs"],
        "model_bytes": len(data),
    }
    return tensors, details


def _tensor_info(name: str, role: str, detail: dict) -> TensorInfo:
    dtype = np.dtype(detail["dtype"]).name
    scale, zero_point = detail["quantization"]
    quantised = dtype != "float32"
    return TensorInfo(name, role, [int(s) for s in detail["shape"]], dtype,
                      float(scale) if quantised else None, int(zero_point) if quantised else None,
                      graph_name=name)


def _flatbuffer_structure(data: bytes) -> dict:
    """Op list (builtin names, all subgraphs), op counts of subgraph 0, and each resource variable's
    storage dtype/shape/qparams (read from the READ_VARIABLE output that carries them)."""

    model = flatbuffer.read_model(data)
    type_names = flatbuffer.type_names()
    ops, counts, variables, shared_names = set(), {}, {}, set()
    for index, graph in enumerate(model.subgraphs):
        handles = {}
        for op in graph.operators or []:
            name = flatbuffer.op_name(model, op)
            ops.add(name)
            if index == 0:
                counts[name] = counts.get(name, 0) + 1
            if name == "VAR_HANDLE":
                handles[int(op.outputs[0])] = op.builtinOptions.sharedName.decode()
                shared_names.add(handles[int(op.outputs[0])])
            elif name == "READ_VARIABLE" and index == 0:
                tensor = graph.tensors[op.outputs[0]]
                quant = tensor.quantization
                has_q = quant is not None and quant.scale is not None and len(quant.scale) > 0
                variables[handles[int(op.inputs[0])]] = {
                    "shape": [int(s) for s in tensor.shape],
                    "dtype": type_names[tensor.type],
                    "scale": float(quant.scale[0]) if has_q else None,
                    "zero_point": int(quant.zeroPoint[0]) if has_q else None,
                }
    subgraphs = [(g.name or b"").decode() for g in model.subgraphs]
    return {"ops": sorted(ops), "op_counts": dict(sorted(counts.items())), "variables": variables,
            "resource_variables": len(shared_names), "subgraphs": subgraphs}
