"""Wakeword: spot one of the 35 keywords ("marvin" by default) in a stream, the MLPerf Tiny streaming
wakeword setup with synthesised speech. Classes, in MLPerf's order: 0 wakeword, 1 silence, 2 other.

A training clip is CLIP_SECONDS of background noise holding up to two words: an optional lead-in
word (any other keyword) and a target (the wakeword, another keyword, or nothing), from the same
voices, rates, pitches, gains and noises as the keywords task. Labels are per step (the model's
per-hop output is the detector), by the time a step's window ends:
- after the wakeword's end, for LABEL_SECONDS: wakeword;
- during the wakeword, and for a while after the wakeword window: ignored (a partial word, or the
  detector's tail, is neither right nor wrong);
- during another word and shortly after it: other; noise alone: silence.
The lead-in word starts the detector from a state that has heard speech, so the model learns to
fire after a wakeword whatever came before it (the 20-minute stream is run without resets). Each clip
is preceded by PREROLL_SECONDS of its background that only the front end hears, so its noise
reduction and gain control have settled as on a running stream, and in NOISE_CHANGE_P of the clips
the background changes once (kind and level), as it does in a stream.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from math import gcd
from pathlib import Path

import numpy as np

from ..atomic import atomic_savez
from ..cache import cache_root
from ..errors import DataError
from ..frontend.spec import FrontendSpec
from .base import IGNORE, TaskData
from .espeak import Espeak
from .features import clip_features
from .keywords import GAIN_DB, NOISES, PITCH, RATE_WPM, SNR_DB, WORDS, noise, usable_variants, voice_splits

WAKEWORD, SILENCE, OTHER = 0, 1, 2
CLASSES = ("wakeword", "silence", "other")
CLIP_SECONDS = 2.0
LABEL_SECONDS = 0.25  # the wakeword class is taught for this long after the word's end
TAIL_IGNORE_SECONDS = 0.35  # then the detector's output is free for this long
OTHER_TAIL_SECONDS = 0.1
TARGET_P = {"wakeword": 0.4, "other": 0.35, "none": 0.25}
LEAD_P = 0.6
# Background heard by the front end alone before each clip: its noise estimate and PCAN gain settle (time
# constant about a second) as they have on a running stream; the model's steps start after it.
PREROLL_SECONDS = 3.0
NOISE_CHANGE_P = 0.3  # the background changes kind and level once inside the clip, as it does in a stream
GENERATOR_VERSION = 2


@dataclass(frozen=True)
class WakewordSpec:
    wakeword: str = "marvin"
    train_clips: int = 12000
    val_clips: int = 600
    test_clips: int = 1200
    split: str = "voice"
    seed: int = 0
    frontend: FrontendSpec = FrontendSpec("filterbank", 16000, window_ms=30.0, hop_ms=20.0, channels=40)

    def __post_init__(self):
        if self.wakeword not in WORDS:
            raise DataError(f"--wakeword {self.wakeword!r} is not one of the 35 keywords: {', '.join(WORDS)}")
        for name in ("train_clips", "val_clips", "test_clips"):
            if not 1 <= getattr(self, name) <= 200_000:
                raise DataError(f"wakeword {name}={getattr(self, name)} must be in [1, 200000]")
        if self.frontend.kind == "raw":
            raise DataError("the wakeword task runs at frame rate: use --features filterbank or frames")

    def key(self) -> str:
        d = {**asdict(self), "generator": GENERATOR_VERSION}
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def speech(espeak, word: str, voice: tuple[str, str], sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """One spoken word at `sample_rate`, trimmed to where it is loud, peak-normalised to a random gain."""
    from scipy.signal import resample_poly

    raw = espeak.synth(word, f"{voice[0]}+{voice[1]}", int(rng.integers(RATE_WPM[0], RATE_WPM[1] + 1)),
                       int(rng.integers(PITCH[0], PITCH[1] + 1)))
    g = gcd(sample_rate, espeak.sample_rate)
    x = resample_poly(raw.astype(np.float64) / 32768.0, sample_rate // g, espeak.sample_rate // g)
    loud = np.flatnonzero(np.abs(x) > 0.02 * (np.abs(x).max() + 1e-12))
    if len(loud):
        x = x[loud[0]:loud[-1] + 1]
    return x * 10 ** (rng.uniform(*GAIN_DB) / 20) / (np.abs(x).max() + 1e-12)


def background(n: int, sample_rate: int, speech_rms: float, rng: np.random.Generator) -> np.ndarray:
    kind = NOISES[int(rng.integers(len(NOISES)))]
    return noise(kind, n, sample_rate, rng) * speech_rms / 10 ** (rng.uniform(*SNR_DB) / 20)


def step_labels(events: list[tuple[int, int, int]], n_steps: int, spec: FrontendSpec) -> np.ndarray:
    """Per-step labels from word events (start, end, class) in samples; a step is labelled by the time
    its window ends."""
    sr = spec.sample_rate
    t = spec.window_samples + spec.hop_samples * np.arange(n_steps)  # sample index where each window ends
    y = np.full(n_steps, SILENCE, np.int64)
    for start, end, cls in events:
        if cls == OTHER:
            y[(t > start) & (t <= end + OTHER_TAIL_SECONDS * sr)] = OTHER
    for start, end, cls in events:  # the wakeword's marks win over a neighbouring word's
        if cls == WAKEWORD:
            y[(t > start) & (t < end)] = IGNORE
            y[(t >= end) & (t < end + LABEL_SECONDS * sr)] = WAKEWORD
            y[(t >= end + LABEL_SECONDS * sr) & (t < end + (LABEL_SECONDS + TAIL_IGNORE_SECONDS) * sr)] = IGNORE
    return y


def render_clip(espeak, spec: WakewordSpec, voices, rng: np.random.Generator):
    """(float audio [pre-roll + clip], events [(start, end, class)] in its samples) of one training clip."""
    sr = spec.frontend.sample_rate
    n, pre = int(CLIP_SECONDS * sr), int(PREROLL_SECONDS * sr)
    others = [w for w in WORDS if w != spec.wakeword]
    voice = voices[int(rng.integers(len(voices)))]
    target = rng.choice(list(TARGET_P), p=list(TARGET_P.values()))
    words = []
    if rng.random() < LEAD_P:
        words.append((others[int(rng.integers(len(others)))], OTHER))
    if target != "none":
        words.append((spec.wakeword, WAKEWORD) if target == "wakeword" else
                     (others[int(rng.integers(len(others)))], OTHER))
    parts = [(speech(espeak, w, voice, sr, rng), cls) for w, cls in words]
    room = int((LABEL_SECONDS + 0.1) * sr)  # the wakeword's label window must fit in the clip
    while parts and sum(len(p) for p, _ in parts) + room > n:
        parts.pop(0)  # a slow lead-in that leaves no room goes
    audio = np.zeros(pre + n)
    free = n - room - sum(len(p) for p, _ in parts)
    cuts = np.sort(rng.uniform(0, free, len(parts))).astype(int)  # gaps before each word
    events, spoken = [], 0
    for (p, cls), cut in zip(parts, cuts):  # word k starts after gap cuts[k] and the words before it
        start = pre + int(cut) + spoken
        audio[start:start + len(p)] += p
        events.append((start, start + len(p), cls))
        spoken += len(p)
    rms = np.sqrt(np.mean(np.concatenate([p for p, _ in parts]) ** 2)) if parts else 10 ** (rng.uniform(-30, -6) / 20)
    if rng.random() < NOISE_CHANGE_P:
        change = pre + int(rng.uniform(0, n))
        audio += np.concatenate([background(change, sr, rms, rng), background(pre + n - change, sr, rms, rng)])
    else:
        audio += background(pre + n, sr, rms, rng)
    return np.clip(audio, -1.0, 1.0).astype(np.float32), events


def generate_split(espeak, spec: WakewordSpec, voices, count: int, split_id: int, block: int = 256):
    """Features and per-step labels of `count` clips; audio is turned into features a block at a time, so
    only the features of the whole split are held."""
    sr = spec.frontend.sample_rate
    steps = spec.frontend.steps_for(int(CLIP_SECONDS * sr))  # the clip's own steps: the last of all
    every = spec.frontend.steps_for(int((PREROLL_SECONDS + CLIP_SECONDS) * sr))
    x = np.empty((count, steps, spec.frontend.d_in), np.float32)
    y = np.empty((count, steps), np.int64)
    for first in range(0, count, block):
        audio = []
        for i in range(first, min(count, first + block)):
            a, events = render_clip(espeak, spec, voices, np.random.default_rng([spec.seed, split_id, i, 7]))
            audio.append(a)
            y[i] = step_labels(events, every, spec.frontend)[-steps:]
        x[first:first + len(audio)] = clip_features(np.stack(audio), spec.frontend)[:, -steps:]
    return x, y


def generate(spec: WakewordSpec) -> dict[str, np.ndarray]:
    espeak = Espeak()
    splits = voice_splits(usable_variants(espeak.variants()), spec.split, spec.seed)
    arrays = {}
    for split_id, name in enumerate(("train", "val", "test")):
        arrays[f"{name}_x"], arrays[f"{name}_y"] = generate_split(espeak, spec, splits[name],
                                                                  getattr(spec, f"{name}_clips"), split_id)
    return arrays


def load_wakeword(spec: WakewordSpec, cache: Path | None = None) -> TaskData:
    """The data set of `spec`, from the cache when it is there, else generated and cached: libespeak-ng's
    samples vary slightly from call to call, so the cache is what makes a checkpoint's data rebuildable."""
    path = (Path(cache) if cache is not None else cache_root() / "wakeword") / f"{spec.key()}.npz"
    if path.exists():
        with np.load(path) as f:
            arrays = {k: f[k] for k in f.files}
    else:
        arrays = generate(spec)
        atomic_savez(path, **arrays)
    return TaskData("wakeword", "step_class", spec.frontend.d_in, len(CLASSES), arrays["train_x"], arrays["train_y"],
                    arrays["val_x"], arrays["val_y"], arrays["test_x"], arrays["test_y"])
