"""Cortex-M0+ (ARMv6-M, 2-stage pipeline).

Arm Cortex-M0+ Processor Technical Reference Manual r0p1 (DDI 0484C), section 3.3, Table 3-1 "Cortex-M0+
instruction summary": data processing 1 cycle; loads and stores 2; LDM/STM/PUSH/POP 1 + N; POP with the
PC 3 + N; B taken 2, not taken 1; BL 3; BX/BLX 2; MULS 1 with the fast multiplier or 32 with the small
one (an implementation option: high).
"""

from .timing import CoreTiming

TIMING = CoreTiming(
    core="cortex-m0plus",
    source="Cortex-M0+ TRM r0p1 (DDI 0484C) 3.3 Table 3-1",
    classes={
        "alu": (1, 1, 1),
        "branch": (1, 1, 1),  # + 1 refill when taken (B: 2, BX: 2); BL: 3 (below: its extra base cycle)
        "branch_link": (2, 2, 2),  # BL: 3 = 2 + refill
        "load": (2, 2, 2),
        "store": (2, 2, 2),
        "load_multiple": (1, 1, 1),  # 1 + N; POP {.., pc}: 3 + N = 1 + N + refill 2
        "store_multiple": (1, 1, 1),
        "mul": (1, 1, 32),
    },
    refill=(1, 1, 1),
    pop_pc=(1, 1, 1),  # POP {.., pc}: 3 + N = 1 + N + refill 1 + 1
)
