"""Finding a TensorFlow Lite Micro source tree and choosing the sources a model needs from it.

A tree is what TFLite Micro's `create_tflm_tree.py` writes: reference kernels, or (with
`OPTIMIZED_KERNEL_DIR=cmsis_nn`) CMSIS-NN kernels, told apart by `kernels/cmsis_nn/`. Where it is:
`--tflm-dir PATH` or else `TFLM_DIR`. The one path may name either tree, or a folder holding both
as `tflite-micro/` and `tflite-micro-cmsis-nn/`; from one tree the other variant is also looked for
beside it (`X` <-> `X-cmsis-nn`), so `TFLM_DIR=.../tflite-micro` serves both `--kernels` choices.

Only the kernels of the ops the model uses are compiled: each `AddXxx()` of op_resolver.h names a
`Register_XXX()` in micro_mutable_op_resolver.h, and the kernel file defining it (plus its
`*_common.cc`) is taken from the tree. The TFLite Micro core, the CMSIS-NN C sources and the
kernel helpers are always compiled; the linker (from a static library) keeps what is used.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import BoardError

KERNELS = ("cmsis-nn", "reference")
CMSIS_SUFFIX = "-cmsis-nn"
_MICRO = Path("tensorflow/lite/micro")
# Core files that only tests, the kernel test runner or the recording allocator need.
_KERNEL_INCLUDE = re.compile(r'#include "tensorflow/lite/micro/kernels/(\w+)\.h"')
_SKIP_CORE = re.compile(r"(test|mock_|fake_|recording_|kernel_runner|micro_time)")


@dataclass(frozen=True)
class TflmTree:
    root: Path
    kernels: str  # cmsis-nn | reference

    @property
    def include_dirs(self) -> tuple[Path, ...]:
        return tuple(d for d in include_dirs_of(self.root, self.kernels) if d.is_dir())


def include_dirs_of(root: Path, kernels: str) -> list[Path]:
    """Include path of a tree: the root, its third-party headers and, for CMSIS-NN, CMSIS."""
    tp = root / "third_party"
    dirs = [root, tp / "flatbuffers/include", tp / "gemmlowp", tp / "ruy", tp / "kissfft"]
    if kernels == "cmsis-nn":
        dirs += [tp / "cmsis_nn", tp / "cmsis_nn/Include", tp / "cmsis/CMSIS/Core/Include"]
    return dirs


def tree_kernels(path: Path) -> str | None:
    """'cmsis-nn' or 'reference' for a TFLite Micro tree, None when `path` is not one."""
    if not (path / _MICRO / "micro_interpreter.h").is_file():
        return None
    return "cmsis-nn" if (path / _MICRO / "kernels/cmsis_nn").is_dir() else "reference"


def find_tree(kernels: str, tflm_dir: str | Path | None = None) -> TflmTree:
    """The tree with `kernels` kernels reachable from --tflm-dir / TFLM_DIR, or a one-line BoardError."""
    if kernels not in KERNELS:
        raise BoardError(f"--kernels {kernels!r} is not one of {', '.join(KERNELS)}")
    raw = tflm_dir if tflm_dir not in (None, "") else os.environ.get("TFLM_DIR", "")
    source = "--tflm-dir" if tflm_dir not in (None, "") else "TFLM_DIR"
    if not raw:
        raise BoardError("no TensorFlow Lite Micro sources: pass --tflm-dir PATH or set TFLM_DIR to a tree made by "
                         "create_tflm_tree.py (reference or CMSIS-NN kernels) or to a folder holding tflite-micro/ "
                         "and tflite-micro-cmsis-nn/")
    path = Path(raw).expanduser()
    if not path.is_dir():
        raise BoardError(f"{source}={raw} is not a directory; point it at a TensorFlow Lite Micro tree")
    base = path.name.removesuffix(CMSIS_SUFFIX)
    candidates = [path, path / "tflite-micro", path / f"tflite-micro{CMSIS_SUFFIX}",
                  path.parent / base, path.parent / f"{base}{CMSIS_SUFFIX}"]
    found = {}
    for c in candidates:
        k = tree_kernels(c)
        if k is not None:
            found.setdefault(k, c)
    if kernels in found:
        return TflmTree(found[kernels].resolve(), kernels)
    if not found:
        raise BoardError(f"{source}={raw} is not a TensorFlow Lite Micro tree (no {_MICRO}/micro_interpreter.h "
                         f"there or in tflite-micro/ below it); generate one with create_tflm_tree.py")
    other = next(iter(found))
    raise BoardError(f"{source}={raw} has only {other} kernels ({found[other]}); for --kernels {kernels} put a tree "
                     f"made with{'' if kernels == 'cmsis-nn' else 'out'} OPTIMIZED_KERNEL_DIR=cmsis_nn beside it as "
                     f"{base}{CMSIS_SUFFIX if kernels == 'cmsis-nn' else ''} or pass --kernels {other}")


def core_sources(tree: TflmTree) -> list[Path]:
    """TFLite Micro core + TFLite helpers it uses + (CMSIS-NN trees) the CMSIS-NN C library."""
    r = tree.root
    files = [p for p in (r / "tensorflow").rglob("*.cc")
             if not _SKIP_CORE.search(p.name) and (r / _MICRO / "kernels") not in p.parents]
    files += [r / _MICRO / "kernels" / n for n in ("kernel_util.cc", "micro_tensor_utils.cc")]
    if tree.kernels == "cmsis-nn":
        files += list((r / "third_party/cmsis_nn/Source").rglob("*.c"))
    return sorted(set(files))


@functools.cache
def _registration_of(resolver_header: Path) -> dict[str, str]:
    """MicroMutableOpResolver method -> the Register_* function it installs by default (named in
    the default argument, or in the body for methods without one)."""
    text = resolver_header.read_text()
    found = {}
    for m in re.finditer(r"TfLiteStatus\s+(Add\w+)\s*\(([^{;]*)\{([^}]*)\}", text):
        if r := re.search(r"(Register_\w+)\s*\(", m.group(2)) or re.search(r"(Register_\w+)\s*\(", m.group(3)):
            found[m.group(1)] = r.group(1)
    return found


def kernel_sources(tree: TflmTree, resolver_methods: list[str]) -> list[Path]:
    """The kernel files defining what `resolver_methods` (e.g. ['AddFullyConnected']) register."""
    kernels_dir = tree.root / _MICRO / "kernels"
    registrations = _registration_of(tree.root / _MICRO / "micro_mutable_op_resolver.h")
    candidates = sorted(kernels_dir.glob("*.cc")) + sorted(kernels_dir.glob("cmsis_nn/*.cc"))
    texts = {p: p.read_text(errors="replace") for p in candidates}
    chosen: set[Path] = set()
    for method in resolver_methods:
        if method not in registrations:
            raise BoardError(f"{method} is not a MicroMutableOpResolver method in {tree.root}; this TFLite Micro "
                             f"tree is older than the bundle's op_resolver.h expects")
        pattern = re.compile(rf"TFLMRegistration\s+{registrations[method]}\s*\(\s*\)\s*\{{")
        defining = [p for p, t in texts.items() if pattern.search(t)]
        if not defining:
            raise BoardError(f"no kernel in {kernels_dir} defines {registrations[method]}() (needed by {method})")
        chosen.update(defining)
    # A kernel's shared definitions live in X_common.cc next to the X.h it includes (depthwise_conv
    # uses conv.h's tensor indices from conv_common.cc): follow those includes until nothing is added.
    todo, seen = list(chosen), set(chosen)
    while todo:
        path = todo.pop()
        for stem in {path.stem} | set(_KERNEL_INCLUDE.findall(path.read_text(errors="replace"))):
            header = kernels_dir / f"{stem}.h"
            common = kernels_dir / f"{stem.removesuffix('_common')}_common.cc"
            for found in (header, common):
                if found.exists() and found not in seen:
                    seen.add(found)
                    todo.append(found)
                    if found.suffix == ".cc":
                        chosen.add(found)
    return sorted(chosen)


def resolver_methods_of(op_resolver_h: Path) -> list[str]:
    """The Add* calls of a bundle's op_resolver.h."""
    return re.findall(r"resolver\.(Add\w+)\(\)", Path(op_resolver_h).read_text())
