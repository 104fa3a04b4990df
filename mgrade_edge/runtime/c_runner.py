"""CRunner: the generated C step (export target c), compiled for the host and called through ctypes.

The bundle's own `mgrade_<name>.c` is compiled unchanged with the system C compiler (`CC`, default
cc) into a shared library in a private temporary directory, so what is validated is the very code a
firmware links. The float `step` entry point is used: it quantises x and dequantises y inside C for
the quantised variants, so the runner does no arithmetic of its own.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
import weakref
from pathlib import Path

import numpy as np

from ..errors import ExportError, UserError
from ..qio import QParams
from .base import Runner

CFLAGS = ("-std=c99", "-O2", "-shared", "-fPIC")


def compiler() -> str:
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        raise UserError(f"C compiler {cc!r} not found; install gcc or clang, or set CC to a C compiler")
    return cc


def build_shared_library(sources: list[Path], build_dir: Path, extra_flags: tuple[str, ...] = ()) -> Path:
    """Compile `sources` into build_dir/libmgrade_step.so; a compiler error is a one-line UserError."""
    lib = build_dir / "libmgrade_step.so"
    cmd = [compiler(), *CFLAGS, *extra_flags, *map(str, sources), "-lm", "-o", str(lib)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or ["(no output)"])[0]
        raise UserError(f"compiling {sources[0].name} failed: {first}; re-export the bundle or check CC")
    return lib


class CRunner(Runner):
    name = "c"

    def __init__(self, directory: Path, manifest: dict, extra_flags: tuple[str, ...] = ()):
        details = manifest.get("details", {}).get("c")
        if details is None:
            raise ExportError(f"{directory} is not a c-target bundle (manifest has no c details); "
                              f"export with --target c")
        directory = Path(directory)
        self.prefix = details["prefix"]
        self._build_dir = Path(tempfile.mkdtemp(prefix="mgrade-c-"))
        self._cleanup = weakref.finalize(self, shutil.rmtree, self._build_dir, True)
        lib_path = build_shared_library([directory / s for s in details["sources"]], self._build_dir, extra_flags)
        self.lib = ctypes.CDLL(str(lib_path))
        fn = lambda n: getattr(self.lib, f"{self.prefix}_{n}")  # noqa: E731
        fn("state_bytes").restype = ctypes.c_ulong
        self.state_bytes = int(fn("state_bytes")())
        self._state = ctypes.create_string_buffer(self.state_bytes)
        # io "quantized" (the tflm-fused op): step_q on x quantised by qio, y dequantised from its int
        # output, as the op's caller sees it; otherwise step() with float x and float logits.
        self.quantized_io = details.get("io") == "quantized"
        self._reset, self._step = fn("reset"), fn("step_q" if self.quantized_io else "step")
        self._reset.argtypes = [ctypes.c_void_p]
        self._step.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        tensors = {t["name"]: t for t in manifest["tensors"]}
        self.d_in, self.n_out = int(np.prod(tensors["x"]["shape"])), int(np.prod(tensors["y"]["shape"]))
        if self.quantized_io:
            x, y = tensors["x"], tensors["y"]
            self._xq = QParams((self.d_in,), x["dtype"], float(np.float32(x["scale"])), int(x["zero_point"]))
            self._yq = QParams((self.n_out,), y["dtype"], float(np.float32(y["scale"])), int(y["zero_point"]))
            self._y = np.zeros(self.n_out, dtype=y["dtype"])
        else:
            self._y = np.zeros(self.n_out, dtype=np.float32)
        self.reset()

    def state_raw(self) -> bytes:
        """The state struct's bytes (for tests of the in-place update and determinism)."""
        return self._state.raw

    def reset(self) -> None:
        self._reset(self._state)

    def step(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(np.asarray(x, dtype=np.float32).reshape(-1))
        if x.size != self.d_in:
            raise ValueError(f"x has {x.size} values, the model takes {self.d_in}")
        if self.quantized_io:
            xq = np.ascontiguousarray(self._xq.quantize(x))
            self._step(self._state, xq.ctypes.data, self._y.ctypes.data)
            return self._yq.dequantize(self._y).astype(np.float32)
        self._step(self._state, x.ctypes.data, self._y.ctypes.data)
        return self._y.copy()
