"""The host front end: streaming in any chunking gives the same vectors, and they are TensorFlow's
audio microfrontend's integers exactly (same settings, generated speech and noise)."""

import numpy as np
import pytest

from mgrade_edge.frontend.spec import FrontendSpec
from tests.helpers import utterance_like

SPEC = FrontendSpec("filterbank", 16000, window_ms=30, hop_ms=20, channels=40)


def test_any_chunking_gives_the_same_features(host_frontend):
    fe = host_frontend(SPEC)
    audio = utterance_like(24000, 16000, seed=1)
    whole = fe.push(audio)
    assert whole.shape == (SPEC.steps_for(len(audio)), 40)
    rng = np.random.default_rng(2)
    fe.reset()
    cuts = np.sort(rng.integers(0, len(audio), 60))
    chunked = np.concatenate([fe.push(c) for c in np.split(audio, cuts)])
    np.testing.assert_array_equal(chunked, whole)
    assert whole.max() > 300, "speech-like audio should give non-trivial log energies"


def test_state_is_carried_across_pushes(host_frontend):
    """Noise reduction and PCAN keep per-channel state: the second second differs from a fresh start."""
    fe = host_frontend(SPEC)
    audio = utterance_like(32000, 16000, seed=3)
    both = fe.push(audio)
    fe.reset()
    fresh = fe.push(audio[16000:])
    assert not np.array_equal(both[-len(fresh):], fresh)


@pytest.mark.parametrize("spec", [
    SPEC,
    FrontendSpec("filterbank", 16000, window_ms=64, hop_ms=32, channels=40),  # MLPerf streaming wakeword
    FrontendSpec("filterbank", 8000, window_ms=25, hop_ms=10, channels=40, pcan=False),
    FrontendSpec("filterbank", 8000, window_ms=30, hop_ms=10, channels=32),
], ids=["16k-30-20", "16k-64-32", "8k-25-10-nopcan", "8k-30-10-32ch"])
def test_identical_to_tensorflow_audio_microfrontend(host_frontend, spec):
    tf = pytest.importorskip("tensorflow")
    from tensorflow.lite.experimental.microfrontend.python.ops import audio_microfrontend_op as op

    fe = host_frontend(spec)
    for seed in range(3):
        audio = utterance_like(spec.sample_rate * 2, spec.sample_rate, seed)
        fe.reset()
        ours = fe.push(audio)
        theirs = op.audio_microfrontend(
            tf.constant(audio), sample_rate=spec.sample_rate, window_size=round(spec.window_ms),
            window_step=round(spec.hop_ms), num_channels=spec.channels, lower_band_limit=spec.lower_hz,
            upper_band_limit=spec.band_top, enable_pcan=spec.pcan, out_scale=1).numpy()
        np.testing.assert_array_equal(ours, theirs.astype(np.int64))
