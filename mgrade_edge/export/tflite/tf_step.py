"""The streaming step rebuilt in TensorFlow, weights copied from the frozen PyTorch step.

This is the TFLite route that works for every precision in both LiteRT and TFLite Micro (see the
toolchain facts): a `tf.Module` whose `tf.function` has a fixed batch-1 signature, converted with
`TFLiteConverter.from_concrete_functions`. The math follows `streaming.StreamingLayer` exactly; the
op choices are made so that every op has an int8 *and* an int16 kernel in TFLite Micro:

- delay conv: DEPTHWISE_CONV_2D over the time-major window viewed as NHWC [1, 1, Γ, d];
- LayerNorm: variance as mean(c * c), because SQUARED_DIFFERENCE has no int16 kernel, taken with eps
  by one FULLY_CONNECTED (see _ln);
- k and a: one FULLY_CONNECTED and a SPLIT; g(a) = max(a + 1/2, sigmoid(a)), no SELECT (_gate_terms);
- GELU (tanh approximation): x * sigmoid(2u) with u the usual tanh argument, since
  0.5 (1 + tanh(u)) = sigmoid(2u) exactly and TFLite Micro has no GELU kernel.

External state: every state tensor is an input/output. Internal state: delay lines and h are
tf.Variables read and assigned inside the step, whose only input is x and only output is y.

The block is written once (_block): the streaming step (_layer_step) and profile's non-streaming
window model (_layer_over_window, window_network) differ only in the delay convolution (a window
from the delay line vs the zero-padded input) and the recurrence (one step vs a scan over W rows).
"""

from __future__ import annotations

import math

import numpy as np

from ...native_io import import_tensorflow
from ...streaming import StreamingMGRADE

# 2 * sqrt(2 / pi): sigmoid(GELU_SCALE * (x + GELU_CUBIC * x^3)) = 0.5 * (1 + tanh(sqrt(2/pi) * (...)))
GELU_SCALE = 2.0 * math.sqrt(2.0 / math.pi)
GELU_CUBIC = 0.044715


def _numpy(t) -> np.ndarray:
    return t.detach().to("cpu").double().numpy().astype(np.float32)


def _linear(module):
    """(W^T [in, out], b [out] or None) of an nn.Linear, ready for x @ W^T + b."""
    if module is None:
        return None
    bias = None if module.bias is None else _numpy(module.bias)
    return _numpy(module.weight).T.copy(), bias


def _layer_norm(module, variance_fc: bool):
    if module is None:
        return None
    return _numpy(module.weight), _numpy(module.bias), float(module.eps), variance_fc


def extract_weights(step: StreamingMGRADE, quantized: bool = False, variance_fc: bool = True) -> dict:
    """Every weight of the step as float32 numpy arrays, in the layout the TF ops take.

    variance_fc: a LayerNorm's variance + eps is one FULLY_CONNECTED (see _ln); int16x8 graphs keep
    MEAN + ADD, because an int16 FULLY_CONNECTED needs its bias scale within 2% of input x weight
    scale and the converter widens the scale of a bias as small as eps.

    quantized: the graph is for an integer target, which leaves out the softplus-cut excess terms
    (see _min_gru_cut_terms): they are below one quantisation step, and their calibrated range is often
    exactly zero, which TFLite Micro cannot quantise."""
    layers = []
    for layer in step.layers:
        block = layer.block
        gates_w = _numpy(block.gru.to_gates.weight)  # [2d, d]: rows [:d] give k (z gate), rows [d:] give a
        gates_b = _numpy(block.gru.to_gates.bias)
        d = gates_w.shape[1]
        kernel = _numpy(layer.kernel)  # [Γ, d], row Γ-1 multiplies "now"
        layers.append({
            # depthwise filter [H=1, W=Γ, C=d, multiplier=1] in window order, so the conv is a plain dot
            "delay_kernel": kernel.reshape(1, kernel.shape[0], d, 1),
            "conv_ln": _layer_norm(block.conv_ln, variance_fc),
            # [d, 2d]: columns [:d] give k, [d:] give a (one FULLY_CONNECTED, split, see _gates)
            "gates": (gates_w.T.copy(), gates_b.copy()),
            "rec_act": block.cfg.rec_act,
            "rec_out": _linear(block.rec_out),
            "rec_ln": _layer_norm(block.rec_ln, variance_fc),
            "mlp_ln": _layer_norm(block.mlp_ln, variance_fc),
            "mlp_in": _linear(block.mlp_in),
            "mlp_act": block.cfg.mlp_act,
            "mlp_out": _linear(block.mlp_out),
            "cm_ln": _layer_norm(block.cm_ln, variance_fc),
            "post_ln": _layer_norm(block.post_ln, variance_fc),
            **_variant_weights(block, quantized),
        })
    return {"encoder": _linear(step.encoder), "layers": layers, "decoder": _linear(step.decoder)}


