"""The `tflm` bundle: a quantised .tflite plus the C/C++ a TensorFlow Lite Micro project needs.

    export_tflm_bundle(step, "int8", "external", calibration, out_dir, "digits", "examples/digits.pt")

writes model.tflite, model_data.cc/.h (the flatbuffer as an aligned array), op_resolver.h (exactly
the ops the model uses), mgrade_model.h (measured arena size, tensor indices and quantisation of
x, y and every state tensor, model shape), mgrade_stream.h/.cc (init/reset/step with quantisation
and external-state feedback), mgrade_qio.h (the quantisation formulas of mgrade_edge.qio), main.cc +
golden_io.h (streams recorded real input and checks the recorded outputs: the TFLite Micro Python
interpreter's, or a host build of the TensorFlow Lite Micro tree given at export) and README.md.
Nothing depends on time or dict order, so the same model gives a byte-identical bundle. The arena is
measured, never guessed (tflm_arena).
"""

from __future__ import annotations

import string
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from ...board.commands import build_snippet
from ...board.export_arena import measure_cpu_arena
from ...board.tflm_golden import record_golden_outputs
from ...errors import ExportError
from ...qio import QParams, StatePair, requantize_is_identity
from ...tflm_tree import find_tree, kernel_sources
from .. import cgen, flatbuffer, get_target, resolve_cli_target, resolve_state
from ..artifact import ExportOptions, ExportResult
from ..options import options_class
from .arena import measure_min_arena

TEMPLATES = Path(__file__).parent / "templates"
GOLDEN_STEPS = 32
# Device kernels (CMSIS-NN, ...) may round an intermediate differently from the reference kernels
# the golden outputs come from; one output quantisation step absorbs that, more would be a bug.
GOLDEN_TOLERANCE_STEPS = 1
WHEEL_RECORDER = "the TFLite Micro Python interpreter"
TREE_RECORDER = "a host build of the TensorFlow Lite Micro tree the bundle was exported for (reference kernels)"
HOST_ARENA_SOURCE = "the TFLite Micro Python interpreter (reference kernels, 64-bit host)"

# Builtin ops TFLite Micro's MicroMutableOpResolver can register. The Add* method name follows
# TFLite Micro's own generator (CONV_2D -> AddConv2D) except for the spellings listed below.
TFLM_BUILTIN_OPS = tuple("""
ABS ADD ADD_N ARG_MAX ARG_MIN ASSIGN_VARIABLE AVERAGE_POOL_2D BATCH_MATMUL BATCH_TO_SPACE_ND
BROADCAST_ARGS BROADCAST_TO CALL_ONCE CAST CEIL CONCATENATION CONV_2D COS CUMSUM DEPTH_TO_SPACE
DEPTHWISE_CONV_2D DEQUANTIZE DIV ELU EMBEDDING_LOOKUP EQUAL EXP EXPAND_DIMS FILL FLOOR FLOOR_DIV
FLOOR_MOD FULLY_CONNECTED GATHER GATHER_ND GREATER GREATER_EQUAL HARD_SWISH IF L2_NORMALIZATION
L2_POOL_2D LEAKY_RELU LESS LESS_EQUAL LOG LOGICAL_AND LOGICAL_NOT LOGICAL_OR LOGISTIC LOG_SOFTMAX
MAXIMUM MAX_POOL_2D MEAN MINIMUM MIRROR_PAD MUL NEG NOT_EQUAL PACK PAD PADV2 PRELU QUANTIZE
READ_VARIABLE REDUCE_MAX REDUCE_MIN RELU RELU6 RESHAPE RESIZE_BILINEAR RESIZE_NEAREST_NEIGHBOR
REVERSE_V2 ROUND RSQRT SELECT_V2 SHAPE SIN SLICE SOFTMAX SPACE_TO_BATCH_ND SPACE_TO_DEPTH SPLIT
SPLIT_V SQRT SQUARE SQUARED_DIFFERENCE SQUEEZE STRIDED_SLICE SUB SUM SVDF TANH TRANSPOSE
TRANSPOSE_CONV UNIDIRECTIONAL_SEQUENCE_LSTM UNPACK VAR_HANDLE WHILE ZEROS_LIKE
""".split())
_METHOD_SPELLINGS = {"BATCH_MATMUL": "AddBatchMatMul", "CUMSUM": "AddCumSum", "PADV2": "AddPadV2",
                     "UNIDIRECTIONAL_SEQUENCE_LSTM": "AddUnidirectionalSequenceLSTM"}
