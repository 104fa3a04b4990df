"""Interrupted and resumed training ends with the same weights as an uninterrupted run (CPU, bit-exact)."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
import torch

from mgrade_edge import train as train_module
from mgrade_edge.config import MGRADEConfig
from mgrade_edge.errors import UserError
from mgrade_edge.tasks.base import TaskData
from mgrade_edge.train import Interrupted, TrainOptions, load_train_state, save_train_state, train_model
from tests.helpers import run_main

CFG = MGRADEConfig(d_in=2, d_model=8, n_layers=1, n_classes=3, kernel_size=4, n_taps=2)
OPTS = TrainOptions(epochs=3, batch_size=8, seed=3, progress=False)


def task() -> TaskData:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 60)
    x = (rng.standard_normal((60, 10, 2)) + y[:, None, None]).astype(np.float32)
    return TaskData("toy", "sequence", 2, 3, x[:40], y[:40], x[40:50], y[40:50], x[50:], y[50:])


def weights(model) -> dict:
    return {k: v.clone() for k, v in model.state_dict().items()}


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def uninterrupted():
    model, meta = train_model(task(), CFG, OPTS)
    return weights(model), meta["val_history"]


def test_a_signal_mid_epoch_stops_between_steps_and_resume_matches(uninterrupted, tmp_path, monkeypatch):
    calls = {"n": 0}
    real = train_module.task_loss

    def loss_then_signal(*args):
        calls["n"] += 1
        if calls["n"] == 8:  # epoch 2, step 3 (5 steps an epoch)
            os.kill(os.getpid(), signal.SIGINT)
        return real(*args)

    monkeypatch.setattr(train_module, "task_loss", loss_then_signal)
    saved = {}
    with pytest.raises(Interrupted) as info:
        train_model(task(), CFG, OPTS, save_state=lambda s: save_train_state(tmp_path / "s.pt", s) or saved.update(s))
    assert info.value.signum == signal.SIGINT and (saved["epoch"], saved["step"]) == (2, 3)
    monkeypatch.setattr(train_module, "task_loss", real)
    model, meta = train_model(task(), CFG, OPTS, resume=load_train_state(tmp_path / "s.pt"))  # weights-only load
    assert same(weights(model), uninterrupted[0]) and meta["val_history"] == uninterrupted[1]


def test_states_every_epoch_resume_to_the_same_weights(uninterrupted, tmp_path):
    states = []
    def keep(state):
        states.append((state["epoch"], state["step"]))
        save_train_state(tmp_path / f"e{len(states)}.pt", state)

    train_model(task(), CFG, TrainOptions(**{**OPTS.__dict__, "checkpoint_every": 1}), save_state=keep)
    assert states == [(2, 0), (3, 0), (4, 0)]
    model, _ = train_model(task(), CFG, OPTS, resume=load_train_state(tmp_path / "e1.pt"))
    assert same(weights(model), uninterrupted[0])


def test_a_state_continues_only_its_own_run(tmp_path):
    states = []
    train_model(task(), CFG, TrainOptions(**{**OPTS.__dict__, "checkpoint_every": 1}), save_state=states.append)
    save_train_state(tmp_path / "s.pt", states[0])
    other = TrainOptions(**{**OPTS.__dict__, "lr": 1e-2})
    with pytest.raises(UserError, match="another options \\(lr differ\\)"):
        train_model(task(), CFG, other, resume=load_train_state(tmp_path / "s.pt"))
    with pytest.raises(UserError, match="another config \\(d_model differ\\)"):
        train_model(task(), CFG.replace(d_model=12), OPTS, resume=load_train_state(tmp_path / "s.pt"))


def test_resume_refuses_what_is_not_a_state(tmp_path, capsys, monkeypatch):
    from tests.helpers import save_tiny_digits_checkpoint

    ckpt = save_tiny_digits_checkpoint(tmp_path / "m.pt")
    code, _, err = run_main(["train", "--out", str(tmp_path / "x.pt"), "--epochs", "1", "--resume", str(ckpt)],
                            capsys, monkeypatch)
    assert code == 2 and "is not a training state" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_main(["train", "--out", str(tmp_path / "x.pt"), "--resume", str(tmp_path / "none.pt")],
                            capsys, monkeypatch)
    assert code == 2 and "does not exist" in err


def test_patience_stops_early_and_keeps_the_best_epoch():
    from mgrade_edge.train import evaluate

    rows = []
    opts = TrainOptions(**{**OPTS.__dict__, "epochs": 12, "patience": 2, "lr": 3e-2})
    model, meta = train_model(task(), CFG, opts, on_epoch=rows.append)
    scores = [r["val_accuracy"] for r in rows]
    assert meta["epochs_run"] == len(rows) and meta["best_epoch"] == 1 + scores.index(max(scores))
    assert len(rows) < 12 and meta["best_epoch"] == len(rows) - 2  # stopped after 2 epochs without a better score
    t = task()
    assert evaluate(model, t.kind, t.val_x, t.val_y)["accuracy"] == max(scores)  # the best epoch's weights
    assert {"lr", "seconds", "samples_per_s", "loss"} <= set(rows[0])


def test_the_metrics_log_and_the_plot(tmp_path, capsys, monkeypatch):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 40)
    np.savez(tmp_path / "d.npz", x=(rng.standard_normal((40, 10, 2)) + y[:, None, None]).astype(np.float32), y=y)
    out = tmp_path / "m.pt"
    code, _, err = run_main(["train", "--data", str(tmp_path / "d.npz"), "--out", str(out), "--epochs", "3",
                             "--d-model", "8", "--layers", "1", "--kernel-size", "4", "--taps", "2",
                             "--plot", str(tmp_path / "curves.png")], capsys, monkeypatch)
    assert code == 0, err
    csv_lines = (tmp_path / "m.pt.metrics.csv").read_text().splitlines()
    assert csv_lines[0].split(",")[:2] == ["epoch", "loss"] and len(csv_lines) == 4
    assert "samples_per_s" in csv_lines[0] and "lr" in csv_lines[0]
    assert len((tmp_path / "m.pt.metrics.jsonl").read_text().splitlines()) == 3
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (tmp_path / "m.pt.state.pt").exists()


def test_devices():
    from mgrade_edge.train import resolve_device

    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else
                                      "mps" if torch.backends.mps.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="--device cuda: torch sees no CUDA device here"):
            resolve_device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine: the GPU path is not run")
def test_training_on_cuda_returns_a_cpu_model_close_to_the_cpu_run(uninterrupted):
    model, meta = train_model(task(), CFG, TrainOptions(**{**OPTS.__dict__, "device": "cuda"}))
    assert meta["device"] == "cuda" and next(model.parameters()).device.type == "cpu"
    for k, v in weights(model).items():  # GPU kernels reorder sums: close, not bit-identical
        assert torch.allclose(v, uninterrupted[0][k], atol=1e-3), k
