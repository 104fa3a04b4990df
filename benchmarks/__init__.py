"""Benchmark suite of mgrade-edge (`make bench` runs benchmarks/run_all.py)."""