_INT_TYPES = {9: ("int8", np.int8), 7: ("int16", np.int16)}  # tflite TensorType codes


def resolver_method(op: str) -> str:
    """The MicroMutableOpResolver method registering a builtin op.

    >>> [resolver_method(op) for op in ("DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "CALL_ONCE", "L2_POOL_2D")]
    ['AddDepthwiseConv2D', 'AddFullyConnected', 'AddCallOnce', 'AddL2Pool2D']
    >>> resolver_method("STABLEHLO_ADD")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mgrade_edge.errors.ExportError: op STABLEHLO_ADD has no TFLite Micro kernel (MicroMutableOpResolver has no ...
    """
    if op not in TFLM_BUILTIN_OPS:
        raise ExportError(f"op {op} has no TFLite Micro kernel (MicroMutableOpResolver has no Add method for it); "
                          f"re-export with ops TFLite Micro supports")
    if op in _METHOD_SPELLINGS:
        return _METHOD_SPELLINGS[op]
    return "Add" + "".join(p[0] + p[1:].lower() if p[0].isalpha() else p for p in op.split("_"))


# ---- what the flatbuffer says -------------------------------------------------------------------

@dataclass
class TensorSlot:
    """One step tensor as the TFLite Micro interpreter sees it (inputs/outputs are positional)."""

    name: str  # signature name: x, y, delay_0_in, ...
    direction: str  # input | output
    position: int  # index for interpreter.input()/output()
    tensor_index: int
    shape: list[int]
    dtype: str  # int8 | int16
    scale: float
    zero_point: int

    @property
    def length(self) -> int:
        return int(np.prod(self.shape))

    @property
    def element_bytes(self) -> int:
        return 1 if self.dtype == "int8" else 2

    @property
    def np_dtype(self):
        return np.int8 if self.dtype == "int8" else np.int16

    @property
    def qparams(self):
        """The runners' quantisation of this tensor (the arithmetic mgrade_qio.h implements)."""
        return QParams(tuple(self.shape), self.dtype, self.scale, self.zero_point)


@dataclass
class ModelLayout:
    x: TensorSlot
    y: TensorSlot
    state_pairs: list[tuple[TensorSlot, TensorSlot]]  # (state_in, state_out), external state only
    ops: list[str]  # sorted builtin op names used by any subgraph
    resource_variables: int
    variable_bytes: int  # bytes assigned to resource variables per step (internal state)

    @property
    def staging_bytes(self) -> int:
        """External state: bytes of all state inputs (the C++ stages outputs in a buffer this big)."""
        return sum(a.length * a.element_bytes for a, _ in self.state_pairs)

    @property
    def state_bytes(self) -> int:
        return self.staging_bytes if self.state_pairs else self.variable_bytes

    def raw_copy(self, pair: tuple[TensorSlot, TensorSlot]) -> bool:
        """Same rule as the runners' feedback: copy raw when requantising would change no value."""
        a, b = pair
        return requantize_is_identity(b.qparams, a.qparams)


