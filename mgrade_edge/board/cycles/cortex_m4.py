"""Cortex-M4 (ARMv7E-M, 3-stage pipeline, single-cycle 32x32 multiply and DSP instructions).

Arm Cortex-M4 Processor Technical Reference Manual r0p1 (DDI 0439B), section 3.3.1, Table 3-1
"Cortex-M4 instruction set summary": cycles per instruction, P = pipeline refill of 1 to 3 cycles
(target alignment and width, branch speculation), N = registers transferred, and the note that
neighbouring single loads and stores pipeline their address and data phases to one cycle each.
"""

from .timing import CoreTiming

TIMING = CoreTiming(
    core="cortex-m4",
    source="Cortex-M4 TRM r0p1 (DDI 0439B) 3.3.1 Table 3-1",
    classes={
        "alu": (1, 1, 1),  # ADD, SUB, MOV, shifts, compares, logical, extends, bit fields, SSAT/USAT, CLZ
        "branch": (1, 1, 1),  # B<c> not taken: 1; taken: 1 + P (refill)
        "table_branch": (2, 2, 2),  # TBB/TBH: 2 + P
        "load": (2, 2, 2),  # LDR*: 2 (1 when pipelined, below)
        "store": (2, 2, 2),  # STR*: 2 (1 when pipelined)
        "load_dual": (3, 3, 3),  # LDRD: 1 + N, N = 2
        "store_dual": (3, 3, 3),  # STRD: 1 + N
        "load_multiple": (1, 1, 1),  # LDM/POP: 1 + N (+ P with the PC in the list)
        "store_multiple": (1, 1, 1),  # STM/PUSH: 1 + N
        "mul": (1, 1, 1),  # MUL: 1
        "mla": (2, 2, 2),  # MLA, MLS: 2
        "mul64": (1, 1, 1),  # SMULL, UMULL: 1
        "mla64": (1, 1, 1),  # SMLAL, UMLAL, SMLALxy, SMLALD: 1
        "dsp": (1, 1, 1),  # SMLAD, SMUAD, SMMUL, SMLAxy, SXTB16, QADD, SIMD add/sub: 1
        "divide": (2, 7, 12),  # SDIV, UDIV: 2 to 12 (early termination on the operands' magnitude)
        "it": (0, 1, 1),  # IT: 1, or 0 when folded onto a preceding 16-bit instruction
    },
    refill=(1, 2, 3),
    pipelined=(1, 1, 2),  # nominal: the overlap the TRM describes; high: none (a dependent address breaks it)
)
