"""Memory profile of a streaming mGRADE model: analytic bytes per layer, comparisons against T, report.

Deployment accounting (spec section 5), in bytes at one precision:
- flash: every constant tensor of the exported step (the delay kernel is the dense [Γ, d] kernel the
  step uses, not the M taps it was trained from) plus per-channel quantisation parameters;
- RAM: persistent state (delay lines and hidden states) + scratch (peak live intermediates of one
  step) + I/O. Their sum is the analytic minimum the measured TFLite Micro arena is compared with.
The paper's accounting in values (parameters + buffers) is reported next to it.

Byte widths per precision follow what the TFLite converter emits (checked on converted models:
int8 FULLY_CONNECTED/DEPTHWISE_CONV_2D weights with int32 biases in int8 mode and int64 biases in
16x8 mode; the converter adds a zero bias to the bias-free depthwise conv in both; element-wise
constants such as LayerNorm gamma/beta take the activation type, one scale per tensor).
The measured part (exported model, TFLite Micro arena) and profile_report live in measure.py, the
text report in report.py; both import this module, never the reverse.
"""

from __future__ import annotations

from .checkpoint import paper_footprint
from .config import MGRADEConfig
from .targets import Precision, get_target

DEFAULT_STEPS = (1, 10, 100, 1000, 10000)
DEFAULT_WINDOWS = (16, 64, 256)  # window lengths W at which the non-streaming model is measured
T_GRID = (16, 64, 256, 1024, 4096, 16384, 65536)
ARENA_GOAL_RATIO = 1.25  # measured arena / analytic minimum we aim for
QPARAM_BYTES_PER_CHANNEL = 12  # TFLite QuantizationParameters: float32 scale + int64 zero point


def target_precision(target: str) -> Precision:
    return get_target(target).precision


# ---- parameters and flash ----------------------------------------------------------------------

def training_parameters(cfg: MGRADEConfig) -> dict[str, int]:
    """The model's own parameter count per part (what count_parameters gives; taps, not kernels)."""
    d, r, ln = cfg.d_model, cfg.mlp_hidden, 2 * cfg.d_model
    layer = (2 * cfg.n_taps * d + 2 * d * d + 2 * d + (d * d + d) * cfg.rec_dense_out
             + ln * (1 + cfg.postnorm + cfg.conv_ln + cfg.rec_ln + cfg.cm_ln) + (d * r + r) + (r * d + d)
             + (d * d + d) * (cfg.compress_act != "none"))
    parts = {"encoder": cfg.d_in * d + d * cfg.encoder_bias}
    parts.update({f"layer_{i}": layer for i in range(cfg.n_layers)})
    parts["decoder"] = d * cfg.n_classes + cfg.n_classes * cfg.decoder_bias
    return parts


def deployed_tensors(cfg: MGRADEConfig, prec: Precision) -> list[tuple[str, str, str, int, int]]:
    """(part, tensor, kind, values, channels) of every constant of the exported step.

    kind: weight | bias (of FC/conv ops, per output channel when quantised) | const (element-wise).
    The converter folds a LayerNorm's gamma/beta into the FULLY_CONNECTED it alone feeds (mlp_ln
    into mlp_in, the last post_ln into the decoder), so those have no constants of their own.
    Scalars (LayerNorm eps, GELU coefficients, 0.5, reshape shapes ...) are left out: a few bytes per op.
    """
    d, r, c = cfg.d_model, cfg.mlp_hidden, cfg.n_classes

    def dense(part, name, n_in, n_out, bias=True):
        return [(part, f"{name}.w", "weight", n_in * n_out, n_out)] + ([(part, f"{name}.b", "bias", n_out, n_out)]
                                                                      if bias else [])

    def norm(part, name, enabled=True):
        return [(part, f"{name}.gamma", "const", d, 1), (part, f"{name}.beta", "const", d, 1)] if enabled else []

    out = dense("encoder", "encoder", cfg.d_in, d, cfg.encoder_bias)
    for i in range(cfg.n_layers):
        p = f"layer_{i}"
        out += [(p, "delay_kernel", "weight", cfg.kernel_size * d, d)]
        if prec.quantized:  # the converter gives the bias-free depthwise conv a zero bias
            out += [(p, "delay_bias", "bias", d, d)]
        out += norm(p, "conv_ln", cfg.conv_ln) + dense(p, "gate_k", d, d) + dense(p, "gate_a", d, d)
        out += (dense(p, "rec_out", d, d) if cfg.rec_dense_out else []) + norm(p, "rec_ln", cfg.rec_ln)
        out += dense(p, "mlp_in", d, r) + dense(p, "mlp_out", r, d)
        out += norm(p, "cm_ln", cfg.cm_ln) + (dense(p, "compress", d, d) if cfg.compress_act != "none" else [])
        out += norm(p, "post_ln", cfg.postnorm and i < cfg.n_layers - 1)
    return out + dense("decoder", "decoder", d, c, cfg.decoder_bias)


