from mgrade_edge.compute import compute_summary, format_compute, step_rate_hz


def test_audio_tasks_report_compute_per_second_at_their_sample_rate():
    assert step_rate_hz({"task": "keywords", "task_options": {"sample_rate": 16000}}) == 16000
    assert step_rate_hz({"task": "keywords"}) == 8000
    s = compute_summary(1000, 8000)
    assert s["macs_per_second"] == 8_000_000
    assert "8.0 M per second of audio at 8,000 steps/s" in format_compute(s)


def test_frame_rate_tasks_step_once_per_hop():
    wake = {"task": "wakeword", "task_options": {"hop_ms": 20.0}}
    assert step_rate_hz(wake) == 50.0
    assert step_rate_hz({"task": "keywords", "task_options": {"features": "frames", "hop_ms": 10.0}}) == 100.0
    assert compute_summary(56_000, 50.0)["macs_per_second"] == 2_800_000


def test_non_audio_tasks_have_no_per_second_figure():
    assert step_rate_hz({"task": "digits"}) is None
    assert "no per-second figure" in format_compute(compute_summary(1000, None))
