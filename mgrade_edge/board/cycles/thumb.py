"""Instruction classes of Thumb/Thumb-2 code (ARMv6-M, ARMv7-M, ARMv7E-M, ARMv8-M), by mnemonic.

A core's timing table (cortex_m*.py) gives cycles per class; the classes follow the rows of the Cortex-M
Technical Reference Manuals' instruction tables. Condition codes (IT blocks, conditional branches) and the
flag-setting `s` are stripped: they do not change the timing.
"""

from __future__ import annotations

import re

CONDITIONS = ("eq", "ne", "cs", "hs", "cc", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al")

CLASSES = {
    "branch": ("b", "bl", "blx", "bx", "cbz", "cbnz"),
    "table_branch": ("tbb", "tbh"),
    "load": ("ldr", "ldrb", "ldrh", "ldrsb", "ldrsh", "ldrex", "ldrexb", "ldrexh", "ldrt", "ldrbt", "ldrht"),
    "store": ("str", "strb", "strh", "strex", "strexb", "strexh", "strt", "strbt", "strht"),
    "load_dual": ("ldrd",),
    "store_dual": ("strd",),
    "load_multiple": ("ldm", "ldmia", "ldmfd", "ldmdb", "ldmea", "pop"),
    "store_multiple": ("stm", "stmia", "stmea", "stmdb", "stmfd", "push"),
    "mul": ("mul",),
    "mla": ("mla", "mls"),
    "mul64": ("smull", "umull"),
    "mla64": ("smlal", "umlal", "umaal", "smlalbb", "smlalbt", "smlaltb", "smlaltt", "smlald", "smlaldx",
              "smlsld", "smlsldx"),
    "dsp": ("smlad", "smladx", "smlsd", "smlsdx", "smuad", "smuadx", "smusd", "smusdx", "smlabb", "smlabt",
            "smlatb", "smlatt", "smlawb", "smlawt", "smulbb", "smulbt", "smultb", "smultt", "smulwb", "smulwt",
            "smmul", "smmulr", "smmla", "smmlar", "smmls", "smmlsr", "sxtb16", "sxtab16", "uxtb16", "uxtab16",
            "ssat16", "usat16", "qadd", "qsub", "qdadd", "qdsub", "qadd16", "qsub16", "qadd8", "qsub8", "sadd16",
            "ssub16", "sadd8", "ssub8", "uadd16", "usub16", "uadd8", "usub8", "sel", "pkhbt", "pkhtb", "usad8",
            "usada8", "shadd16", "shsub16", "uhadd16", "uhsub16"),
    "divide": ("sdiv", "udiv"),
    "it": ("it", "itt", "ite", "ittt", "itte", "itet", "itee", "itttt", "ittte", "ittet", "ittee", "itett", "itete",
           "iteet", "iteee"),
}
_BY_NAME = {name: cls for cls, names in CLASSES.items() for name in names}
_SUFFIX = re.compile(r"^(.*?)(s)?(" + "|".join(CONDITIONS) + r")?$")


def classify(mnemonic: str) -> str:
    """The timing class of a Thumb mnemonic ("alu" for plain data processing, moves, shifts, extends...)."""
    if mnemonic in _BY_NAME:
        return _BY_NAME[mnemonic]
    for stem in (mnemonic[:-2] if mnemonic[-2:] in CONDITIONS else None, mnemonic[:-1] if mnemonic.endswith("s")
                 else None, mnemonic[:-3] if mnemonic[-3:-2] == "s" and mnemonic[-2:] in CONDITIONS else None):
        if stem and stem in _BY_NAME:
            return _BY_NAME[stem]
    return "alu"


def registers_moved(operands: str) -> int:
    """Registers in an LDM/STM/PUSH/POP list: '{r4, r5, r6, pc}' -> 4; 'r0!, {r1-r3}' -> 3."""
    inside = operands[operands.find("{") + 1: operands.find("}")] if "{" in operands else ""
    count = 0
    for item in filter(None, (p.strip() for p in inside.split(","))):
        if "-" in item:
            lo, hi = (int(r.strip().lstrip("r")) for r in item.split("-"))
            count += hi - lo + 1
        else:
            count += 1
    return max(count, 1)
