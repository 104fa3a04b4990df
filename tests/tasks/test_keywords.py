"""Keywords generation on tiny subsets: seeded, cached, held-out voices really held out."""

import sys

import numpy as np
import pytest

from mgrade_edge.errors import DataError
from mgrade_edge.tasks import keywords
from mgrade_edge.tasks.keywords import DIALECTS, WORDS, KeywordsSpec, load_keywords, voice_splits

try:
    import espeakng_loader  # noqa: F401
    HAVE_ESPEAK = True
except ImportError:
    HAVE_ESPEAK = False
needs_espeak = pytest.mark.skipif(not HAVE_ESPEAK, reason="needs the [keywords] extra: "
                                  "pip install 'mgrade-edge[keywords]'")

TINY = KeywordsSpec(sample_rate=8000, train_clips=35, val_clips=4, test_clips=6, seed=3)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    if not HAVE_ESPEAK:
        pytest.skip("needs the [keywords] extra: pip install 'mgrade-edge[keywords]'")
    cache = tmp_path_factory.mktemp("kw-cache")
    return cache, load_keywords(TINY, progress=False, cache=cache)


def test_clips_are_one_second_in_range_with_balanced_words(tiny):
    _, a = tiny
    assert a["train_x"].shape == (35, 8000) and a["train_x"].dtype == np.float32
    assert a["test_x"].shape == (6, 8000)
    assert np.abs(a["train_x"]).max() <= 1.0 and a["train_x"].std() > 1e-3
    assert sorted(a["train_y"]) == list(range(len(WORDS)))  # 35 clips: every word once


def test_generation_is_deterministic_and_cached_by_content(tiny, tmp_path, monkeypatch):
    cache, a = tiny
    assert [p.name for p in cache.iterdir()] == [f"{TINY.key()}.npz"]
    again = load_keywords(TINY, progress=False, cache=tmp_path)  # fresh directory: generated again
    # Every clip's word, voice, rate, pitch, shift, gain and noise are drawn from the seed, so labels match
    # exactly; libespeak-ng's own samples vary slightly from call to call, which is why a set is cached.
    for k in ("train_y", "val_y", "test_y"):
        np.testing.assert_array_equal(a[k], again[k])
    monkeypatch.setattr(keywords, "generate", lambda *a, **k: pytest.fail("cache was not used"))
    cached = load_keywords(TINY, progress=False, cache=cache)
    np.testing.assert_array_equal(cached["val_x"], a["val_x"])
    assert KeywordsSpec(seed=4, train_clips=35, val_clips=4, test_clips=6).key() != TINY.key()


@needs_espeak
def test_sixteen_kilohertz_clips_have_16000_samples(tmp_path):
    a = load_keywords(KeywordsSpec(sample_rate=16000, train_clips=2, val_clips=1, test_clips=1), False, tmp_path)
    assert a["train_x"].shape == (2, 16000)


@pytest.mark.parametrize("split", ["voice", "dialect"])
def test_held_out_voices_or_dialects_never_appear_in_training(split):
    variants = [f"v{i}" for i in range(40)]
    s = voice_splits(variants, split, seed=0)
    axis = 1 if split == "voice" else 0
    train = {v[axis] for v in s["train"]}
    for held in ("val", "test"):
        assert s[held] and not train & {v[axis] for v in s[held]}
    if split == "voice":  # every dialect still in every split
        assert {d for d, _ in s["test"]} == set(DIALECTS)


def test_robot_whisper_and_croak_variants_are_dropped():
    assert keywords.usable_variants(["m3", "whisper", "croak", "robosoft2", "UniRobot", "Annie"]) == ["m3", "Annie"]


def test_missing_extra_is_one_line_naming_it(monkeypatch):
    from mgrade_edge.tasks.espeak import Espeak, EspeakMissing

    monkeypatch.setitem(sys.modules, "espeakng_loader", None)
    with pytest.raises(EspeakMissing, match=r"mgrade-edge\[keywords\]"):
        Espeak()


def test_bad_options_are_user_errors():
    with pytest.raises(DataError, match="8000 or 16000"):
        KeywordsSpec(sample_rate=44100)
    with pytest.raises(DataError, match="voice, dialect"):
        KeywordsSpec(split="speaker")


def test_clip_counts_are_bounded_by_the_memory_they_take():
    """--train-clips is checked before any generation: 134,218 clips of 16 kHz float32 exceed 8 GiB."""
    KeywordsSpec(sample_rate=16000, train_clips=100_000, val_clips=10_000, test_clips=24_217)  # 8 GiB - 12 kB
    with pytest.raises(DataError, match=r"more than 8 GiB; use at most 134,217 clips"):
        KeywordsSpec(sample_rate=16000, train_clips=100_000, val_clips=10_000, test_clips=24_218)
    with pytest.raises(DataError, match="at most 268,435 clips"):
        KeywordsSpec(train_clips=1_000_000)


@needs_espeak
def test_task_registry_builds_task_data_and_rejects_unknown_options(tmp_path, monkeypatch):
    from mgrade_edge.data import checkpoint_task_data, load_task

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    options = {"train_clips": 3, "val_clips": 1, "test_clips": 2}
    data = load_task("keywords", 0, options)
    assert data.train_x.shape == (3, 8000, 1) and data.n_outputs == 35 and data.kind == "sequence"
    again = checkpoint_task_data({"task": "keywords", "seed": 0, "task_options": options})  # from the cache
    np.testing.assert_array_equal(again.test_x, data.test_x)
    with pytest.raises(DataError, match="unknown keywords option"):
        load_task("keywords", 0, {"clips": 3})


@needs_espeak
def test_keywords_at_frame_rate_step_once_per_hop(tmp_path, monkeypatch, signal_library):
    from mgrade_edge.data import load_task

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    clips = {"train_clips": 3, "val_clips": 1, "test_clips": 2, "sample_rate": 16000}
    raw = load_task("keywords", 0, clips)
    bank = load_task("keywords", 0, {**clips, "features": "filterbank", "hop_ms": 20.0})
    assert bank.train_x.shape == (3, (16000 - 480) // 320 + 1, 40) and bank.d_in == 40
    assert 0 <= bank.train_x.min() and bank.train_x.max() < 20  # ln of a filter-bank magnitude
    frames = load_task("keywords", 0, {**clips, "features": "frames", "hop_ms": 10.0})
    assert frames.train_x.shape == (3, 100, 160)
    # a frame is the hop's samples, in order: the raw clip reshaped (both from the cached audio)
    np.testing.assert_allclose(frames.train_x.reshape(3, -1), raw.train_x[..., 0], atol=1 / 32768)
