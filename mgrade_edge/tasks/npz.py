"""A user's own data for `mgrade-edge train --data FILE.npz`, checked on load (docs/workloads.md, "Your data").

Schema (numpy .npz, loaded without pickle):
- `x`: [N, T, d_in], floating point (stored as float32 for training);
- `y`: [N] integer class ids (one class per sequence), or [N, T] integer class ids per step (-1: not
  scored), or [N, T, d_out] floating targets per step;
- `split` (optional): [N] of 0/1/2 or "train"/"val"/"test"; without it, `val_fraction` of the sequences
  (seeded) validate and the test metrics are the validation set's.
- ragged sequences: `x` [sum of lengths, d_in] (the sequences one after another) and `lengths` [N];
  `y` [N] class ids, or [sum of lengths] per-step class ids. They are left-padded with zeros to the
  longest (per-step ids with -1, not scored), so every sequence's last step is its own last step and
  sequences streamed back to back are separated by the padding.
Every problem is one line naming the array, what is wrong and the fix (a DataError: exit code 2).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..hashing import sha256_file
from .base import TaskData

SPLITS = {"train": 0, "val": 1, "test": 2}
IGNORE = -1


def _fail(path: Path, message: str) -> None:
    raise DataError(f"{path.name}: {message}")


def read_npz(path: Path) -> dict[str, np.ndarray]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"--data {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {k: archive[k] for k in archive.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise DataError(f"--data {path} is not a readable .npz of plain arrays ({str(exc)[:80]}); write it with "
                        f"numpy.savez(path, x=..., y=...)") from None


def _targets(path: Path, x: np.ndarray, y: np.ndarray) -> tuple[str, int, np.ndarray]:
    """(task kind, outputs, y as trained on) from y's shape and type."""
    n, t = x.shape[:2]
    if y.shape == (n,) and np.issubdtype(y.dtype, np.integer):
        if y.min() < 0:
            _fail(path, f"y has class id {int(y.min())}; class ids are 0 .. C-1")
        return "sequence", int(y.max()) + 1, y.astype(np.int64)
    if y.shape == (n, t) and np.issubdtype(y.dtype, np.integer):
        if y.min() < IGNORE:
            _fail(path, f"y has class id {int(y.min())}; per-step class ids are 0 .. C-1, or -1 for a step not scored")
        if y.max() < 0:
            _fail(path, "y scores no step (every id is -1)")
        return "step_class", int(y.max()) + 1, y.astype(np.int64)
    if y.ndim == 3 and y.shape[:2] == (n, t) and np.issubdtype(y.dtype, np.floating):
        if not np.isfinite(y).all():
            _fail(path, "y contains NaN or Inf")
        return "step_regression", int(y.shape[2]), y.astype(np.float32)
    _fail(path, f"y has shape {list(y.shape)} and dtype {y.dtype}; expected [N] or [N, T] integer class ids or "
                f"[N, T, d_out] floats, with N={n}, T={t} from x")
    raise AssertionError  # unreachable: _fail raises


def _split_ids(path: Path, arrays: dict, n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, bool]:
    """[N] of 0 (train), 1 (val), 2 (test), and whether a test split was given."""
    if "split" not in arrays:
        ids = np.zeros(n, np.int64)
        n_val = int(round(val_fraction * n))
        ids[np.random.default_rng(seed).permutation(n)[:n_val]] = 1
        return ids, False
    split = arrays["split"]
    if split.shape != (n,):
        _fail(path, f"split has shape {list(split.shape)}; expected [{n}], one entry per sequence")
    if split.dtype.kind in "US":
        unknown = sorted(set(split.astype(str).tolist()) - set(SPLITS))
        if unknown:
            _fail(path, f"split has {unknown[0]!r}; use train, val or test")
        return np.array([SPLITS[s] for s in split.astype(str)], np.int64), True
    if not np.issubdtype(split.dtype, np.integer) or split.min() < 0 or split.max() > 2:
        _fail(path, "split must hold 0 (train), 1 (val), 2 (test) or those names")
    return split.astype(np.int64), True


