"""Ranges of every intermediate the integer C step stores, from the project's long-stream calibration.

The float32 step is re-traced on the recorded step inputs (x and every state_in at every step of
each long stream, quantize.iter_step_inputs), in batches; the trace is the streaming layer's own
computation with its intermediates named, and its y is checked against the step's own y so the
trace can never drift from the model.
"""

from __future__ import annotations

import numpy as np
import torch

from ..model import min_gru_step, mlp_activation, rec_activation

BATCH = 512


def trace_layer(sl, x, delay, h):
    """One StreamingLayer, intermediates named as in c_quant (all [N, ...] float tensors)."""
    b = sl.block
    t = {"x": x}
    window = torch.cat([delay, x.unsqueeze(1)], dim=1)
    v = (window * sl.kernel).sum(dim=1)
    t["v"] = v
    if b.conv_ln is not None:
        v = b.conv_ln(v)
        t["v_ln"] = v
    x1 = x + v
    t["x1"] = x1
    h_new = min_gru_step(*b.gru.gates(x1), h)
    t["h"] = h_new
    o = rec_activation(b.cfg.rec_act, h_new)
    t["o"] = o
    if b.rec_out is not None:
        o = b.rec_out(o)
        t["ro"] = o
    if b.rec_ln is not None:
        o = b.rec_ln(o)
        t["o_ln"] = o
    x2 = x1 + o
    t["x2"] = x2
    mln = b.mlp_ln(x2)
    t["mln"] = mln
    m2 = mlp_activation(b.cfg.mlp_act, b.mlp_in(mln))
    t["m2"] = m2
    m = b.mlp_out(m2)
    t["m3"] = m
    if b.cm_ln is not None:
        m = b.cm_ln(m)
        t["m_ln"] = m
    s = x2 + m
    t["sum"] = s
    out = b.post_ln(s)
    t["post"] = out
    return out, t


@torch.no_grad()
def trace_step(step, x, state):
    """(y, {name: tensor}) with layer names prefixed "l<i>."; x [N, d_in], state as the step takes it."""
    names = {"u": x}
    e = step.encoder(x)
    for i, sl in enumerate(step.layers):
        e, t = trace_layer(sl, e, state[2 * i], state[2 * i + 1])
        names.update({f"l{i}.{k}": v for k, v in t.items()})
    y = step.decoder(e)
    names["y"] = y
    return y, names


def calibrated_ranges(calibration) -> dict[str, float]:
    """max |value| of every traced intermediate over all calibration steps."""
    step = calibration.step
    names = calibration.input_names
    maxabs: dict[str, float] = {}
    batch: list[dict] = []

    def flush():
        x = torch.from_numpy(np.concatenate([s[names[0]] for s in batch]))
        state = [torch.from_numpy(np.concatenate([s[n] for s in batch])) for n in names[1:]]
        y, traced = trace_step(step, x, state)
        y_ref = step(x, *state)[0]
        if not torch.allclose(y, y_ref, atol=1e-5, rtol=1e-5):
            raise AssertionError("the calibration trace differs from the streaming step")
        for k, v in traced.items():
            maxabs[k] = max(maxabs.get(k, 0.0), float(v.abs().max()))
        batch.clear()

    for sample in calibration.samples():
        batch.append(sample)
        if len(batch) == BATCH:
            flush()
    if batch:
        flush()
    return maxabs