def read_layout(model_bytes: bytes, signature, graph_names: dict[str, str] | None = None) -> ModelLayout:
    """Tensor slots of x, y and the state pairs of `signature` (a StepSignature), ops and variables."""
    from tflite_micro.python.tflite_micro.runtime import count_resource_variables

    model = flatbuffer.read_model(model_bytes)
    used = flatbuffer.used_ops(model)
    for op in used:
        resolver_method(op)  # an op TFLite Micro cannot run is refused before any other work
    main = model.subgraphs[0]
    by_name = {}
    for sd in model.signatureDefs or []:
        if sd.subgraphIndex == 0:
            by_name.update({t.name.decode(): t.tensorIndex for t in list(sd.inputs) + list(sd.outputs)})
    tensor_names = {t.name.decode(): i for i, t in enumerate(main.tensors)}
    graph_names = graph_names or {}

    def slot(name: str, direction: str) -> TensorSlot:
        index = by_name.get(name, tensor_names.get(graph_names.get(name, "\0")))
        io = list(main.inputs if direction == "input" else main.outputs)
        if index is None or index not in io:
            raise ExportError(f"the .tflite has no {direction} named {name!r} in its step signature "
                              f"(found {sorted(by_name)}); re-export it with mgrade-edge")
        t = main.tensors[index]
        q = t.quantization
        if t.type not in _INT_TYPES or q is None or q.scale is None or len(q.scale) != 1:
            raise ExportError(f"tensor {name!r} is not a per-tensor int8/int16 tensor; the tflm bundle needs a "
                              f"fully quantised model (target tflite-int8 or tflite-int16x8)")
        return TensorSlot(name, direction, io.index(index), int(index), [int(s) for s in t.shape],
                          _INT_TYPES[t.type][0], float(q.scale[0]), int(q.zeroPoint[0]))

    pairs = [(slot(a, "input"), slot(b, "output")) for a, b in signature.state_pairs if a in by_name]
    variable_bytes = 0  # what ASSIGN_VARIABLE writes per step = the internal state's size
    for op in main.operators or []:
        if flatbuffer.op_name(model, op) == "ASSIGN_VARIABLE":
            t = main.tensors[op.inputs[1]]
            variable_bytes += int(np.prod(t.shape)) * np.dtype(_INT_TYPES.get(t.type, (0, np.float32))[1]).itemsize
    return ModelLayout(slot("x", "input"), slot("y", "output"), pairs, used,
                       count_resource_variables(bytearray(model_bytes)), variable_bytes)


# ---- the step the generated C++ performs, mirrored in numpy ---------------------------------------

def stream_through_tflm(model_bytes: bytes, layout: ModelLayout, stream: np.ndarray, arena_size: int,
                        repeats: int = 1) -> list[np.ndarray]:
    """Raw y [T, C] per repeat from the TFLite Micro interpreter, exactly as mgrade_stream.cc runs it:
    reset() (as init() does) before every repeat, so a reset that works gives identical repeats."""
    from tflite_micro import runtime

    interpreter = runtime.Interpreter.from_bytes(bytes(model_bytes), arena_size=int(arena_size))
    runs = []
    for _ in range(repeats):
        interpreter.reset()
        state = [np.full(a.shape, a.zero_point, a.np_dtype) for a, _ in layout.state_pairs]
        ys = []
        for x in np.asarray(stream, np.float32):
            interpreter.set_input(layout.x.qparams.quantize(x), layout.x.position)
            for (a, _), value in zip(layout.state_pairs, state):
                interpreter.set_input(value, a.position)
            interpreter.invoke()
            ys.append(np.asarray(interpreter.get_output(layout.y.position)).reshape(-1).copy())
            outs = [interpreter.get_output(b.position) for _, b in layout.state_pairs]  # all read, then fed back
            state = [StatePair(a.name, b.name, a.qparams, b.qparams).feed_back(o)
                     for (a, b), o in zip(layout.state_pairs, outs)]
        runs.append(np.stack(ys))
    return runs


# ---- files --------------------------------------------------------------------------------------

