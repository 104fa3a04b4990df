"""Training: reproducible from a seed, positions stay in the window, metadata is complete."""

import torch

from mgrade_edge.config import MGRADEConfig
from mgrade_edge.data import load_task
from mgrade_edge.train import TrainOptions, train_model

SMALL = MGRADEConfig(d_in=1, d_model=8, n_layers=1, n_classes=10, kernel_size=6, n_taps=2)


def test_same_seed_same_weights_and_metadata():
    task = load_task("digits")
    opts = TrainOptions(epochs=1, seed=5, progress=False)
    a, meta = train_model(task, SMALL, opts)
    b, _ = train_model(task, SMALL, opts)
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), name
    assert {"task", "seed", "train_seconds", "test_accuracy", "params"} <= set(meta)
    pos = a.layers[0].delay.positions.detach()
    assert float(pos.min()) >= 0 and float(pos.max()) <= SMALL.kernel_size - 1


def test_regression_task_trains_and_reports_r2():
    task = load_task("lorenz")
    task.train_x, task.train_y = task.train_x[:64, :64], task.train_y[:64, :64]
    cfg = MGRADEConfig(d_in=1, d_model=8, n_layers=1, n_classes=2, kernel_size=4, n_taps=2)
    _, meta = train_model(task, cfg, TrainOptions(epochs=1, progress=False))
    assert "test_r2" in meta and "test_rmse" in meta


def test_initialise_sets_time_constants_and_encoder_gain():
    from mgrade_edge.model import MGRADE
    from mgrade_edge.train import initialise

    cfg = MGRADEConfig(d_in=1, d_model=64, n_layers=2, n_classes=4, kernel_size=6, n_taps=2)
    torch.manual_seed(0)
    model = MGRADE(cfg)
    before = model.encoder.weight.detach().clone()
    initialise(model, chrono_tau_max=1000.0, encoder_gain=10.0)
    assert torch.allclose(model.encoder.weight, 10.0 * before)
    for layer in model.layers:
        z_bias = layer.gru.to_gates.bias[:cfg.d_model].detach()
        tau = 1.0 / torch.sigmoid(z_bias)  # steps for the state to forget at zero input
        assert float(tau.min()) >= 1.0 and float(tau.max()) <= 1000.0 * 1.001
        assert float(tau.max()) > 100.0  # log-uniform over [1, 1000] reaches the long end with 64 draws


def test_initialisation_options_are_recorded():
    task = load_task("digits")
    task.train_x, task.train_y = task.train_x[:64], task.train_y[:64]
    _, meta = train_model(task, SMALL, TrainOptions(epochs=1, progress=False, chrono_tau_max=50.0, encoder_gain=2.0))
    assert meta["init_chrono_tau_max"] == 50.0 and meta["init_encoder_gain"] == 2.0


def test_bf16_training_keeps_the_scan_in_float32_and_still_learns():
    """--precision bf16: the gate matmuls run in bfloat16 under autocast, the scan in float32."""
    import torch

    from mgrade_edge.config import MGRADEConfig
    from mgrade_edge.data import load_task
    from mgrade_edge.model import MGRADE
    from mgrade_edge.train import TrainOptions, train_model

    gru = MGRADE(MGRADEConfig(d_in=1, d_model=8, n_layers=1, n_classes=3, kernel_size=4, n_taps=2)).layers[0].gru
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        x = torch.randn(2, 100, 8)
        assert gru.to_gates(x).dtype == torch.bfloat16
        assert gru(x).dtype == torch.float32
    task = load_task("digits", 0)
    cfg = MGRADEConfig(d_in=1, d_model=16, n_layers=1, n_classes=10)
    _, fp32 = train_model(task, cfg, TrainOptions(epochs=3, seed=0, progress=False))
    model, bf16 = train_model(task, cfg, TrainOptions(epochs=3, seed=0, progress=False, precision="bf16"))
    assert bf16["precision"] == "bf16" and "precision" not in fp32
    assert bf16["val_history"][-1]["loss"] < bf16["val_history"][0]["loss"]  # it learns
    assert abs(bf16["test_accuracy"] - fp32["test_accuracy"]) <= 0.05
    assert all(p.dtype == torch.float32 for p in model.parameters())
