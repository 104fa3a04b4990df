"""Export targets: a plain registry (name -> Target). A new target is one module plus one line here.

Exporter functions are referenced by "module:function" and imported only when used, so listing the
targets (e.g. for `--help`) never imports torch, onnx or tensorflow.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ExportError


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
class Target:
    name: str
    engine: str  # onnxruntime | litert (every TFLite artifact also runs in tflm)
    precision: str  # float32 | int8 | int16x8
    states: tuple[str, ...]  # supported state placements, the first is the default
    exporter: str  # "module:function" inside mgrade_edge.export
    tolerance: Tolerance
    suffix: str

    @property
    def quantized(self) -> bool:
        return self.precision != "float32"


TARGETS: dict[str, Target] = {}


def register(target: Target) -> None:
    if target.name in TARGETS:
        raise ValueError(f"duplicate export target {target.name}")
    TARGETS[target.name] = target


FLOAT_TOL = Tolerance(atol=1e-4)
register(Target("onnx", "onnxruntime", "float32", ("external",), "onnx:export_onnx", FLOAT_TOL, ".onnx"))
register(Target("onnx-int8", "onnxruntime", "int8", ("external",), "onnx:export_onnx",
                Tolerance(max_steps_of_y=None, min_cosine=0.98), ".onnx"))
register(Target("tflite", "litert", "float32", ("external", "internal"), "tflite:export_tflite", FLOAT_TOL,
                ".tflite"))
register(Target("tflite-int8", "litert", "int8", ("external", "internal"), "tflite:export_tflite",
                Tolerance(min_cosine=0.98), ".tflite"))
register(Target("tflite-int16x8", "litert", "int16x8", ("external", "internal"), "tflite:export_tflite",
                Tolerance(min_cosine=0.995), ".tflite"))


# Targets that produce a source bundle rather than one model artifact (handled by export/tflm_pipeline.py).
BUNDLE_TARGETS = ("tflm",)


def get_target(name: str) -> Target:
    if name not in TARGETS:
        raise ExportError(f"unknown target {name!r}; choose one of {', '.join([*TARGETS, *BUNDLE_TARGETS])}")
    return TARGETS[name]


def resolve_exporter(target: Target):
    import importlib

    module, func = target.exporter.split(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), func)