def _variant_weights(block, quantized: bool) -> dict:
    """The options of the authors' model variants (config.py); defaults give the spec's model."""
    cfg = block.cfg
    cutoff = None if quantized else cfg.softplus_cutoff
    return {"rec_out_relu": cfg.rec_dense_out_relu, "compress": _linear(block.compress),
            "compress_act": cfg.compress_act, "layer_skip": cfg.layer_skip, "element_skip": cfg.element_skip,
            "softplus_cutoff": cutoff}


# ---- TF ops (tf is passed in so this module imports without tensorflow) -------------------------

def _dense(tf, x, weights):
    w, b = weights
    y = tf.matmul(x, tf.constant(w))
    return y if b is None else y + tf.constant(b)


def _ln(tf, x, params):
    """LayerNorm over the last axis. The variance plus eps is one FULLY_CONNECTED (weights 1/d, bias
    eps) instead of MEAN + ADD; gamma and beta fold into the FULLY_CONNECTED a LayerNorm alone feeds
    (the converter does that)."""
    gamma, beta, eps, variance_fc = params
    d = x.shape[-1]
    centred = x - tf.reduce_mean(x, axis=-1, keepdims=True)
    if variance_fc:
        var_eps = tf.matmul(centred * centred, tf.constant(np.full((d, 1), 1.0 / d, np.float32))) + eps
    else:
        var_eps = tf.reduce_mean(centred * centred, axis=-1, keepdims=True) + eps
    return centred * tf.math.rsqrt(var_eps) * tf.constant(gamma) + tf.constant(beta)


def _gelu_tanh(tf, x):
    return x * tf.sigmoid(x * (GELU_SCALE + (GELU_SCALE * GELU_CUBIC) * (x * x)))


def _rec_act(tf, name, h):
    if name == "identity":
        return h
    if name == "relu":
        return tf.nn.relu(h - 1.0)
    if name == "gelu":
        return _gelu_tanh(tf, h - 1.0)
    if name == "sigmoid":
        return tf.sigmoid(10.0 * (h - 0.5))
    if name == "relu2":
        return tf.nn.relu(h - 2.0)
    raise ValueError(name)


def _cut_excess(tf, below, s, cutoff: float):
    """exp(-x) - s where x > cutoff, else 0, with s = sigmoid(-x): how far the term exp(-softplus(x))
    moves when softplus is cut at `cutoff`; the caller passes below = cutoff - x (no NEG op: TFLite
    Micro's is float-only).

    Above the cutoff exp(-x) - s = s^2 / (1 - s) = s^2 + s^3 + ..., and s < s_c = sigmoid(-cutoff), so the
    series is cut where s_c^n < 1e-9 (3 terms at the authors' cutoff 7): exact to float32. Built from
    RELU/MINIMUM/MUL/ADD only: EXP is float-only in TFLite Micro, DIV has no int16 kernel and tf.where
    becomes SELECT, which TFLite Micro lacks. Below the cutoff the series is switched off by subtracting
    gain * relu(below), which exceeds the series' bound s_c^2 / (1 - s_c) as soon as x is one float32
    step below the cutoff; only x == cutoff exactly takes the upper branch. The gain is the smallest that
    does this (x4 margin): about 7 at cutoff 7, so int8/int16 requantisation stays well-conditioned.
    """
    s_c = 1.0 / (1.0 + math.exp(cutoff))
    n_terms = max(2, math.ceil(math.log(1e-9) / math.log(s_c)))
    gap_below = float(np.float32(cutoff) - np.nextafter(np.float32(cutoff), np.float32(0)))
    gain = 4.0 * s_c * s_c / (1.0 - s_c) / gap_below
    t = tf.minimum(s, s_c)  # keeps the (discarded) series small below the cutoff
    series = 1.0 + t
    for _ in range(n_terms - 3):
        series = 1.0 + t * series
    return tf.nn.relu(t * t * series - gain * tf.nn.relu(below))


def _min_gru_cut_terms(tf, k, a, cutoff: float):
    """(z, g, cut) of h' = (1-z)' h + z' g'(a), the recurrence the authors' scan computes
    (model.min_gru_step_cut), as the spec's h + z (g' - h) plus the small excess terms
    cut = (excess of 1 - z, excess of z times g'), see _recur."""
    z = tf.sigmoid(k)
    excess_one_minus_z = _cut_excess(tf, cutoff - k, 1.0 - z, cutoff)  # softplus(k) cut
    excess_z = _cut_excess(tf, cutoff + k, z, cutoff)  # softplus(-k) cut
    neg = tf.minimum(a, 0.0)
    sig_neg = tf.sigmoid(neg)
    g = tf.nn.relu(a) + sig_neg + _cut_excess(tf, cutoff + neg, sig_neg, cutoff)  # softplus(-a) cut, a < 0
    return z, g, (excess_one_minus_z, excess_z * g)


