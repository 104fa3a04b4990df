"""train --data FILE.npz: the schema's checks (one line each, exit 2) and a user's data through train,
evaluate and export."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mgrade_edge.errors import DataError
from mgrade_edge.tasks.npz import load_npz_task
from tests.helpers import run_main


def save(path, **arrays):
    np.savez(path, **arrays)
    return path


def sequences(n=40, t=12, d=2, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = rng.standard_normal((n, t, d)).astype(np.float32) + y[:, None, None]  # learnable: the class shifts x
    return x, y


@pytest.mark.parametrize("arrays, message", [
    ({"y": np.zeros(4, int)}, "has no array 'x'"),
    ({"x": np.zeros((4, 5)), "y": np.zeros(4, int)}, "x has shape [4, 5]; expected [N, T, d_in]"),
    ({"x": np.zeros((4, 5, 1), int), "y": np.zeros(4, int)}, "x has dtype int64; expected floating point"),
    ({"x": np.full((4, 5, 1), np.nan), "y": np.zeros(4, int)}, "x contains NaN or Inf (first at sequence 0, step 0)"),
    ({"x": np.zeros((4, 5, 1)), "y": np.zeros(3, int)}, "y has shape [3] and dtype int64; expected [N] or [N, T]"),
    ({"x": np.zeros((4, 5, 1)), "y": np.array([0, 1, -2, 1])}, "y has class id -2; class ids are 0 .. C-1"),
    ({"x": np.zeros((4, 5, 1)), "y": np.full((4, 5, 2), np.inf)}, "y contains NaN or Inf"),
    ({"x": np.zeros((4, 5, 1)), "y": np.zeros(4, int), "split": np.array(["train", "val", "dev", "test"])},
     "split has 'dev'; use train, val or test"),
    ({"x": np.zeros((4, 5, 1)), "y": np.zeros(4, int), "split": np.array([0, 0, 2, 2])},
     "the val split is empty"),
    ({"x": np.zeros((9, 1)), "y": np.zeros(3, int), "lengths": np.array([3, 3, 2])},
     "x has 9 steps but lengths add up to 8"),
    ({"x": np.zeros((3, 3, 1)), "y": np.zeros(3, int), "lengths": np.array([3, 3, 3])},
     "with lengths, x is the sequences one after another"),
    ({"x": np.zeros((9, 1)), "y": np.zeros(3, int), "lengths": np.array([3, 0, 6])}, "each at least 1"),
    ({"x": np.zeros((9, 1)), "y": np.zeros((9, 2)), "lengths": np.array([3, 3, 3])},
     "ragged per-step regression targets are not supported"),
])
def test_each_problem_is_one_line(tmp_path, arrays, message):
    path = save(tmp_path / "d.npz", **arrays)
    with pytest.raises(DataError) as info:
        load_npz_task(path)
    assert message in str(info.value) and str(info.value).startswith("d.npz: ") and "\n" not in str(info.value)


def test_files_that_are_not_npz_archives(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_npz_task(tmp_path / "missing.npz")
    (tmp_path / "text.npz").write_text("x,y\n1,2\n")
    with pytest.raises(DataError, match="is not a readable .npz of plain arrays"):
        load_npz_task(tmp_path / "text.npz")
    np.savez(tmp_path / "objects.npz", x=np.array([{"a": 1}], dtype=object), y=np.zeros(1, int))
    with pytest.raises(DataError, match="is not a readable .npz"):  # object arrays would need pickle: refused
        load_npz_task(tmp_path / "objects.npz")


def test_kinds_splits_and_shapes(tmp_path):
    x, y = sequences()
    split = np.array(["train"] * 30 + ["val"] * 5 + ["test"] * 5)
    task = load_npz_task(save(tmp_path / "a.npz", x=x.astype(np.float64), y=y, split=split))
    assert (task.kind, task.d_in, task.n_outputs) == ("sequence", 2, 3)
    assert (len(task.train_x), len(task.val_x), len(task.test_x)) == (30, 5, 5) and task.train_x.dtype == np.float32
    per_step = load_npz_task(save(tmp_path / "b.npz", x=x, y=np.random.default_rng(1).standard_normal((40, 12, 4))),
                             val_fraction=0.25)
    assert per_step.kind == "step_regression" and per_step.n_outputs == 4
    assert len(per_step.val_x) == 10 and per_step.test_x is per_step.val_x  # no test split: validation tests


def test_train_evaluate_and_export_a_users_data(tmp_path, capsys, monkeypatch):
    x, y = sequences()
    data = save(tmp_path / "mine.npz", x=x, y=y)
    ckpt = tmp_path / "mine.pt"
    code, out, err = run_main(["train", "--data", str(data), "--out", str(ckpt), "--epochs", "3", "--d-model", "8",
                               "--layers", "1", "--kernel-size", "4", "--taps", "2"], capsys, monkeypatch)
    assert code == 0, err
    code, out, err = run_main(["info", str(ckpt), "--json"], capsys, monkeypatch)
    meta = json.loads(out)["metadata"]
    assert meta["task"] == "npz:mine.npz" and meta["data"]["file"] == "mine.npz" and len(meta["data"]["sha256"]) == 64
    assert meta["data"]["sequences"] == {"train": 36, "val": 4, "test": 4} and meta["data"]["kind"] == "sequence"
    code, out, err = run_main(["evaluate", str(ckpt), "--json"], capsys, monkeypatch)  # finds the data again
    assert code == 0 and json.loads(out)["sequences"] == 4, err
    code, out, err = run_main(["export", str(ckpt), "--target", "c", "--out", str(tmp_path / "c"), "--no-validate"],
                              capsys, monkeypatch)  # calibrates on the user's data: no --calib
    assert code == 0, err
    data.write_bytes(data.read_bytes() + b"\0")  # changed since training: no longer the checkpoint's data
    code, _, err = run_main(["evaluate", str(ckpt)], capsys, monkeypatch)
    assert code == 2 and "names no task" in err


def test_data_and_task_together_are_refused(tmp_path, capsys, monkeypatch):
    x, y = sequences()
    code, _, err = run_main(["train", "--task", "digits", "--data", str(save(tmp_path / "m.npz", x=x, y=y)),
                             "--out", str(tmp_path / "m.pt")], capsys, monkeypatch)
    assert code == 2 and "--data replaces --task" in err


def test_ragged_sequences_are_left_padded(tmp_path):
    """x concatenated + lengths: zeros on the left, every sequence ends at the last step; per-step ids pad with -1."""
    x = np.arange(1, 10, dtype=np.float32).reshape(9, 1)  # sequences [1,2], [3,4,5,6], [7,8,9]
    lengths = np.array([2, 4, 3])
    split = np.array(["train", "val", "test"])
    task = load_npz_task(save(tmp_path / "r.npz", x=x, y=np.array([0, 1, 2]), lengths=lengths, split=split))
    assert task.kind == "sequence" and task.train_x.shape == (1, 4, 1)
    np.testing.assert_array_equal(task.train_x[0, :, 0], [0, 0, 1, 2])
    np.testing.assert_array_equal(task.val_x[0, :, 0], [3, 4, 5, 6])
    np.testing.assert_array_equal(task.test_x[0, :, 0], [0, 7, 8, 9])
    steps = load_npz_task(save(tmp_path / "s.npz", x=x, y=np.arange(9) % 3, lengths=lengths, split=split))
    assert steps.kind == "step_class"
    np.testing.assert_array_equal(steps.train_y[0], [-1, -1, 0, 1])
    np.testing.assert_array_equal(steps.test_y[0], [-1, 0, 1, 2])
