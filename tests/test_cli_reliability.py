"""Issue 15 through the real entry point: nobody's files are deleted, the process never dies, and every
bad input is one line on stderr with exit code 2 (1 for validation outside tolerance), nothing left on disk."""

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mgrade_edge.cli import main
from mgrade_edge.config import MGRADEConfig
from tests.helpers import NAMED_CONFIGS, run_main, save_tiny_digits_checkpoint


def assert_one_line(code, out, err, fragment, expected_code=2):
    lines = err.strip().splitlines()
    assert code == expected_code, f"exit {code}: {err}"
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert fragment in lines[0], lines[0]
    assert "Traceback" not in out + err


@pytest.fixture
def ckpt(tmp_path):
    return save_tiny_digits_checkpoint(tmp_path / "model.pt")


def exported_tiny_checkpoint(tmp_path_factory, target: str) -> tuple[Path, Path]:
    """(checkpoint, artifact directory): one `target` export of the tiny checkpoint, shared by a
    module's tests, which copy it before tampering."""
    from mgrade_edge.pipeline import export_checkpoint

    root = tmp_path_factory.mktemp(target)
    ckpt = save_tiny_digits_checkpoint(root / "model.pt")
    export_checkpoint(ckpt, target, root / "art", validate=False)
    return ckpt, root / "art"


@pytest.fixture(scope="module")
def onnx_artifact(tmp_path_factory):
    return exported_tiny_checkpoint(tmp_path_factory, "onnx")


def snapshot(directory: Path) -> dict:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


# ---- 1. --force replaces only our own artifacts ------------------------------------------------

def test_force_never_replaces_user_directories(ckpt, tmp_path, capsys, monkeypatch):
    (tmp_path / "notes.txt").write_text("mine")
    user = tmp_path / "user"
    user.mkdir()
    (user / "data.csv").write_text("1,2")
    work = tmp_path / "work"
    work.mkdir()
    (work / "w.txt").write_text("cwd file")
    monkeypatch.chdir(work)
    cases = {
        str(tmp_path): "is the directory of model.pt",
        str(work): "is the working directory",
        ".": "is the working directory",
        "..": "is the directory of model.pt",
        "/": "is the root directory",
        "": "is the working directory",  # click reads '' as the path '.'
        "./": "is the working directory",
        str(user): "--force replaces only an artifact directory mgrade-edge wrote",
    }
    before_tmp, before_work = snapshot(tmp_path), snapshot(work)
    for out, fragment in cases.items():
        code, o, e = run_main(["export", ckpt, "--target", "onnx", "--out", out, "--force", "--no-validate"],
                              capsys, monkeypatch)
        assert_one_line(code, o, e, fragment)
    assert snapshot(tmp_path) == before_tmp and snapshot(work) == before_work


def test_force_replaces_our_artifact_but_not_one_with_a_foreign_file(ckpt, tmp_path, capsys, monkeypatch):
    out = tmp_path / "art"
    args = ["export", ckpt, "--target", "onnx", "--out", out, "--no-validate"]
    assert run_main(args, capsys, monkeypatch)[0] == 0
    assert oct(out.stat().st_mode & 0o777) == oct(0o777 & ~_umask())  # not mkdtemp's 0700
    assert run_main(args + ["--force"], capsys, monkeypatch)[0] == 0
    (out / "notes.txt").write_text("added by the user")
    code, o, e = run_main(args + ["--force"], capsys, monkeypatch)
    assert_one_line(code, o, e, "holds file(s) mgrade-edge did not write (notes.txt)")
    assert (out / "notes.txt").read_text() == "added by the user"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["art", "model.pt"]


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ---- 2. the final move never replaces what appeared during the export ---------------------------

def _hook_after_export(monkeypatch, action):
    """Run `action` after the exporter wrote its files, before the artifact is moved into place."""
    import mgrade_edge.pipeline as pipeline

    real = pipeline.resolve_exporter

    def resolve(target):
        exporter = real(target)

        def wrapped(step, opts, tmp):
            result = exporter(step, opts, tmp)
            action()
            return result
        return wrapped
    monkeypatch.setattr(pipeline, "resolve_exporter", resolve)


