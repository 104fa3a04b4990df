"""MLPerf's streaming rules on hand-made scores: found within 1 s after the end, near misses not
false alarms, debouncing over 1 s."""

import numpy as np

from mgrade_edge.wakeword_stream.scoring import detections, score, threshold_curve

HOP = 0.02
TIMES = np.arange(0, 60, HOP)
WAKE = np.array([[10.0, 10.6], [30.0, 30.7]])


def pulse(at_s, length_s=0.1, height=0.9):
    s = np.zeros_like(TIMES)
    for a in np.atleast_1d(at_s):
        s[(TIMES >= a) & (TIMES < a + length_s)] = height
    return s


def test_a_detection_within_a_second_after_the_end_finds_the_wakeword():
    r = score(detections(pulse([10.9, 31.6]), TIMES, 0.5), WAKE)
    assert (r["true_positives"], r["false_negatives"], r["false_positives"]) == (2, 0, 0)


def test_too_late_is_a_miss_but_near_is_not_a_false_alarm():
    r = score(detections(pulse([11.9]), TIMES, 0.5), WAKE)  # 1.3 s after the end: missed, yet near
    assert (r["true_positives"], r["false_negatives"], r["false_positives"]) == (0, 2, 0)


def test_far_detections_are_false_alarms_debounced_over_a_second():
    s = pulse([20.0], length_s=0.9) + pulse([45.0]) + pulse([45.5])  # 0.9 s of firing = one; 45.5 joins 45.0
    found = detections(s, TIMES, 0.5)
    assert len(found) == 2
    r = score(found, WAKE)
    assert r["false_positives"] == 2 and r["false_alarm_times_s"] == [20.0, 45.0]


def test_one_wakeword_counts_once_and_the_threshold_matters():
    s = pulse([10.7, 11.5], height=0.6)
    assert score(detections(s, TIMES, 0.5), WAKE)["true_positives"] == 1
    assert score(detections(s, TIMES, 0.7), WAKE)["true_positives"] == 0
    curve = threshold_curve(s, TIMES, WAKE, np.array([0.5, 0.7]))
    assert [c["true_positives"] for c in curve] == [1, 0]


def test_smoothing_is_a_causal_moving_average():
    from mgrade_edge.wakeword_stream.scoring import smooth

    s = np.array([0.0, 1.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(smooth(s, 1), s)
    np.testing.assert_allclose(smooth(s, 2), [0.0, 0.5, 1.0, 0.5, 0.0])
    spike = pulse([20.0], length_s=HOP, height=1.0)  # one hop: gone at 0.5 after 3-hop smoothing
    assert len(detections(smooth(spike, 3), TIMES, 0.5)) == 0 and len(detections(spike, TIMES, 0.5)) == 1
