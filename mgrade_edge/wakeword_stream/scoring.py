"""MLPerf Tiny's streaming wakeword rules, applied to one wakeword score per hop.

- The detector's score is the wakeword probability averaged over the last hops of a window
  (`smooth`, the usual posterior smoothing of keyword spotters; every detector gets the same window
  in milliseconds).
- A detection is a hop whose score reaches the threshold; after one, further hops within
  DEBOUNCE_S are the same detection (false detections are debounced over 1 s).
- A wakeword is found (true positive) when a detection falls between its start and
  FOUND_WITHIN_S after its end; each wakeword counts once.
- A detection that finds no wakeword is a false alarm, unless it lies near one (from NEAR_BEFORE_S
  before its start to NEAR_AFTER_S after its end): a late or repeated firing on a real wakeword.
"""

from __future__ import annotations

import numpy as np

DEBOUNCE_S = 1.0
FOUND_WITHIN_S = 1.0
NEAR_BEFORE_S, NEAR_AFTER_S = 0.5, 2.0


def smooth(scores: np.ndarray, hops: int) -> np.ndarray:
    """The mean of each hop's score and the hops-1 before it (causal: what a device can compute as it goes)."""
    if hops <= 1:
        return np.asarray(scores, dtype=np.float64)
    c = np.cumsum(np.concatenate([np.zeros(hops), np.asarray(scores, dtype=np.float64)]))
    return (c[hops:] - c[:-hops]) / hops


def detections(scores: np.ndarray, times_s: np.ndarray, threshold: float) -> np.ndarray:
    """Times (s) of the debounced detections of a per-hop score."""
    out, last = [], -np.inf
    for t in times_s[scores >= threshold]:
        if t - last >= DEBOUNCE_S:
            out.append(t)
            last = t
    return np.array(out)


def score(found_at: np.ndarray, wakewords_s: np.ndarray) -> dict:
    """true_positives, false_negatives, false_positives of detections against [W, 2] wakeword spans (s)."""
    found = np.zeros(len(wakewords_s), bool)
    false_alarms = []
    for t in found_at:
        hit = np.flatnonzero(~found & (t >= wakewords_s[:, 0]) & (t <= wakewords_s[:, 1] + FOUND_WITHIN_S))
        if len(hit):
            found[hit[0]] = True
            continue
        near = (t >= wakewords_s[:, 0] - NEAR_BEFORE_S) & (t <= wakewords_s[:, 1] + NEAR_AFTER_S)
        if not near.any():
            false_alarms.append(float(t))
    return {"true_positives": int(found.sum()), "false_negatives": int((~found).sum()),
            "false_positives": len(false_alarms), "false_alarm_times_s": false_alarms,
            "missed_wakewords_s": [float(s) for s in wakewords_s[~found, 0]]}


def threshold_curve(scores: np.ndarray, times_s: np.ndarray, wakewords_s: np.ndarray,
                    thresholds: np.ndarray | None = None) -> list[dict]:
    """Found and false alarms at each threshold (the detection-threshold curve)."""
    thresholds = np.round(np.linspace(0.05, 0.99, 48), 4) if thresholds is None else thresholds
    rows = []
    for th in thresholds:
        s = score(detections(scores, times_s, float(th)), wakewords_s)
        rows.append({"threshold": float(th), "true_positives": s["true_positives"],
                     "false_positives": s["false_positives"]})
    return rows
