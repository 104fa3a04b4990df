"""Datasets: scikit-learn's bundled digits (real data, offline) and the synthetic tasks of spec section 7.

Every task returns a `TaskData` of numpy arrays; nothing is downloaded. Splits are fixed by seeds so a
checkpoint's test metric can be reproduced by `validate` and the streaming evaluation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import tasks
from .errors import NoTaskError, UserError
from .hashing import sha256_file
from .tasks.base import IGNORE, TaskData  # every task returns one (re-exported here)
from .tasks.npz import load_npz_task

TASKS = ("digits", "flipflop", "lorenz", "keywords", "spoken-digits", "wakeword")  # the last two: mgrade_edge.tasks
# What a task's targets mean (and so how loss and metric are computed):
#   sequence: one class per sequence, read out from the per-step logits (mean or last)
#   step_class: one class per step, -1 where the step is not scored
#   step_regression: real targets per step
TASK_KINDS = {"digits": "sequence", "flipflop": "step_class", "lorenz": "step_regression", "keywords": "sequence",
              "spoken-digits": "sequence", "wakeword": "step_class"}


def load_task(name: str, seed: int = 0, options: dict | None = None) -> TaskData:
    """options: task options of the workloads in mgrade_edge.tasks (e.g. keywords' sample_rate)."""

    if name in tasks.REGISTRY:
        return tasks.load(name, seed, options)
    if options:
        raise UserError(f"task {name!r} takes no options, got {', '.join(sorted(options))}")
    if name == "digits":
        return load_digits_task()
    if name == "flipflop":
        return make_flipflop_task(seed)
    if name == "lorenz":
        return make_lorenz_task(seed)
    raise UserError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}")


def checkpoint_task_data(metadata: dict) -> TaskData | None:
    """The data of the task a checkpoint was trained on (same seed, so generated tasks match), or None
    when its metadata names no known task (an untrained preset, a foreign model)."""
    task = metadata.get("task")
    record = metadata.get("data")
    if isinstance(record, dict) and isinstance(task, str) and task.startswith("npz:"):
        return user_data_again(record, metadata.get("seed", 0))
    if not isinstance(task, str) or task not in TASKS:
        return None
    seed = metadata.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= 2**32 - 1:
        raise UserError(f"checkpoint metadata seed={str(seed)[:40]!r} is not an integer in [0, 2**32-1]; "
                        f"set it to the seed the model was trained with")
    return load_task(task, seed, metadata.get("task_options"))


def user_data_again(record: dict, seed) -> TaskData | None:
    """The user's .npz a checkpoint was trained on, when it is still where it was and unchanged (same sha256)."""
    path = Path(str(record.get("path", "")))
    if not path.is_file() or sha256_file(path) != record.get("sha256"):
        return None
    return load_npz_task(path, float(record.get("val_fraction", 0.1)), seed if isinstance(seed, int) else 0)


def require_task_data(ckpt, purpose: str, fix: str) -> TaskData:
    """The checkpoint's task data, or the one NoTaskError every command gives when there is none:
    `purpose` says what the data was for ("calibrate on"), `fix` what to pass instead."""
    data = checkpoint_task_data(ckpt.metadata)
    if data is None:
        raise NoTaskError(f"checkpoint {ckpt.path} names no task to {purpose} (metadata task="
                          f"{str(ckpt.metadata.get('task'))[:40]!r}); {fix}")
    return data


# ---- digits: 8x8 images read pixel by pixel (64 steps, 1 channel) ------------------------------

def load_digits_task() -> TaskData:
    """1797 images; fixed stratified split 75/25 train/test (seed 0), 10% of train for validation."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images.reshape(-1, 64, 1) / 16.0).astype(np.float32)  # pixels in [0, 1]
    y = digits.target.astype(np.int64)
    train_x, test_x, train_y, test_y = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    train_x, val_x, train_y, val_y = train_test_split(train_x, train_y, test_size=0.1, random_state=0,
                                                      stratify=train_y)
    return TaskData("digits", "sequence", 1, 10, train_x, train_y, val_x, val_y, test_x, test_y)


# ---- flip-flop language (Liu et al.): remember the bit of the last write ------------------------

FLIPFLOP_SYMBOLS = ("w0", "w1", "r", "i0", "i1")  # the read's own bit is the answer, so it is not shown


def flipflop_sequences(n: int, length: int, rng: np.random.Generator, p_ignore: float = 0.8):
    """Inputs [n, length, 5] one-hot; targets [n, length] = last written bit at reads, IGNORE elsewhere."""
    p_write = p_read = (1.0 - p_ignore) / 2.0
    instr = rng.choice(3, size=(n, length), p=[p_write, p_read, p_ignore])  # 0 w, 1 r, 2 i
    instr[:, 0] = 0  # the first instruction is always a write
    bits = rng.integers(0, 2, size=(n, length))
    symbol = np.where(instr == 0, bits, np.where(instr == 1, 2, 3 + bits))
    x = np.eye(5, dtype=np.float32)[symbol]
    y = np.full((n, length), IGNORE, dtype=np.int64)
    for i in range(n):
        last = 0
        for t in range(length):
            if instr[i, t] == 0:
                last = bits[i, t]
            elif instr[i, t] == 1:
                y[i, t] = last
    return x, y


def make_flipflop_task(seed: int = 0, length: int = 512) -> TaskData:
    rng = np.random.default_rng(1000 + seed)
    splits = [flipflop_sequences(n, length, rng) for n in (1000, 100, 200)]
    (trx, try_), (vx, vy), (tx, ty) = splits
    return TaskData("flipflop", "step_class", 5, 2, trx, try_, vx, vy, tx, ty)


# ---- partially observed Lorenz-63: see x, predict y and z ---------------------------------------

def lorenz_trajectories(n: int, length: int, rng: np.random.Generator, dt: float = 0.01,
                        sigma: float = 10.0, rho: float = 28.0, beta: float = 8.0 / 3.0, burn_in: int = 500):
    """RK4-integrated trajectories [n, length, 3] from random starts, after a burn-in onto the attractor."""

    def f(s):
        x, y, z = s[:, 0], s[:, 1], s[:, 2]
        return np.stack([sigma * (y - x), x * (rho - z) - y, x * y - beta * z], axis=1)

    s = rng.normal(0.0, 5.0, size=(n, 3)) + np.array([0.0, 0.0, 25.0])
    out = np.empty((n, length, 3))
    for t in range(burn_in + length):
        k1 = f(s)
        k2 = f(s + 0.5 * dt * k1)
        k3 = f(s + 0.5 * dt * k2)
        k4 = f(s + dt * k3)
        s = s + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        if t >= burn_in:
            out[:, t - burn_in] = s
    return out


def make_lorenz_task(seed: int = 0, length: int = 256) -> TaskData:
    rng = np.random.default_rng(2000 + seed)
    traj = lorenz_trajectories(1400, length, rng)
    # Fixed standardisation (attractor statistics), so inputs and targets are O(1).
    x = (traj[..., :1] / 8.0).astype(np.float32)
    y = np.stack([traj[..., 1] / 9.0, (traj[..., 2] - 25.0) / 9.0], axis=-1).astype(np.float32)
    return TaskData("lorenz", "step_regression", 1, 2, x[:1000], y[:1000], x[1000:1200], y[1000:1200],
                    x[1200:], y[1200:])
