"""Checkpoints round-trip exactly, and every bad file is refused with a one-line error naming the fix."""

import os
import pickle
import zipfile

import pytest
import torch

from mgrade_edge.checkpoint import FORMAT, FORMAT_VERSION, load_checkpoint, paper_footprint, save_checkpoint
from mgrade_edge.config import MGRADEConfig
from mgrade_edge.errors import CheckpointError
from tests.helpers import make_model


@pytest.fixture
def saved(tmp_path):
    model = make_model("odd", seed=3)
    path = tmp_path / "model.pt"
    save_checkpoint(path, model, {"task": "digits", "test_accuracy": 0.5, "seed": 3})
    return model, path


def test_round_trip_is_exact(saved):
    model, path = saved
    ckpt = load_checkpoint(path)
    assert ckpt.config == model.cfg
    for name, value in model.state_dict().items():
        assert torch.equal(ckpt.model.state_dict()[name], value), name
    assert ckpt.metadata["task"] == "digits" and "tool_version" in ckpt.metadata
    assert oct(path.stat().st_mode & 0o777) == "0o644"


def _payload(path):
    return torch.load(path, weights_only=True)


def _write(path, payload):
    torch.save(payload, path)
    return path


class Evil:
    """Unpickling this would run code (creates a marker file)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def bad_files(tmp_path, good_path):
    """name -> (path, expected error fragment)."""
    good = _payload(good_path)
    cases = {}
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    cases["empty"] = (empty, "is empty (0 bytes)")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good_path.read_bytes()[: good_path.stat().st_size // 2])
    cases["truncated"] = (truncated, "truncated or corrupt")
    text = tmp_path / "notes.pt"
    text.write_text("this is not a checkpoint\n")
    cases["text"] = (text, "cannot be read as a PyTorch file")
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save({"format": FORMAT, "payload": Evil(marker)}, evil)
    cases["malicious_zip"] = (evil, "refused: it holds pickled Python objects")
    evil_legacy = tmp_path / "evil_legacy.pt"
    evil_legacy.write_bytes(pickle.dumps(Evil(marker)))
    cases["malicious_plain_pickle"] = (evil_legacy, "refused: it holds pickled Python objects")
    cases["foreign_tensor_file"] = (_write(tmp_path / "foreign.pt", {"weight": torch.zeros(3)}),
                                    "not an mgrade-edge checkpoint")
    cases["bare_tensor"] = (_write(tmp_path / "bare.pt", torch.zeros(3)), "not an mgrade-edge checkpoint")
    cases["future_version"] = (_write(tmp_path / "v9.pt", {**good, "format_version": 9}), "format version 9")
    cases["missing_key"] = (_write(tmp_path / "nometa.pt", {k: v for k, v in good.items() if k != "metadata"}),
                            "missing key(s) metadata")
    cases["extra_key"] = (_write(tmp_path / "extra.pt", {**good, "optimizer": {}}), "unexpected key(s) optimizer")
    bad_cfg = dict(good["config"], kernel_size=1)
    cases["bad_config"] = (_write(tmp_path / "cfg.pt", {**good, "config": bad_cfg}), "kernel_size=1")
    mismatched = dict(good["config"], d_model=good["config"]["d_model"] + 1)
    cases["config_mismatch"] = (_write(tmp_path / "mm.pt", {**good, "config": mismatched}), "has shape")
    missing_weight = {k: v for k, v in good["state_dict"].items() if k != "decoder.bias"}
    cases["missing_weight"] = (_write(tmp_path / "mw.pt", {**good, "state_dict": missing_weight}),
                               "missing weight(s) decoder.bias")
    extra_weight = {**good["state_dict"], "layers.9.x": torch.zeros(1)}
    cases["extra_weight"] = (_write(tmp_path / "ew.pt", {**good, "state_dict": extra_weight}),
                             "unexpected weight(s) layers.9.x")
    nan = dict(good["state_dict"])
    nan["encoder.weight"] = nan["encoder.weight"].clone()
    nan["encoder.weight"][0, 0] = float("nan")
    cases["nan_weight"] = (_write(tmp_path / "nan.pt", {**good, "state_dict": nan}), "contains NaN or Inf")
    inf = dict(good["state_dict"])
    inf["decoder.bias"] = inf["decoder.bias"].clone()
    inf["decoder.bias"][0] = float("inf")
    cases["inf_weight"] = (_write(tmp_path / "inf.pt", {**good, "state_dict": inf}), "contains NaN or Inf")
    pos = dict(good["state_dict"])
    pos["layers.0.delay.positions"] = pos["layers.0.delay.positions"] + 100
    cases["positions_outside_window"] = (_write(tmp_path / "pos.pt", {**good, "state_dict": pos}),
                                         "outside the delay window")
    ints = dict(good["state_dict"])
    ints["decoder.bias"] = ints["decoder.bias"].long()
    cases["integer_weight"] = (_write(tmp_path / "int.pt", {**good, "state_dict": ints}), "not a floating-point")
    cases["directory"] = (tmp_path, "is a directory")
    cases["missing_file"] = (tmp_path / "nope.pt", "not found")
    return cases, marker


def test_every_bad_file_gets_a_one_line_error_and_no_code_runs(saved, tmp_path):
    _, good_path = saved
    cases, marker = bad_files(tmp_path, good_path)
    assert len(cases) >= 20
    for name, (path, fragment) in cases.items():
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(path)
        message = str(info.value)
        assert fragment in message, f"{name}: {message}"
        assert "\n" not in message, name
    assert not marker.exists(), "loading a checkpoint executed code"


def test_checkpoint_is_a_plain_zip(saved):
    _, path = saved
    assert zipfile.is_zipfile(path)


def test_paper_footprint_counts_the_worked_example():
    cfg = MGRADEConfig(d_in=1, d_model=96, n_layers=6, kernel_size=32, n_taps=8, n_classes=35)
    fp = paper_footprint(cfg, 0)
    assert fp["state_values"] == 6 * (96 * 31 + 96) == 18_432
    assert fp["current_sample_counted"] is False


def test_format_constants_are_stable():
    assert FORMAT == "mgrade-edge-checkpoint" and FORMAT_VERSION == 1
