"""ONNX export of the streaming step: float32 ("onnx") and static int8 QDQ ("onnx-int8").

The step is exported with its state as explicit graph inputs and outputs (external state), named
exactly as the StepSignature (x, delay_0_in, h_0_in, ... -> y, delay_0_out, h_0_out, ...), batch 1,
fixed shapes. The int8 model keeps float I/O: QuantizeLinear/DequantizeLinear pairs sit inside the
graph, so a runner feeds the float state back unchanged and the state is still rounded to int8
exactly where a device would round it (the Q/DQ pair after each graph input).

Why the torch.export-based exporter (dynamo=True), opset 18: it emits about half the nodes of the
legacy TorchScript exporter (Split instead of Shape/Gather/Div for the gate chunk, no Constant or
Identity nodes) and is deterministic. It attaches stack traces with absolute source paths to every
node; we strip that metadata so the file depends only on the weights, not on where the code lives.
Exporting the same step twice gives byte-identical files (checked across processes and directories).

int8: onnxruntime's quantize_static (QDQ, per-channel int8 weights, int8 activations, MinMax) fed
with the calibration samples recorded along long streams. ORT's quant_pre_process is not applied:
on this graph it changes no node (shapes are static and the exporter already optimised it) and only
adds opset imports and a metadata flag.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import tempfile
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

from ...errors import ExportError
from ..artifact import ExportOptions, ExportResult, TensorInfo

OPSET = 18
MODEL_FILE = "model.onnx"
ONNX_TARGETS = ("onnx", "onnx-int8")
# Static int8 settings (see quantize_int8): int8 weights per output channel, int8 activations
# with a zero point (h is positive, so asymmetric ranges waste no code), MinMax over the whole
# calibration set (not a moving average: a rarely seen state value must not be clipped).
INT8_SETTINGS = {"format": "QDQ", "activation_type": "QInt8", "weight_type": "QInt8", "per_channel": True,
                 "calibrate_method": "MinMax", "activation_symmetric": False, "reduce_range": True}
# reduce_range: 7-bit weights (|w| <= 63). On x86 CPUs without VNNI (AVX2 only, as on the
# machine here, an AMD EPYC) onnxruntime's int8 matmul kernels multiply pairs of u8 activations by s8
# weights into int16 (VPMADDUBSW), which saturates for 8-bit weights: measured there, the stream
# cosine of two test models fell to 0.982-0.989 (floor 0.99), while the same files run with graph
# optimisations off (QDQ as dequantise -> float) passed. 7-bit weights cannot saturate
# (2 * 255 * 63 < 2^15), so the fused kernels keep to the QDQ meaning of the file on such CPUs too.


# ---- float export ------------------------------------------------------------------------------

@contextlib.contextmanager
def _quiet():
    """Silence exporter/quantiser chatter (progress lines, torchvision notices, pre-process hints)."""
    root = logging.getLogger()
    torch_onnx = logging.getLogger("torch.onnx")
    levels = (root.level, torch_onnx.level)
    root.setLevel(logging.ERROR)
    torch_onnx.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(levels[0])
        torch_onnx.setLevel(levels[1])


def _float32_step(step):
    """A float32 copy in eval mode (the caller's module is left as it was)."""
    import torch

    return copy.deepcopy(step).to(torch.float32).eval()


def _strip_metadata(model) -> None:
    """Drop per-node/per-value exporter metadata (stack traces, fx node text, absolute paths)."""
    for node in model.graph.node:
        del node.metadata_props[:]
        node.doc_string = ""
    for value in list(model.graph.value_info) + list(model.graph.input) + list(model.graph.output):
        del value.metadata_props[:]
    for init in model.graph.initializer:
        del init.metadata_props[:]
    del model.graph.metadata_props[:]
    model.graph.doc_string = ""
    model.doc_string = ""


def step_to_onnx_model(step):
    """The float32 step as an in-memory onnx.ModelProto with signature-named I/O."""
    import onnx
    import torch

    step = _float32_step(step)
    sig = step.signature
    args = (torch.zeros(1, step.cfg.d_in), *step.initial_state(1, torch.float32))
    with _quiet(), torch.no_grad():
        program = torch.onnx.export(step, args, None, input_names=sig.input_names, output_names=sig.output_names,
                                    opset_version=OPSET, dynamo=True, external_data=False, verbose=False,
                                    optimize=True)
    model = program.model_proto
    _strip_metadata(model)
    onnx.checker.check_model(model, full_check=True)
    names_in = [v.name for v in model.graph.input]
    names_out = [v.name for v in model.graph.output]
    if names_in != sig.input_names or names_out != sig.output_names:  # internal: the exporter renamed I/O
        raise RuntimeError(f"exported I/O names {names_in} -> {names_out} differ from the signature")
    return model


def _save(model, path: Path) -> None:
    """One self-contained file: every initializer inline (no external-data side files)."""
    import onnx

    for init in model.graph.initializer:
        if init.data_location == onnx.TensorProto.EXTERNAL:
            raise RuntimeError(f"initializer {init.name} is stored externally")
    path.write_bytes(model.SerializeToString(deterministic=True))


# ---- int8 (static, QDQ) ------------------------------------------------------------------------

class _SampleReader:
    """onnxruntime CalibrationDataReader over CalibrationSet.samples(), replayed lazily (name-keyed dicts)."""

    def __init__(self, calibration, input_names: list[str]):
        self.calibration, self.input_names = calibration, input_names
        self.rewind()

    def get_next(self):
        sample = next(self.samples, None)
        if sample is None:
            return None
        return {n: np.ascontiguousarray(sample[n], dtype=np.float32) for n in self.input_names}

    def rewind(self) -> None:
        self.samples = self.calibration.samples()


def _check_calibration(calibration, input_names: list[str]) -> None:
    if calibration is None or not calibration.num_samples:
        raise ExportError("target onnx-int8 needs calibration data; pass --calib FILE.npy (or a "
                          "quantize.calibration_set) with at least one sample")
    missing = [n for n in input_names if n not in calibration.input_names]
    if missing:
        raise ExportError(f"calibration samples lack inputs {missing}; record them with quantize.calibration_set "
                          f"from the same streaming step")


def quantize_int8(float_model, calibration, input_names: list[str], out_path: Path,
                  nodes_to_exclude: list[str] | None = None) -> dict:
    """Static int8 QDQ quantisation of `float_model` into `out_path`; returns what was quantised."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    _check_calibration(calibration, input_names)
    reader = _SampleReader(calibration, input_names)
    with tempfile.TemporaryDirectory(prefix="mgrade-onnx-") as tmp:
        # Pass a file, not the ModelProto: quantize_static re-saves a proto argument with external
        # data *in place*, which would leave the caller's float model pointing at deleted files.
        float_path, raw = Path(tmp) / "float.onnx", Path(tmp) / "quantized.onnx"
        _save(float_model, float_path)
        with _quiet():
            quantize_static(float_path, raw, reader, quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                            calibrate_method=CalibrationMethod.MinMax, nodes_to_exclude=nodes_to_exclude or [],
                            reduce_range=INT8_SETTINGS["reduce_range"],
                            extra_options={"ActivationSymmetric": False, "WeightSymmetric": True})
        model = onnx.load(raw, load_external_data=True)
    _strip_metadata(model)
    onnx.checker.check_model(model, full_check=True)
    _save(model, out_path)
    return _quantisation_summary(float_model, model, calibration.num_samples, nodes_to_exclude or [])


def _quantisation_summary(float_model, q_model, n_samples: int, excluded: list[str]) -> dict:
    """Which original nodes read only dequantised (int8-rounded) data and which read some float data.

    Integer initializers (axes, split sizes) do not count as data; a float constant that was not
    turned into a DequantizeLinear (e.g. the 1.0 of 1 - z) makes the node a float node.
    """
    import onnx

    produced_by_dq = {o for n in q_model.graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    integer_consts = {i.name for i in q_model.graph.initializer
                      if i.data_type not in (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE)}
    float_names = {n.name for n in float_model.graph.node}
    quantised, kept_float = [], []
    for node in q_model.graph.node:
        if node.name not in float_names:
            continue
        data_inputs = [i for i in node.input if i and i not in integer_consts]
        on_int8 = bool(data_inputs) and all(i in produced_by_dq for i in data_inputs)
        (quantised if on_int8 else kept_float).append(f"{node.name}:{node.op_type}")
    return {"int8_settings": INT8_SETTINGS, "calibration_samples": n_samples, "nodes_excluded": excluded,
            "nodes_reading_int8": quantised, "nodes_reading_float": kept_float,
            "io_quantization": _io_quant_params(q_model)}


def _io_quant_params(model) -> dict:
    """(scale, zero point) of the QuantizeLinear reading each graph input and of the DequantizeLinear
    writing each graph output: where the state is rounded to int8 on its way in and out."""
    from onnx import numpy_helper

    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    graph_inputs = {v.name for v in model.graph.input}
    graph_outputs = {v.name for v in model.graph.output}
    params = {}
    for node in model.graph.node:
        if node.op_type == "QuantizeLinear" and node.input[0] in graph_inputs:
            name = node.input[0]
        elif node.op_type == "DequantizeLinear" and node.output[0] in graph_outputs:
            name = node.output[0]
        else:
            continue
        scale = inits.get(node.input[1])
        zero = inits.get(node.input[2]) if len(node.input) > 2 else None
        if scale is not None and scale.size == 1:
            params[name] = {"scale": float(scale), "zero_point": int(zero) if zero is not None else 0}
    return params


# ---- entry point -------------------------------------------------------------------------------

def export_onnx(step, opts: ExportOptions, out_dir: Path) -> ExportResult:
    """Write out_dir/model.onnx for target onnx (float32) or onnx-int8 (static QDQ, float I/O)."""
    if opts.target not in ONNX_TARGETS:
        raise ExportError(f"export_onnx cannot build target {opts.target!r}; choose one of {', '.join(ONNX_TARGETS)}")
    if opts.state != "external":
        raise ExportError(f"target {opts.target} supports state 'external' only, got {opts.state!r}; "
                          f"use --state external (or a tflite target for internal state)")
    out_dir = Path(out_dir)
    sig = step.signature
    if opts.target == "onnx-int8":
        _check_calibration(opts.calibration, sig.input_names)  # before the slow export
    float_model = step_to_onnx_model(step)
    path = out_dir / MODEL_FILE
    details: dict = {"opset": OPSET, "exporter": "torch.onnx.export(dynamo=True)"}
    notes = []
    if opts.target == "onnx":
        _save(float_model, path)
    else:
        details.update(quantize_int8(float_model, opts.calibration, sig.input_names, path))
        notes.append("int8 QDQ inside the graph, float32 I/O: state is fed back as float and re-quantised "
                     "by the graph's own QuantizeLinear")
    import onnx

    saved = onnx.load(path)
    details["ops"] = dict(sorted(Counter(n.op_type for n in saved.graph.node).items()))
    details["nodes"] = len(saved.graph.node)
    details["file_bytes"] = path.stat().st_size
    tensors = [TensorInfo(t.name, t.role, list(t.shape), "float32", graph_name=None) for t in sig.tensors]
    return ExportResult(model_file=MODEL_FILE, tensors=tensors,
                        state_handling="float state outputs are fed back unchanged as the next state inputs",
                        notes=notes, details=details)