@pytest.mark.parametrize("content", ["user file", None])
def test_directory_appearing_during_export_is_kept(ckpt, tmp_path, capsys, monkeypatch, content):
    out = tmp_path / "art"

    def create():
        out.mkdir()
        if content:
            (out / "mine.txt").write_text(content)
    _hook_after_export(monkeypatch, create)
    code, o, e = run_main(["export", ckpt, "--target", "onnx", "--out", out, "--no-validate"], capsys, monkeypatch)
    assert_one_line(code, o, e, "appeared or changed while exporting")
    assert [p.name for p in out.iterdir()] == (["mine.txt"] if content else [])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["art", "model.pt"]


@pytest.mark.parametrize("force", [False, True])
def test_concurrent_exports_one_wins_the_other_exits_2(ckpt, tmp_path, capsys, monkeypatch, force):
    out = tmp_path / "art"
    other = save_tiny_digits_checkpoint(tmp_path / "other.pt", seed=1)
    flag = ["--force"] if force else []
    if force:  # both replace an existing artifact of ours
        args = ["export", ckpt, "--target", "onnx", "--out", out, "--no-validate"]
        assert run_main(args, capsys, monkeypatch)[0] == 0
    state = {"nested": False}

    def competitor():
        if state["nested"]:
            return
        state["nested"] = True
        with pytest.raises(SystemExit) as info:  # the competitor finishes first
            monkeypatch.setattr(sys, "argv", ["mgrade-edge", "export", str(other), "--target", "onnx", "--out",
                                              str(out), "--no-validate", *flag])
            main()
        assert info.value.code == 0
    _hook_after_export(monkeypatch, competitor)
    code, o, e = run_main(["export", ckpt, "--target", "onnx", "--out", out, "--no-validate", *flag], capsys,
                          monkeypatch)
    assert_one_line(code, o, e, "appeared or changed while exporting")
    assert json.loads((out / "manifest.json").read_text())["source_checkpoint"]["file"] == "other.pt"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["art", "model.pt", "other.pt"]


# ---- 3 and 7. tampered or malformed artifacts -------------------------------------------------

def _edit_manifest(directory, edit):
    path = directory / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest = edit(manifest)
    path.write_text(json.dumps(manifest))


def _flip_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


TAMPER = {
    "manifest_empty_object": (lambda d: (d / "manifest.json").write_text("{}"), "not written by mgrade-edge"),
    "manifest_list": (lambda d: (d / "manifest.json").write_text("[]"), "holds a JSON list, not an object"),
    "manifest_number": (lambda d: (d / "manifest.json").write_text("3"), "holds a JSON int, not an object"),
    "no_tensors": (lambda d: _edit_manifest(d, lambda m: {k: v for k, v in m.items() if k != "tensors"}),
                   "'tensors' must be a JSON array, found nothing"),
    "missing_model": (lambda d: (d / "model.onnx").unlink(), "is missing"),
    "truncated_model": (lambda d: os.truncate(d / "model.onnx", 100), "truncated or replaced"),
    "swapped_model_same_size": (lambda d: _flip_byte(d / "model.onnx"), "does not match the sha256"),
    "model_file_outside": (lambda d: _edit_manifest(d, lambda m: {**m, "model_file": "../x/model.onnx"}),
                           "not a plain file name"),
    "target_edited": (lambda d: _edit_manifest(d, lambda m: {**m, "target": "tflite"}), "the manifest was edited"),
    "unknown_target": (lambda d: _edit_manifest(d, lambda m: {**m, "target": "coreml"}), "unknown target"),
}


def test_tampered_artifacts_are_refused(onnx_artifact, tmp_path, capsys, monkeypatch):
    ckpt, art = onnx_artifact
    for name, (tamper, fragment) in TAMPER.items():
        directory = tmp_path / name
        shutil.copytree(art, directory)
        tamper(directory)
        code, o, e = run_main(["validate", ckpt, directory, "--steps", "50"], capsys, monkeypatch)
        assert_one_line(code, o, e, fragment)


