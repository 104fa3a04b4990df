"""The streaming step rebuilt in TensorFlow, weights copied from the frozen PyTorch step.

This is the TFLite route that works for every precision in both LiteRT and TFLite Micro (see the
toolchain facts): a `tf.Module` whose `tf.function` has a fixed batch-1 signature, converted with
`TFLiteConverter.from_concrete_functions`. The math follows `streaming.StreamingLayer` exactly; the
op choices are made so that every op has an int8 *and* an int16 kernel in TFLite Micro:

- delay conv: DEPTHWISE_CONV_2D over the time-major window viewed as NHWC [1, 1, Γ, d];
- LayerNorm: variance as mean(c * c), because SQUARED_DIFFERENCE has no int16 kernel;
- g(a): relu(a) + sigmoid(min(a, 0)), no SELECT;
- GELU (tanh approximation): x * sigmoid(2u) with u the usual tanh argument, since
  0.5 (1 + tanh(u)) = sigmoid(2u) exactly and TFLite Micro has no GELU kernel.

External state: every state tensor is an input/output. Internal state: delay lines and h are
tf.Variables read and assigned inside the step, whose only input is x and only output is y.
"""

from __future__ import annotations

import math

import numpy as np

from ..streaming import StreamingMGRADE

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


def _layer_norm(module):
    return None if module is None else (_numpy(module.weight), _numpy(module.bias), float(module.eps))


def extract_weights(step: StreamingMGRADE, quantized: bool = False) -> dict:
    """Every weight of the step as float32 numpy arrays, in the layout the TF ops take.

    quantized: the graph is for an integer target, which leaves out the softplus-cut excess terms
    (see _min_gru_cut): they are below one quantisation step, and their calibrated range is often
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
            "conv_ln": _layer_norm(block.conv_ln),
            # k and a as two matmuls so each gets its own quantisation range
            "gate_k": (gates_w[:d].T.copy(), gates_b[:d].copy()),
            "gate_a": (gates_w[d:].T.copy(), gates_b[d:].copy()),
            "rec_act": block.cfg.rec_act,
            "rec_out": _linear(block.rec_out),
            "rec_ln": _layer_norm(block.rec_ln),
            "mlp_ln": _layer_norm(block.mlp_ln),
            "mlp_in": _linear(block.mlp_in),
            "mlp_act": block.cfg.mlp_act,
            "mlp_out": _linear(block.mlp_out),
            "cm_ln": _layer_norm(block.cm_ln),
            "post_ln": _layer_norm(block.post_ln),
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
    gamma, beta, eps = params
    centred = x - tf.reduce_mean(x, axis=-1, keepdims=True)
    var = tf.reduce_mean(centred * centred, axis=-1, keepdims=True)
    return centred * tf.math.rsqrt(var + eps) * tf.constant(gamma) + tf.constant(beta)


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


def _min_gru_cut(tf, k, a, h, cutoff: float):
    """h' = (1-z)' h + z' g'(a), the recurrence the authors' scan computes (model.min_gru_step_cut), as
    the spec's h + z (g' - h) plus the small excess terms: h passes through an ADD, as in the exact
    step, so a quantised state is not re-rounded by a MUL every step."""
    z = tf.sigmoid(k)
    excess_one_minus_z = _cut_excess(tf, cutoff - k, 1.0 - z, cutoff)  # softplus(k) cut
    excess_z = _cut_excess(tf, cutoff + k, z, cutoff)  # softplus(-k) cut
    neg = tf.minimum(a, 0.0)
    sig_neg = tf.sigmoid(neg)
    g = tf.nn.relu(a) + sig_neg + _cut_excess(tf, cutoff + neg, sig_neg, cutoff)  # softplus(-a) cut, a < 0
    return h + z * (g - h) + excess_one_minus_z * h + excess_z * g


def _layer_step(tf, w, x, delay, h):
    """One block: x [1, d], delay [1, Γ-1, d] (oldest first), h [1, d] -> (x', delay', h')."""
    window = tf.concat([delay, tf.expand_dims(x, 1)], axis=1)  # [1, Γ, d]
    v = tf.nn.depthwise_conv2d(tf.expand_dims(window, 1), tf.constant(w["delay_kernel"]),
                               strides=[1, 1, 1, 1], padding="VALID")  # [1, 1, 1, d]
    v = tf.reshape(v, [1, -1])
    layer_in = x
    if w["conv_ln"] is not None:
        v = _ln(tf, v, w["conv_ln"])
    x = x + v if w["element_skip"] else v
    if w["softplus_cutoff"] is not None:
        h_new = _min_gru_cut(tf, _dense(tf, x, w["gate_k"]), _dense(tf, x, w["gate_a"]), h, w["softplus_cutoff"])
    else:
        # minGRU: h' = (1 - z) h + z g(a) = h + z (g(a) - h), z = sigmoid(k)
        z = tf.sigmoid(_dense(tf, x, w["gate_k"]))
        a = _dense(tf, x, w["gate_a"])
        g = tf.nn.relu(a) + tf.sigmoid(tf.minimum(a, 0.0))
        h_new = h + z * (g - h)
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
    return (_ln(tf, x, w["post_ln"]) if w["post_ln"] is not None else x), window[:, 1:, :], h_new


def _network_step(tf, weights, x, state):
    x = _dense(tf, x, weights["encoder"])
    new_state = []
    for i, w in enumerate(weights["layers"]):
        x, delay, h = _layer_step(tf, w, x, state[2 * i], state[2 * i + 1])
        new_state += [delay, h]
    return _dense(tf, x, weights["decoder"]), new_state


# ---- the modules -------------------------------------------------------------------------------

def build_external_step(step: StreamingMGRADE, quantized: bool = False):
    """(tf.Module, concrete function) with inputs x + every state_in, outputs y + every state_out."""
    from ..native_io import import_tensorflow

    tf = import_tensorflow()

    weights = extract_weights(step, quantized)
    sig = step.signature
    specs = [tf.TensorSpec(sig.spec(n).shape, tf.float32, name=n) for n in sig.input_names]
    out_names = sig.output_names

    class ExternalStep(tf.Module):
        @tf.function(input_signature=specs)
        def step(self, x, *state):
            y, new_state = _network_step(tf, weights, x, list(state))
            return dict(zip(out_names, [y, *new_state]))

    module = ExternalStep()
    return module, [module.step.get_concrete_function()]


def build_internal_step(step: StreamingMGRADE, quantized: bool = False):
    """(tf.Module, concrete functions [step, zero_state]): state lives in tf.Variables inside the model.

    `zero_state(dummy)` zeroes every variable. It takes a dummy input because int8 conversion fails on
    an input-less signature. The converter orders subgraphs by signature key and "zero_state" sorts
    after "step", so the step stays subgraph 0, the only one TFLite Micro runs ("reset" would sort
    first).
    """
    from ..native_io import import_tensorflow

    tf = import_tensorflow()

    weights = extract_weights(step, quantized)
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
            y, new_state = _network_step(tf, weights, x, [v.read_value() for v in self.state])
            for var, value in zip(self.state, new_state):
                var.assign(value)
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