def _state_section(layout: ModelLayout, staging: int) -> str:
    """The external-state arrays of mgrade_model.h, one entry per (state_in, state_out) pair."""
    pairs = layout.state_pairs
    if not pairs:
        return ""
    lines = [f"\n// External state: {len(pairs)} pairs, fed back by mgrade_stream.cc after every step, in this order:"]
    lines += [f"//   [{i}] {a.name} (input {a.position}, {a.dtype} {a.shape}) <- {b.name} (output {b.position})"
              + ("" if layout.raw_copy((a, b)) else ", requantised: scales differ") for i, (a, b) in enumerate(pairs)]
    lines.append(f"inline constexpr int kNumStatePairs = {len(pairs)};")
    columns = (("int kStateInputIndex", [a.position for a, _ in pairs]),
               ("int kStateOutputIndex", [b.position for _, b in pairs]),
               ("int kStateLength", [a.length for a, _ in pairs]),
               ("int kStateInElementBytes", [a.element_bytes for a, _ in pairs]),
               ("int kStateOutElementBytes", [b.element_bytes for _, b in pairs]),
               ("float kStateInScale", [cgen.c_float(a.scale) for a, _ in pairs]),
               ("int32_t kStateInZeroPoint", [a.zero_point for a, _ in pairs]),
               ("float kStateOutScale", [cgen.c_float(b.scale) for _, b in pairs]),
               ("int32_t kStateOutZeroPoint", [b.zero_point for _, b in pairs]),
               ("bool kStateRawCopy", ["true" if layout.raw_copy(p) else "false" for p in pairs]))
    lines += [f"inline constexpr {decl}[kNumStatePairs] = {{{', '.join(map(str, values))}}};"
              for decl, values in columns]
    lines += ["// Outputs are staged here (outside the arena) before being copied to the inputs.",
              f"inline constexpr size_t kStateStagingBytes = {staging};"]
    return "\n".join(lines) + "\n"


def slot_fields(prefix: str, s: TensorSlot) -> dict:
    """mgrade_model.h's fields of the x or y tensor (also rendered by the tflm-fused bundle)."""
    return {f"{prefix}_position": s.position, f"{prefix}_element_bytes": s.element_bytes,
            f"{prefix}_scale": cgen.c_float(s.scale), f"{prefix}_zero_point": s.zero_point,
            f"{prefix}_length": s.length, f"{prefix}_desc": f"{s.dtype} {s.shape}"}


