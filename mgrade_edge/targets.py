"""Export targets: the registry is the one description of a target.

It sits below export/, board/, runtime/ and the manifest reader, which all dispatch on it (export/
re-exports it for existing callers). Everything else derives from it:
the CLI's --target/--quant choices and help, profile's precisions, runner selection (runtime) and
the tests' parametrisation.

A `Precision` says how values are stored (value dtype, bytes per weight/bias/activation, TFLite
converter settings) and the default tolerance of a full-integer model at that precision. A `Target`
names one artifact kind: its precision, state placements (first = default), the engines that run it
(first = default), the exporter ("module:function", imported only when used, so listing targets for
`--help` never imports torch, onnx or tensorflow) and its artifact format.

How to add a target
- Write the folder `mgrade_edge/export/<name>/`: `export.py` with `export_<name>(step, opts: ExportOptions,
  out_dir) -> ExportResult` (read the target with `get_target(opts.target)`, never parse the name; its
  precision from `target.precision`), the modules only it uses, and its `templates/`; its tests go in
  `tests/export/<name>/`.
- Register it below: one `register(Target(...))` for a single-precision target, or one
  `register_family("c", ("int8", "int16x8", "float32"), engines=("c",), ...)` for a target reached
  as `--target c --quant Q` (registry names c-int8, ...). The CLI, validate and the parametrised
  tests (tests/export/test_registry.py and every test using `targets_with(...)`) pick it up.
How to add a runner: a class `Runner` (runtime/base.py) in runtime/<engine>_runner.py, one line in
  runtime.ENGINES, and the engine name in the `engines` of the targets it runs.
How to use qio: `mgrade_edge.qio` holds QParams (quantise/dequantise), requantise and the state
  feedback rule; every runner, exporter and the generated C++ (templates/mgrade_qio.h) use it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from .errors import ExportError


@dataclass(frozen=True)
class Tolerance:
    """How close an artifact's per-step outputs must be to the float32 torch step.

    Float targets: max abs error. Quantised targets: max abs error in units of the output
    quantisation step (y scale), plus a floor on the cosine similarity of the whole stream.
    """

    atol: float | None = None
    max_steps_of_y: float | None = None
    min_cosine: float | None = None


@dataclass(frozen=True)
class Precision:
    name: str  # float32 | int8 | int16x8
    value_dtype: str  # stored type of activations, state values and model I/O: float32 | int8 | int16
    weight: int  # bytes per FULLY_CONNECTED / DEPTHWISE_CONV_2D weight
    bias: int  # bytes per bias of those ops
    act: int  # bytes per activation, state value and element-wise constant
    tolerance: Tolerance  # default bound for a full-integer (or float) model at this precision
    converter_ops: str | None = None  # tf.lite.OpsSet member for full-integer conversion; None: float

    @property
    def quantized(self) -> bool:
        return self.value_dtype != "float32"

    def dtype(self, kind: str) -> str:
        """Storage dtype of a tensor kind: weight | bias | anything else (activation-typed)."""
        if not self.quantized:
            return "float32"
        size = {"weight": self.weight, "bias": self.bias}.get(kind, self.act)
        return {1: "int8", 2: "int16", 4: "int32", 8: "int64"}[size]


# TFLite quantised tolerances. The cosine floor is the accuracy bound; max_steps_of_y only bounds gross
# failures, because a recurrent quantised graph's per-step max error is accumulated rounding, not one
# rounding step: every op of the int8 graph is within 0.5-1.3 steps of its own output scale
# (layer-wise, QuantizationDebugger on digits), yet y ends up 4-21 steps off on the test configs and
# 34-66 steps off on digits (450 sequences and a 28,800-step stream, LiteRT and TFLite Micro).
# int8: 128 steps = half the int8 output range; cosine 0.98 allows 20% relative RMS error
# (1 - cos ~ rel²/2); measured 0.9960-0.9999 on the test configs, >= 0.9983 (sequences) and
# 0.9847-0.9945 (long stream) on digits, with >= 99.8% top-1 agreement.
# int16x8 keeps int8 weights, so weight rounding sets its error floor (digits with fake-quant
# int8 weights alone, in torch: max 0.66, ~1,000 int16 steps of y) while activation rounding is
# 256x finer: 8192 steps = 1/8 of the int16 output range (4x tighter than int8 in absolute terms);
# measured 810-4,560 steps on the test configs, 1,120-2,700 on digits. Cosine 0.999 allows 4.5%
# relative RMS error; measured >= 0.99976 (test configs) and >= 0.99994 (digits); a 10% error in
# the fed-back h scale falls below it (0.9862-0.9988 on the test configs).
PRECISIONS: dict[str, Precision] = {p.name: p for p in (
    Precision("float32", "float32", 4, 4, 4, Tolerance(atol=1e-4)),
    Precision("int8", "int8", 1, 4, 1, Tolerance(max_steps_of_y=128, min_cosine=0.98), "TFLITE_BUILTINS_INT8"),
    Precision("int16x8", "int16", 1, 8, 2, Tolerance(max_steps_of_y=8192, min_cosine=0.999),
              "EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8"),
)}


def get_precision(name: str) -> Precision:
    if name not in PRECISIONS:
        raise ExportError(f"precision {name!r} is not one of {', '.join(PRECISIONS)}")
    return PRECISIONS[name]


@dataclass(frozen=True)
class Target:
    name: str  # registry name, stored in manifest.json
    precision: Precision
    states: tuple[str, ...]  # supported state placements, the first is the default
    engines: tuple[str, ...]  # runtime engines that run the artifact, the first is the default
    exporter: str  # "module:function" inside mgrade_edge.export, e.g. "c.export:export_c"
    format: str  # artifact model format: onnx | tflite (what a measuring tool can read)
    tolerance: Tolerance | None = None  # None: the precision's tolerance
    cli_name: str = ""  # the --target spelling; targets sharing one are chosen by --quant (default: name)
    # The target's own facts in manifest.json: {details key: {field: kind}} (kinds: mgrade_edge.manifest
    # FACT_KINDS; "path"/"paths" must stay inside the bundle). The manifest reader checks them.
    facts: dict = field(default_factory=dict, hash=False, compare=False)
    board: str | None = None  # how board-test builds the bundle: "c" (the C step), "tflm" (TFLite Micro), None
    # The options only this target takes: a frozen dataclass ("module:Class" inside mgrade_edge.export, see
    # export/options.py) whose flagged fields are also `export` CLI flags.
    options: str = "options:TargetOptions"

    def __post_init__(self):
        if self.tolerance is None:
            object.__setattr__(self, "tolerance", self.precision.tolerance)
        if not self.cli_name:
            object.__setattr__(self, "cli_name", self.name)

    @property
    def engine(self) -> str:
        return self.engines[0]

    @property
    def quantized(self) -> bool:
        return self.precision.quantized

    @property
    def model_suffix(self) -> str:
        """The model file's extension: the format's, except a tflm-fused bundle's (its one-op graph)."""
        return ".tflite" if self.format == "tflm-fused" else f".{self.format}"

    @property
    def by_quant(self) -> bool:
        """True for targets reached as `--target <cli_name> --quant <precision>`."""
        return self.cli_name != self.name


