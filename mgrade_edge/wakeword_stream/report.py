"""evaluate-stream's table, JSON and threshold-curve plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..tasks.features import stream_features
from .detectors import HopScores
from .scoring import detections, score, smooth, threshold_curve
from .stream import Stream


def smoothing_hops(d: HopScores, smooth_ms: float) -> int:
    return max(1, round(smooth_ms / d.frontend.hop_ms))


def evaluate(stream: Stream, detectors: list[HopScores], threshold: float, smooth_ms: float = 0.0) -> dict:
    sr = stream.spec.sample_rate
    wake_s = stream.wakewords / sr
    rows = []
    for d in detectors:
        hops = smoothing_hops(d, smooth_ms)
        scores = smooth(d.scores, hops)
        found = detections(scores, d.times_s, threshold)
        result = score(found, wake_s)
        rows.append({"name": d.name, "features": d.frontend.describe(), "hops": len(d.scores),
                     "steps_per_second": d.frontend.steps_per_second, **result,
                     "detections_s": [round(float(t), 3) for t in found], "smoothing_hops": hops,
                     "curve": threshold_curve(scores, d.times_s, wake_s)})
    spec = stream.spec
    return {"stream": {"minutes": spec.minutes, "seed": spec.seed, "wakeword": spec.wakeword,
                       "wakewords": int(len(wake_s)), "other_words": int(len(stream.events) - len(wake_s)),
                       "wakeword_spans_s": [[round(float(s), 3), round(float(e), 3)] for s, e in wake_s],
                       "sample_rate": sr, "speech": "synthesised (eSpeak NG), held-out voices"},
            "threshold": threshold, "smooth_ms": smooth_ms, "detectors": rows,
            **{k: rows[0][k] for k in ("true_positives", "false_negatives", "false_positives")}}


def format_report(report: dict) -> str:
    s = report["stream"]
    lines = [f"stream: {s['minutes']:g} min at {s['sample_rate']} Hz, seed {s['seed']}: {s['wakewords']} x "
             f"'{s['wakeword']}' among {s['other_words']} other words, pauses and noise ({s['speech']})",
             f"threshold {report['threshold']:g} on the wakeword probability averaged over {report['smooth_ms']:g} ms; "
             "a detection within 1 s after a wakeword finds it; false alarms debounced over 1 s",
             f"{'detector':<58} {'found':>6} {'missed':>6} {'false alarms':>12}"]
    for r in report["detectors"]:
        lines.append(f"{r['name']:<58} {r['true_positives']:>6} {r['false_negatives']:>6} {r['false_positives']:>12}")
        lines.append(f"    {r['features']}, {r['hops']:,} hops without a reset")
    return "\n".join(lines)


def plot_report(report: dict, stream: Stream, detectors: list[HopScores], path: Path, seconds: float = 0.0) -> None:
    """The threshold curve of every detector; with `seconds`, also the first seconds of the stream:
    waveform, features, score and ground truth."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 1 + (3 if seconds else 0)
    fig, axes = plt.subplots(panels, 1, figsize=(10, 2.6 * panels), squeeze=False)
    axes = axes[:, 0]
    ax = axes[0]
    for r in report["detectors"]:
        c = r["curve"]
        ax.plot([p["false_positives"] for p in c], [p["true_positives"] for p in c], marker=".", label=r["name"])
    ax.set_xlabel("false alarms")
    ax.set_ylabel(f"wakewords found (of {report['stream']['wakewords']})")
    ax.set_title("detection threshold swept 0.05-0.99")
    ax.legend(fontsize=7)
    if seconds:
        sr = stream.spec.sample_rate
        n = int(seconds * sr)
        t = np.arange(n) / sr
        axes[1].plot(t, stream.audio[:n] / 32768, lw=0.3)
        for s0, e0 in stream.wakewords[stream.wakewords[:, 0] < n] / sr:
            for a in axes[1:]:
                a.axvspan(s0, e0, color="tab:orange", alpha=0.3)
        axes[1].set_ylabel("audio")
        d = detectors[0]
        keep = d.times_s <= seconds
        feats = stream_features(stream.audio[:n], d.frontend)
        axes[2].imshow(feats.T, aspect="auto", origin="lower", extent=(0, seconds, 0, feats.shape[1]))
        axes[2].set_ylabel("features")
        scores = smooth(d.scores, report["detectors"][0]["smoothing_hops"])
        axes[3].plot(d.times_s[keep], scores[keep], label=d.name)
        axes[3].axhline(report["threshold"], color="k", ls="--", lw=0.8)
        found = detections(scores[keep], d.times_s[keep], report["threshold"])
        axes[3].plot(found, np.full(len(found), 1.02), "v", color="tab:red", label="detections")
        axes[3].set_ylabel("wakeword score")
        axes[3].set_xlabel("seconds (orange: wakewords)")
        axes[3].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