def write_bundle(model_bytes: bytes, layout: ModelLayout, cfg, out_dir: Path, model_name: str, source_desc: str,
                 golden_stream: np.ndarray, golden_y: np.ndarray, arena, golden_arena: int | None = None,
                 recorder: str = WHEEL_RECORDER, kernel_files: list[str] | None = None) -> list[str]:
    """Write every bundle file into out_dir (model.tflite included); returns the sorted file names.
    `arena` is the host measurement (tflm_arena) or a CPU's (board.export_arena.CpuArena);
    `golden_arena` is the arena the golden outputs were recorded with (default: the emitted one)."""
    arena_source = getattr(arena, "source", HOST_ARENA_SOURCE)
    ident = cgen.c_identifier(model_name)
    ns = ident if ident.startswith("mgrade") else f"mgrade_{ident}"
    array, pairs = f"g_{ident}_model_data", layout.state_pairs
    head = cgen.banner(source_desc).rstrip("\n")

    def render(template: str, **fields) -> str:
        fields = {"banner": head, "ns": ns, "guard": cgen.header_guard(ns, template), **fields}
        return string.Template((TEMPLATES / template).read_text()).substitute(fields)

    files = {
        "model.tflite": bytes(model_bytes),
        "model_data.h": cgen.banner(source_desc) + cgen.guarded_header(
            cgen.header_guard(ns, "model_data.h"), cgen.c_byte_array_declaration(array)),
        "model_data.cc": (cgen.banner(source_desc) + '#include "model_data.h"\n\n'
                          + cgen.c_byte_array(array, model_bytes)),
        "op_resolver.h": render("op_resolver.h", n_ops=len(layout.ops), registrations="\n".join(
            f"  if (resolver.{resolver_method(op)}() != kTfLiteOk) return kTfLiteError;  // {op}"
            for op in layout.ops)),
        "mgrade_model.h": render(
            "mgrade_model.h", macro=ns.upper(), external=int(bool(pairs)), arena_min=arena.minimum,
            arena_comment=(f"// Tensor arena: {arena.minimum} bytes is the smallest arena (searched in "
                           f"{arena.resolution}-byte steps) with\n// which {arena_source}\n"
                           f"// loaded this model and ran "
                           f"{arena.steps} steps; {arena.margin} bytes of margin are added (README.md says why)."),
            arena_margin=arena.margin, variables=layout.resource_variables, state_bytes=layout.state_bytes,
            state_where="input tensors" if pairs else "resource variables", kernel_size=cfg.kernel_size,
            d_model=cfg.d_model, n_layers=cfg.n_layers, n_classes=cfg.n_classes,
            state_section=_state_section(layout, layout.staging_bytes), **slot_fields("x", layout.x),
            **slot_fields("y", layout.y)),
        "golden_io.h": render(
            "golden_io.h", steps=len(golden_stream), tolerance=GOLDEN_TOLERANCE_STEPS, recorder=recorder,
            source="calibration stream 0, first steps", y_dtype=layout.y.dtype,
            arena=golden_arena or arena.recommended,
            input_array=cgen.c_array("kGoldenInput", "float", np.asarray(golden_stream, np.float32).reshape(-1),
                                     modifiers="inline constexpr"),
            output_array=cgen.c_array("kGoldenOutput", f"{layout.y.dtype}_t", np.asarray(golden_y).reshape(-1),
                                      per_line=16, modifiers="inline constexpr")),
        "mgrade_stream.h": render("mgrade_stream.h"),
        "mgrade_qio.h": render("mgrade_qio.h"),
        "mgrade_stream.cc": render("mgrade_stream.cc", macro=ns.upper(), model_array=array),
        "main.cc": render("main.cc"),
        "README.md": render(
            "README.md", name=model_name, source=source_desc,
            quant={"int8": "int8", "int16": "int16x8"}[layout.x.dtype],
            state="external (state tensors are inputs/outputs)" if pairs else "internal (resource variables)",
            arena_min=arena.minimum, arena_margin=arena.margin, arena_size=arena.recommended, arena_source=arena_source,
            model_bytes=len(model_bytes), state_bytes=layout.state_bytes, n_ops=len(layout.ops),
            ops=", ".join(layout.ops), ram=arena.recommended + layout.staging_bytes,
            staging=f" plus {layout.staging_bytes} bytes of state staging (static, outside the arena)" if pairs else "",
            golden_steps=len(golden_stream), tolerance=GOLDEN_TOLERANCE_STEPS, variables=layout.resource_variables,
            recorder=recorder,
            resolution=arena.resolution, sigmoids=_sigmoid_note(model_bytes, layout.x.dtype),
            array=array, banner=cgen.banner(source_desc, "markdown").rstrip("\n"), build_snippet=_build_snippets()),
    }
    files.update(cmake_project(source_desc, ns, ["mgrade_stream.cc", "model_data.cc"], kernel_files))
    for name, content in files.items():
        path = Path(out_dir) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    return sorted(files)


def cmake_project(desc: str, prefix: str, sources: list[str], kernel_files: list[str] | None,
                  options: str = "", model_defines: str = "") -> dict[str, str]:
    """CMakeLists.txt (a static library over TensorFlow Lite Micro from TFLM_DIR, plus the golden test) and
    the Arm toolchain file. `kernel_files`: the tree's kernel sources this model needs (known when the
    export had the tree); None: every kernel is compiled and the linker keeps what the resolver uses."""
    note = ("every kernel of the tree: export with --tflm-dir to list only this model's" if kernel_files is None
            else "listed at export from the tree given with --tflm-dir")
    return cgen.cmake_files(TEMPLATES / "CMakeLists.txt", {
        "DESC": desc, "PREFIX": prefix, "SOURCES": " ".join(sources), "OPTIONS": options,
        "MODEL_DEFINES": model_defines, "KERNEL_NOTE": note,
        "KERNELS": "ALL" if kernel_files is None else ";".join(kernel_files)})