TARGETS: dict[str, Target] = {}


def resolve_state(target: Target, state: str | None) -> str:
    """The state placement to use: the target's default for None, else `state` if the target has it.
    The one check of a --state value (export, the exporters and profile all call it)."""
    if state is None:
        return target.states[0]
    if state not in target.states:
        raise ExportError(f"target {target.name} supports --state {', '.join(target.states)}, not {state!r}")
    return state


def register(target: Target) -> None:
    if target.name in TARGETS:
        raise ValueError(f"duplicate export target {target.name}")
    TARGETS[target.name] = target


def register_family(cli_name: str, precisions: tuple[str, ...], **fields) -> None:
    """Targets <cli_name>-<precision>, reached as `--target cli_name --quant P` (first P = default)."""
    for p in precisions:
        register(Target(f"{cli_name}-{p}", PRECISIONS[p], cli_name=cli_name, **fields))


FLOAT32, INT8, INT16X8 = PRECISIONS["float32"], PRECISIONS["int8"], PRECISIONS["int16x8"]
# How an int8 TFLite graph's sigmoids run (tflite.convert_functions; first = default): TFLite's int16
# table (export/tflite/passes/logistic16.py: fewer instructions) or its int8 LOGISTIC (a smaller TFLite Micro arena).
SIGMOID_KERNELS = ("int16", "int8")
_TFLITE = {"states": ("external", "internal"), "engines": ("litert", "tflm"), "exporter": "tflite.export:export_tflite",
           "format": "tflite"}
