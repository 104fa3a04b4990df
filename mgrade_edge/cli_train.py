"""The options of `mgrade-edge train` beyond the basics: every block option of MGRADEConfig, --preset,
and the task options of the generated workloads. Kept apart from cli.py so that file stays a thin group.

Every config option defaults to None, meaning "the preset's value, else MGRADEConfig's default", so an
explicit option always wins over the preset.
"""

from __future__ import annotations

import click

from .config import COMPRESS_ACTIVATIONS, MLP_ACTIVATIONS, READOUTS, REC_ACTIVATIONS, MGRADEConfig
from .errors import UserError
from .presets import preset_config

# (click option, MGRADEConfig field, click kwargs)
BLOCK_OPTIONS = (
    ("--conv-ln/--no-conv-ln", "conv_ln", {"help": "LayerNorm after the delay conv."}),
    ("--rec-ln/--no-rec-ln", "rec_ln", {"help": "LayerNorm after the recurrent block."}),
    ("--rec-dense-out/--no-rec-dense-out", "rec_dense_out", {"help": "Dense layer after the recurrent activation."}),
    ("--cm-ln/--no-cm-ln", "cm_ln", {"help": "LayerNorm after the channel-mixing MLP."}),
    ("--rec-act", "rec_act", {"type": click.Choice(REC_ACTIVATIONS)}),
    ("--mlp-act", "mlp_act", {"type": click.Choice(MLP_ACTIVATIONS)}),
    ("--readout", "readout", {"type": click.Choice(READOUTS), "help": "Sequence logits: mean over time or last step."}),
    ("--ln-eps", "ln_eps", {"type": float}),
    ("--sigma", "sigma", {"type": float, "help": "Gaussian width of a delay tap."}),
    ("--mlp-ratio", "mlp_ratio", {"type": int}),
    ("--encoder-bias/--no-encoder-bias", "encoder_bias", {}),
    # Variants of the authors' code (see `mgrade-edge import`), trainable here as well.
    ("--sigma-per-tap/--no-sigma-per-tap", "sigma_per_tap", {"help": "σ as a fixed [M, d] buffer per layer."}),
    ("--positions-to-gamma/--no-positions-to-gamma", "positions_to_gamma", {"help": "Positions in [0, Γ]."}),
    ("--rec-dense-out-relu/--no-rec-dense-out-relu", "rec_dense_out_relu", {"help": "ReLU after the recurrent dense."}),
    ("--compress-act", "compress_act", {"type": click.Choice(COMPRESS_ACTIVATIONS),
                                        "help": "A d -> d dense + activation after channel mixing."}),
    ("--layer-skip/--no-layer-skip", "layer_skip", {"help": "Add the layer's input before LN_post."}),
    ("--element-skip/--no-element-skip", "element_skip", {"help": "Residuals around the three blocks."}),
    ("--postnorm/--no-postnorm", "postnorm", {"help": "LN_post at the end of every layer."}),
    ("--decoder-bias/--no-decoder-bias", "decoder_bias", {}),
    ("--softplus-cutoff", "softplus_cutoff", {"type": float, "help": "softplus(x) taken as x above this value."}),
)
# Sizes that also have a short CLI name of their own.
SIZE_OPTIONS = (("--d-model", "d_model", "48"), ("--layers", "n_layers", "2"), ("--kernel-size", "kernel_size", "16"),
                ("--taps", "n_taps", "4"))
KEYWORDS_OPTIONS = (
    ("--sample-rate", "sample_rate", {"type": click.Choice(["8000", "16000"]),
                                      "help": "keywords: audio rate (default 8000)."}),
    ("--train-clips", "train_clips", {"type": int, "help": "keywords: generated training clips (default 7000)."}),
    ("--val-clips", "val_clips", {"type": int, "help": "keywords: validation clips (default 700)."}),
    ("--test-clips", "test_clips", {"type": int, "help": "keywords: test clips (default 1400)."}),
    ("--split", "split", {"type": click.Choice(["voice", "dialect"]),
                          "help": "keywords: hold out voice variants (default) or dialects."}),
    ("--features", "features", {"type": click.Choice(["raw", "frames", "filterbank"]),
                                "help": "keywords / wakeword: what one step sees: a raw sample, a hop of K samples "
                                        "as a K-vector, or the log filter bank of TFLite Micro's audio front end "
                                        "(default: raw for keywords, filterbank for wakeword)."}),
    ("--window-ms", "window_ms", {"type": float, "help": "filterbank: analysis window (default 30)."}),
    ("--hop-ms", "hop_ms", {"type": float, "help": "frames / filterbank: one step per hop (default 20)."}),
    ("--channels", "channels", {"type": int, "help": "filterbank: mel channels (default 40)."}),
    ("--wakeword", "wakeword", {"type": str, "help": "wakeword: the word to spot, one of the 35 (default marvin)."}),
)


def config_options(fn):
    """Decorate the train command with --preset, the size options and every block option."""
    for flag, field, default in reversed(SIZE_OPTIONS):
        fn = click.option(flag, field, type=int, default=None, help=f"Default: the preset's, else {default}.")(fn)
    for flag, field, kwargs in reversed(BLOCK_OPTIONS):
        fn = click.option(flag, field, default=None, **kwargs)(fn)
    for flag, field, kwargs in reversed(KEYWORDS_OPTIONS):
        fn = click.option(flag, field, default=None, **kwargs)(fn)
    return click.option("--preset", type=str, default=None,
                        help="Start from a named configuration (see `mgrade-edge init --help`).")(fn)


def pop_config_options(kwargs: dict) -> tuple[str | None, dict, dict]:
    """(preset, config overrides, task options) out of the command's keyword arguments."""
    preset = kwargs.pop("preset")
    fields = [f for _, f, _ in SIZE_OPTIONS] + [f for _, f, _ in BLOCK_OPTIONS]
    overrides = {f: kwargs.pop(f) for f in fields}
    task_options = {f: kwargs.pop(f) for _, f, _ in KEYWORDS_OPTIONS}
    task_options = {k: (int(v) if k == "sample_rate" else v) for k, v in task_options.items() if v is not None}
    return preset, {k: v for k, v in overrides.items() if v is not None}, task_options


def build_config(preset: str | None, overrides: dict, d_in: int, n_classes: int):
    """The model config: preset (or defaults) <- explicit options; inputs and classes from the task."""

    base = preset_config(preset) if preset is not None else MGRADEConfig()
    if base.d_in != d_in and preset is not None and base.d_in != 1:
        raise UserError(f"preset {preset!r} takes {base.d_in} input channels but the task has {d_in}")
    return base.replace(d_in=d_in, n_classes=n_classes, **overrides)
