"""The front end on the host: native/mgrade_frontend.cc and TFLite Micro's signal sources built into
a shared library (once, cached by the hash of every source, header and flag) and called by ctypes.

Its features are the device's features: the device compiles the same files (see sources.py).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from ..atomic import atomic_write
from ..cache import cache_root
from ..tflm_tree import find_tree
from .sources import NATIVE_DIR, OUR_SOURCES, include_dirs, missing_signal_sources, signal_sources
from .spec import FrontendError, FrontendSpec
from .tables import SMOOTHING_BITS, FilterbankTables, filterbank_tables

CXX_FLAGS = ("-std=c++17", "-O2", "-fPIC", "-shared", "-fno-exceptions", "-fno-rtti", "-DNDEBUG")
_I16 = ctypes.POINTER(ctypes.c_int16)


class Config(ctypes.Structure):
    """mgrade_fe_config of native/mgrade_frontend.h, field for field."""
    _fields_ = [(n, ctypes.c_int32) for n in ("window_samples", "hop_samples", "fft_size", "num_channels",
                                              "spectrum_start", "spectrum_end")] + \
               [(n, _I16) for n in ("window", "channel_frequency_starts", "channel_weight_starts", "channel_widths",
                                    "weights", "unweights")] + \
               [("noise_reduction", ctypes.c_int32)] + \
               [(n, ctypes.c_uint32) for n in ("smoothing", "one_minus_smoothing", "alternate_smoothing",
                                               "alternate_one_minus_smoothing", "min_signal_remaining")] + \
               [("smoothing_bits", ctypes.c_int32), ("pcan", ctypes.c_int32), ("gain_lut", _I16),
                ("snr_shift", ctypes.c_int32), ("log_scale", ctypes.c_int32), ("log_correction_bits", ctypes.c_int32)]


class State(ctypes.Structure):
    _fields_ = [("config", ctypes.c_void_p), ("samples", ctypes.c_void_p), ("filled", ctypes.c_int32),
                ("noise_estimate", ctypes.c_void_p), ("scratch16", ctypes.c_void_p), ("spectrum", ctypes.c_void_p),
                ("energy", ctypes.c_void_p), ("channels", ctypes.c_void_p), ("magnitudes", ctypes.c_void_p),
                ("fft", ctypes.c_void_p)]


def tflm_root(tflm_dir: str | Path | None = None) -> Path:
    """The TFLite Micro tree whose signal library the front end uses (--tflm-dir, else TFLM_DIR)."""
    root = find_tree("reference", tflm_dir).root
    missing = missing_signal_sources(root)
    if missing:
        raise FrontendError(f"the TensorFlow Lite Micro tree {root} has no signal library ({missing[0]} is missing); "
                            "use a tree made by create_tflm_tree.py that includes signal/src")
    return root


def _library_key(root: Path, compiler: str) -> str:
    h = hashlib.sha256()
    h.update(" ".join((compiler,) + CXX_FLAGS).encode())
    files = [NATIVE_DIR / s for s in OUR_SOURCES] + sorted(NATIVE_DIR.glob("*.h")) + signal_sources(root)
    files += sorted((root / "signal/src").rglob("*.h")) + sorted((root / "third_party/kissfft").rglob("*.[ch]"))
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def host_cxx() -> str:
    """The host's C++ compiler ($CXX, else c++ or g++), or a one-line FrontendError."""
    compiler = shutil.which(os.environ.get("CXX", "c++")) or shutil.which("g++")
    if compiler is None:
        raise FrontendError("the audio front end needs a C++ compiler on the host: install g++ (apt install g++)")
    return compiler


def compile_on_host(cmd: list[str], what: str) -> None:
    """Run a host compiler command; a failure is one FrontendError line with the compiler's first error."""
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        first = next((ln for ln in done.stderr.splitlines() if "error" in ln), done.stderr.strip()[:300])
        raise FrontendError(f"building {what} for the host failed: {first}")


