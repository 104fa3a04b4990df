"""Map the authors' JAX/Flax mGRADE (their config vocabulary and parameter tree) onto MGRADEConfig + weights.

The mapping is exact or refused. Where the authors' model differs from the spec it becomes a config
option (per-tap σ, positions up to Γ, relu(h-2), the dense ReLU, compression, layer skip, decoder
without bias, residual/LN switches, the scan's softplus cut at 7); a block mgrade-edge does not
implement is refused with a CheckpointError naming it. Every optional block is checked twice: the
config must say it is on *and* the tree must hold its parameters, with the shapes the config implies.
Flax Dense kernels are [in, out]; torch Linear weights are [out, in], hence the transposes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import MGRADEConfig
from ..errors import CheckpointError, ConfigError, UnsupportedModelError

# The authors' log-space minGRU takes softplus(x) as x above this value.
AUTHORS_SOFTPLUS_CUTOFF = 7.0
AUTHORS_LN_EPS = 1e-6  # flax nn.LayerNorm default
REC_ACTS = {"linear": "identity", "gelu": "gelu", "sigmoid": "sigmoid", "relu": "relu2"}  # their relu is relu(h-2)
CM_ACTS = {"gelu": "gelu", "relu": "relu"}
COMP_ACTS = {"gelu": "gelu"}  # the only compression activation checked against the authors' outputs
PADDED_DATASETS = ("imdb", "listops")
# Keys that change only training, initialisation or logging (or are fixture bookkeeping): never the forward pass.
TRAINING_KEYS = frozenset("""
alpha_cosine batch_size bias_optim dcls_config dcls_positions_optim dcls_weights_optim dense_h_bias_init
dense_h_weight_init_scale dense_z_bias_init dense_z_weight_init_scale do_rate enable_monitoring grad_clip_norm
gru_bias_optim gru_kernel_optim heterogeneous_positions heterogeneous_std heterogeneous_weights init_std
log_model_behavior lr lr_factors mem_frac mlp_bias_optim mlp_kernel_optim mlp_scale_optim n_epochs
postnorm_bias_optim postnorm_scale_optim reg_factor scale_optim scheduler seed sim_name train_positions train_std
train_weights wandb_gradients wandb_matrices wandb_states warmup_frac weight_decay weight_init_scale seq_len
""".split())
# Keys whose only supported value is the one the spec's model has: (key, required value, what is refused).
REQUIRED_VALUES = (
    ("conv", "dcls", "the plain dilated depthwise conv block (conv={!r})"),
    ("delay_type", "axonal", "the {!r} delay block (only the depthwise 'axonal' DCLS exists here)"),
    ("delay_kernel", "gaussian", "the {!r} delay kernel (only gaussian taps exist here)"),
    ("dcls_fft", True, "the non-FFT DCLS path (dcls_fft={!r}: position p acts at lag p+1)"),
    ("encoder", True, "a model without the input encoder (encoder={!r})"),
    ("enable_conv", True, "a layer without its delay block (enable_conv={!r})"),
    ("enable_rec", True, "a layer without its recurrent block (enable_rec={!r})"),
    ("enable_cm", True, "a layer without its channel-mixing block (enable_cm={!r})"),
    ("channel_mixing", "mlp", "the channel-mixing block {!r} (only mlp exists here)"),
    ("encoder_scale", 1.0, "encoder_scale={!r} (its effect on the forward pass is not verified)"),
    ("glu_type", None, "glu_type={!r} (GLU channel mixing)"),
    ("constant_dilation", None, "constant_dilation={!r} (dilated conv blocks)"),
    ("wavenet_dilation", None, "wavenet_dilation={!r} (dilated conv blocks)"),
    ("dilation_schedule", None, "dilation_schedule={!r} (dilated conv blocks)"),
    ("dilation_offset", None, "dilation_offset={!r} (dilated conv blocks)"),
    ("dilation_boundary", None, "dilation_boundary={!r} (dilated conv blocks)"),
)
# Missing keys take the training pipeline's defaults (which differ from the module defaults).
DEFAULTS = {"conv_ln": False, "rec_ln": False, "rec_dense_out": False, "rec_dense_out_act": False, "cm_ln": False,
            "encoder_bias": True, "decoder_bias": True, "element_skip": True, "postnorm": True, "layer_skip": False,
            "latent_dim": None, "comp_act": None, "cm_act": "gelu", "rec_act": "linear", "dataset": None}
MAPPED_KEYS = frozenset(DEFAULTS) | {"hidden_dim", "n_layers", "kernel_size", "kernel_n_elems", "in_dim", "n_classes"}
REQUIRED_KEYS = ("hidden_dim", "n_layers", "kernel_size", "kernel_n_elems")


@dataclass
class AuthorsModel:
    config: MGRADEConfig
    state_dict: dict  # torch float64 tensors, keys of mgrade_edge.model.MGRADE
    notes: list[str]
    source_values: int  # parameter values in the authors' tree (their count)


def read_authors_config(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise CheckpointError(f"config {path} not found; pass --config with the run's merged yaml as JSON") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"config {path} is not readable JSON ({type(exc).__name__}); pass the merged "
                              f"experiment config as a JSON object") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"config {path} holds a JSON {type(data).__name__}, not an object of config keys")
    return data


def _check_keys(args: dict) -> dict:
    unknown = sorted(str(k) for k in args if k not in TRAINING_KEYS and k not in MAPPED_KEYS
                     and k not in {key for key, _, _ in REQUIRED_VALUES})
    if unknown:
        raise UnsupportedModelError(f"authors' config key(s) {', '.join(unknown[:6])} are unknown to mgrade-edge, "
                                    f"which cannot tell whether they change the model; remove them only if they do not")
    for key, want, what in REQUIRED_VALUES:
        if key in args and args[key] != want and not (isinstance(want, float) and args[key] == int(want)):
            raise UnsupportedModelError(f"cannot import {what.format(args[key])}: mgrade-edge has no such block")
    missing = [k for k in REQUIRED_KEYS if k not in args]
    if missing:
        raise CheckpointError(f"authors' config lacks {', '.join(missing)}; pass the run's full merged config")
    return {**DEFAULTS, **args}


def _choice(args: dict, key: str, table: dict, block: str) -> str:
    value = args[key]
    if value not in table:
        raise UnsupportedModelError(f"cannot import {block} {key}={value!r}: supported values are {', '.join(table)}")
    return table[value]


def _shape(tree: dict, key: str) -> tuple:
    if key not in tree:
        raise CheckpointError(f"checkpoint lacks parameter {key}; it does not match its config")
    return tree[key].shape


def build_config(args: dict, tree: dict) -> tuple[MGRADEConfig, list[str]]:
    """MGRADEConfig of the authors' run; σ and the position range are read from the tree itself."""
    args = _check_keys(args)
    notes = []
    d, n_layers, gamma = args["hidden_dim"], args["n_layers"], args["kernel_size"]
    latent = args["latent_dim"]
    compress_act = "none"
    if latent is not None:
        if latent != d:
            raise UnsupportedModelError(f"cannot import compression to latent_dim={latent} != hidden_dim={d}: the next "
                                  f"layer would change width, which mgrade-edge's blocks do not support")
        compress_act = _choice(args, "comp_act", COMP_ACTS, "the compression block")
    d_in = _shape(tree, "Encoder/kernel")[0]
    n_classes = _shape(tree, "Dense_Out/kernel")[-1]
    for key, found in (("in_dim", d_in), ("n_classes", n_classes)):
        if key in args and args[key] != found:
            raise CheckpointError(f"config {key}={args[key]} but the checkpoint's weights give {found}; the config "
                                  f"belongs to another run")
    if args["dataset"] in PADDED_DATASETS:
        notes.append(f"dataset {args['dataset']}: the authors' readout is the mean over each sequence's valid "
                     f"length; the model is causal, so stream exactly the valid steps and take the mean")
    sigma, per_tap = _sigma(tree, n_layers)
    if per_tap:
        notes.append("tap widths differ between taps/channels/layers: stored per tap (sigma_per_tap)")
    positions = np.concatenate([tree.get(f"DCLSLayer_{i}/positions", np.zeros(1)).ravel() for i in range(n_layers)])
    if positions.size and (positions.min() < 0 or positions.max() > gamma):
        raise CheckpointError(f"checkpoint positions lie in [{positions.min():.4g}, {positions.max():.4g}], outside "
                              f"the authors' clamp [0, {gamma}]; the file does not come from their training")
    to_gamma = bool(positions.size and positions.max() > gamma - 1)
    if to_gamma:
        notes.append(f"positions above Γ-1={gamma - 1} (up to {positions.max():.4g}): kept (positions_to_gamma)")
    try:
        cfg = MGRADEConfig(
            d_in=d_in, d_model=d, n_layers=n_layers, n_classes=n_classes, kernel_size=gamma,
            n_taps=args["kernel_n_elems"], sigma=sigma, conv_ln=args["conv_ln"], rec_ln=args["rec_ln"],
            rec_dense_out=args["rec_dense_out"], cm_ln=args["cm_ln"],
            rec_act=_choice(args, "rec_act", REC_ACTS, "the recurrent activation"),
            mlp_act=_choice(args, "cm_act", CM_ACTS, "the channel-mixing activation"), mlp_ratio=2,
            ln_eps=AUTHORS_LN_EPS, readout="mean", encoder_bias=args["encoder_bias"],
            sigma_per_tap=per_tap, positions_to_gamma=to_gamma, rec_dense_out_relu=args["rec_dense_out_act"],
            compress_act=compress_act, layer_skip=args["layer_skip"], element_skip=args["element_skip"],
            postnorm=args["postnorm"], decoder_bias=args["decoder_bias"], softplus_cutoff=AUTHORS_SOFTPLUS_CUTOFF)
    except ConfigError as exc:
        raise CheckpointError(f"the authors' config does not map onto a valid model: {exc}") from None
    return cfg, notes


