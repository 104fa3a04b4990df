"""The float32 torch step's outputs over one long stream, computed layer by layer with time as the batch.

Stepping the torch module once per sample costs ~1 ms of Python overhead per step (~130 s for 100,000
steps). Each layer of the step is a function of that layer's input sequence, which the layer below
has already produced in full, and its only sequential part is the minGRU recurrence: everything else
(delay-line window, gates, MLP, LayerNorms) runs once per layer with the T steps as the batch, calling
the very submodules and kernel the step module calls. The recurrence is then an elementwise loop.
test_reference.py checks this equals stepping the module one sample at a time.
"""

from __future__ import annotations

import numpy as np
import torch

from mgrade_edge.model import g_activation

CHUNK = 8192  # steps per batched call, so the [chunk, Γ, d] windows stay a few tens of MB


@torch.no_grad()
def _layer(layer, x: torch.Tensor) -> torch.Tensor:
    """One StreamingLayer over a whole sequence x [T, d] from zero state -> its outputs [T, d]."""
    kernel = layer.kernel  # [Γ, d]; row i multiplies the sample at lag Γ-1-i, as in the step
    padded = torch.cat([torch.zeros(kernel.shape[0] - 1, x.shape[1], dtype=x.dtype), x])  # zero delay line
    outputs = []
    h = np.zeros(x.shape[1], dtype=np.float32)
    for start in range(0, len(x), CHUNK):
        xs = x[start:start + CHUNK]
        window = padded[start:start + len(xs) + kernel.shape[0] - 1].unfold(0, kernel.shape[0], 1)  # [n, d, Γ]
        v = (window.transpose(1, 2) * kernel).sum(dim=1)
        xr = layer.block.delay_residual(xs, v)
        k, a = layer.block.gru.gates(xr)
        z = torch.sigmoid(k)
        # min_gru_step: h = (1 - z) h_prev + z g(a); the same float32 operations, in numpy for speed
        keep, write = (1.0 - z).numpy(), (z * g_activation(a)).numpy()
        hs = np.empty_like(keep)
        for t in range(len(xs)):
            h = keep[t] * h + write[t]
            hs[t] = h
        outputs.append(layer.block.after_recurrence(xr, torch.from_numpy(hs)))
    return torch.cat(outputs)


@torch.no_grad()
def stepped_outputs(step, stream: np.ndarray) -> np.ndarray:
    """What run_stream(TorchRunner(step), stream) returns (per-step outputs [T, C], float32), batched over time."""
    step = step.float().eval()
    x = step.encoder(torch.from_numpy(np.asarray(stream, dtype=np.float32)))
    for layer in step.layers:
        x = _layer(layer, x)
    return step.decoder(x).numpy()
