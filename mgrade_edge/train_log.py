"""The per-epoch metrics log of `mgrade-edge train` (OUT.metrics.csv and OUT.metrics.jsonl, one row per epoch:
loss, validation metrics, learning rate, seconds, samples per second) and its learning-curve plot."""

from __future__ import annotations

import csv
import json
from pathlib import Path


class MetricsLog:
    """Appends one row per epoch to both files; a new run starts them afresh, a resumed one continues them."""

    def __init__(self, out: Path, resume: bool):
        self.csv, self.jsonl = out.with_name(out.name + ".metrics.csv"), out.with_name(out.name + ".metrics.jsonl")
        if not resume:
            for path in (self.csv, self.jsonl):
                path.write_text("")

    def __call__(self, row: dict) -> None:
        with self.jsonl.open("a") as f:
            f.write(json.dumps(row) + "\n")
        new = not self.csv.exists() or self.csv.stat().st_size == 0
        with self.csv.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow(row)

    def remove(self) -> None:
        """A run that produced nothing keeps no log either."""
        self.csv.unlink(missing_ok=True)
        self.jsonl.unlink(missing_ok=True)

    def rows(self) -> list[dict]:
        return [json.loads(line) for line in self.jsonl.read_text().splitlines() if line.strip()]


def plot_curves(rows: list[dict], path: Path) -> None:
    """Training loss and every validation metric against the epoch, as a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3.5))
    FigureCanvasAgg(fig)
    loss_ax, val_ax = fig.subplots(1, 2)
    epochs = [r["epoch"] for r in rows]
    loss_ax.plot(epochs, [r["loss"] for r in rows], marker="o")
    loss_ax.set(xlabel="epoch", ylabel="training loss")
    for key in (k for k in rows[0] if k.startswith("val_")):
        val_ax.plot(epochs, [r[key] for r in rows], marker="o", label=key.removeprefix("val_"))
    val_ax.set(xlabel="epoch", ylabel="validation")
    val_ax.legend()
    fig.tight_layout()
    fig.savefig(path)