def _gates(tf, w, x):
    """(k, a) of the minGRU from x [n, d]: one FULLY_CONNECTED over the concatenated weights, split.
    Each output channel keeps its own weight scale (per-channel int8), so fusing costs k and a only a
    shared output scale; it saves one op's records and reads x once."""
    k, a = tf.split(_dense(tf, x, w["gates"]), 2, axis=-1)
    return k, a


def _gate_terms(tf, w, k, a):
    """The minGRU's per-step terms, all computable in parallel over rows: (z, g, cut) with
    h' = h + z (g - h) (+ the cut terms, see _min_gru_cut_terms). g(a) = relu(a) + sigmoid(min(a, 0)) is
    max(a + 1/2, sigmoid(a)) exactly: for a >= 0, a + 1/2 >= sigmoid(a) (sigmoid lies below its tangent
    1/2 + a/4 there), for a < 0 sigmoid(a) lies above it, hence above a + 1/2 (3 ops instead of 4 and
    no second FULLY_CONNECTED for a fused relu(a))."""
    if w["softplus_cutoff"] is not None:
        return _min_gru_cut_terms(tf, k, a, w["softplus_cutoff"])
    return tf.sigmoid(k), tf.maximum(a + 0.5, tf.sigmoid(a)), None


def _recur(tf, h, z, g, cut):
    """One step of the recurrence from the parallel terms: h passes through an ADD, so a quantised
    state is not re-rounded by a MUL every step."""
    h_new = h + z * (g - h)
    if cut is not None:
        excess_one_minus_z, excess_z_g = cut
        h_new = h_new + excess_one_minus_z * h + excess_z_g
    return h_new


def _block(tf, w, x, v, recurrence):
    """Everything of one block after the delay convolution, shared by the streaming step (x [1, d])
    and the window model (x [W, d]): x the block input, v the delay convolution of x's history,
    recurrence(z, g, cut) -> h' rows. Returns (x', h')."""
    layer_in = x
    if w["conv_ln"] is not None:
        v = _ln(tf, v, w["conv_ln"])
    x = x + v if w["element_skip"] else v
    h_new = recurrence(*_gate_terms(tf, w, *_gates(tf, w, x)))
    o = _rec_act(tf, w["rec_act"], h_new)
    if w["rec_out"] is not None:
        o = _dense(tf, o, w["rec_out"])
        o = tf.nn.relu(o) if w["rec_out_relu"] else o
    if w["rec_ln"] is not None:
        o = _ln(tf, o, w["rec_ln"])
    x = x + o if w["element_skip"] else o
    m = _dense(tf, _ln(tf, x, w["mlp_ln"]), w["mlp_in"])
    m = _gelu_tanh(tf, m) if w["mlp_act"] == "gelu" else tf.nn.relu(m)
    m = _dense(tf, m, w["mlp_out"])
    if w["cm_ln"] is not None:
        m = _ln(tf, m, w["cm_ln"])
    x = x + m if w["element_skip"] else m
    if w["compress"] is not None:
        x = _dense(tf, x, w["compress"])
        x = _gelu_tanh(tf, x) if w["compress_act"] == "gelu" else tf.nn.relu(x)
    if w["layer_skip"]:
        x = x + layer_in
    return (_ln(tf, x, w["post_ln"]) if w["post_ln"] is not None else x), h_new


def _layer_step(tf, w, x, delay, h):
    """One block, one step: x [1, d], delay [1, Γ-1, d] (oldest first), h [1, d] -> (x', delay', h')."""
    window = tf.concat([delay, tf.expand_dims(x, 1)], axis=1)  # [1, Γ, d]
    v = tf.nn.depthwise_conv2d(tf.expand_dims(window, 1), tf.constant(w["delay_kernel"]),
                               strides=[1, 1, 1, 1], padding="VALID")  # [1, 1, 1, d]
    x, h_new = _block(tf, w, x, tf.reshape(v, [1, -1]), lambda z, g, cut: _recur(tf, h, z, g, cut))
    return x, window[:, 1:, :], h_new


