"""Ranges of every intermediate the integer C step stores, from the project's long-stream calibration.

The float32 step is re-run on the recorded step inputs (x and every state_in at every step of each
long stream, quantize.iter_step_inputs), in batches, with a trace dict that the streaming layer's own
forward fills with its intermediates: the ranges come from the model's code, not from a copy of it.
"""

from __future__ import annotations

import numpy as np
import torch

BATCH = 512


def trace_layer(sl, x, delay, h):
    """One StreamingLayer's step with its intermediates named as in c_quant (all [N, ...] tensors):
    the layer's own forward, which records them (MGRADEBlock.delay_residual's trace)."""
    t = {"x": x}
    out = sl(x, delay, h, trace=t)[0]
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
        _, traced = trace_step(step, x, state)
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
