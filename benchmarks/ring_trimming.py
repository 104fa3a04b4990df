"""What per-channel ring trimming would save over the c target's per-layer trimming.

    PYTHONPATH=. python benchmarks/ring_trimming.py [CHECKPOINT ...]

For each layer of each checkpoint (default: the bundled examples) the delay kernel is rounded to int8
per channel exactly as the c target does (export/c_fixed.quantize_weights). Per-layer trimming keeps
`rows` = the longest non-zero lag of any channel for every channel (export/c.trimmed_rows); per-channel
trimming would keep each channel's own longest non-zero lag. The table gives both as int8 ring values
(bytes) per layer. Per-channel rings would also need one head index per channel (2 bytes each) instead
of one per layer, which is counted in the last column.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = (ROOT / "examples" / "digits.pt", ROOT / "examples" / "spoken_digits.pt")
HEAD_BYTES = 2  # a uint16 head index


def channel_rows(kernel_q: np.ndarray) -> np.ndarray:
    """Each channel's own trimmed rows: the c target's rule (export/c.trimmed_rows) on one column."""
    from mgrade_edge.export.c.generator import trimmed_rows

    return np.array([trimmed_rows(kernel_q[:, c:c + 1]) for c in range(kernel_q.shape[1])])


def rows_table(path: Path) -> list[dict]:
    from mgrade_edge.checkpoint import load_checkpoint
    from mgrade_edge.export.c.fixed import quantize_weights
    from mgrade_edge.export.c.generator import trimmed_rows

    model = load_checkpoint(path).model
    out = []
    for i, layer in enumerate(model.layers):
        kernel = layer.delay.kernel().detach().double().numpy()
        kernel_q = quantize_weights(kernel.T)[0].T
        per_channel = channel_rows(kernel_q)
        rows = trimmed_rows(kernel_q)
        d = kernel.shape[1]
        out.append({"checkpoint": path.name, "layer": i, "gamma": kernel.shape[0], "d": d,
                    "per_layer_bytes": rows * d, "per_channel_bytes": int(per_channel.sum()),
                    "saved_bytes": rows * d - int(per_channel.sum()),
                    "extra_head_bytes": (d - 1) * HEAD_BYTES,
                    "shortest_channel_rows": int(per_channel.min()), "rows": rows})
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="*", type=Path, default=list(DEFAULT))
    args = parser.parse_args(argv)
    print("| checkpoint | layer | Γ | d | rows (per layer) | ring bytes per layer | per channel | saved | "
          "extra head indices |")
    print("|---|---|---|---|---|---|---|---|---|")
    for path in args.checkpoints:
        for r in rows_table(path):
            print(f"| {r['checkpoint']} | {r['layer']} | {r['gamma']} | {r['d']} | {r['rows']} | "
                  f"{r['per_layer_bytes']:,} | {r['per_channel_bytes']:,} | {r['saved_bytes']:,} | "
                  f"{r['extra_head_bytes']:,} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