def flash_by_part(cfg: MGRADEConfig, prec: Precision) -> dict[str, dict]:
    """Per part: deployed values, bytes per dtype, quantisation-parameter bytes, total bytes."""
    parts: dict[str, dict] = {}
    for part, _, kind, values, channels in deployed_tensors(cfg, prec):
        entry = parts.setdefault(part, {"deployed_values": 0, "by_dtype": {}, "quant_params": 0})
        entry["deployed_values"] += values
        dtype = prec.dtype(kind)
        width = {"weight": prec.weight, "bias": prec.bias}.get(kind, prec.act)
        entry["by_dtype"][dtype] = entry["by_dtype"].get(dtype, 0) + values * width
        if prec.quantized:
            entry["quant_params"] += QPARAM_BYTES_PER_CHANNEL * channels
    for entry in parts.values():
        entry["total"] = sum(entry["by_dtype"].values()) + entry["quant_params"]
    return parts


# ---- scratch: peak live intermediates of one step ----------------------------------------------

def step_dataflow(cfg: MGRADEConfig, window: int | None = None) -> list[tuple[str, str, int, tuple[str, ...]]]:
    """The step as (part, output, values, inputs): one buffer per line of the spec's equations.

    window=None: the streaming step. The layer input x [d] is appended to the delay line to form
    the window [Γ, d]; the new delay line (window minus its oldest row) and h' are written to the
    state's own storage (size 0 here: state is counted separately). window=W: the non-streaming
    model re-run over the last W inputs, layer by layer: every tensor is [W, ...], the conv reads
    lagged rows of x directly (no window copy), and the hidden-state sequence [W, d] is scratch.

    What this gives for the streaming step (r = mlp_ratio), per phase of a layer:
      delay conv:  layer input d + window Γ·d + conv output d        = (Γ + 2)·d
      minGRU:      x1 d + z d + a d + g(a) d (k is dead once z exists) = 4·d
      MLP:         residual d + hidden r·d + activated hidden r·d      = (2r + 1)·d
    so the peak is (Γ + 2)·d whenever Γ + 2 >= 2r + 1 (Γ >= 3 at r = 2): the window dominates.
    """
    d, r, w = cfg.d_model, cfg.mlp_hidden, window or 1
    ops = [("encoder", "e", w * d, ())]
    x = "e"
    for i in range(cfg.n_layers):
        p, n = f"layer_{i}", f"{i}."

        def op(name, size, *inputs, p=p, n=n):
            ops.append((p, n + name, size, tuple(inputs)))
            return n + name

        if window is None:
            win = op("window", cfg.kernel_size * d, x)
            v = op("v", d, win)
            op("delay_out", 0, win)
        else:
            v = op("v", w * d, x)
        v = op("conv_ln", w * d, v) if cfg.conv_ln else v
        x1 = op("x1", w * d, x, v)
        z = op("z", w * d, op("k", w * d, x1))
        g = op("g", w * d, op("a", w * d, x1))
        h = op("h_out", 0 if window is None else w * d, z, g)
        o = op("o", w * d, *([h] if window else ())) if cfg.rec_act != "identity" else h
        o = op("rec_out", w * d, o) if cfg.rec_dense_out else o
        o = op("rec_ln", w * d, o) if cfg.rec_ln else o
        x2 = op("x2", w * d, x1, o)
        m = op("m2", w * r, op("m1", w * r, op("mlp_ln", w * d, x2)))
        m = op("m3", w * d, m)
        m = op("cm_ln", w * d, m) if cfg.cm_ln else m
        x = op("x3", w * d, op("sum", w * d, x2, m))
    ops.append(("decoder", "y", 0, (x,)))  # y is an I/O tensor
    return ops


def peak_live(ops) -> tuple[int, dict[str, int]]:
    """Largest sum of simultaneously live buffers (overall and per part), ideal packing.

    A buffer is live from the op that writes it to the last op that reads it; an op's output never
    aliases its inputs (as in TFLite Micro), so inputs and output are live together.
    """
    last_use = {name: i for i, (_, name, _, _) in enumerate(ops)}
    for i, (_, _, _, inputs) in enumerate(ops):
        for name in inputs:
            last_use[name] = i
    sizes = {name: size for _, name, size, _ in ops}
    produced = {name: i for i, (_, name, _, _) in enumerate(ops)}
    peak, per_part = 0, {}
    for i, (part, _, _, _) in enumerate(ops):
        live = sum(sizes[n] for n in sizes if produced[n] <= i <= last_use[n])
        peak = max(peak, live)
        per_part[part] = max(per_part.get(part, 0), live)
    return peak, per_part


def step_macs(cfg: MGRADEConfig) -> int:
    """Multiply-accumulates of one streaming step (matmuls and the delay conv)."""
    d, r = cfg.d_model, cfg.mlp_hidden
    layer = cfg.kernel_size * d + 2 * d * d + d * d * cfg.rec_dense_out + 2 * d * r
    return cfg.d_in * d + cfg.n_layers * layer + d * cfg.n_classes


# ---- comparisons against sequence length T ----------------------------------------------------