register(Target("onnx", FLOAT32, ("external",), ("onnxruntime",), "onnx.export:export_onnx", "onnx"))
# onnx-int8: each int8 requantisation of a calibrated tensor costs ~35-45 dB SQNR (measured per
# tensor); a layer chains ~20 of them and the state feeds back, so expect ~25 dB at y: relative RMS
# error ~3-9% (measured: 1-6% on the test configs, 6.6-8.5% on digits), i.e. cosine >= 0.996. The
# floor 0.99 allows 14% relative RMS error (1 - cos ~ rel²/2); clipped calibration ranges fall far
# below it (digits calibrated on aliased samples that clip x: cosine 0.07-0.17). No max_steps_of_y:
# I/O is float, and the per-step max error of a recurrent int8 graph spans many output steps
# (digits: ~50), so it is no rounding bound.
register(Target("onnx-int8", INT8, ("external",), ("onnxruntime",), "onnx.export:export_onnx", "onnx",
                Tolerance(min_cosine=0.99)))
register(Target("tflite", FLOAT32, **_TFLITE))
register(Target("tflite-int8", INT8, **_TFLITE, options="tflite.options:TfliteInt8Options"))
register(Target("tflite-int16x8", INT16X8, **_TFLITE))
# The TFLite Micro bundle: the quantised .tflite plus C/C++ sources (`--target tflm --quant Q`).
_TFLM_FACTS = {"tflm": {"files": "paths", "arena": "dict"}}
_TFLM = {"states": ("internal", "external"), "engines": ("tflm", "litert"), "exporter": "tflm.export:export_tflm",
         "format": "tflite", "facts": _TFLM_FACTS, "board": "tflm"}
register(Target("tflm-int8", INT8, cli_name="tflm", options="tflm.options:TflmInt8Options", **_TFLM))
register(Target("tflm-int16x8", INT16X8, cli_name="tflm", options="tflm.options:TflmOptions", **_TFLM))
# The native C step (export/c/generator.py, `--target c --quant Q`): judged by its precision's tolerance like
# the TFLite targets. c-int8 keeps h in uint16; c-int8-h8 is the same with an 8-bit h (d*L bytes less);
# c-int8-h32 and c-int16x8-h32 keep h in 31 bits (2*d*L bytes more), for models whose h moves by less
# than one 16-bit step per timestep (c_quant.PRECISIONS).
_C_FACTS = {"c": {"prefix": "identifier", "header": "path", "sources": "paths", "precision": "str"}}
_C = {"facts": _C_FACTS, "board": "c", "options": "c.options:CIntOptions"}
register_family("c", ("int8", "int16x8"), states=("internal",), engines=("c",), exporter="c.export:export_c",
                format="c", **_C)
register(Target("c-float32", FLOAT32, ("internal",), ("c",), "c.export:export_c", "c", cli_name="c", facts=_C_FACTS,
                board="c"))