def _sigma(tree: dict, n_layers: int) -> tuple[float, bool]:
    stds = [tree[k] for i in range(n_layers) if (k := f"DCLSLayer_{i}/std") in tree]
    if len(stds) != n_layers:
        raise CheckpointError(f"checkpoint has {len(stds)} DCLSLayer_*/std arrays for {n_layers} layers")
    values = np.concatenate([s.ravel() for s in stds])
    if not np.isfinite(values).all() or values.min() <= 0:
        raise CheckpointError("checkpoint DCLSLayer_*/std holds a width <= 0, NaN or Inf; the file is corrupt")
    uniform = bool((values == values[0]).all())
    return float(values[0]), not uniform


def parameter_map(cfg: MGRADEConfig) -> list[tuple[str, str, str]]:
    """(authors' tree key, our state_dict key, transform) for every parameter; 'T' = transpose,
    'rows0'/'rows1' = first/second half of the fused gate matrix (and its bias)."""
    rows = [("Encoder/kernel", "encoder.weight", "T")] + ([("Encoder/bias", "encoder.bias", "")]
                                                          if cfg.encoder_bias else [])
    for i in range(cfg.n_layers):
        p, ours = f"{i}", f"layers.{i}."

        def dense(src, dst, ours=ours):
            return [(f"{src}/kernel", f"{ours}{dst}.weight", "T"), (f"{src}/bias", f"{ours}{dst}.bias", "")]

        def norm(src, dst, ours=ours):
            return [(f"{src}/scale", f"{ours}{dst}.weight", ""), (f"{src}/bias", f"{ours}{dst}.bias", "")]

        gru = f"HeinsenMinGeneralGRULayer_{p}"
        rows += [(f"DCLSLayer_{p}/weights", f"{ours}delay.weights", ""),
                 (f"DCLSLayer_{p}/positions", f"{ours}delay.positions", ""),
                 (f"DCLSLayer_{p}/std", f"{ours}delay.sigmas" if cfg.sigma_per_tap else "", "")]
        rows += norm(f"LayerNormConv_{p}", "conv_ln") if cfg.conv_ln else []
        rows += [(f"{gru}/Dense_z/kernel", f"{ours}gru.to_gates.weight", "T rows0"),
                 (f"{gru}/Dense_h/kernel", f"{ours}gru.to_gates.weight", "T rows1"),
                 (f"{gru}/Dense_z/bias", f"{ours}gru.to_gates.bias", "rows0"),
                 (f"{gru}/Dense_h/bias", f"{ours}gru.to_gates.bias", "rows1")]
        rows += dense(f"DenseRec_{p}", "rec_out") if cfg.rec_dense_out else []
        rows += norm(f"LayerNormRec_{p}", "rec_ln") if cfg.rec_ln else []
        rows += norm(f"MLP_{p}/LayerNorm_0", "mlp_ln") + dense(f"MLP_{p}/Dense_0", "mlp_in")
        rows += dense(f"MLP_{p}/Dense_1", "mlp_out")
        rows += norm(f"LayerNormCM_{p}", "cm_ln") if cfg.cm_ln else []
        rows += dense(f"Dense_{p}", "compress") if cfg.compress_act != "none" else []
        rows += norm(f"LayerNormPost_{p}", "post_ln") if cfg.postnorm else []
    rows += [("Dense_Out/kernel", "decoder.weight", "T")] + ([("Dense_Out/bias", "decoder.bias", "")]
                                                             if cfg.decoder_bias else [])
    return rows


