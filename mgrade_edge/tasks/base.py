"""TaskData: what every task returns (numpy arrays; shapes as commented)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

IGNORE = -1  # a per-step target no loss or metric counts


@dataclass
class TaskData:
    name: str
    kind: str
    d_in: int
    n_outputs: int
    train_x: np.ndarray  # [N, T, d_in] float32
    train_y: np.ndarray  # [N] int64 | [N, T] int64 | [N, T, n_outputs] float32
    val_x: np.ndarray
    val_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
