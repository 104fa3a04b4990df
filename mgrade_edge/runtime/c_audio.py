"""The audio path of a c bundle (<prefix>_audio.c, the front end, the step) compiled for the host
and driven through ctypes: int16 samples in, one output per hop, by the very code a firmware links.

The bundle's C files are compiled as C, the front end and TFLite Micro's signal sources (TFLM_DIR)
as C++, and linked into one shared library in a private temporary directory.
"""

from __future__ import annotations

import ctypes
import shutil
import tempfile
import weakref
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..frontend.host import compile_on_host, host_cxx, tflm_root
from ..frontend.sources import include_dirs, signal_sources
from ..qio import QParams
from .c_runner import compiler

CTYPES = {"float": (ctypes.c_float, np.float32), "int8_t": (ctypes.c_int8, np.int8),
          "int16_t": (ctypes.c_int16, np.int16)}


def build_audio_library(bundle: Path, facts: dict, build_dir: Path, tflm_dir: str | None = None) -> Path:
    root = tflm_root(tflm_dir)
    cxx = host_cxx()
    includes = [f"-I{bundle}", *(f"-I{d}" for d in include_dirs(root)[1:])]
    objects = []
    c_sources = [bundle / s for s in facts["sources"]] + [bundle / s for s in facts["audio"]["frontend_sources"]
                                                          if s.endswith(".c")]
    cc_sources = [bundle / s for s in facts["audio"]["frontend_sources"] if s.endswith(".cc")] + signal_sources(root)
    for i, src in enumerate(c_sources + cc_sources):
        obj = build_dir / f"{i}_{src.stem}.o"
        is_c = src.suffix == ".c"
        tool, std = (compiler(), "-std=c99") if is_c else (cxx, "-std=c++17")
        extra = () if is_c else ("-fno-exceptions", "-fno-rtti")
        compile_on_host([tool, std, "-O2", "-fPIC", *extra, *includes, "-c", str(src), "-o", str(obj)], src.name)
        objects.append(str(obj))
    lib = build_dir / "libmgrade_audio.so"
    compile_on_host([cxx, "-shared", *objects, "-lm", "-o", str(lib)], "the audio library")
    return lib


class AudioRunner:
    """push(int16 samples) -> per-hop outputs [hops, C] (dequantised logits for integer bundles)."""

    def __init__(self, bundle: Path, manifest: dict, tflm_dir: str | None = None):
        facts = manifest["details"]["c"]
        if "audio" not in facts:
            raise UserError(f"{bundle} has no audio path (its model was not trained on filter-bank features)")
        self.prefix, p = facts["prefix"], facts["prefix"]
        self._build_dir = Path(tempfile.mkdtemp(prefix="mgrade-audio-"))
        self._cleanup = weakref.finalize(self, shutil.rmtree, self._build_dir, True)
        self.lib = ctypes.CDLL(str(build_audio_library(Path(bundle), facts, self._build_dir, tflm_dir)))
        tensors = {t["name"]: t for t in manifest["tensors"]}
        y = tensors["y"]
        self.n_out = int(np.prod(y["shape"]))
        io_type = facts.get("io_ctype", "float") if facts.get("step_variant") else "float"
        self._ctype, self._np = CTYPES[io_type]
        self._yq = None if io_type == "float" else QParams((self.n_out,), y["dtype"], float(np.float32(y["scale"])),
                                                            int(y["zero_point"]))
        self._init, self._feed = self.lib[f"{p}_audio_init"], self.lib[f"{p}_audio_feed"]
        self._init.argtypes = [ctypes.c_void_p]
        self._feed.restype = ctypes.c_int32
        self._feed.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32, ctypes.POINTER(ctypes.c_int)]
        size = self.lib[f"{p}_audio_bytes"]
        size.restype = ctypes.c_ulong
        self.struct_bytes = int(size())
        self._struct = ctypes.create_string_buffer(self.struct_bytes)
        self._output = self.lib[f"{p}_audio_output"]
        self._output.restype = ctypes.POINTER(self._ctype)
        self._output.argtypes = [ctypes.c_void_p]
        self.reset()

    def reset(self) -> None:
        if self._init(self._struct) != 0:
            raise UserError("the bundle's front end needs more memory than it reserves on this host")

    def push(self, samples: np.ndarray) -> np.ndarray:
        """Per-hop logits as floats (integer outputs dequantised)."""
        y = self.push_raw(samples)
        return y.astype(np.float32) if self._yq is None else self._yq.dequantize(y).astype(np.float32)

    def push_raw(self, samples: np.ndarray) -> np.ndarray:
        """Per-hop outputs [hops, C] in the step's own output type (what the board's golden compares)."""
        samples = np.ascontiguousarray(samples, dtype=np.int16)
        out = []
        ready, at, base = ctypes.c_int(0), 0, samples.ctypes.data
        while at < len(samples):
            at += self._feed(self._struct, base + 2 * at, len(samples) - at, ctypes.byref(ready))
            if ready.value:
                out.append(np.ctypeslib.as_array(self._output(self._struct), shape=(self.n_out,)).astype(self._np))
        return np.array(out, dtype=self._np).reshape(-1, self.n_out)
