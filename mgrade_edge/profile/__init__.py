"""`profile`: RAM, flash and compute of a streaming mGRADE step, one way from model to report.

analytic.py (bytes per layer from the config alone) -> measure.py (export the step, probe its
smallest working TFLite Micro arena, account for it) -> report.py (text) and plot.py (RAM against T);
cli.py wires them for the command. Nothing here imports upward, so the package has no cycle.
"""
