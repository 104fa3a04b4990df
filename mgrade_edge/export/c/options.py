"""The quantised c step's options (also the tflm-fused op's: the same C inside): how the dense weights are
stored. The hidden state's width (--h-bits) picks a registered c variant instead (targets.resolve_h_bits)."""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import ExportError
from ..options import Flag, TargetOptions, option

WEIGHT_STORAGE = ("int8", "int16")  # how the int8 weights of the dense layers are stored (int_step.py)
WEIGHTS = Flag("--weights", "store the dense layers' int8 weights in 16 bits (int16), so the SMLAD loop needs no "
                            "sign-extends (~40% fewer dot-product instructions on Cortex-M4 with -DMGRADE_USE_DSP) at "
                            "twice their flash; outputs are identical. Default int8.", choices=WEIGHT_STORAGE)


@dataclass(frozen=True)
class CIntOptions(TargetOptions):
    weights: str = option("int8", WEIGHTS)  # int_step.WEIGHT_STORAGE; the values and outputs are the same

    def check(self, target) -> None:
        if self.weights not in WEIGHT_STORAGE:
            raise ExportError(f"--weights {self.weights!r}: choose one of {', '.join(WEIGHT_STORAGE)}")
