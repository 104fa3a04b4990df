"""The minGRU parallel scan over long sequences: float32 error against float64 and speed, one scan over
the whole sequence (chunk=None, the form before chunking) against the chunked scan (model.SCAN_CHUNK).

Error is measured twice: on the scan itself (h for random gates, against the float64 sequential
recurrence) and on a whole untrained model fed white noise (per-step logits against the same model in
float64), both as max|err| / max|reference|. Speed: median wall time of forward and forward+backward.

    python benchmarks/scan_stability.py [--lengths 1000,4000,16000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from mgrade_edge.config import MGRADEConfig  # noqa: E402
from mgrade_edge.model import MGRADE, SCAN_CHUNK, min_gru_scan, min_gru_step  # noqa: E402

BATCH, WIDTH = 8, 32  # speed: a keywords-sized training batch
MODEL = MGRADEConfig(d_in=1, d_model=32, n_layers=2, kernel_size=32, n_taps=4, n_classes=35)


def sequential(k: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    h = torch.zeros_like(k[:, 0])
    out = []
    for t in range(k.shape[1]):
        h = min_gru_step(k[:, t], a[:, t], h)
        out.append(h)
    return torch.stack(out, 1)


def scan_error(t: int, chunk) -> float:
    g = torch.Generator().manual_seed(t)
    k = torch.randn(2, t, 16, generator=g, dtype=torch.float64) * 2
    a = torch.randn(2, t, 16, generator=g, dtype=torch.float64) * 2
    ref = sequential(k, a)
    got = min_gru_scan(k.float(), a.float(), chunk=chunk).double()
    return float((got - ref).abs().max() / ref.abs().max())


def model_error(t: int, chunk, model32: MGRADE, model64: MGRADE) -> float:
    import mgrade_edge.model as m

    u = torch.randn(1, t, 1, generator=torch.Generator().manual_seed(t))
    saved = m.SCAN_CHUNK
    try:
        m.min_gru_scan.__defaults__ = (chunk,)
        with torch.no_grad():
            got = model32(u).double()
            ref = model64(u.double())
    finally:
        m.min_gru_scan.__defaults__ = (saved,)
    return float((got - ref).abs().max() / ref.abs().max())


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def speed(t: int, chunk, repeats: int) -> dict:
    k = torch.randn(BATCH, t, WIDTH, requires_grad=True)
    a = torch.randn(BATCH, t, WIDTH, requires_grad=True)

    def forward():
        with torch.no_grad():
            min_gru_scan(k, a, chunk=chunk)

    def backward():
        min_gru_scan(k, a, chunk=chunk).sum().backward()

    return {"forward_ms": 1e3 * timed(forward, repeats), "train_step_ms": 1e3 * timed(backward, repeats)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lengths", default="1000,4000,16000")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.manual_seed(0)
    model32 = MGRADE(MODEL).eval()
    model64 = MGRADE(MODEL).double().eval()
    model64.load_state_dict({k: v.double() for k, v in model32.state_dict().items()})
    rows = []
    for t in (int(v) for v in args.lengths.split(",")):
        for label, chunk in (("whole sequence", None), (f"chunked ({SCAN_CHUNK})", SCAN_CHUNK)):
            row = {"T": t, "scan": label, "scan_rel_err": scan_error(t, chunk),
                   "model_rel_err": model_error(t, chunk, model32, model64), **speed(t, chunk, args.repeats)}
            rows.append(row)
            print(f"T={t:>6}  {label:<15} scan err {row['scan_rel_err']:.2e}  model err {row['model_rel_err']:.2e}  "
                  f"forward {row['forward_ms']:7.2f} ms  fwd+bwd {row['train_step_ms']:7.2f} ms "
                  f"(B={BATCH}, d={WIDTH})", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"torch_threads": torch.get_num_threads(), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
