"""The `tflm-fused` bundle: the whole mGRADE step as one TensorFlow Lite Micro custom op.

    export_tflm_fused(step, opts, out_dir)   (registry targets tflm-fused-int8, tflm-fused-int16x8)

For firmware that keeps the TFLite Micro interpreter. A builtin-op graph of this model needs one
interpreter record per op and tensor (107 ops on digits, 387 on the speech-commands preset: an arena
9x and 4.4x the state, docs/tflm-fused.md "Arena overhead"); here the graph is x -> MGRADE_STEP -> y, and the op
is the generated C step (c_int.py) behind TFLite Micro's kernel interface. Its state struct is one
persistent arena buffer, its numbers are those of `--target c` bit for bit (golden_io.h comes from
the integer reference), and validate runs the same C through ctypes with the op's quantised I/O.

The bundle keeps the tflm bundle's file layout (main.cc, mgrade_stream.cc/.h, mgrade_qio.h and
mgrade_model.h are the tflm templates), so `board-test` builds and probes it the same way; the op,
its resolver, golden data and README come from this folder's templates/. The Python TFLite Micro
interpreter cannot run a custom op, so the emitted arena is not measured at export: it is the state
plus x and y plus FIXED_RECORDS_BYTES, what board-test measured for the interpreter's records of this
one-op graph (see the constant).
"""

from __future__ import annotations

import hashlib
import string
from pathlib import Path

import flatbuffers
import numpy as np

from ...errors import ExportError
from .. import cgen, get_target
from ..artifact import ExportResult
from ..c.generator import bundle_prefix, check_supported, golden_inputs
from ..c.int_step import int_sources
from ..flatbuffer import schema
from ..tflm.export import TensorSlot, cmake_project, slot_fields

TEMPLATES = Path(__file__).parent / "templates"  # this target's own: the op, its resolver, golden data, README
TFLM_TEMPLATES = Path(__file__).parents[1] / "tflm" / "templates"  # the tflm bundle's, shared (SHARED_TEMPLATES)
OP_NAME = "MGRADE_STEP"
# Arena bytes beyond the state and the x/y tensors (each rounded up to 16) that TFLite Micro needs
# for this one-op graph (allocator, graph and node records, eval tensors, planner scratch), as
# board-test probed them: 64-bit host 704 (digits int8), 688 (speech-commands preset int8), 704
# (digits int16x8); Cortex-M4 432, 416, 432; Cortex-M55 432. The constant covers the largest with
# room for another TFLite Micro version; MARGIN_BYTES is added on top, as for the tflm bundle.
FIXED_RECORDS_BYTES = 1024
MARGIN_BYTES = 256
# the tflm templates the fused bundle shares unchanged (mgrade_model.h is rendered with its own fields)
SHARED_TEMPLATES = ("main.cc", "mgrade_stream.h", "mgrade_stream.cc", "mgrade_qio.h")
_TFLITE_TYPES = {"int8": "kTfLiteInt8", "int16": "kTfLiteInt16"}


def _round16(n: int) -> int:
    return (n + 15) // 16 * 16


