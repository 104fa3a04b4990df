"""Named tiny configs and builders shared by the tests (seeds are passed explicitly, never set at import)."""

from __future__ import annotations

import numpy as np

from mgrade_edge.config import MGRADEConfig

# Named configs used across the suite. "odd" is the awkward-shapes case the issues ask for.
NAMED_CONFIGS = {
    "tiny": MGRADEConfig(d_in=1, d_model=8, n_layers=1, n_classes=3, kernel_size=4, n_taps=2),
    "digits_like": MGRADEConfig(d_in=1, d_model=16, n_layers=2, n_classes=10, kernel_size=16, n_taps=4),
    "odd": MGRADEConfig(d_in=2, d_model=13, n_layers=3, n_classes=5, kernel_size=37, n_taps=5),
    # Wide enough that the C step's SMLAD dot product runs its 8-chunk loop and every tail: 60 inputs
    # are 15 chunks of 4 (8 + 4 + 2 + 1), the 120 MLP inputs 30 (3 x 8 + 4 + 2).
    "wide": MGRADEConfig(d_in=1, d_model=60, n_layers=1, n_classes=3, kernel_size=5, n_taps=2),
    "all_options": MGRADEConfig(d_in=3, d_model=12, n_layers=2, n_classes=4, kernel_size=9, n_taps=3,
                                conv_ln=True, rec_ln=True, rec_dense_out=True, cm_ln=True, rec_act="gelu",
                                mlp_act="relu", mlp_ratio=3, readout="last", encoder_bias=False),
    "sigmoid_act": MGRADEConfig(d_in=4, d_model=10, n_layers=2, n_classes=2, kernel_size=6, n_taps=6,
                                sigma=1.5, rec_act="sigmoid"),
    "relu_act": MGRADEConfig(d_in=1, d_model=6, n_layers=4, n_classes=7, kernel_size=3, n_taps=1,
                             rec_act="relu", ln_eps=1e-5),
    # The authors' JAX variants (importers/), with their softplus cut at 7.
    "authors_variants": MGRADEConfig(d_in=2, d_model=8, n_layers=2, n_classes=3, kernel_size=5, n_taps=3,
                                     conv_ln=True, rec_ln=True, rec_dense_out=True, cm_ln=True, rec_act="relu2",
                                     sigma_per_tap=True, positions_to_gamma=True, rec_dense_out_relu=True,
                                     compress_act="gelu", layer_skip=True, decoder_bias=False, softplus_cutoff=7.0),
    "no_residuals": MGRADEConfig(d_in=1, d_model=6, n_layers=2, n_classes=2, kernel_size=4, n_taps=2,
                                 element_skip=False, postnorm=False, compress_act="relu", softplus_cutoff=7.0),
}


def make_model(name: str, seed: int = 0):
    """A randomly initialised model of a named config (positions spread over the whole window)."""
    import torch

    from mgrade_edge.model import MGRADE

    torch.manual_seed(seed)
    model = MGRADE(NAMED_CONFIGS[name]).eval()
    with torch.no_grad():
        for layer in model.layers:
            if hasattr(layer.delay, "sigmas"):  # per-tap widths that really differ
                layer.delay.sigmas.uniform_(0.5, 1.5)
            if layer.delay.position_max > layer.delay.kernel_size - 1:  # one tap centred one step ahead
                layer.delay.positions[0, 0] = layer.delay.position_max - 0.3
    return model


def random_sequences(cfg: MGRADEConfig, n: int, length: int, seed: int = 0) -> np.ndarray:
    """Smooth-ish random inputs [n, length, d_in] (a random walk plus noise, like real signals)."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(0, 0.3, size=(n, length, cfg.d_in)), axis=1)
    return (np.tanh(walk) + 0.3 * rng.normal(size=(n, length, cfg.d_in))).astype(np.float32)


def save_tiny_digits_checkpoint(path, seed: int = 0):
    """An untrained tiny model shaped for the digits task (1 input, 10 classes), saved with its task."""
    import torch

    from mgrade_edge.checkpoint import save_checkpoint
    from mgrade_edge.model import MGRADE

    torch.manual_seed(seed)
    save_checkpoint(path, MGRADE(NAMED_CONFIGS["tiny"].replace(n_classes=10)).eval(), {"task": "digits", "seed": 0})
    return path


def run_main(args, capsys, monkeypatch):
    """The real entry point, as a user runs it: (exit code, stdout, stderr)."""
    import sys

    import pytest

    from mgrade_edge.cli import main

    monkeypatch.setattr(sys, "argv", ["mgrade-edge", *map(str, args)])
    with pytest.raises(SystemExit) as info:
        main()
    captured = capsys.readouterr()
    return info.value.code, captured.out, captured.err


def utterance_like(n: int, sample_rate: int, seed: int) -> np.ndarray:
    """int16 audio: voiced bursts (harmonics of a gliding pitch) between silences, over pink noise."""
    from mgrade_edge.frontend.host import to_int16
    from mgrade_edge.tasks.keywords import noise

    rng = np.random.default_rng(seed)
    t = np.arange(n) / sample_rate
    f0 = 120 + 60 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 6))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    voiced = sum(np.sin(h * phase) / h for h in range(1, 12))
    envelope = np.clip(np.sin(2 * np.pi * 1.3 * t + rng.uniform(0, 6)), 0, None) ** 2
    x = 0.3 * voiced * envelope + 0.01 * noise("pink", n, sample_rate, rng)
    return to_int16(x / max(1.0, np.abs(x).max()))


WAKEWORD_OPTIONS = {"window_ms": 32.0, "hop_ms": 32.0}


def save_tiny_wakeword_checkpoint(path, seed: int = 0):
    """An untrained small model shaped for the wakeword task (40 filter-bank channels in, 3 classes out),
    saved with its task and front end (32 ms window and hop)."""
    import torch

    from mgrade_edge.checkpoint import save_checkpoint
    from mgrade_edge.model import MGRADE

    torch.manual_seed(seed)
    cfg = MGRADEConfig(d_in=40, d_model=12, n_layers=2, n_classes=3, kernel_size=8, n_taps=3)
    save_checkpoint(path, MGRADE(cfg).eval(), {"task": "wakeword", "seed": 0, "task_options": dict(WAKEWORD_OPTIONS)})
    return path


def wakeword_calibration(path, n: int = 4, seconds: float = 2.0):
    """Calibration features [n, T, 40] of utterance-like audio through the host front end (.npy)."""
    from mgrade_edge.tasks import frontend_spec
    from mgrade_edge.tasks.features import stream_features

    front = frontend_spec("wakeword", WAKEWORD_OPTIONS)
    audio = np.stack([utterance_like(int(seconds * front.sample_rate), front.sample_rate, s) for s in range(n)])
    np.save(path, stream_features(audio, front, batch=True))
    return path
