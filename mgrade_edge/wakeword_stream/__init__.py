"""Scoring a wakeword detector on a long stream, the way MLPerf Tiny's streaming wakeword benchmark does.

stream.py generates the stream (held-out voices, 50 wakewords among other words, silence and noise;
seeded and cached), detectors.py turns a model into one wakeword score per hop run statefully over
the whole stream, scoring.py applies the benchmark's rules, report.py prints and plots.
"""
