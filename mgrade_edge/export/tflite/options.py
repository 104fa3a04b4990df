"""The tflite targets' options: only the int8 graph takes one (how its sigmoids run)."""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import ExportError
from ...targets import SIGMOID_KERNELS
from ..options import Flag, TargetOptions, option

SIGMOID = Flag("--sigmoid", "int16 (default) runs each sigmoid of the int8 graph through TFLite's int16 table, ~20% "
                            "fewer Cortex-M4 instructions a step; int8 keeps TFLite's int8 LOGISTIC, ~5-8% less "
                            "TFLite Micro arena.", choices=SIGMOID_KERNELS)


@dataclass(frozen=True)
class TfliteInt8Options(TargetOptions):
    sigmoid: str = option(SIGMOID_KERNELS[0], SIGMOID)  # logistic16.py: "int16" table or TFLite's int8 LOGISTIC

    def check(self, target) -> None:
        if self.sigmoid not in SIGMOID_KERNELS:
            raise ExportError(f"--sigmoid {self.sigmoid!r}: choose one of {', '.join(SIGMOID_KERNELS)}")