@functools.cache
def library(tflm_dir: str | None = None) -> ctypes.CDLL:
    root = tflm_root(tflm_dir)
    compiler = host_cxx()
    path = cache_root() / "frontend" / f"mgrade_frontend-{_library_key(root, compiler)}.so"
    if not path.exists():
        atomic_write(path, lambda tmp: compile_on_host(
            [compiler, *CXX_FLAGS, *(f"-I{d}" for d in include_dirs(root)),
             *(str(NATIVE_DIR / s) for s in OUR_SOURCES), *map(str, signal_sources(root)), "-o", str(tmp)],
            "the front end"))
    lib = ctypes.CDLL(str(path))
    lib.mgrade_fe_memory_bytes.restype = ctypes.c_size_t
    lib.mgrade_fe_memory_bytes.argtypes = [ctypes.POINTER(Config)]
    lib.mgrade_fe_state_bytes.restype = ctypes.c_size_t
    lib.mgrade_fe_state_bytes.argtypes = [ctypes.POINTER(Config)]
    lib.mgrade_fe_init.restype = ctypes.c_int
    lib.mgrade_fe_init.argtypes = [ctypes.POINTER(State), ctypes.POINTER(Config), ctypes.c_void_p, ctypes.c_size_t]
    lib.mgrade_fe_feed.restype = ctypes.c_int32
    lib.mgrade_fe_feed.argtypes = [ctypes.POINTER(State), _I16, ctypes.c_int32, _I16, ctypes.POINTER(ctypes.c_int)]
    return lib


def native_config(spec: FrontendSpec, tables: FilterbankTables) -> tuple[Config, list[np.ndarray]]:
    """The C struct for `spec`, and the arrays it points into (keep them alive as long as the struct)."""
    arrays = [np.ascontiguousarray(a, dtype=np.int16) for a in (
        tables.window, tables.channel_frequency_starts, tables.channel_weight_starts, tables.channel_widths,
        tables.weights, tables.unweights, tables.gain_lut)]
    ptr = [a.ctypes.data_as(_I16) for a in arrays]
    s = tables.smoothing
    config = Config(spec.window_samples, spec.hop_samples, spec.fft_size, spec.channels, tables.spectrum_start,
                    tables.spectrum_end, *ptr[:6], int(spec.noise_reduction), s[0], s[1], s[2], s[3], s[4],
                    SMOOTHING_BITS, int(spec.pcan), ptr[6], tables.snr_shift, tables.log_scale,
                    tables.input_correction_bits)
    return config, arrays


class HostFrontend:
    """A stateful filter-bank front end: push int16 audio, get the int16 feature vectors it completes."""

    def __init__(self, spec: FrontendSpec, tflm_dir: str | None = None):
        if spec.kind != "filterbank":
            raise FrontendError(f"HostFrontend computes filter banks, not {spec.kind!r} features")
        self.spec = spec
        self.lib = library(tflm_dir)
        self.config, self._arrays = native_config(spec, filterbank_tables(spec))
        self.memory_bytes = int(self.lib.mgrade_fe_memory_bytes(ctypes.byref(self.config)))
        self.state_bytes = int(self.lib.mgrade_fe_state_bytes(ctypes.byref(self.config)))
        self._memory = np.zeros(self.memory_bytes, np.uint8)
        self.reset()

    def reset(self) -> None:
        self.state = State()
        if self.lib.mgrade_fe_init(ctypes.byref(self.state), ctypes.byref(self.config),
                                   self._memory.ctypes.data_as(ctypes.c_void_p), self.memory_bytes) != 0:
            raise FrontendError("the front end failed to initialise (memory too small)")

    def push(self, audio: np.ndarray) -> np.ndarray:
        """int16 [n] -> int16 [frames, channels]: every vector the samples complete."""
        audio = np.ascontiguousarray(audio, dtype=np.int16)
        # at most n // hop + 1 vectors complete; one more row is the landing place of a call that completes none
        out = np.empty((len(audio) // self.spec.hop_samples + 2, self.spec.channels), np.int16)
        ready, rows, at = ctypes.c_int(0), 0, 0
        base = audio.ctypes.data
        while at < len(audio):
            row = out[rows].ctypes.data_as(_I16)
            at += self.lib.mgrade_fe_feed(ctypes.byref(self.state), ctypes.cast(base + 2 * at, _I16),
                                          len(audio) - at, row, ctypes.byref(ready))
            rows += ready.value
        return out[:rows]


def to_int16(audio: np.ndarray) -> np.ndarray:
    """float audio in [-1, 1] -> int16 samples (the microphone's format)."""
    return np.clip(np.round(np.asarray(audio, np.float64) * 32768.0), -32768, 32767).astype(np.int16)