def fused_model(d_in: int, n_classes: int, io_dtype: str, x_scale: float, y_scale: float, step_id: str) -> bytes:
    """The one-op .tflite: tensors x [1, d_in] and y [1, n_classes] (symmetric, zero point 0) and a
    CUSTOM op MGRADE_STEP whose custom options are `step_id` (the kernel checks it)."""

    fb = schema()
    type_code = {"int8": fb.TensorType.INT8, "int16": fb.TensorType.INT16}[io_dtype]

    def tensor(name: str, shape: list[int], scale: float, buffer: int):
        t = fb.TensorT()
        t.name, t.shape, t.type, t.buffer = name, shape, type_code, buffer
        t.quantization = fb.QuantizationParametersT()
        t.quantization.scale, t.quantization.zeroPoint = [float(np.float32(scale))], [0]
        return t

    code = fb.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = fb.BuiltinOperator.CUSTOM
    code.customCode, code.version = OP_NAME, 1
    op = fb.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0], [1]
    op.customOptions = list(step_id.encode("ascii"))
    graph = fb.SubGraphT()
    graph.tensors = [tensor("x", [1, d_in], x_scale, 1), tensor("y", [1, n_classes], y_scale, 2)]
    graph.inputs, graph.outputs, graph.operators, graph.name = [0], [1], [op], "main"
    model = fb.ModelT()
    model.version, model.operatorCodes, model.subgraphs = 3, [code], [graph]
    model.buffers = [fb.BufferT() for _ in range(3)]  # 0: the schema's empty buffer; x and y hold no data
    model.description = "mgrade-edge tflm-fused step"
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def export_tflm_fused(step, opts, out_dir: Path) -> ExportResult:
    check_supported(step.cfg)
    target = get_target(opts.target)
    precision = target.precision.name
    if opts.state != "internal":
        raise ExportError(f"target {target.cli_name} keeps its state inside the custom op (--state internal), "
                          f"not {opts.state!r}")
    if opts.calibration is None:
        raise ExportError(f"target {target.cli_name} needs calibration data; pass --calib FILE.npy")
    cfg, out_dir = step.cfg, Path(out_dir)
    p = bundle_prefix(opts.model_name)
    desc = f"{opts.model_name} ({target.cli_name}, {precision})"
    inputs = golden_inputs(step, opts)
    files, facts, _, tensors, (_, yq) = int_sources(step, opts.calibration, precision, p, desc, inputs,
                                                       weights=opts.options.weights)
    act = facts["io_ctype"]
    io_dtype = act.removesuffix("_t")
    step_id = hashlib.sha256(files[f"{p}.c"].encode()).hexdigest()[:16]
    model_bytes = fused_model(cfg.d_in, cfg.n_classes, io_dtype, facts["x_scale"], facts["y_scale"], step_id)
    x, y = (TensorSlot(t.name, t.role, 0, i, t.shape, t.dtype, t.scale, t.zero_point) for i, t in enumerate(tensors))
    arena_min = (_round16(facts["state_bytes"]) + _round16(x.element_bytes * x.length)
                 + _round16(y.element_bytes * y.length) + FIXED_RECORDS_BYTES)
    allowance = (f"are allowed {FIXED_RECORDS_BYTES} bytes, above the 416-704 that board-test probed on the host, "
                 f"Cortex-M4 and M55 (mgrade_edge/export/tflm_fused/export.py)")
    head = cgen.banner(desc).rstrip("\n")
    array = f"g_{cgen.c_identifier(opts.model_name)}_model_data"

    def render(template: str, **fields) -> str:
        fields = {"banner": head, "ns": p, "guard": cgen.header_guard(p, Path(template).name), "p": p,
                  "P": p.upper(), "op_name": OP_NAME, **fields}
        own = template.startswith("fused/")
        path = TEMPLATES / template.removeprefix("fused/") if own else TFLM_TEMPLATES / template
        return string.Template(path.read_text()).substitute(fields)

    files.update({
        "model.tflite": model_bytes,
        "model_data.h": cgen.banner(desc) + cgen.guarded_header(cgen.header_guard(p, "model_data.h"),
                                                                cgen.c_byte_array_declaration(array)),
        "model_data.cc": cgen.banner(desc) + '#include "model_data.h"\n\n' + cgen.c_byte_array(array, model_bytes),
        "op_resolver.h": render("fused/op_resolver.h"),
        "mgrade_step_op.h": render("fused/mgrade_step_op.h"),
        "mgrade_step_op.cc": render("fused/mgrade_step_op.cc", step_id=step_id, io_tflite_type=_TFLITE_TYPES[io_dtype],
                                    act_ctype=act, state_bytes=facts["state_bytes"],
                                    scratch_bytes=facts["scratch_bytes"]),
        "mgrade_model.h": render(
            "mgrade_model.h", macro=p.upper(), external=0, arena_min=arena_min, arena_margin=MARGIN_BYTES,
            arena_comment=(f"// Tensor arena: the op's state ({facts['state_bytes']} bytes) + x and y + "
                           f"TensorFlow Lite Micro's records for a\n// one-op graph, which {allowance};\n"
                           f"// {MARGIN_BYTES} bytes of margin are added."),
            variables=0, state_bytes=facts["state_bytes"], state_where=f"the {OP_NAME} op's persistent buffer",
            kernel_size=cfg.kernel_size, d_model=cfg.d_model, n_layers=cfg.n_layers, n_classes=cfg.n_classes,
            state_section="", **slot_fields("x", x), **slot_fields("y", y)),
        "golden_io.h": render(
            "fused/golden_io.h", steps=len(inputs), y_dtype=io_dtype,
            source="the first calibration steps",
            input_array=cgen.c_array("kGoldenInput", "float", np.asarray(inputs, np.float32).reshape(-1),
                                     modifiers="inline constexpr"),
            output_array=cgen.c_array("kGoldenOutput", act, np.asarray(yq).reshape(-1), per_line=16,
                                      modifiers="inline constexpr")),
        "README.md": render("fused/README.md", precision=precision, golden_steps=len(inputs), step_id=step_id,
                            arena_size=arena_min + MARGIN_BYTES, state_bytes=facts["state_bytes"],
                            scratch_bytes=facts["scratch_bytes"], allowance_note=allowance),
    })
    for name in SHARED_TEMPLATES:
        files[name] = render(name, macro=p.upper(), model_array=array)
    # the tflm bundle's CMake project with the op and the C step as sources; no builtin kernels
    files.update(cmake_project(desc, p, ["mgrade_stream.cc", "model_data.cc", "mgrade_step_op.cc", f"{p}.c"], [],
                               options='option(MGRADE_USE_DSP "Arm DSP (SMLAD) dot products in the C step: Cortex-M4, '
                                       'M7, M33, M55" OFF)',
                               model_defines="if(MGRADE_USE_DSP)\n  target_compile_definitions(mgrade_model PRIVATE "
                                             "MGRADE_USE_DSP)\nendif()"))
    for name, content in sorted(files.items()):
        path = out_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    sources = ["main.cc", "mgrade_stream.cc", "model_data.cc", "mgrade_step_op.cc", f"{p}.c"]
    details = {
        # what the c runner (validate --engine c) needs: the same step, with the op's quantised I/O
        "c": {"prefix": p, "precision": precision, "sources": [f"{p}.c"], "header": f"{p}.h", "step_variant": "_q",
              "io": "quantized", **facts},
        "tflm_fused": {"op": OP_NAME, "step_id": step_id, "program_sources": sources,
                       "arena": {"emitted": arena_min + MARGIN_BYTES, "minimum_bound": arena_min,
                                 "fixed_records_bytes": FIXED_RECORDS_BYTES, "margin": MARGIN_BYTES,
                                 "source": "state + x + y + FIXED_RECORDS_BYTES (not measured at export)"},
                       "model_bytes": len(model_bytes)},
    }
    return ExportResult(model_file="model.tflite", tensors=tensors, state_handling="internal (custom op state)",
                        extra_files=sorted(f for f in files if f != "model.tflite"), details=details,
                        notes=[f"one custom op {OP_NAME} (the c step {p}.c); arena {arena_min + MARGIN_BYTES} bytes "
                               f"emitted; board-test probes the real minimum"])
