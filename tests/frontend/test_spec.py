import pytest

from mgrade_edge.frontend.spec import FrontendError, FrontendSpec


def test_derived_sizes():
    s = FrontendSpec("filterbank", 16000, window_ms=30, hop_ms=20, channels=40)
    assert (s.window_samples, s.hop_samples, s.fft_size, s.d_in) == (480, 320, 512, 40)
    assert s.steps_per_second == 50.0
    assert s.steps_for(16000) == (16000 - 480) // 320 + 1
    assert s.steps_for(479) == 0
    frames = FrontendSpec("frames", 8000, hop_ms=10)
    assert (frames.d_in, frames.hop_samples, frames.steps_for(8000)) == (80, 80, 100)
    assert FrontendSpec("raw", 8000).d_in == 1
    assert FrontendSpec("filterbank", 8000).band_top == 3800.0


@pytest.mark.parametrize("kwargs, message", [
    (dict(kind="mfcc"), "--features 'mfcc' is not one of raw, frames, filterbank"),
    (dict(kind="frames", sample_rate=44100), "sample rate 44100 Hz is not supported"),
    (dict(kind="frames", hop_ms=0.05), "--hop-ms 0.05 must be in [1, 100]"),
    (dict(kind="filterbank", window_ms=10, hop_ms=20), "--window-ms 10 must be in [hop, 128] ms"),
    (dict(kind="filterbank", channels=2), "--channels 2 must be in [4, 80]"),
    (dict(kind="filterbank", sample_rate=8000, upper_hz=7500), "filter bank band 125-7500 Hz"),
    (dict(kind="filterbank", noise_reduction=False, pcan=True), "PCAN needs noise reduction"),
])
def test_bad_settings_are_one_line_errors(kwargs, message):
    with pytest.raises(FrontendError, match=None) as err:
        FrontendSpec(**kwargs)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_round_trip_and_unknown_keys():
    s = FrontendSpec("filterbank", 8000, hop_ms=10, channels=32)
    assert FrontendSpec.from_dict(s.to_dict()) == s
    with pytest.raises(FrontendError, match="unknown front end setting"):
        FrontendSpec.from_dict({"kind": "raw", "bogus": 1})
