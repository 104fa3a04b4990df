"""Cortex-M33 (ARMv8-M Mainline with the DSP extension, 3-stage pipeline).

Arm's Cortex-M33 Technical Reference Manual publishes no per-instruction cycle table. The core keeps the
Cortex-M4's 3-stage pipeline and single-cycle multiply/DSP datapath, so its table is the Cortex-M4's
(cortex_m4.py), with the refill widened by one cycle at the high end for its branch handling.
"""

from .cortex_m4 import TIMING as M4
from .timing import CoreTiming

TIMING = CoreTiming(
    core="cortex-m33",
    source="no published table: the Cortex-M4 TRM (DDI 0439B) 3.3.1 Table 3-1, refill 1 to 4",
    classes=M4.classes,
    refill=(1, 2, 4),
    pipelined=M4.pipelined,
)