def _sigmoid_note(model_bytes: bytes, activations: str) -> str:
    """How the model's sigmoids run, for the README (export --sigmoid; `activations`: int8 | int16)."""

    model = flatbuffer.read_model(bytes(model_bytes))
    graph = model.subgraphs[0]
    types = [graph.tensors[op.inputs[0]].type for op in graph.operators or []
             if flatbuffer.op_name(model, op) == "LOGISTIC"]
    if not types:
        return "The model has no sigmoid."
    if activations == "int16":
        return f"Sigmoids ({len(types)}): TFLite's int16 LOGISTIC."
    if all(t == 7 for t in types):  # int16 inputs in an int8 model: export/tflite/passes/logistic16.py
        return (f"Sigmoids ({len(types)}): TFLite's int16 LOGISTIC table between two QUANTIZE ops (the int8 "
                "default; export `--sigmoid int8` keeps the int8 LOGISTIC: ~280 bytes less arena per sigmoid, "
                "~250 more Cortex-M4 instructions per element).")
    return f"Sigmoids ({len(types)}): TFLite's int8 LOGISTIC (export `--sigmoid int8`)."


def _build_snippets() -> str:
    """The commands board-test runs, rendered from the functions it runs them with."""

    return build_snippet("host", "reference") + "\n" + build_snippet("cortex-m4", "cmsis-nn")


def _wheel_version() -> str:
    try:
        return version("tflite-micro")
    except PackageNotFoundError:
        return "(version unknown)"


def golden_check(step, layout: ModelLayout, golden: np.ndarray, runs: list[np.ndarray]) -> dict:
    """The TFLite Micro outputs on the golden stream against the float32 torch step, and whether a
    reset reproduces the stream exactly (it must: the C++ reset() relies on it)."""
    import torch

    from ...streaming import stream_sequences

    ref = stream_sequences(step, torch.from_numpy(golden[None]).to(step.decoder.weight.dtype))[0].double().numpy()
    got = layout.y.qparams.dequantize(np.asarray(runs[0])).astype(np.float64)
    err = np.abs(got - ref)
    cosine = float(np.sum(got * ref) / max(np.linalg.norm(got) * np.linalg.norm(ref), 1e-30))
    return {"steps": len(golden), "source": "calibration stream 0", "tolerance_steps_of_y": GOLDEN_TOLERANCE_STEPS,
            "reset_reproduces": all(np.array_equal(runs[0], r) for r in runs[1:]),
            "vs_float_step": {"max_abs": float(err.max()), "max_steps_of_y": float(err.max() / layout.y.scale),
                              "cosine": cosine}}


def export_tflm_bundle(step, quant: str, state: str, calibration, out_dir: Path, model_name: str,
                       source_desc: str, golden_steps: int = GOLDEN_STEPS) -> dict:
    """Export the step to a quantised .tflite in out_dir and write the TFLite Micro bundle beside it.

    Returns the summary for the manifest: arena (measured minimum, margin, emitted), flash (model
    bytes), state bytes, ops, resource variables, tensor layout and the golden check."""
    return _export(step, quant, state, calibration, out_dir, model_name, source_desc, golden_steps)[1]


def export_tflm(step, opts, out_dir: Path):
    """Registry-style entry point (step, ExportOptions, out_dir) -> ExportResult for targets named
    "tflm-int8" / "tflm-int16x8": the .tflite's tensors plus the bundle summary in details["tflm"]."""

    quant = get_target(opts.target).precision.name
    result, summary = _export(step, quant, opts.state, opts.calibration, out_dir, opts.model_name, opts.model_name,
                              GOLDEN_STEPS, opts.options)
    return ExportResult(result.model_file, result.tensors, result.state_handling,
                        extra_files=[f for f in summary["files"] if f != result.model_file],
                        notes=result.notes + [f"TFLite Micro bundle: arena {summary['arena']['emitted']} bytes "
                                              f"(measured minimum {summary['arena']['minimum']} + margin "
                                              f"{summary['arena']['margin']}), see README.md"],
                        details={**result.details, "tflm": summary})


