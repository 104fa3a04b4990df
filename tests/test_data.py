"""Datasets: shapes, fixed splits, and the synthetic tasks' definitions."""

import numpy as np

from mgrade_edge.data import IGNORE, flipflop_sequences, load_task, lorenz_trajectories


def test_digits_is_pixel_by_pixel_with_a_fixed_split():
    a, b = load_task("digits"), load_task("digits")
    assert a.train_x.shape[1:] == (64, 1) and a.train_x.dtype == np.float32
    assert len(a.train_x) + len(a.val_x) + len(a.test_x) == 1797
    assert len(a.test_x) == 450
    np.testing.assert_array_equal(a.test_y, b.test_y)
    assert 0.0 <= a.train_x.min() and a.train_x.max() <= 1.0


def test_flipflop_targets_are_the_last_written_bit():
    x, y = flipflop_sequences(5, 200, np.random.default_rng(0))
    symbols = x.argmax(-1)  # 0 w0, 1 w1, 2 r, 3 i0, 4 i1
    for seq, target in zip(symbols, y):
        last = None
        for s, t in zip(seq, target):
            if s in (0, 1):
                last = s
                assert t == IGNORE
            elif s == 2:
                assert t == last
            else:
                assert t == IGNORE
    assert (symbols[:, 0] <= 1).all()
    assert 0.6 < np.isin(symbols, (3, 4)).mean() < 0.95  # p_ignore = 0.8


def test_lorenz_stays_on_the_attractor():
    traj = lorenz_trajectories(3, 300, np.random.default_rng(0))
    assert np.isfinite(traj).all()
    assert np.abs(traj[..., 0]).max() < 30 and 0 < traj[..., 2].mean() < 50
    task = load_task("lorenz")
    assert task.train_x.shape[2] == 1 and task.train_y.shape[2] == 2
