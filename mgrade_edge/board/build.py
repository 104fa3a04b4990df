"""Compile C/C++ sources for a CPU with a content-addressed object cache, link, and size the ELF.

An object's cache key is the SHA-256 of: the compiler identity, every flag, the source's bytes and
the bytes of every header under each include directory. Whatever changes, the key changes, so the
cache never needs invalidating; a second build of the same sources only links. Objects are written
to a temporary name and renamed, so an interrupted build never leaves a broken object behind.
Cache root: $MGRADE_EDGE_CACHE, else $XDG_CACHE_HOME/mgrade-edge, else ~/.cache/mgrade-edge.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from ..cache import cache_root  # noqa: F401 - board modules import it from here
from .toolchain import BoardError, Toolchain

HEADER_SUFFIXES = (".h", ".hpp", ".hh", ".inc")
CXX_FLAGS = ("-std=c++17", "-O2", "-fno-rtti", "-fno-exceptions", "-fno-threadsafe-statics",
             "-ffunction-sections", "-fdata-sections")
C_FLAGS = ("-std=c11", "-O2", "-ffunction-sections", "-fdata-sections")


@dataclass(frozen=True)
class SourceSet:
    """Sources compiled with the same include directories and defines."""

    sources: tuple[Path, ...]
    include_dirs: tuple[Path, ...] = ()
    defines: tuple[str, ...] = ()  # "NAME" or "NAME=VALUE"
    extra_flags: tuple[str, ...] = ()


@dataclass
class BuildStats:
    compiled: int = 0
    cached: int = 0
    objects: list[Path] = field(default_factory=list)


@functools.cache
def headers_digest(directory: Path) -> str:
    """SHA-256 over every header (relative path + bytes) below `directory`; memoised per process
    (the trees are read-only snapshots; bundles are hashed again by each new process)."""
    h = hashlib.sha256()
    for path in sorted(p for p in Path(directory).rglob("*") if p.suffix in HEADER_SUFFIXES and p.is_file()):
        h.update(str(path.relative_to(directory)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def compile_command(tc: Toolchain, source: Path, group: SourceSet, output: Path) -> list[str]:
    is_c = source.suffix == ".c"
    return [tc.cc if is_c else tc.cxx, *tc.cpu.arch_flags, *(C_FLAGS if is_c else CXX_FLAGS),
            *group.extra_flags, *(f"-D{d}" for d in group.defines), *(f"-I{d}" for d in group.include_dirs),
            "-c", str(source), "-o", str(output)]


def object_key(tc: Toolchain, source: Path, group: SourceSet) -> str:
    """Content only: where the source and include directories live does not enter the key, so a
    bundle exported to another folder reuses its objects."""
    h = hashlib.sha256()
    flags = compile_command(tc, Path("SOURCE" + source.suffix), SourceSet((), (), group.defines, group.extra_flags),
                            Path("OUT"))[1:]
    h.update(tc.identity.encode() + b"\0" + "\0".join(flags).encode() + b"\0")
    h.update(Path(source).read_bytes())
    for d in group.include_dirs:  # order matters to the compiler, so it does here
        h.update(b"I" + headers_digest(Path(d).resolve()).encode())
    return h.hexdigest()


def _compile_one(tc: Toolchain, source: Path, group: SourceSet, obj: Path) -> None:
    obj.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".o", dir=obj.parent)
    os.close(fd)
    try:
        proc = subprocess.run(compile_command(tc, source, group, Path(tmp)), capture_output=True, text=True)
        if proc.returncode != 0:
            raise BoardError(f"compiling {source} for {tc.cpu.name} failed: {first_error(proc.stderr)}")
        os.replace(tmp, obj)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def first_error(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "undefined reference" in ln or "error:" in ln.lower() and "collect2" not in ln]
    return (errors or lines or ["(no compiler output)"])[0][:400]


def compile_sources(tc: Toolchain, groups: list[SourceSet], jobs: int | None = None) -> BuildStats:
    """Objects for every source of every group, from the cache or compiled in parallel."""
    stats, todo = BuildStats(), []
    root = cache_root() / "objects" / tc.cpu.name
    for group in groups:
        for source in group.sources:
            key = object_key(tc, Path(source), group)
            obj = root / key[:2] / f"{key}.o"
            stats.objects.append(obj)
            if obj.exists():
                stats.cached += 1
            else:
                todo.append((Path(source), group, obj))
    progress = BuildProgress(len(todo), tc.cpu.name, root)
    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        futures = [pool.submit(_compile_one, tc, s, g, o) for s, g, o in todo]
        for future in as_completed(futures):
            future.result()
            progress.one_done()
    stats.compiled = len(todo)
    return stats


class BuildProgress:
    """Objects built / total on stderr, for builds long enough to look stuck (a first TensorFlow Lite Micro
    build compiles ~70-190 objects for minutes); short builds (the c step's few objects) stay silent."""

    MIN_OBJECTS = 20

    def __init__(self, total: int, cpu: str, cache: Path):
        self.total, self.done, self.shown = total, 0, 0
        if total >= self.MIN_OBJECTS:
            print(f"board: compiling {total} objects for {cpu} (cached for later runs in {cache})",
                  file=sys.stderr, flush=True)

    def one_done(self) -> None:
        self.done += 1
        tenth = self.done * 10 // self.total
        if self.total >= self.MIN_OBJECTS and tenth > self.shown:
            self.shown = tenth
            print(f"board: {self.done}/{self.total} objects compiled", file=sys.stderr, flush=True)


def link_command(tc: Toolchain, objects: list[Path], libraries: list[Path], output: Path) -> list[str]:
    # C++ programs (TensorFlow Lite Micro) link with g++; a toolchain without a C++ library links C with gcc
    cmd = [tc.cxx if tc.cpu.cxx else tc.cc, *tc.cpu.arch_flags, *map(str, objects)]
    if tc.cpu.bare_metal:
        cmd[1:1] = tc.cpu.link_flags()
    cmd += ["-Wl,--gc-sections", "-Wl,--start-group", *map(str, libraries), "-Wl,--end-group", "-lm", "-o", str(output)]
    return cmd


def archive(tc: Toolchain, objects: list[Path], output: Path) -> Path:
    """A static library, so the linker takes only the objects the program references."""
    output.unlink(missing_ok=True)
    _run([tc.ar, "rcs", str(output), *map(str, objects)], f"archiving {output.name}")
    return output


def link(tc: Toolchain, objects: list[Path], libraries: list[Path], output: Path) -> Path:
    _run(link_command(tc, objects, libraries, output), f"linking {output.name} for {tc.cpu.name}",
         tc.cpu.linker_script)
    return output


_OVERFLOW = re.compile(r"region [`'](\w+)' overflowed by (\d+) bytes")


def _run(cmd: list[str], what: str, linker_script: str | None = None) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        overflow = _OVERFLOW.search(proc.stderr)
        if overflow:  # ld's own lines name sections, not the fix
            region, excess = overflow.group(1), int(overflow.group(2))
            code = region.lower() in ("code", "flash", "rom")
            raise BoardError(f"{what} failed: the program is {excess:,} bytes too large for the {region} region "
                             f"of {linker_script or 'the linker script'}; use a CPU whose machine has more "
                             f"{'code' if code else 'data'} memory (e.g. --cpu cortex-m4: 4 MB of each) or a smaller "
                             f"model{', or --weights int8' if code else ''}")
        raise BoardError(f"{what} failed: {first_error(proc.stderr)}")


@dataclass(frozen=True)
class ElfSizes:
    text: int  # code + read-only data (flash)
    data: int  # initialised data (flash and RAM)
    bss: int  # zeroed data (RAM)
    symbols: dict  # demangled symbol name -> size in bytes (data objects only)
    ram_symbols: dict = field(default_factory=dict)  # the same for .data/.bss objects (RAM) only

    @property
    def flash(self) -> int:
        return self.text + self.data

    @property
    def static_ram(self) -> int:
        return self.data + self.bss

    def symbol_size(self, suffix: str) -> int:
        """Size of the one symbol whose demangled name ends with `suffix` (e.g. '::g_arena')."""
        hits = [v for k, v in self.symbols.items() if k == suffix or k.endswith("::" + suffix)]
        if len(hits) != 1:
            raise BoardError(f"expected one symbol named {suffix} in the program, found {len(hits)}")
        return hits[0]


# Data symbols; on bare metal the linker scripts place .rodata (the model array) inside the flash
# output section that also holds code, so nm types it t/T there rather than r/R.
_NM = re.compile(r"^[0-9a-fA-F]+\s+([0-9a-fA-F]+)\s+([bBdDrRtTvV])\s+(.+)$")


def measure_elf(tc: Toolchain, elf: Path) -> ElfSizes:
    """Berkeley sizes (`size`) and the sizes of data symbols (`nm -S -C`)."""
    out = subprocess.run([tc.size, str(elf)], capture_output=True, text=True, check=True).stdout.splitlines()
    text, data, bss = (int(v) for v in out[1].split()[:3])
    symbols, ram_symbols = {}, {}
    for line in subprocess.run([tc.nm, "-S", "-C", str(elf)], capture_output=True, text=True,
                               check=True).stdout.splitlines():
        if m := _NM.match(line.strip()):
            symbols[m.group(3)] = int(m.group(1), 16)
            if m.group(2) in "bBdD":
                ram_symbols[m.group(3)] = int(m.group(1), 16)
    return ElfSizes(text, data, bss, symbols, ram_symbols)