def test_validate_outside_tolerance_exits_1(onnx_artifact, capsys, monkeypatch):
    ckpt, art = onnx_artifact
    import mgrade_edge.validate as validate

    monkeypatch.setattr(validate, "step_tolerance", lambda manifest: 0.0)  # float ONNX differs by ~1e-7
    real_data = validate.require_task_data

    def few_sequences(ckpt, purpose, fix):  # 8 of the 450 test sequences keep the test fast
        import dataclasses

        data = real_data(ckpt, purpose, fix)
        return dataclasses.replace(data, test_x=data.test_x[:8], test_y=data.test_y[:8])
    monkeypatch.setattr(validate, "require_task_data", few_sequences)
    monkeypatch.setattr(sys, "argv", ["mgrade-edge", "validate", str(ckpt), str(art), "--steps", "50"])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 1
    assert "OUTSIDE TOLERANCE" in capsys.readouterr().out


@pytest.fixture(scope="module")
def float_tflite_checkpoint_artifact(tmp_path_factory):
    # not conftest's tflite_artifact: these tests need the checkpoint file it was exported from
    return exported_tiny_checkpoint(tmp_path_factory, "tflite")


def _mutate_tflite(directory, how):
    """An out-of-range tensor index or a truncated constant buffer, with the manifest's hashes updated to
    match (a lying manifest: the structural check, not the hash, must catch it)."""
    import flatbuffers
    from tensorflow.lite.python import schema_py_generated as fb

    from mgrade_edge.export.artifact import sha256_file

    path = directory / "model.tflite"
    model = fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(path.read_bytes(), 0))
    graph = model.subgraphs[0]
    if how == "index":
        inputs = list(graph.operators[0].inputs)
        inputs[0] = 100_000
        graph.operators[0].inputs = inputs
    else:
        tensor = max((t for t in graph.tensors if model.buffers[t.buffer].data is not None),
                     key=lambda t: len(model.buffers[t.buffer].data))
        model.buffers[tensor.buffer].data = model.buffers[tensor.buffer].data[:4]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path.write_bytes(bytes(builder.Output()))
    digest = sha256_file(path)
    _edit_manifest(directory, lambda m: {**m, "model_sha256": digest, "model_bytes": path.stat().st_size,
                                         "files": {**m["files"], "model.tflite": digest}})


@pytest.mark.parametrize("how, fragment", [("index", "names tensor 100000"), ("truncate", "its buffer holds 4")])
@pytest.mark.parametrize("engine", ["tflm", "litert"])
def test_damaged_tflite_is_one_line_not_a_crash(float_tflite_checkpoint_artifact, tmp_path, capsys, monkeypatch, how,
                                                fragment, engine):
    ckpt, art = float_tflite_checkpoint_artifact
    directory = tmp_path / "art"
    shutil.copytree(art, directory)
    _mutate_tflite(directory, how)
    code, o, e = run_main(["validate", ckpt, directory, "--steps", "50", "--engine", engine], capsys, monkeypatch)
    assert_one_line(code, o, e, fragment)


# ---- 4, 9, 10, 11. calibration data and export options -----------------------------------------

def test_bad_calibration_data_is_refused_before_the_converter(ckpt, tmp_path, capsys, monkeypatch):
    files = {
        "huge": (np.full((4, 64, 1), 1e20, np.float32), "outside the supported range"),
        "f64_overflow": (np.full((2, 64, 1), 1e300, np.float64), "outside the supported range"),
        "all_zero": (np.zeros((4, 64, 1), np.float32), "is constant"),
        "single_sample": (np.full((1, 1, 1), 0.3, np.float32), "holds only 1 step(s)"),
    }
    for name, (array, fragment) in files.items():
        path = tmp_path / f"{name}.npy"
        np.save(path, array)
        with _no_warnings():
            code, o, e = run_main(["export", ckpt, "--target", "tflite-int8", "--calib", path, "--out",
                                   tmp_path / "out", "--no-validate"], capsys, monkeypatch)
        assert_one_line(code, o, e, fragment)
    np.savez(tmp_path / "archive.npz", a=np.zeros((2, 8, 1)))
    os.rename(tmp_path / "archive.npz", tmp_path / "archive.npy")
    code, o, e = run_main(["export", ckpt, "--target", "onnx-int8", "--calib", tmp_path / "archive.npy", "--out",
                           tmp_path / "out"], capsys, monkeypatch)
    assert_one_line(code, o, e, "is a .npz archive")
    code, o, e = run_main(["export", ckpt, "--target", "onnx", "--calib", tmp_path / "all_zero.npy", "--out",
                           tmp_path / "out"], capsys, monkeypatch)
    assert_one_line(code, o, e, "--calib is used by quantised targets only")
    assert not any(p.name.startswith((".out", "out")) for p in tmp_path.iterdir())