def tcn_stack(gamma: int, k: int = 3) -> tuple[list[int], int]:
    """Dilations 1, 2, 4, ... of the smallest kernel-k stack whose receptive field covers gamma."""
    dilations = [1]
    while 1 + (k - 1) * sum(dilations) < gamma:
        dilations.append(2 * dilations[-1])
    return dilations, 1 + (k - 1) * sum(dilations)


def comparisons(cfg: MGRADEConfig, prec: Precision, streaming_ram: int, t_grid=T_GRID) -> dict:
    """RAM in bytes (activation precision) of four ways to give a width-d model context, per T.

    The comparators' per-step working memory that does not depend on T is left out; the window
    re-inference counts its activations because they grow with the window.
    """
    d, L, a = cfg.d_model, cfg.n_layers, prec.act
    dilations, rf = tcn_stack(cfg.kernel_size)
    tcn_layer_state = d * (3 - 1) * sum(dilations)  # Σ d·(k-1)·δ over the stack
    window = [peak_live(step_dataflow(cfg, t))[0] + t * cfg.d_in + cfg.n_classes for t in t_grid]
    full = [sum(tcn_stack(t)[0]) for t in t_grid]
    return {
        "T": list(t_grid),
        "bytes": {
            "streaming_mgrade": [streaming_ram] * len(t_grid),
            "window_reinference": [v * a for v in window],
            "tcn": [L * tcn_layer_state * a] * len(t_grid),
            "tcn_covering_T": [L * d * 2 * s * a for s in full],
            "transformer_kv": [L * 2 * d * t * a for t in t_grid],
        },
        "macs_per_step": {"streaming_mgrade": [step_macs(cfg)] * len(t_grid),
                          "window_reinference": [t * (step_macs(cfg) - d * cfg.n_classes) + d * cfg.n_classes
                                                 for t in t_grid]},
        "notes": {
            "streaming_mgrade": "state + scratch + I/O, constant in T",
            "window_reinference": "the parallel model re-run over the last W = T inputs each step (exact only "
                                  "if the window covers the whole history): input buffer + peak activations",
            "tcn": f"each layer's delay conv replaced by a kernel-3 dilated stack {dilations} (receptive field "
                   f"{rf} >= Γ = {cfg.kernel_size}); state Σ d·(k-1)·δ per stack; no recurrence, so its "
                   f"context ends after {L * (rf - 1) + 1} samples",
            "tcn_covering_T": "the same kind of stack per layer, deepened until its receptive field covers T",
            "transformer_kv": "KV cache 2·d·T per layer at the same width; attention scratch not counted",
        },
    }


# ---- the analytic report -----------------------------------------------------------------------

def analytic_profile(cfg: MGRADEConfig, target: str = "tflite-int8", model=None) -> dict:
    prec = target_precision(target)
    params_by_part = training_parameters(cfg)
    if model is not None:
        from .model import count_parameters

        counted = count_parameters(model)
        if counted != sum(params_by_part.values()):
            raise AssertionError(f"parameter formula {sum(params_by_part.values())} != model count {counted}")
    flash = flash_by_part(cfg, prec)
    scratch_values, scratch_by_part = peak_live(step_dataflow(cfg))
    a, d, gamma = prec.act, cfg.d_model, cfg.kernel_size
    per_layer = {}
    for part, n_params in params_by_part.items():
        is_layer = part.startswith("layer_")
        per_layer[part] = {
            "params": n_params, "deployed_values": flash[part]["deployed_values"], "flash_bytes": flash[part]["total"],
            "state_bytes": {"delay_line": (gamma - 1) * d * a if is_layer else 0, "hidden": d * a if is_layer else 0},
            "scratch_bytes": scratch_by_part[part] * a,
        }
    by_dtype: dict[str, int] = {}
    for entry in flash.values():
        for dtype, size in entry["by_dtype"].items():
            by_dtype[dtype] = by_dtype.get(dtype, 0) + size
    params = sum(params_by_part.values())
    footprint = paper_footprint(cfg, params)  # the state values, in the paper's accounting; here in bytes
    delay, hidden = footprint["delay_line_values"] * a, footprint["hidden_state_values"] * a
    io = {"x": cfg.d_in * a, "y": cfg.n_classes * a}
    state = {"delay_lines": delay, "hidden": hidden, "total": delay + hidden}
    minimum = state["total"] + scratch_values * a + sum(io.values())
    return {
        "target": target, "precision": prec.name, "config": cfg.to_dict(),
        "params": params, "deployed_values": sum(e["deployed_values"] for e in flash.values()),
        "flash_bytes": {"by_dtype": by_dtype, "quant_params": sum(e["quant_params"] for e in flash.values()),
                        "total": sum(e["total"] for e in flash.values())},
        "state_bytes": state, "scratch_bytes": scratch_values * a, "io_bytes": io,
        "analytic_min_ram_bytes": minimum,
        "runtime_bytes": {"mean_readout_accumulator_float32": 4 * footprint["mean_readout_accumulator_values"]},
        "paper_footprint_values": footprint,
        "macs_per_step": step_macs(cfg),
        "per_layer": per_layer,
        "comparisons": comparisons(cfg, prec, minimum),
    }
