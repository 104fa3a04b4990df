"""Malformed and hostile checkpoint files through the real `import` command: one line, exit 2, nothing written.

The hostile files are built here from the A_small tree (or from scratch), so each test names exactly
one thing that is wrong with its file.
"""

from __future__ import annotations

import msgpack
import numpy as np
import pytest

from mgrade_edge.errors import CheckpointError
from mgrade_edge.importers.flax import read_param_tree
from tests.importers.fixtures import fixture_dir, orbax_file, run_main


def array_ext(arr: np.ndarray, shape=None, dtype=None, data=None) -> msgpack.ExtType:
    payload = [list(arr.shape) if shape is None else shape, dtype or arr.dtype.name,
               arr.astype("<" + arr.dtype.str[1:]).tobytes() if data is None else data]
    return msgpack.ExtType(1, msgpack.packb(payload))


def packed_tree(tree: dict, **top) -> bytes:
    params: dict = {}
    for key, value in tree.items():
        node = params
        *parents, leaf = key.split("/")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value if isinstance(value, (msgpack.ExtType, str, int)) else array_ext(value)
    return msgpack.packb({"params": params, "step": 0, **top})


@pytest.fixture(scope="module")
def tree():
    return read_param_tree(orbax_file("A_small"))


def hostile_files(tree) -> dict[str, tuple[bytes, str]]:
    raw = orbax_file("A_small").read_bytes()
    kernel = tree["Encoder/kernel"]
    nested_ext = msgpack.ExtType(1, msgpack.packb([[1, 16], "float32", msgpack.ExtType(1, b"\x00")]))
    huge_array_header = b"\x81\xa6params\xdd\xff\xff\xff\xff"  # {"params": array of 2^32-1 items}, no items
    huge_bin = b"\x81\xa6params\xc6\x7f\xff\xff\xff"  # a bin claiming 2 GB
    return {
        "empty": (b"", "empty"),
        "not msgpack": (b"\xc1" * 64, "not a valid msgpack"),
        "truncated": (raw[: len(raw) // 2], "truncated"),
        "trailing bytes": (raw + b"\x00", "trailing bytes"),
        "a list, not a mapping": (msgpack.packb([1, 2, 3]), "not a mapping"),
        "no params": (msgpack.packb({"target": {}}), "no `params` entry"),
        "wrong payload size": (packed_tree({**tree, "Encoder/kernel": array_ext(kernel, shape=[1, 17])}),
                               "declares shape [1, 17] float32 (68 bytes) but holds 64 bytes"),
        "huge declared shape": (packed_tree({**tree, "Encoder/kernel": array_ext(kernel, shape=[2 ** 39, 2 ** 39])}),
                                "(1208925819614629174706176 bytes) but holds 64 bytes"),
        "absurd dimension": (packed_tree({**tree, "Encoder/kernel": array_ext(kernel, shape=[2 ** 41])}),
                             "want a list of at most 8 non-negative integers"),
        "negative shape": (packed_tree({**tree, "Encoder/kernel": array_ext(kernel, shape=[-1, 16])}),
                           "declares the shape [-1, 16]"),
        "huge array header": (huge_array_header, "larger than the whole file"),
        "huge bin header": (huge_bin, "truncated"),
        "unknown ext code": (packed_tree({**tree, "Encoder/kernel": msgpack.ExtType(42, b"\x90")}),
                             "extension type 42"),
        "ext nested in an array payload": (packed_tree({**tree, "Encoder/kernel": nested_ext}),
                                           "carries a ExtType instead of raw bytes"),
        "ext payload not msgpack": (packed_tree({**tree, "Encoder/kernel": msgpack.ExtType(1, b"\xc1")}),
                                    "corrupt array payload"),
        "object dtype": (packed_tree({**tree, "Encoder/kernel": array_ext(kernel, dtype="object")}),
                         "dtype 'object'"),
        "placeholder leaf": (packed_tree({**tree, "Encoder/kernel": "PLACEHOLDER://Encoder.kernel"}),
                             "tensorstore placeholder"),
        "integer leaf": (packed_tree({**tree, "Encoder/kernel": 3}), "is a int, not an array"),
        "non-string key": (msgpack.packb({"params": {1: {}}}), "has the key 1"),
        "deep nesting": (msgpack.packb({"params": _deep(40)}), "nested deeper than 16"),
        "extra module": (packed_tree({**tree, "GLU_0/kernel": kernel}), "cannot import block(s) GLU_0"),
        "missing parameter": (packed_tree({k: v for k, v in tree.items() if k != "MLP_0/Dense_1/bias"}),
                              "lacks parameter MLP_0/Dense_1/bias"),
        "wrong shape": (packed_tree({**tree, "Dense_Out/kernel": np.zeros((16, 11), np.float32)}),
                        "n_classes=10 but the checkpoint's weights give 11"),
        "NaN weight": (packed_tree({**tree, "MLP_0/Dense_0/bias": np.full(32, np.nan, np.float32)}),
                       "not finite"),
        "zero tap width": (packed_tree({**tree, "DCLSLayer_0/std": np.zeros((4, 16), np.float32)}),
                           "width <= 0"),
    }


def _deep(n: int):
    node: dict = {"leaf": 1}
    for _ in range(n):
        node = {"k": node}
    return node


def test_every_hostile_file_gets_one_line_exit_2_and_nothing_written(tree, tmp_path, capsys, monkeypatch):
    config = fixture_dir("A_small") / "config.json"
    cases = hostile_files(tree)
    for name, (data, message) in cases.items():
        src = tmp_path / f"{name.replace(' ', '_')}.msgpack"
        src.write_bytes(data)
        out = tmp_path / f"{src.stem}.pt"
        code, stdout, stderr = run_main(["import", src, "--config", config, "--out", out], capsys, monkeypatch)
        lines = stderr.strip().splitlines()
        assert code == 2, f"{name}: exit {code}, {stderr}"
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], f"{name}: {stderr}"
        assert not out.exists() and not list(tmp_path.glob(f".{out.name}.*")), f"{name}: output written"
    assert len(cases) == 25


def test_the_hook_never_decodes_the_optimiser_state(tmp_path, tree):
    """opt_state may hold anything (here an unknown extension type): it is skipped, not decoded."""
    src = tmp_path / "with_opt_state"
    src.write_bytes(packed_tree(tree, opt_state={"x": msgpack.ExtType(99, b"junk")}))
    assert read_param_tree(src).keys() == tree.keys()


def test_directories_resolve_to_the_one_checkpoint_or_are_refused(tmp_path):
    assert read_param_tree(fixture_dir("A_small") / "orbax").keys()  # run dir -> checkpoint_0/checkpoint
    (tmp_path / "checkpoint_1").mkdir()
    (tmp_path / "checkpoint_2").mkdir()
    with pytest.raises(CheckpointError, match="holds 2 checkpoints"):
        read_param_tree(tmp_path)
    (tmp_path / "checkpoint_2" / "manifest.ocdbt").write_bytes(b"")
    with pytest.raises(CheckpointError, match="OCDBT"):
        read_param_tree(tmp_path / "checkpoint_2")