register(Target("c-int8-h8", INT8, ("internal",), ("c",), "c.export:export_c", "c", **_C))
register(Target("c-int8-h32", INT8, ("internal",), ("c",), "c.export:export_c", "c", **_C))
register(Target("c-int16x8-h32", INT16X8, ("internal",), ("c",), "c.export:export_c", "c", **_C))
# The whole step as one TFLite Micro custom op (export/tflm_fused/export.py, `--target tflm-fused --quant Q`):
# the c step's numbers in a one-op graph, for firmware that keeps the interpreter; validate runs its C.
register_family("tflm-fused", ("int8", "int16x8"), states=("internal",), engines=("c",),
                exporter="tflm_fused.export:export_tflm_fused", format="tflm-fused", board="tflm",
                options="c.options:CIntOptions",
                facts={**_C_FACTS, "tflm_fused": {"program_sources": "paths", "op": "str"}})


# The c step's hidden-state width is an option of `c` (`--target c --quant Q --h-bits B`); 16 bits is the plain
# c-<quant> target. The registry names stay (manifests keep them); their spellings as --target are deprecated.
C_H_BITS = {("int8", 8): "c-int8-h8", ("int8", 16): "c-int8", ("int8", 32): "c-int8-h32",
            ("int16x8", 16): "c-int16x8", ("int16x8", 32): "c-int16x8-h32"}
DEPRECATED_SPELLINGS = {name: f"--target c --quant {quant} --h-bits {bits}"
                        for (quant, bits), name in C_H_BITS.items() if bits != 16}


def resolve_h_bits(target: Target, h_bits: int | None) -> Target:
    """`--target c --quant Q --h-bits B` -> the registered c variant (h_bits None: `target` itself)."""
    if h_bits is None:
        return target
    if target.cli_name != "c" or not target.quantized:
        raise ExportError(f"--h-bits applies to --target c with --quant int8 or int16x8, not {target.name}; "
                          f"drop --h-bits")
    name = C_H_BITS.get((target.precision.name, h_bits))
    if name is None:
        allowed = sorted(b for q, b in C_H_BITS if q == target.precision.name)
        raise ExportError(f"--h-bits {h_bits} with --quant {target.precision.name}: choose one of "
                          f"{', '.join(map(str, allowed))}")
    return TARGETS[name]


def cli_target_names() -> list[str]:
    """The --target choices, in registry order."""
    return list(dict.fromkeys(t.cli_name for t in TARGETS.values()))


public_target_names = cli_target_names


def quant_choices(cli_name: str) -> list[str]:
    """The --quant choices of a `--target cli_name --quant Q` family (empty for single-precision targets)."""
    return [t.precision.name for t in TARGETS.values() if t.by_quant and t.cli_name == cli_name]


def resolve_cli_target(cli_name: str, quant: str | None = None) -> Target:
    """`--target T [--quant Q]` -> the registered target (unknown names and misplaced --quant refused)."""
    choices = quant_choices(cli_name)
    if not choices:
        target = get_target(cli_name)
        if quant is not None and quant != target.precision.name:
            raise ExportError(f"--quant applies to --target {' / '.join(families())} only; for {cli_name} the "
                              f"precision is in the target name")
        return target
    quant = quant or choices[0]
    if quant not in choices:
        raise ExportError(f"--quant {quant!r} is not one of {', '.join(choices)}")
    return TARGETS[f"{cli_name}-{quant}"]


def families() -> list[str]:
    return [name for name in cli_target_names() if quant_choices(name)]


def bundle_target_name(quant: str) -> str:
    """`--target tflm --quant Q` -> the registry name tflm-Q."""
    return resolve_cli_target("tflm", quant).name


def targets_with(*, format: str | None = None, engine: str | None = None, by_quant: bool | None = None) -> list[str]:
    """Registry names matching every given property (used by the CLI, profile and test parametrisation)."""
    return [t.name for t in TARGETS.values() if (format is None or t.format == format)
            and (engine is None or engine in t.engines) and (by_quant is None or t.by_quant == by_quant)]


def get_target(name: str) -> Target:
    if name not in TARGETS:
        raise ExportError(f"unknown target {name!r}; choose one of {', '.join(cli_target_names())}")
    return TARGETS[name]


def resolve_exporter(target: Target):
    module, func = target.exporter.split(":")
    return getattr(importlib.import_module(f"mgrade_edge.export.{module}"), func)