class _no_warnings:
    def __enter__(self):
        import warnings

        self.ctx = warnings.catch_warnings()
        self.ctx.__enter__()
        warnings.simplefilter("error")  # a RuntimeWarning (float32 overflow) would fail the test

    def __exit__(self, *exc):
        return self.ctx.__exit__(*exc)


def test_output_paths_refused_before_any_work(ckpt, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.symlink(tmp_path / "nowhere" / "x", tmp_path / "dangling")
    cases = {"x" * 300: "too long for the file system", "dangling": "is a symbolic link",
             str(tmp_path / "a" / "b"): "does not exist"}
    if Path("/proc/self").exists():
        cases["/proc/mgrade_out"] = "cannot write into /proc"
        cases["/sys/mgrade_out"] = "cannot write into /sys"
    for out, fragment in cases.items():
        code, o, e = run_main(["export", ckpt, "--target", "onnx", "--out", out, "--no-validate"], capsys, monkeypatch)
        assert_one_line(code, o, e, fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dangling", "model.pt"]


# ---- 5, 7. checkpoints that would exhaust memory or crash loading --------------------------------

def _save_payload(path, cfg=None, state_dict=None, metadata=None):
    from mgrade_edge.model import MGRADE

    cfg = cfg or NAMED_CONFIGS["tiny"].replace(n_classes=10)
    torch.manual_seed(0)
    sd = MGRADE(cfg).state_dict() if state_dict is None and isinstance(cfg, MGRADEConfig) else state_dict
    torch.save({"format": "mgrade-edge-checkpoint", "format_version": 1,
                "config": cfg.to_dict() if isinstance(cfg, MGRADEConfig) else cfg, "state_dict": sd,
                "metadata": {"task": "digits", "seed": 0} if metadata is None else metadata}, path)
    return path


def test_hostile_checkpoints(tmp_path, capsys, monkeypatch):
    from mgrade_edge.model import MGRADE

    tiny = NAMED_CONFIGS["tiny"].replace(n_classes=10)
    torch.manual_seed(0)
    sd = MGRADE(tiny).state_dict()
    key = "encoder.weight"
    huge = tiny.replace(d_model=4096, n_layers=64, mlp_ratio=64).to_dict()
    big = tiny.replace(d_model=1024, n_layers=16, mlp_ratio=8).to_dict()  # ~150 M parameters
    cases = {
        "huge": (_save_payload(tmp_path / "huge.pt", cfg=huge, state_dict={}), "more than the 16,000,000 supported"),
        "big": (_save_payload(tmp_path / "big.pt", cfg=big, state_dict={}), "more than the 16,000,000 supported"),
        "long_window": (_save_payload(tmp_path / "win.pt", cfg=tiny.replace(kernel_size=65_536, d_model=512,
                                                                            n_layers=1).to_dict(), state_dict={}),
                        "state values"),
        "sparse": (_save_payload(tmp_path / "sparse.pt", state_dict={**sd, key: sd[key].to_sparse()}), "sparse_coo"),
        "meta": (_save_payload(tmp_path / "meta.pt", state_dict={**sd, key: torch.empty(sd[key].shape, device="meta")}),
                 "meta tensor"),
    }
    for path, fragment in cases.values():
        code, o, e = run_main(["info", path], capsys, monkeypatch)
        assert_one_line(code, o, e, fragment)
    for seed in ("abc", -1, 1.5, 2**70):
        path = _save_payload(tmp_path / "seed.pt", metadata={"task": "digits", "seed": seed})
        code, o, e = run_main(["export", path, "--target", "onnx-int8", "--out", tmp_path / "o", "--no-validate"],
                              capsys, monkeypatch)
        assert_one_line(code, o, e, "is not an integer in [0, 2**32-1]")
    assert not (tmp_path / "o").exists()


def test_info_prints_any_metadata(tmp_path, capsys, monkeypatch):
    values = {"bytes": b"\x00ab", "complex": 1 + 2j, "set": {2, 1}, "tensor": torch.ones(2), "int_keys": {1: "a"},
              "control": "a\x1b[31mRED\x07\r\nb"}
    path = _save_payload(tmp_path / "meta.pt", metadata={"task": "digits", "seed": 0, **values})
    code, out, err = run_main(["info", path, "--json"], capsys, monkeypatch)
    assert code == 0 and not err
    meta = json.loads(out)["metadata"]
    assert meta["bytes"] == "006162" and meta["complex"] == "(1+2j)" and meta["set"] == [1, 2]
    assert meta["tensor"] == [1.0, 1.0] and meta["int_keys"] == {"1": "a"}
    code, out, err = run_main(["info", path], capsys, monkeypatch)
    assert code == 0 and "\x1b" not in out and "\x07" not in out and "a\\x1b[31mRED\\x07\\r\\nb" in out


# ---- 7, 8, 10. numeric options are bounded ------------------------------------------------------

def test_numeric_options_are_bounded(ckpt, onnx_artifact, tmp_path, capsys, monkeypatch):
    _, art = onnx_artifact
    t = tmp_path / "t.pt"
    cases = {
        "seed_huge": (["init", "--preset", "digits", "--out", t, "--seed", 2**70], "'--seed'"),
        "seed_negative": (["init", "--preset", "digits", "--out", t, "--seed", -1], "must be an integer in [0,"),
        "train_seed": (["train", "--out", t, "--seed", 2**64], "'--seed'"),
        "lr_nan": (["train", "--out", t, "--lr", "nan"], "must be a finite number"),
        "lr_inf": (["train", "--out", t, "--lr", "inf"], "must be a finite number"),
        "lr_huge": (["train", "--out", t, "--lr", "1e9"], "must be a finite number"),
        "steps_huge": (["validate", ckpt, art, "--steps", 10_000_000_000], "at most 2,000,000"),
        "calib_sequences_huge": (["export", ckpt, "--target", "onnx-int8", "--calib-sequences", 100_000_000,
                                  "--out", tmp_path / "o"], "must be an integer in [1, 256]"),
        "calib_steps_huge": (["export", ckpt, "--target", "onnx-int8", "--calib-steps", 10_000_000,
                              "--out", tmp_path / "o"], "must be an integer in [1, 1,000,000]"),
        "train_config": (["train", "--out", t, "--d-model", 100_000], "d_model=100000"),
        "profile_neither": (["profile", "--no-measure"],
                            "pass either a checkpoint PATH or --preset NAME (neither was given)"),
    }
    if Path("/proc/self").exists():
        cases["train_out_unwritable"] = (["train", "--out", "/proc/t.pt", "--epochs", 1], "cannot write into /proc")
        cases["init_out_unwritable"] = (["init", "--preset", "digits", "--out", "/proc/t.pt"],
                                        "cannot write into /proc")
        cases["plot_unwritable"] = (["profile", ckpt, "--no-measure", "--plot", "/proc/ram.png"],
                                    "cannot write into /proc")
    for args, fragment in cases.values():
        code, o, e = run_main(args, capsys, monkeypatch)
        assert_one_line(code, o, e, fragment)
    assert not t.exists() and not (tmp_path / "o").exists()


def test_help_documents_exit_codes(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["mgrade-edge", "--help"])
    with pytest.raises(SystemExit):
        main()
    help_text = capsys.readouterr().out.replace("\n  ", " ")
    assert "0 success, 1 validation outside the target's tolerance, 2 user error" in help_text


def test_config_with_non_string_keys_is_named(tmp_path, capsys, monkeypatch):
    cfg = {**NAMED_CONFIGS["tiny"].to_dict(), 7: 1}
    path = _save_payload(tmp_path / "keys.pt", cfg=cfg, state_dict={})
    code, o, e = run_main(["info", path], capsys, monkeypatch)
    assert_one_line(code, o, e, "unknown config field(s) 7")
