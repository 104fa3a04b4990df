"""Streaming step vs parallel model, step by step, for every named test config (and the example).

Prints one table: max abs error of the float32 step against the float64 parallel model over T steps,
and of the float64 step (rounding only). Rerun: .venv/bin/python benchmarks/streaming_equivalence.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mgrade_edge.checkpoint import load_checkpoint  # noqa: E402
from mgrade_edge.data import load_task  # noqa: E402
from mgrade_edge.streaming import stream_sequences, to_streaming  # noqa: E402
from mgrade_edge.validate import long_stream  # noqa: E402
from tests.helpers import NAMED_CONFIGS, make_model, random_sequences  # noqa: E402


def errors(model, u: torch.Tensor) -> tuple[float, float]:
    with torch.no_grad():
        reference = model.double()(u.double())
    e32 = float((stream_sequences(to_streaming(model.float()), u.float()).double() - reference).abs().max())
    e64 = float((stream_sequences(to_streaming(model.double()), u.double()) - reference).abs().max())
    return e32, e64


def main(steps: int = 2000) -> None:
    print("| model | T | max abs err float32 step | max abs err float64 step |")
    print("|---|---|---|---|")
    for name in sorted(NAMED_CONFIGS):
        model = make_model(name, seed=1)
        u = torch.from_numpy(random_sequences(model.cfg, 1, steps, seed=2))
        e32, e64 = errors(model, u)
        print(f"| {name} | {steps} | {e32:.2e} | {e64:.2e} |")
    model = load_checkpoint("examples/digits.pt").model
    u = torch.from_numpy(long_stream(load_task("digits").test_x, 16_000)).unsqueeze(0)
    e32, e64 = errors(model, u)
    print(f"| examples/digits.pt | 16000 | {e32:.2e} | {e64:.2e} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
