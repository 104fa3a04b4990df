"""Keywords: the 35 Speech Commands v2 words synthesised with eSpeak NG, as 1 s raw-audio clips.

Diversity comes from the 8 English dialects x the voice variants (whisper, croak and robot-like
variants dropped), speaking rate, pitch, a random time shift inside the window, gain and background
noise (white, pink, brown or mains hum at 5-30 dB SNR). Every clip is generated from its own seeded
generator (seed, split, index), so a data set is a pure function of its options. It is generated once
into the cache directory ($XDG_CACHE_HOME/mgrade-edge/keywords, content-addressed by the options) and
read from there afterwards.

Splits hold out whole voices: split="voice" keeps a fifth of the variants for test and a tenth for
validation (every dialect in every split); split="dialect" keeps 2 of the 8 dialects for test and 1
for validation (every variant in every split).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from math import gcd
from pathlib import Path

import numpy as np

from ..atomic import atomic_savez
from ..errors import DataError
from .espeak import Espeak

WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go",
         "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
         "bed", "bird", "cat", "dog", "happy", "house", "marvin", "sheila", "tree", "wow",
         "backward", "forward", "follow", "learn", "visual")
DIALECTS = ("en", "en-us", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029",
            "en-us-nyc")
EXCLUDED_VARIANT_WORDS = ("whisper", "croak", "robot", "robosoft", "demonic")
SPLITS = ("voice", "dialect")
SAMPLE_RATES = (8000, 16000)
GENERATOR_VERSION = 1  # part of the cache key: bump when the generated audio changes
RATE_WPM = (110, 230)  # eSpeak speaking rate
PITCH = (20, 80)  # eSpeak pitch (0-100)
GAIN_DB = (-18.0, 0.0)  # peak level of the speech
SNR_DB = (5.0, 30.0)
NOISES = ("white", "pink", "brown", "hum")
MAX_AUDIO_BYTES = 8 * 2**30  # all three splits are held in memory as float32: refuse sets beyond 8 GiB


@dataclass(frozen=True)
class KeywordsSpec:
    sample_rate: int = 8000
    train_clips: int = 7000
    val_clips: int = 700
    test_clips: int = 1400
    split: str = "voice"
    seed: int = 0

    def __post_init__(self):
        if self.sample_rate not in SAMPLE_RATES:
            raise DataError(f"--sample-rate {self.sample_rate} is not supported for keywords; use 8000 or 16000")
        if self.split not in SPLITS:
            raise DataError(f"keywords split {self.split!r} is not one of {', '.join(SPLITS)}")
        for name in ("train_clips", "val_clips", "test_clips"):
            if not 1 <= getattr(self, name) <= 1_000_000:
                raise DataError(f"keywords {name}={getattr(self, name)} must be in [1, 1000000]")
        total = self.train_clips + self.val_clips + self.test_clips
        if total * self.sample_rate * 4 > MAX_AUDIO_BYTES:
            most = MAX_AUDIO_BYTES // (self.sample_rate * 4)
            raise DataError(f"keywords: {total:,} clips at {self.sample_rate} Hz would take "
                            f"{total * self.sample_rate * 4 / 2**30:.1f} GiB of memory, more than "
                            f"{MAX_AUDIO_BYTES // 2**30} GiB; use at most {most:,} clips in all (train + val + test)")

    def key(self) -> str:
        text = json.dumps({**asdict(self), "generator": GENERATOR_VERSION}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def usable_variants(all_variants: list[str]) -> list[str]:
    return [v for v in all_variants if not any(w in v.lower() for w in EXCLUDED_VARIANT_WORDS)]


def voice_splits(variants: list[str], split: str, seed: int) -> dict[str, list[tuple[str, str]]]:
    """{train, val, test: [(dialect, variant)]}, disjoint in variant (split=voice) or dialect (split=dialect)."""
    rng = np.random.default_rng([seed, 17])
    if split == "voice":
        order = [variants[i] for i in rng.permutation(len(variants))]
        n_test, n_val = max(1, len(order) // 5), max(1, len(order) // 10)
        groups = {"test": order[:n_test], "val": order[n_test:n_test + n_val], "train": order[n_test + n_val:]}
        return {name: [(d, v) for d in DIALECTS for v in vs] for name, vs in groups.items()}
    order = [DIALECTS[i] for i in rng.permutation(len(DIALECTS))]
    groups = {"test": order[:2], "val": order[2:3], "train": order[3:]}
    return {name: [(d, v) for d in ds for v in variants] for name, ds in groups.items()}


def noise(kind: str, n: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS background noise of one kind."""
    if kind == "hum":
        f0 = rng.choice((50.0, 60.0))
        t = np.arange(n) / sample_rate
        x = sum(rng.uniform(0.2, 1.0) / h * np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 2 * np.pi))
                for h in range(1, 6))
        x = x + 0.05 * rng.standard_normal(n)
    else:
        white = rng.standard_normal(n)
        if kind == "white":
            x = white
        else:  # shape the spectrum: 1/f power (pink) or 1/f² (brown)
            spec = np.fft.rfft(white)
            f = np.maximum(np.arange(len(spec)), 1.0)
            spec /= np.sqrt(f) if kind == "pink" else f
            x = np.fft.irfft(spec, n=n)
    x = x - x.mean()
    return x / (np.sqrt(np.mean(x ** 2)) + 1e-12)


