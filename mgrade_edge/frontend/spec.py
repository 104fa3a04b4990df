"""FrontendSpec: the front end's settings, recorded in a checkpoint's task options and a bundle's manifest."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from ..errors import UserError

FEATURE_KINDS = ("raw", "frames", "filterbank")
SAMPLE_RATES = (8000, 16000)
# filterbank: the model sees log(filter-bank magnitude) = feature / 2**LOG_SCALE_SHIFT (the log is
# computed with 6 fractional bits), a range of about 0..15 that needs no further normalisation.
LOG_SCALE_SHIFT = 6


class FrontendError(UserError):
    pass


@dataclass(frozen=True)
class FrontendSpec:
    kind: str = "raw"
    sample_rate: int = 16000
    window_ms: float = 30.0  # filterbank only
    hop_ms: float = 20.0  # frames and filterbank
    channels: int = 40  # filterbank only
    lower_hz: float = 125.0
    upper_hz: float | None = None  # None: 7500 Hz at 16 kHz, 3800 Hz at 8 kHz
    noise_reduction: bool = True
    pcan: bool = True

    def __post_init__(self):
        if self.kind not in FEATURE_KINDS:
            raise FrontendError(f"--features {self.kind!r} is not one of {', '.join(FEATURE_KINDS)}")
        if self.sample_rate not in SAMPLE_RATES:
            raise FrontendError(f"sample rate {self.sample_rate} Hz is not supported; use 8000 or 16000")
        if self.kind == "raw":
            return
        if not 1.0 <= self.hop_ms <= 100.0 or abs(self.hop_samples - self.hop_ms * self.sample_rate / 1000) > 1e-6:
            raise FrontendError(f"--hop-ms {self.hop_ms} must be in [1, 100] and a whole number of samples at "
                                f"{self.sample_rate} Hz")
        if self.kind == "filterbank":
            if not self.hop_ms <= self.window_ms <= 128.0 or self.fft_size > 2048:
                raise FrontendError(f"--window-ms {self.window_ms} must be in [hop, 128] ms")
            if self.pcan and not self.noise_reduction:
                raise FrontendError("PCAN needs noise reduction's noise estimate: keep noise reduction on or "
                                    "turn PCAN off")
            if not 4 <= self.channels <= 80:
                raise FrontendError(f"--channels {self.channels} must be in [4, 80]")
            if not 0 < self.lower_hz < self.band_top < self.sample_rate / 2:
                raise FrontendError(f"filter bank band {self.lower_hz:g}-{self.band_top:g} Hz must lie inside "
                                    f"0-{self.sample_rate // 2} Hz")

    @property
    def band_top(self) -> float:
        return self.upper_hz if self.upper_hz is not None else (7500.0 if self.sample_rate == 16000 else 3800.0)

    @property
    def hop_samples(self) -> int:
        return 1 if self.kind == "raw" else round(self.hop_ms * self.sample_rate / 1000)

    @property
    def window_samples(self) -> int:
        return round(self.window_ms * self.sample_rate / 1000) if self.kind == "filterbank" else self.hop_samples

    @property
    def fft_size(self) -> int:
        return 1 << (self.window_samples - 1).bit_length()

    @property
    def d_in(self) -> int:
        return {"raw": 1, "frames": self.hop_samples, "filterbank": self.channels}[self.kind]

    @property
    def steps_per_second(self) -> float:
        return self.sample_rate / self.hop_samples

    def steps_for(self, n_samples: int) -> int:
        """Steps (feature vectors) produced by n_samples of audio from a fresh front end."""
        if n_samples < self.window_samples:
            return 0
        return (n_samples - self.window_samples) // self.hop_samples + 1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> FrontendSpec:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise FrontendError(f"unknown front end setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**d)

    def describe(self) -> str:
        if self.kind == "raw":
            return f"raw {self.sample_rate} Hz samples, one per step"
        if self.kind == "frames":
            return f"{self.hop_samples} raw samples per step ({self.hop_ms:g} ms at {self.sample_rate} Hz)"
        extras = "+".join(n for n, on in (("noise reduction", self.noise_reduction), ("PCAN", self.pcan)) if on)
        return (f"{self.channels} log filter-bank channels, {self.window_ms:g} ms window, {self.hop_ms:g} ms hop at "
                f"{self.sample_rate} Hz{', ' + extras if extras else ''}")
