"""How often the former runner requantisation (float64 scale ratio) disagrees with the device's formula
(mgrade_edge.qio: float32 dequantise then quantise, as mgrade_qio.h computes it), on every int16 raw
value for 50 random (scale, ratio) pairs.

    python benchmarks/requant_formula.py
"""

import numpy as np

from mgrade_edge.qio import QParams, requantize, round_half_away


def main() -> None:
    rng = np.random.default_rng(0)
    raw = np.arange(-32768, 32768).astype("int16")
    differ = total = 0
    for scale, ratio in zip(rng.uniform(1e-4, 1e-1, 50), rng.uniform(0.5, 2.0, 50)):
        src = QParams((1, -1), "int16", float(np.float32(scale)), 0)
        dst = QParams((1, -1), "int16", float(np.float32(scale * ratio)), 0)
        ratio64 = np.float64(src.scale) / np.float64(dst.scale)
        former = np.clip(round_half_away(raw.astype(np.float64) * ratio64), -32768, 32767).astype("int16")
        differ += int((requantize(raw, src, dst) != former).sum())
        total += raw.size
    print(f"float64-ratio vs float32 dequantise/quantise: {differ:,} of {total:,} int16 values differ")


if __name__ == "__main__":
    main()
