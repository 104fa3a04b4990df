"""The quantised step: integer constants from the float step and its calibrated ranges, and the numpy
reference of export/c/templates/int_step.c (bit-exact: every value is an exact integer op of c_fixed).

Per layer (names as in c_calib.trace_layer; "w" wide int32, "q" act, Q16 fixed point):
    x q  --ring + lag-0--> conv acc --rq--> v w [--LN--> v w] ; x1 w = x + v ; x1 q
    gates acc --rq--> k, a Q16 ; z = sig(k) Q15 ; g Q16 ; h' = ((1-z) h + z g) in place (uint)
    o = rec_act(h) [--dense--] [--LN--] w ; x2 w = x1 + o
    mlp_ln(x2) q --W1--> Q16 --act--> q --W2--> w [--LN--] ; sum w = x2 + m ; post_ln -> next x q
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...qio import QParams
from . import fixed as fx
from .fixed import Q16, WIDE_MAX, multiplier, rq, sat
from .generator import trimmed_rows

# precision -> (QMAX of act values, HMAX of the unsigned hidden state, act C type, h C type).
# int8 keeps h in uint16 by default: on digits an 8-bit h raises the RMS error against the float step
# (0.284 vs 0.249) and costs the long-stream cosine (0.9940 vs 0.9994) for d*L bytes of RAM saved;
# int8-h8 is that smaller variant. The -h32 variants keep h in 31 bits (2 * d*L bytes more than
# uint16) for slow models: with time constants near 1,000 steps (keywords) most per-step changes of
# h are below half a uint16 step and a 16-bit h alone costs ~1 point of accuracy
# (benchmarks/state_precision.py).
PRECISIONS = {"int8": (127, 65535, "int8_t", "uint16_t"), "int8-h8": (127, 255, "int8_t", "uint8_t"),
              "int16x8": (32767, 65535, "int16_t", "uint16_t"),
              "int8-h32": (127, fx.INT32_MAX, "int8_t", "uint32_t"),
              "int16x8-h32": (32767, fx.INT32_MAX, "int16_t", "uint32_t")}


def h_shift(hmax: int) -> int:
    """Extra fractional bits of g in the h update, rounded off once per step. An 8- or 16-bit h gets 8
    (the update's products stay in int32, its sum in int64); a 31-bit h has the bits in itself and
    gets none (g rescaled to h's own scale already fills int32)."""
    return 8 if hmax < 1 << 16 else 0


def _np(t):
    return None if t is None else t.detach().double().numpy()


@dataclass
class Dense:
    w: np.ndarray  # int8 values [out, in]
    b: np.ndarray  # int32 [out]
    mult: list  # per output channel (m, n): acc -> output domain


@dataclass
class Norm:
    gamma: list  # per channel (m, n): xhat Q16 -> output scale * gamma
    beta: np.ndarray
    eps: int


@dataclass
class QLayer:
    rows: int
    k0: np.ndarray
    kring: np.ndarray  # [rows, d], oldest lag first
    m_v: list
    c: dict = field(default_factory=dict)  # scalar multipliers and optional Dense/Norm parts


class QuantModel:
    """Integer constants of the step for one precision, with the scales the C uses for float I/O."""

    def __init__(self, step, maxabs: dict[str, float], precision: str):
        self.cfg, self.precision = step.cfg, precision
        self.qmax, self.hmax, self.act_ctype, self.h_ctype = PRECISIONS[precision]
        self.h_shift = h_shift(self.hmax)
        cfg, qm = step.cfg, self.qmax
        act = {k: max(v, 1e-8) / qm for k, v in maxabs.items()}
        wide = {k: max(v, 1e-8) / (1 << fx.WIDE_FRAC_BITS) for k, v in maxabs.items()}
        self.s_u = act["u"]
        enc_q, enc_s = fx.quantize_weights(_np(step.encoder.weight))
        s_x0 = act["l0.x"]
        self.enc = Dense(enc_q, fx.quantize_bias(_np(step.encoder.bias), self.s_u * enc_s, cfg.d_model),
                         [multiplier(self.s_u * s / s_x0) for s in enc_s])
        self.layers = []
        for i, sl in enumerate(step.layers):
            p = f"l{i}."
            self._share_residual_scale(wide, p, sl.block)
            s_x, s_x1w, s_x1q = act[p + "x"], wide[p + "x1"], act[p + "x1"]
            kernel = _np(sl.kernel)
            kq, ks = fx.quantize_weights(kernel.T)  # per channel
            kq = kq.T
            rows = trimmed_rows(kq)
            gamma = kernel.shape[0]
            layer = QLayer(rows, kq[gamma - 1], kq[gamma - 1 - rows:gamma - 1],
                           [multiplier(s_x * s / wide[p + "v"]) for s in ks])
            c = layer.c
            b = sl.block
            s_vout = wide[p + "v"]
            if b.conv_ln is not None:
                c["conv_ln"] = self._norm(b.conv_ln, wide[p + "v"], wide[p + "v_ln"])
                s_vout = wide[p + "v_ln"]
            c["x_x1"], c["v_x1"], c["x1q"] = multiplier(s_x / s_x1w), multiplier(s_vout / s_x1w), \
                multiplier(s_x1w / s_x1q)
            gw, gs = fx.quantize_weights(_np(b.gru.to_gates.weight))
            gb = fx.quantize_bias(_np(b.gru.to_gates.bias), s_x1q * gs, 2 * cfg.d_model)
            c["gate"] = Dense(gw, gb, [multiplier(s_x1q * s * Q16) for s in gs])
            s_h = max(maxabs[p + "h"], 1e-8) / self.hmax
            self.s_h = s_h
            c["g_h"] = multiplier(2.0 ** self.h_shift / Q16 / s_h)
            c["h_fx"] = multiplier(s_h * Q16)
            s_oq, s_ow = act[p + "o"], wide[p + "o"]
            if b.rec_out is not None:  # o is a matmul input (act)
                c["h_o"] = multiplier(s_h / s_oq)
                c["fx_o"] = multiplier(1.0 / Q16 / s_oq)
                rw, rs = fx.quantize_weights(_np(b.rec_out.weight))
                c["rec_out"] = Dense(rw, fx.quantize_bias(_np(b.rec_out.bias), s_oq * rs, cfg.d_model),
                                     [multiplier(s_oq * s / wide[p + "ro"]) for s in rs])
                s_ow = wide[p + "ro"]
            else:
                c["h_o"] = multiplier(s_h / s_ow)
                c["fx_o"] = multiplier(1.0 / Q16 / s_ow)
            if b.rec_ln is not None:
                c["rec_ln"] = self._norm(b.rec_ln, s_ow, wide[p + "o_ln"])
                s_ow = wide[p + "o_ln"]
            s_x2 = wide[p + "x2"]
            c["x1_x2"], c["o_x2"] = multiplier(s_x1w / s_x2), multiplier(s_ow / s_x2)
            c["mlp_ln"] = self._norm(b.mlp_ln, s_x2, act[p + "mln"])
            w1, s1 = fx.quantize_weights(_np(b.mlp_in.weight))
            c["mlp_in"] = Dense(w1, fx.quantize_bias(_np(b.mlp_in.bias), act[p + "mln"] * s1, cfg.mlp_hidden),
                                [multiplier(act[p + "mln"] * s * Q16) for s in s1])
            c["m2"] = multiplier(1.0 / Q16 / act[p + "m2"])
            w2, s2 = fx.quantize_weights(_np(b.mlp_out.weight))
            c["mlp_out"] = Dense(w2, fx.quantize_bias(_np(b.mlp_out.bias), act[p + "m2"] * s2, cfg.d_model),
                                 [multiplier(act[p + "m2"] * s / wide[p + "m3"]) for s in s2])
            s_m = wide[p + "m3"]
            if b.cm_ln is not None:
                c["cm_ln"] = self._norm(b.cm_ln, s_m, wide[p + "m_ln"])
                s_m = wide[p + "m_ln"]
            s_sum = wide[p + "sum"]
            c["x2_s"], c["m_s"] = multiplier(s_x2 / s_sum), multiplier(s_m / s_sum)
            nxt = act[f"l{i + 1}.x"] if i + 1 < cfg.n_layers else act[p + "post"]
            c["post_ln"] = self._norm(b.post_ln, s_sum, nxt)
            self.layers.append(layer)
        s_last = act[f"l{cfg.n_layers - 1}.post"]
        dq, ds = fx.quantize_weights(_np(step.decoder.weight))
        self.s_y = act["y"]
        self.dec = Dense(dq, fx.quantize_bias(_np(step.decoder.bias), s_last * ds, cfg.n_classes),
                         [multiplier(s_last * s / self.s_y) for s in ds])
        self.y_scale = (s_last * ds).astype(np.float32)  # acc -> float y

    @staticmethod
    def _share_residual_scale(wide: dict[str, float], p: str, b) -> None:
        """One wide scale per layer for the residual stream (x1, x2, sum) and the three branch values
        added to it (v, o, m after their optional LayerNorms): the largest calibrated range of them, so
        every add is of two values at the same scale and needs no rescaling (those multipliers are
        exactly 1, which the C skips). 2^20 steps over the largest range leave the others ample
        resolution; the 16x headroom holds for all of them."""
        v = p + ("v_ln" if b.conv_ln is not None else "v")
        o = p + ("o_ln" if b.rec_ln is not None else ("ro" if b.rec_out is not None else "o"))
        m = p + ("m_ln" if b.cm_ln is not None else "m3")
        keys = [p + "x1", p + "x2", p + "sum", v, o, m]
        shared = max(wide[k] for k in keys)
        for k in keys:
            wide[k] = shared

    @staticmethod
    def _norm(ln, s_in: float, s_out: float) -> Norm:
        g, bta = _np(ln.weight), _np(ln.bias)
        eps = min(max(round(ln.eps / (s_in * s_in)), 1), 1 << 60)
        return Norm([multiplier(v / Q16 / s_out) for v in g], np.round(bta / s_out).astype(np.int64), eps)

    @property
    def ring_rows(self) -> list[int]:
        return [layer.rows for layer in self.layers]


def dense(p: Dense, x, lo: int, hi: int, n_in: int | None = None):
    acc = p.w.astype(np.int64) @ np.asarray(x, dtype=np.int64) + p.b
    return sat(fx.rq_channels(acc, p.mult), lo, hi), acc


def _norm(p: Norm, w, lo, hi):
    return fx.layer_norm(w, p.gamma, p.beta, p.eps, lo, hi)


def rec_act_q16(name: str, h_fx):
    if name == "relu":
        return np.maximum(h_fx - Q16, 0)
    if name == "gelu":
        return fx.gelu_q16(h_fx - Q16)
    if name == "sigmoid":
        return fx.sig_q15(sat(10 * (h_fx - Q16 // 2), -fx.INT32_MAX, fx.INT32_MAX)) << 1
    return h_fx


class IntReference:
    """Numpy model of the C state and step: rings with head indices, uint h, integer step."""

    def __init__(self, qm: QuantModel):
        self.qm = qm
        self.reset()

    def reset(self) -> None:
        d = self.qm.cfg.d_model
        self.rings = [np.zeros((max(r, 1), d), dtype=np.int64) for r in self.qm.ring_rows]
        self.heads = [0] * len(self.rings)
        self.h = [np.zeros(d, dtype=np.int64) for _ in self.rings]

    def quantize_x(self, x) -> np.ndarray:
        """The project's one input quantisation (qio: float32 x / scale, rounded half away, clamped to
        the dtype's range); the C's float step computes the same with lroundf."""

        dtype = "int8" if self.qm.qmax == 127 else "int16"
        return QParams((self.qm.cfg.d_in,), dtype, float(np.float32(self.qm.s_u))).quantize(
            np.asarray(x, dtype=np.float32).reshape(-1)).astype(np.int64)

    def step(self, x) -> np.ndarray:
        acc = self.step_acc(self.quantize_x(x))
        return (acc.astype(np.float32) * self.qm.y_scale).astype(np.float32)

    def step_q(self, xq) -> np.ndarray:
        qm = self.qm
        acc = self.step_acc(np.asarray(xq, dtype=np.int64))
        return sat(fx.rq_channels(acc, qm.dec.mult), -qm.qmax - 1, qm.qmax)

    def step_acc(self, uq) -> np.ndarray:
        qm, cfg = self.qm, self.qm.cfg
        q, w = (-qm.qmax - 1, qm.qmax), (-WIDE_MAX - 1, WIDE_MAX)  # two's-complement ranges: one SSAT in C
        x, _ = dense(qm.enc, uq, *q)
        for i, layer in enumerate(qm.layers):
            x = self._layer(i, layer, x, q, w, cfg)
        return qm.dec.w.astype(np.int64) @ x + qm.dec.b

    def _layer(self, i, L: QLayer, x, q, w, cfg):
        c, qm = L.c, self.qm
        acc = L.k0 * x
        if L.rows:
            ring, head = self.rings[i], self.heads[i]
            order = (head + np.arange(L.rows)) % L.rows  # slot of lag rows, rows-1, ..., 1
            acc = acc + (L.kring * ring[order]).sum(axis=0)
            ring[head] = x
            self.heads[i] = (head + 1) % L.rows
        v = sat(fx.rq_channels(acc, L.m_v), *w)
        if "conv_ln" in c:
            v = _norm(c["conv_ln"], v, *w)
        x1 = sat(rq(x, c["x_x1"]) + rq(v, c["v_x1"]), *w)
        x1q = sat(rq(x1, c["x1q"]), *q)
        g = c["gate"]
        gacc = g.w.astype(np.int64) @ x1q + g.b
        pre = sat(fx.rq_channels(gacc, g.mult), -fx.INT32_MAX, fx.INT32_MAX)
        d = cfg.d_model
        z, a = fx.sig_q15(pre[:d]), pre[d:]
        g_fx = np.where(a >= 0, np.minimum(a, fx.INT32_MAX - Q16) + Q16 // 2, fx.sig_q15(a) << 1)
        g_h = sat(rq(g_fx, c["g_h"]), 0, fx.INT32_MAX)
        h = self.h[i]
        hs = qm.h_shift  # h' = ((1 - z) h + z g) in Q15 * (h scale / 2^hs), rounded half up
        h[:] = sat(((32768 - z) * h * (1 << hs) + z * g_h + (1 << (14 + hs))) >> (15 + hs), 0, qm.hmax)
        dense_out = "rec_out" in c
        lo, hi = q if dense_out else w
        if cfg.rec_act == "identity":
            o = sat(rq(h, c["h_o"]), lo, hi)
        else:
            o = sat(rq(rec_act_q16(cfg.rec_act, sat(rq(h, c["h_fx"]), 0, fx.INT32_MAX)), c["fx_o"]), lo, hi)
        if dense_out:
            o, _ = dense(c["rec_out"], o, *w)
        if "rec_ln" in c:
            o = _norm(c["rec_ln"], o, *w)
        x2 = sat(rq(x1, c["x1_x2"]) + rq(o, c["o_x2"]), *w)
        mq = _norm(c["mlp_ln"], x2, *q)
        m1, _ = dense(c["mlp_in"], mq, -fx.INT32_MAX, fx.INT32_MAX)
        m1 = fx.gelu_q16(m1) if cfg.mlp_act == "gelu" else np.maximum(m1, 0)
        m2 = sat(rq(m1, c["m2"]), *q)
        m, _ = dense(c["mlp_out"], m2, *w)
        if "cm_ln" in c:
            m = _norm(c["cm_ln"], m, *w)
        s = sat(rq(x2, c["x2_s"]) + rq(m, c["m_s"]), *w)
        return _norm(c["post_ln"], s, *q)