def render_clip(speech: np.ndarray, source_rate: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """One 1 s float32 clip: resampled speech, trimmed, shifted, scaled, mixed with noise, in [-1, 1]."""

    from scipy.signal import resample_poly

    g = gcd(sample_rate, source_rate)
    x = resample_poly(speech.astype(np.float64) / 32768.0, sample_rate // g, source_rate // g)
    loud = np.flatnonzero(np.abs(x) > 0.02 * (np.abs(x).max() + 1e-12))
    if len(loud):
        x = x[loud[0]:loud[-1] + 1]
    n = sample_rate
    if len(x) > n:  # a long word at a slow rate: keep its centre second
        start = (len(x) - n) // 2
        x = x[start:start + n]
    clip = np.zeros(n)
    offset = int(rng.integers(0, n - len(x) + 1))
    clip[offset:offset + len(x)] = x
    peak = 10 ** (rng.uniform(*GAIN_DB) / 20)
    clip *= peak / (np.abs(clip).max() + 1e-12)
    speech_rms = np.sqrt(np.mean(clip[offset:offset + len(x)] ** 2)) if len(x) else 0.0
    snr = rng.uniform(*SNR_DB)
    clip += noise(NOISES[int(rng.integers(len(NOISES)))], n, sample_rate, rng) * speech_rms / 10 ** (snr / 20)
    return np.clip(clip, -1.0, 1.0).astype(np.float32)


def generate_split(espeak, voices: list[tuple[str, str]], n: int, spec: KeywordsSpec, split_id: int,
                   progress) -> tuple[np.ndarray, np.ndarray]:
    x = np.empty((n, spec.sample_rate), dtype=np.float32)
    y = np.arange(n, dtype=np.int64) % len(WORDS)  # balanced classes
    for i in range(n):
        rng = np.random.default_rng([spec.seed, split_id, i])
        dialect, variant = voices[int(rng.integers(len(voices)))]
        speech = espeak.synth(WORDS[y[i]], f"{dialect}+{variant}", int(rng.integers(RATE_WPM[0], RATE_WPM[1] + 1)),
                              int(rng.integers(PITCH[0], PITCH[1] + 1)))
        x[i] = render_clip(speech, espeak.sample_rate, spec.sample_rate, rng)
        progress()
    order = np.random.default_rng([spec.seed, split_id, 99]).permutation(n)
    return x[order], y[order]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mgrade-edge" / "keywords"


class Progress:
    def __init__(self, total: int, label: str, enabled: bool):
        self.total, self.label, self.enabled, self.done, self.start = total, label, enabled, 0, time.perf_counter()

    def __call__(self):
        self.done += 1
        if self.enabled and (self.done % 50 == 0 or self.done == self.total):
            width = 24
            filled = int(width * self.done / self.total)
            rate = self.done / max(time.perf_counter() - self.start, 1e-9)
            sys.stderr.write(f"\r{self.label} [{'#' * filled}{'-' * (width - filled)}] {self.done}/{self.total} "
                             f"clips ({rate:.0f}/s)")
            if self.done == self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()


def generate(spec: KeywordsSpec, progress: bool = True) -> dict[str, np.ndarray]:
    espeak = Espeak()
    splits = voice_splits(usable_variants(espeak.variants()), spec.split, spec.seed)
    sizes = {"train": spec.train_clips, "val": spec.val_clips, "test": spec.test_clips}
    bar = Progress(sum(sizes.values()), "generating keywords", progress)
    arrays = {}
    for split_id, name in enumerate(("train", "val", "test")):
        arrays[f"{name}_x"], arrays[f"{name}_y"] = generate_split(espeak, splits[name], sizes[name], spec,
                                                                  split_id, bar)
    return arrays


def load_keywords(spec: KeywordsSpec, progress: bool = True, cache: Path | None = None) -> dict[str, np.ndarray]:
    """The data set of `spec`, from the cache when it is there, else generated and cached (atomically)."""
    directory = Path(cache) if cache is not None else cache_dir()
    path = directory / f"{spec.key()}.npz"
    if path.exists():
        with np.load(path) as f:
            return {k: f[k] for k in f.files}
    start = time.perf_counter()
    arrays = generate(spec, progress)
    atomic_savez(path, **arrays, spec=json.dumps(asdict(spec)),
                 generation_seconds=round(time.perf_counter() - start, 2))
    return arrays
