"""The one manifest reader: real bundles of each board target, mutated field by field, are refused with
one line naming the field (never a traceback), paths that leave the bundle are refused, and board-test
and export --force check every file's sha256 against the manifest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mgrade_edge.errors import ArtifactError
from mgrade_edge.manifest import (
    FIELDS,
    MANIFEST,
    SCHEMA_VERSION,
    changed_files,
    read_manifest,
    verify_files,
    write_manifest,
)
from mgrade_edge.targets import TARGETS
from tests.artifacts import build_c_bundle
from tests.helpers import run_main

# Values of the wrong kind for each fact kind (mgrade_edge.manifest.FACT_KINDS).
BAD_VALUES = {"str": (None, 12, ["x"]), "identifier": (None, 12, "9lives", "a-b"), "path": (None, 12, "", ["x"]),
              "paths": (None, 12, "x", [], [3]), "dict": (None, 12, "x"), "int": (None, "12", True),
              "list": (None, 12, "x")}
BUNDLE_KINDS = {"c": ("c", "int8"), "tflm-fused": ("tflm-fused", "int8"), "tflm": ("tflm", "int8")}


@pytest.fixture(scope="session")
def real_bundles(tmp_path_factory):
    """One exported bundle of the tiny config per board target kind (c, tflm-fused, tflm), built once."""
    root = tmp_path_factory.mktemp("manifest-bundles")
    built = {}

    def get(kind: str) -> Path:
        if kind not in built:
            family, precision = BUNDLE_KINDS[kind]
            built[kind] = build_c_bundle(root / kind, "tiny", precision, family=family)
        return built[kind]

    return get


@pytest.fixture(params=list(BUNDLE_KINDS))
def bundle(request, real_bundles, tmp_path) -> Path:
    """A private copy of a real bundle, free to mutate."""
    copy = tmp_path / "bundle"
    shutil.copytree(real_bundles(request.param), copy, symlinks=True)
    return copy


def edit(bundle: Path, change) -> None:
    path = bundle / MANIFEST
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def refused(bundle: Path, fragment: str) -> str:
    with pytest.raises(ArtifactError) as info:
        read_manifest(bundle)
    message = str(info.value)
    assert fragment in message and "\n" not in message, message
    return message


def test_a_real_bundle_reads_and_verifies(bundle):
    manifest = read_manifest(bundle)
    assert manifest["schema_version"] == SCHEMA_VERSION
    assert TARGETS[manifest["target"]].board in ("c", "tflm")
    assert verify_files(bundle, manifest).name == manifest["model_file"]
    assert changed_files(bundle, manifest) == []


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_each_missing_or_mistyped_field_is_named(bundle, field):
    edit(bundle, lambda m: m.pop(field))
    refused(bundle, repr(field) if field != "tool" else "not written by mgrade-edge")
    edit(bundle, lambda m: m.__setitem__(field, 7 if field != "model_bytes" else "7"))
    refused(bundle, "not written by mgrade-edge" if field == "tool" else repr(field))


def test_each_target_fact_is_checked(bundle):
    target = TARGETS[read_manifest(bundle)["target"]]
    assert target.facts, f"{target.name} declares no facts"
    original = (bundle / MANIFEST).read_text()
    for key, fields in target.facts.items():
        for name, kind in fields.items():
            for bad in BAD_VALUES[kind]:
                (bundle / MANIFEST).write_text(original)
                edit(bundle, lambda m, key=key, name=name, bad=bad: m["details"][key].__setitem__(name, bad))
                refused(bundle, f"details.{key}.{name}")
        (bundle / MANIFEST).write_text(original)
        edit(bundle, lambda m, key=key: m["details"].pop(key))
        refused(bundle, f"details.{key}")


@pytest.mark.parametrize("escape", ["../outside.c", "/etc/passwd", "sub/../../outside.c"])
def test_a_source_path_that_leaves_the_bundle_is_refused(bundle, escape):
    target = TARGETS[read_manifest(bundle)["target"]]
    key, name = next((k, n) for k, fields in target.facts.items() for n, kind in fields.items() if kind == "paths")
    edit(bundle, lambda m: m["details"][key].__setitem__(name, [escape]))
    refused(bundle, "leaves the bundle directory")


def test_a_symlink_out_of_the_bundle_is_refused(bundle, tmp_path):
    outside = tmp_path / "elsewhere.c"
    outside.write_text("int main(void) { return 0; }\n")
    (bundle / "link.c").symlink_to(outside)
    target = TARGETS[read_manifest(bundle)["target"]]
    key, name = next((k, n) for k, fields in target.facts.items() for n, kind in fields.items() if kind == "paths")
    edit(bundle, lambda m: m["details"][key].__setitem__(name, ["link.c"]))
    refused(bundle, "leaves the bundle directory")


def test_a_c_prefix_must_be_an_identifier(real_bundles, tmp_path):
    bundle = tmp_path / "b"
    shutil.copytree(real_bundles("c"), bundle)
    edit(bundle, lambda m: m["details"]["c"].__setitem__("prefix", "x%s{0}"))
    refused(bundle, "details.c.prefix must be a identifier")


def test_whole_file_problems(real_bundles, tmp_path):
    bundle = tmp_path / "b"
    shutil.copytree(real_bundles("c"), bundle)
    good = (bundle / MANIFEST).read_text()
    (bundle / MANIFEST).write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    refused(bundle, "not UTF-8")
    (bundle / MANIFEST).write_text("[1, 2]")
    refused(bundle, "JSON list, not an object")
    (bundle / MANIFEST).write_text(good[:40])
    refused(bundle, "not valid JSON")
    (bundle / MANIFEST).write_text(good)
    edit(bundle, lambda m: m.__setitem__("schema_version", SCHEMA_VERSION + 1))
    refused(bundle, "newer than this mgrade-edge reads")
    (bundle / MANIFEST).write_text(good)
    edit(bundle, lambda m: m.__setitem__("target", "tflm-int4"))
    refused(bundle, "unknown target 'tflm-int4'")
    (bundle / MANIFEST).write_text(good)
    edit(bundle, lambda m: m.pop("schema_version"))  # written before the field existed: read as schema 1
    assert read_manifest(bundle)["target"] == "c-int8"


def test_write_manifest_records_the_schema_and_every_file(tmp_path):
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("b")
    write_manifest(tmp_path, {"tool": "mgrade-edge"})
    written = json.loads((tmp_path / MANIFEST).read_text())
    assert written["schema_version"] == SCHEMA_VERSION and set(written["files"]) == {"a.txt", "sub/b.txt"}
    (tmp_path / "sub" / "b.txt").write_text("edited")
    assert changed_files(tmp_path, written) == ["sub/b.txt"]


# ---- through the CLI: one line, exit 2, nothing built --------------------------------------------

def test_board_test_refuses_a_broken_manifest_with_one_line(bundle, capsys, monkeypatch):
    edit(bundle, lambda m: m["details"].clear())
    code, out, err = run_main(["board-test", bundle], capsys, monkeypatch)
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and "details." in err, err


def test_board_test_refuses_an_edited_file_unless_allowed(real_bundles, tmp_path, capsys, monkeypatch):
    bundle = tmp_path / "c"
    shutil.copytree(real_bundles("c"), bundle)
    with open(bundle / "main.c", "a") as f:
        f.write("/* edited */\n")
    code, _, err = run_main(["board-test", bundle], capsys, monkeypatch)
    assert code == 2 and "main.c differs from the sha256" in err and "--allow-modified" in err, err
    code, out, _ = run_main(["board-test", bundle, "--allow-modified"], capsys, monkeypatch)
    assert code == 0 and "modified after export  main.c" in out, out


def test_board_test_takes_a_relative_path(real_bundles, tmp_path, capsys, monkeypatch):
    shutil.copytree(real_bundles("c"), tmp_path / "cb")
    monkeypatch.chdir(tmp_path)
    code, out, err = run_main(["board-test", "cb", "--json"], capsys, monkeypatch)
    assert code == 0 and json.loads(out)["passed"], err


def test_board_test_refuses_a_non_bundle_artifact(tflite_artifact, tmp_path, capsys, monkeypatch):
    directory, _, _ = tflite_artifact("tflite-int8", "tiny", "external")
    code, _, err = run_main(["board-test", directory], capsys, monkeypatch)
    assert code == 2 and "board-test builds c, tflm and tflm-fused bundles" in err, err


def test_force_refuses_to_replace_an_edited_export(real_bundles, tmp_path, capsys, monkeypatch):
    from mgrade_edge.checkpoint import save_checkpoint
    from tests.helpers import make_model

    ckpt = tmp_path / "tiny.pt"
    save_checkpoint(ckpt, make_model("tiny"), {})
    out = tmp_path / "out"
    assert run_main(["export", ckpt, "--target", "c", "--quant", "float32", "--out", out, "--no-validate"],
                    capsys, monkeypatch)[0] == 0
    readme = out / "README.md"
    readme.write_text(readme.read_text() + "my notes\n")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    code, _, err = run_main(["export", ckpt, "--target", "c", "--quant", "float32", "--out", out, "--force",
                             "--no-validate"], capsys, monkeypatch)
    assert code == 2 and "README.md differs from the sha256" in err, err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before  # nothing touched
