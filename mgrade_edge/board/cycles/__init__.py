"""Estimated cycles of code run under QEMU: the executed instruction stream, weighted by a core's timing.

QEMU counts instructions, not cycles. Here the program runs once more with QEMU's execution trace (one
instruction per translation block, no chaining: every executed instruction is one trace line), the
instructions executed inside the calls of one function are classified from the ELF's disassembly, and
each class is weighted by the core's published timing (one module per core, each entry citing its
Technical Reference Manual) plus a memory model (flash wait states, and whether a cache hides them).
The result is a range {low, nominal, high}: an estimate, never a measurement, and it says so.

    profile = trace_calls(toolchain, elf, "mgrade_digits_step_q")   # trace.py
    cycles = estimate(profile, timing_for("cortex-m4"), MemoryModel())  # estimate.py
"""