def _export(step, quant, state, calibration, out_dir, model_name, source_desc, golden_steps, options=None):
    from ..tflite.export import export_tflite

    target = resolve_cli_target("tflm", quant)
    state = resolve_state(target, state)
    options = options or options_class(target)()
    cpu, tflm_dir = options.cpu, options.tflm_dir
    if calibration is None or not getattr(calibration, "streams", None):
        raise ExportError("the tflm bundle needs calibration data (its streams also give the golden input); "
                          "pass a calibration set (quantize.calibration_set)")
    result = export_tflite(step, ExportOptions(target.name, state, calibration, model_name, options),
                           Path(out_dir))
    model_bytes = (Path(out_dir) / result.model_file).read_bytes()
    layout = read_layout(model_bytes, step.signature, {t.name: t.graph_name for t in result.tensors if t.graph_name})
    arena = measure_min_arena(model_bytes)
    golden = np.asarray(calibration.streams[0][:golden_steps], np.float32)
    runs = stream_through_tflm(model_bytes, layout, golden, arena.recommended, repeats=2)
    kernel_files = None
    if tflm_dir is not None:  # the CMake project then lists only this model's kernels

        kernel_files = [p.name for p in kernel_sources(find_tree("reference", tflm_dir),
                                                        [resolver_method(op) for op in layout.ops])]
    files = write_bundle(model_bytes, layout, step.cfg, out_dir, model_name, source_desc, golden, runs[0], arena,
                         kernel_files=kernel_files)
    golden_y, recorded_by = runs[0], {"engine": f"tflite-micro Python wheel {_wheel_version()}", "tree": None}
    if tflm_dir is not None:  # record with the sources the bundle will be built with (see record_golden_outputs)

        golden_y, tree = record_golden_outputs(Path(out_dir), tflm_dir)
        wheel_y = np.asarray(runs[0]).reshape(golden_y.shape)
        recorded_by = {"engine": "TFLite Micro tree, host build, reference kernels", "tree": tree,
                       "wheel_vs_tree_max_steps": int(np.abs(golden_y - wheel_y).max())}
        files = write_bundle(model_bytes, layout, step.cfg, out_dir, model_name, source_desc, golden, golden_y, arena,
                             recorder=TREE_RECORDER, kernel_files=kernel_files)
    host_arena = {"minimum": arena.minimum, "margin": arena.margin, "emitted": arena.recommended,
                  "source": HOST_ARENA_SOURCE}
    emitted, cpu_note, board = arena, None, None
    if cpu is not None:
        cpu_arena, board = measure_cpu_arena(out_dir, cpu)
        if cpu_arena is None:
            cpu_note, board = f"arena for {cpu} not measured ({board}); the host figure is emitted", None
        else:
            emitted = cpu_arena
            write_bundle(model_bytes, layout, step.cfg, out_dir, model_name, source_desc, golden, golden_y, cpu_arena,
                         golden_arena=arena.recommended, recorder=TREE_RECORDER if tflm_dir else WHEEL_RECORDER,
                         kernel_files=kernel_files)
    summary = {
        "format": "tflm-bundle", "quant": quant, "state": state, "model_name": model_name,
        "files": sorted(set(files) | {result.model_file}),
        "arena": {"minimum": emitted.minimum, "margin": emitted.margin, "emitted": emitted.recommended,
                  "cpu": cpu if emitted is not arena else "host",
                  "source": getattr(emitted, "source", HOST_ARENA_SOURCE), "not_measured_for_cpu": cpu_note,
                  "host": host_arena,
                  "resolution": arena.resolution, "probes": len(arena.probes), "measured_invokes": arena.steps,
                  "allocations": {k: v for k, v in arena.allocations.items() if k != "lines"}},
        "board": None if board is None else {k: board[k] for k in (
            "cpu", "kernels", "passed", "arena_bytes_min", "arena_used_bytes", "ram_bytes", "flash_bytes",
            "model_flash_bytes", "instructions_per_step")},
        "flash": {"model_bytes": len(model_bytes), "code_bytes": None,
                  "note": "code size (TFLite Micro + kernels) depends on the target toolchain; not measured"},
        "state_bytes": layout.state_bytes, "staging_bytes": layout.staging_bytes,
        "ram_bytes": emitted.recommended + layout.staging_bytes,
        "ops": layout.ops, "resolver_methods": [resolver_method(op) for op in layout.ops],
        "resource_variables": layout.resource_variables,
        "io": {s.name: asdict(s) for s in [layout.x, layout.y] + [t for p in layout.state_pairs for t in p]},
        "golden": {**golden_check(step, layout, golden, runs), "arena": arena.recommended, "recorded_by": recorded_by},
    }
    return result, summary
