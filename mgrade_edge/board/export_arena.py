"""The arena a bundle emits for a named CPU, measured with the board-test machinery.

`export --target tflm --cpu CPU` first writes the bundle with the host figure of the TFLite Micro
Python interpreter (that is also where the golden outputs come from), then builds its golden
program for CPU against real TFLite Micro and probes the smallest working arena there; the bundle
is rewritten with that minimum + CPU_MARGIN. Without toolchain or tree the host figure stays, and
the manifest says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from .tflm_golden import board_test
from .toolchain import BoardError

# Added to the arena measured on the CPU itself (same TFLite Micro sources, kernels and compiler,
# so the minimum is exact there): up to 15 bytes lost to an arena that is not 16-byte aligned, and
# allocation differences in other TFLite Micro versions; a stated engineering margin, not a bound.
CPU_MARGIN = 512


@dataclass
class CpuArena:
    minimum: int
    margin: int
    recommended: int
    resolution: int
    steps: int  # golden steps run with the minimum arena
    source: str


def measure_cpu_arena(bundle_dir, cpu: str, kernels: str | None = None, tflm_dir=None):
    """(CpuArena, board report) for `cpu`, or (None, reason) when it cannot be measured here."""

    try:
        report = board_test(bundle_dir, cpu=cpu, kernels=kernels, tflm_dir=tflm_dir)
    except BoardError as exc:
        return None, str(exc)
    if report["arena_bytes_min"] is None:
        return None, f"the golden program failed on {cpu}: {report['result_line']}"
    minimum = report["arena_bytes_min"]
    source = (f"the bundle's golden program on {cpu} ({report['kernels']} kernels, real TensorFlow Lite Micro"
              f"{', under QEMU' if cpu != 'host' else ''}), one run per probe")
    return CpuArena(minimum, CPU_MARGIN, minimum + CPU_MARGIN, 16, report["golden_steps"], source), report