def _layer_over_window(tf, w: dict, x, window: int):
    """One block over x [W, d] in parallel form (the non-streaming model): the delay convolution over
    the causally zero-padded window, the recurrence as a scan from h = 0, the rest as in the step."""
    _, gamma, d, _ = w["delay_kernel"].shape
    padded = tf.pad(x, [[gamma - 1, 0], [0, 0]])  # causal zero history
    v = tf.nn.depthwise_conv2d(tf.reshape(padded, [1, 1, window + gamma - 1, d]), tf.constant(w["delay_kernel"]),
                               strides=[1, 1, 1, 1], padding="VALID")

    def recurrence(z, g, cut):
        # h_t = a_t h_{t-1} + b_t from h_0 = 0, as a parallel (Hillis-Steele) scan over the rows:
        # ceil(log2 W) rounds instead of W sequential steps, as a non-streaming deployment would run it
        a, b = 1.0 - z, z * g
        if cut is not None:
            a, b = a + cut[0], b + cut[1]
        shift = 1
        while shift < window:
            b = b + a * tf.pad(b[:-shift], [[shift, 0], [0, 0]])  # b of row t - shift (0 before the start)
            if 2 * shift < window:
                a = a * tf.pad(a[:-shift], [[shift, 0], [0, 0]], constant_values=1.0)
            shift *= 2
        return b

    return _block(tf, w, x, tf.reshape(v, [window, d]), recurrence)[0]


def _network_step(tf, weights, x, read, write):
    """The whole step. read(i) gives state tensor i (delay_0, h_0, delay_1, ...), write(i, value) takes
    its next value: each layer reads its state right before using it and writes it as soon as it is
    computed, so the op order (TFLite Micro plans memory by it) keeps no state copy live across layers."""
    x = _dense(tf, x, weights["encoder"])
    for i, w in enumerate(weights["layers"]):
        x, delay, h = _layer_step(tf, w, x, read(2 * i), read(2 * i + 1))
        write(2 * i, delay)
        write(2 * i + 1, h)
    return _dense(tf, x, weights["decoder"])


def window_network(tf, weights, u, window: int):
    """The parallel model over u [W, d_in] -> the newest output [1, C] (profile's non-streaming
    alternative): the same blocks as the step, in window form."""
    x = _dense(tf, u, weights["encoder"])
    for w in weights["layers"]:
        x = _layer_over_window(tf, w, x, window)
    return _dense(tf, x[-1:], weights["decoder"])


# ---- the modules -------------------------------------------------------------------------------

def build_external_step(step: StreamingMGRADE, quantized: bool = False, variance_fc: bool = True):
    """(tf.Module, concrete function) with inputs x + every state_in, outputs y + every state_out."""

    tf = import_tensorflow()

    weights = extract_weights(step, quantized, variance_fc)
    sig = step.signature
    specs = [tf.TensorSpec(sig.spec(n).shape, tf.float32, name=n) for n in sig.input_names]
    out_names = sig.output_names

    class ExternalStep(tf.Module):
        @tf.function(input_signature=specs)
        def step(self, x, *state):
            new_state = [None] * len(state)
            y = _network_step(tf, weights, x, state.__getitem__, new_state.__setitem__)
            return dict(zip(out_names, [y, *new_state]))

    module = ExternalStep()
    return module, [module.step.get_concrete_function()]


def build_internal_step(step: StreamingMGRADE, quantized: bool = False, variance_fc: bool = True):
    """(tf.Module, concrete functions [step, zero_state]): state lives in tf.Variables inside the model.

    `zero_state(dummy)` zeroes every variable. It takes a dummy input because int8 conversion fails on
    an input-less signature. The converter orders subgraphs by signature key and "zero_state" sorts
    after "step", so the step stays subgraph 0, the only one TFLite Micro runs ("reset" would sort
    first).
    """

    tf = import_tensorflow()

    weights = extract_weights(step, quantized, variance_fc)
    sig = step.signature
    state_specs = [sig.spec(n) for n in sig.input_names[1:]]
    x_spec = tf.TensorSpec(sig.spec("x").shape, tf.float32, name="x")

    class InternalStep(tf.Module):
        def __init__(self):
            super().__init__()
            self.state = [tf.Variable(np.zeros(s.shape, np.float32), name=s.name.removesuffix("_in"))
                          for s in state_specs]

        @tf.function(input_signature=[x_spec])
        def step(self, x):
            y = _network_step(tf, weights, x, lambda i: self.state[i].read_value(),
                              lambda i, value: self.state[i].assign(value))
            return {"y": y}

        @tf.function(input_signature=[tf.TensorSpec([1], tf.float32, name="dummy")])
        def zero_state(self, dummy):
            for var in self.state:
                var.assign(tf.zeros_like(var))
            # an op between input and output: returning `dummy` itself makes int16x8 quantisation
            # fail ("Unsupported input type INT16 for input tensor 0 of type FLOAT32")
            return {"done": dummy * 0.5}

    module = InternalStep()
    return module, [module.step.get_concrete_function(), module.zero_state.get_concrete_function()]
