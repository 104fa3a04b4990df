"""A long 16 kHz test stream: WAKEWORDS wakewords among other keywords, pauses and changing noise.

Speech comes from the wakeword task's held-out test voices (the same voice split), each word with
its own voice, rate, pitch and gain. Wakewords sit one per equal slot of the stream at a random
offset; other words fill the time between them with pauses of PAUSE_S seconds. Background noise
runs throughout in segments of NOISE_SEGMENT_S seconds, each its own kind and level. The stream is
a pure function of its spec, generated once into the cache (content-addressed) and read afterwards.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..atomic import atomic_savez
from ..cache import cache_root
from ..errors import DataError
from ..tasks.espeak import Espeak
from ..tasks.keywords import NOISES, SNR_DB, WORDS, noise, usable_variants, voice_splits
from ..tasks.wakeword import speech

PAUSE_S = (0.3, 2.5)
NOISE_SEGMENT_S = (5.0, 20.0)
WAKE_MARGIN_S = 1.5  # other words keep this far from a wakeword
SPEECH_RMS = 10 ** (-20 / 20)  # the level noise SNRs are taken against (a typical word's RMS)
GENERATOR_VERSION = 1


@dataclass(frozen=True)
class StreamSpec:
    wakeword: str = "marvin"
    minutes: float = 20.0
    wakewords: int = 50
    seed: int = 0
    sample_rate: int = 16000
    split: str = "voice"
    voice_seed: int = 0  # the seed of the task's voice split (the checkpoint's training seed)

    def __post_init__(self):
        if self.wakeword not in WORDS:
            raise DataError(f"--wakeword {self.wakeword!r} is not one of the 35 keywords")
        if not 0.5 <= self.minutes <= 120:
            raise DataError(f"--minutes {self.minutes} must be in [0.5, 120]")
        if not 1 <= self.wakewords <= self.minutes * 10:
            raise DataError(f"--wakewords {self.wakewords} must be in [1, {int(self.minutes * 10)}] for "
                            f"{self.minutes:g} minutes (at most one per 6 s)")

    def key(self) -> str:
        d = {**asdict(self), "generator": GENERATOR_VERSION}
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class Stream:
    spec: StreamSpec
    audio: np.ndarray  # int16 [S]
    events: np.ndarray  # int64 [K, 3]: start, end (samples), word index in WORDS

    @property
    def wakewords(self) -> np.ndarray:
        """[W, 2] start and end (samples) of every wakeword."""
        return self.events[self.events[:, 2] == WORDS.index(self.spec.wakeword), :2]


def _background(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    out, at = np.zeros(n), 0
    while at < n:
        length = min(n - at, int(rng.uniform(*NOISE_SEGMENT_S) * sr))
        kind = NOISES[int(rng.integers(len(NOISES)))]
        level = SPEECH_RMS / 10 ** (rng.uniform(*SNR_DB) / 20)
        out[at:at + length] = noise(kind, length, sr, rng) * level
        at += length
    return out


def generate(spec: StreamSpec) -> Stream:
    espeak = Espeak()
    voices = voice_splits(usable_variants(espeak.variants()), spec.split, spec.voice_seed)["test"]
    sr = spec.sample_rate
    n = int(spec.minutes * 60 * sr)
    rng = np.random.default_rng([spec.seed, 4242])
    audio = _background(n, sr, rng)
    events = []

    def say(word: str, start: int) -> int:
        x = speech(espeak, word, voices[int(rng.integers(len(voices)))], sr, rng)
        end = min(n, start + len(x))
        audio[start:end] += x[:end - start]
        events.append((start, end, WORDS.index(word)))
        return end

    slot = n // spec.wakewords
    wake_starts = [i * slot + int(rng.uniform(0.15, 0.75) * slot) for i in range(spec.wakewords)]
    wake_spans = [(s, say(spec.wakeword, s)) for s in wake_starts]
    others = [w for w in WORDS if w != spec.wakeword]
    margin = int(WAKE_MARGIN_S * sr)
    at = int(rng.uniform(*PAUSE_S) * sr)
    while at < n - sr:
        clash = next(((s, e) for s, e in wake_spans if at < e + margin and at + sr > s - margin), None)
        if clash is not None:  # skip past the wakeword and its margin
            at = clash[1] + margin + int(rng.uniform(*PAUSE_S) * sr)
            continue
        at = say(others[int(rng.integers(len(others)))], at) + int(rng.uniform(*PAUSE_S) * sr)
    samples = np.clip(np.round(audio * 32768), -32768, 32767).astype(np.int16)
    return Stream(spec, samples, np.array(sorted(events), dtype=np.int64).reshape(-1, 3))


def cache_dir() -> Path:
    return cache_root() / "wakeword-stream"


def load_stream(spec: StreamSpec) -> Stream:
    """The stream of `spec`, from the cache or generated and cached atomically."""
    path = cache_dir() / f"{spec.key()}.npz"
    if path.exists():
        with np.load(path) as f:
            return Stream(spec, f["audio"], f["events"])
    stream = generate(spec)
    atomic_savez(path, audio=stream.audio, events=stream.events, spec=json.dumps(asdict(spec)))
    return stream
