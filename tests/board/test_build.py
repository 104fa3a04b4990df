"""Content-addressed object cache, toolchain errors, ELF sizes, and a generic program on the host."""

from pathlib import Path

import pytest

from mgrade_edge.board import build
from mgrade_edge.board.build import SourceSet, compile_sources, object_key
from mgrade_edge.board.program import ProgramSpec, build_program
from mgrade_edge.board.run import run_program
from mgrade_edge.board.toolchain import APT_PACKAGES, BoardError, find_toolchain
from mgrade_edge.errors import UserError


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MGRADE_EDGE_CACHE", str(tmp_path / "cache"))
    build.headers_digest.cache_clear()
    return tmp_path / "cache"


def test_cache_key_follows_content_not_location(tmp_path, cache):
    tc = find_toolchain("host")
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        d.mkdir()
        (d / "x.c").write_text('#include "x.h"\nint f(void) { return X; }\n')
        (d / "x.h").write_text("#define X 1\n")
    key = object_key(tc, a / "x.c", SourceSet((), (a,)))
    assert key == object_key(tc, b / "x.c", SourceSet((), (b,)))  # same bytes elsewhere: same object
    assert key != object_key(tc, a / "x.c", SourceSet((), (a,), ("X=2",)))
    (b / "x.h").write_text("#define X 2\n")
    build.headers_digest.cache_clear()
    assert key != object_key(tc, b / "x.c", SourceSet((), (b,)))  # a header changed


def test_second_build_takes_every_object_from_the_cache(tmp_path, cache):
    src = tmp_path / "main.c"
    src.write_text('#include <stdio.h>\nint table[10] = {1};\n'
                   'int main(int c, char** v) { printf("args %d\\n", c + table[c]); return c == 2 ? 7 : 0; }\n')
    spec = ProgramSpec((SourceSet((src,)),), name="hello")
    first = build_program("host", spec, tmp_path / "b1")
    second = build_program("host", spec, tmp_path / "b2")
    assert (first.stats.compiled, second.stats.compiled, second.stats.cached) == (1, 0, 1)
    result = run_program(second.toolchain, second.elf, ("x",))
    assert result.exit_code == 7 and result.stdout == "args 2\n"
    sizes = build.measure_elf(second.toolchain, second.elf)
    assert sizes.flash > 40 and sizes.symbol_size("table") == 40


def test_compile_error_is_one_line_naming_the_file(tmp_path, cache):
    bad = tmp_path / "bad.c"
    bad.write_text("int f(void) { return undeclared; }\n")
    with pytest.raises(BoardError, match=r"compiling .*bad.c for host failed: .*undeclared"):
        compile_sources(find_toolchain("host"), [SourceSet((bad,))])
    assert not list(Path(cache).rglob("*.o"))  # nothing half-written


def test_missing_arm_toolchain_names_the_packages(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH
    with pytest.raises(UserError) as err:
        find_toolchain("cortex-m4")
    assert str(err.value).startswith("arm-none-eabi-gcc not found on PATH") and APT_PACKAGES in str(err.value)
    with pytest.raises(BoardError, match="--cpu .cortex-a53. is not one of host, cortex-m0plus, cortex-m3, cortex-m4, "
                                         "cortex-m7, cortex-m33, cortex-m55, riscv32"):
        find_toolchain("cortex-a53")