def left_pad_ragged(path: Path, x: np.ndarray, y: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x [sum L, d_in] + lengths [N] -> [N, max L, d_in], zeros on the left; y [N] kept, y [sum L] per-step ids
    padded with IGNORE."""
    if lengths.ndim != 1 or not np.issubdtype(lengths.dtype, np.integer) or len(lengths) == 0 or lengths.min() < 1:
        _fail(path, "lengths must be a 1-D integer array of sequence lengths, each at least 1")
    if x.ndim != 2:
        _fail(path, f"with lengths, x is the sequences one after another: [sum of lengths, d_in], not "
                    f"{list(x.shape)}")
    total = int(lengths.sum())
    if len(x) != total:
        _fail(path, f"x has {len(x)} steps but lengths add up to {total}")
    n, t = len(lengths), int(lengths.max())
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    padded = np.zeros((n, t, x.shape[1]), dtype=x.dtype)
    for i, (s, length) in enumerate(zip(starts, lengths)):
        padded[i, t - length:] = x[s:s + length]
    if y.shape == (total,) and total != n and np.issubdtype(y.dtype, np.integer):
        steps = np.full((n, t), IGNORE, dtype=np.int64)
        for i, (s, length) in enumerate(zip(starts, lengths)):
            steps[i, t - length:] = y[s:s + length]
        return padded, steps
    if y.shape == (n,):
        return padded, y
    _fail(path, f"with lengths, y is [N] = [{n}] class ids or [sum of lengths] = [{total}] per-step class ids "
                f"(ragged per-step regression targets are not supported: pad them to one length), not "
                f"{list(y.shape)}")
    raise AssertionError  # unreachable: _fail raises


def load_npz_task(path: str | Path, val_fraction: float = 0.1, seed: int = 0) -> TaskData:
    """The user's data as a TaskData (name "npz:<file name>"), checked array by array."""
    path = Path(path)
    arrays = read_npz(path)
    for key in ("x", "y"):
        if key not in arrays:
            _fail(path, f"has no array {key!r} (found {', '.join(sorted(arrays)) or 'none'}); save x [N, T, d_in] "
                        f"and y with numpy.savez")
    x = arrays["x"]
    if "lengths" in arrays:
        x, arrays["y"] = left_pad_ragged(path, x, arrays["y"], arrays["lengths"])
    if x.ndim != 3 or 0 in x.shape:
        _fail(path, f"x has shape {list(x.shape)}; expected [N, T, d_in] with N, T, d_in > 0")
    if not np.issubdtype(x.dtype, np.floating):
        _fail(path, f"x has dtype {x.dtype}; expected floating point (float32)")
    if not np.isfinite(x).all():
        bad = np.argwhere(~np.isfinite(x))[0]
        _fail(path, f"x contains NaN or Inf (first at sequence {bad[0]}, step {bad[1]}); clean or drop it")
    kind, n_outputs, y = _targets(path, x, arrays["y"])
    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"--val-fraction must be in (0, 1), got {val_fraction}")
    ids, has_test = _split_ids(path, arrays, len(x), val_fraction, seed)
    x = x.astype(np.float32)
    parts = {name: (x[ids == i], y[ids == i]) for name, i in SPLITS.items()}
    for name in ("train", "val") + (("test",) if has_test else ()):
        if len(parts[name][0]) == 0:
            _fail(path, f"the {name} split is empty; give it sequences (split) or change --val-fraction")
    test = parts["test"] if has_test else parts["val"]
    return TaskData(f"npz:{path.name}", kind, int(x.shape[2]), n_outputs, *parts["train"], *parts["val"], *test)


def data_record(path: str | Path, task: TaskData, val_fraction: float) -> dict:
    """What a checkpoint records of the data that trained it."""
    path = Path(path)
    return {"file": path.name, "path": str(path.resolve()), "sha256": sha256_file(path), "kind": task.kind,
            "d_in": task.d_in, "outputs": task.n_outputs, "val_fraction": val_fraction,
            "sequences": {"train": len(task.train_x), "val": len(task.val_x), "test": len(task.test_x)},
            "steps": int(task.train_x.shape[1])}
