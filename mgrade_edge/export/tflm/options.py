"""The tflm targets' options: where the arena is measured and which TensorFlow Lite Micro tree records the
golden; the int8 bundle also takes the tflite int8 graph's --sigmoid."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ...board.toolchain import CPUS
from ...errors import ExportError
from ..options import Flag, TargetOptions, option
from ..tflite.options import TfliteInt8Options

CPU = Flag("--cpu", "emit the TFLite Micro arena measured on this CPU (real TensorFlow Lite Micro from $TFLM_DIR, "
                    "QEMU for Cortex-M). Default: the TFLite Micro Python interpreter's host figure.",
           choices=tuple(CPUS), hint=" (a built bundle's arena on a CPU: `mgrade-edge board-test DIR --cpu CPU`)")
TFLM_DIR = Flag("--tflm-dir", "record golden_io.h with this TensorFlow Lite Micro tree (host build, reference "
                              "kernels), the sources the bundle will be built with. Default: $TFLM_DIR; unset, the "
                              "Python tflite-micro wheel records it (other TFLite Micro versions may differ by a "
                              "step).",
                envvar="TFLM_DIR")


@dataclass(frozen=True)
class TflmOptions(TargetOptions):
    cpu: str | None = option(None, CPU)  # None: the host figure
    tflm_dir: str | None = option(None, TFLM_DIR)  # None: the Python wheel records the golden
    # The .tflite is the device model: the zero_state signature goes (TFLite Micro resets without it).
    device_model: ClassVar[bool] = True

    def check(self, target) -> None:
        if self.cpu is not None and self.cpu not in CPUS:
            raise ExportError(f"--cpu {self.cpu!r}: choose one of {', '.join(CPUS)}")


@dataclass(frozen=True)
class TflmInt8Options(TflmOptions, TfliteInt8Options):
    def check(self, target) -> None:
        TflmOptions.check(self, target)
        TfliteInt8Options.check(self, target)
