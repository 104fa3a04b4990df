"""Cortex-M3 (ARMv7-M, 3-stage pipeline, no DSP extension, multi-cycle long multiplies).

Arm Cortex-M3 Technical Reference Manual r2p0 (DDI 0337H), section 3.3, Table 3-1 "Cortex-M3
instruction set summary": as the Cortex-M4's except the long multiplies (SMULL/UMULL 3 to 5 cycles,
SMLAL/UMLAL 4 to 7, early terminating) and no DSP instructions.
"""

from .cortex_m4 import TIMING as M4
from .timing import CoreTiming

TIMING = CoreTiming(
    core="cortex-m3",
    source="Cortex-M3 TRM r2p0 (DDI 0337H) 3.3 Table 3-1",
    classes={**{cls: cycles for cls, cycles in M4.classes.items() if cls != "dsp"}, "mul64": (3, 4, 5),
             "mla64": (4, 5.5, 7)},
    refill=M4.refill,
    pipelined=M4.pipelined,
)