def map_weights(cfg: MGRADEConfig, tree: dict) -> dict:
    """Our float64 state dict from the tree; unused or missing tree entries and wrong shapes are errors."""
    import torch

    from ..model import MGRADE

    expected = {k: tuple(v.shape) for k, v in MGRADE(cfg).state_dict().items()}
    rows = parameter_map(cfg)
    extra = sorted(set(tree) - {src for src, _, _ in rows})
    if extra:
        modules = sorted({k.split("/")[0] for k in extra})
        raise UnsupportedModelError(f"cannot import block(s) {', '.join(modules[:4])}: the checkpoint has parameters "
                              f"{', '.join(extra[:3])}{' ...' if len(extra) > 3 else ''} that neither mgrade-edge's "
                              f"model nor the config's switches account for")
    parts: dict[str, dict[str, np.ndarray]] = {}
    for src, dst, how in rows:
        value = tree.get(src)
        if value is None:
            raise CheckpointError(f"checkpoint lacks parameter {src}, which the config's switches need")
        if not np.issubdtype(value.dtype, np.floating) or not np.isfinite(value).all():
            raise CheckpointError(f"checkpoint parameter {src} is not finite floating-point data")
        if not dst and value.shape != (cfg.n_taps, cfg.d_model):  # a uniform σ still has the tap layout
            raise CheckpointError(f"checkpoint parameter {src} has shape {list(value.shape)}, but the config needs "
                                  f"{[cfg.n_taps, cfg.d_model]}; the config and the weights disagree")
        if dst:
            parts.setdefault(dst, {})[how.replace("T", "").strip() or "all"] = value.T if "T" in how else value
    state = {}
    for dst, pieces in parts.items():
        value = pieces["all"] if "all" in pieces else _fused(dst, pieces)
        if value.shape != expected[dst]:
            src = next(s for s, d_, _ in rows if d_ == dst)
            raise CheckpointError(f"checkpoint parameter {src} has shape {list(value.shape)}, but the config needs "
                                  f"{list(expected[dst])} for {dst}; the config and the weights disagree")
        state[dst] = torch.from_numpy(np.ascontiguousarray(value, dtype=np.float64))
    missing = sorted(set(expected) - set(state))
    if missing:  # an internal inconsistency between parameter_map and the model, not a user error
        raise RuntimeError(f"parameter map misses {missing}")
    return state


def _fused(dst: str, pieces: dict) -> np.ndarray:
    first, second = pieces["rows0"], pieces["rows1"]
    if first.shape != second.shape:
        raise CheckpointError(f"checkpoint gates for {dst} have different shapes {list(first.shape)} and "
                              f"{list(second.shape)}; the file is corrupt")
    return np.concatenate([first, second], axis=0)


def map_authors_model(args: dict, tree: dict) -> AuthorsModel:
    cfg, notes = build_config(args, tree)
    state = map_weights(cfg, tree)
    return AuthorsModel(cfg, state, notes, int(sum(v.size for v in tree.values())))
