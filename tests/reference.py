"""The float32 torch step's outputs over one long stream, computed layer by layer with time as the batch.

Stepping the torch module once per sample costs ~1 ms of Python overhead per step (~130 s for 100,000
steps). Each layer of the step is a function of that layer's input sequence, which the layer below
has already produced in full, and its only sequential part is the minGRU recurrence: everything else
(delay-line window, gates, MLP, LayerNorms) runs once per layer with the T steps as the batch, calling
the very submodules and kernel the step module calls. The recurrence is then an elementwise loop (in numpy, the
same float32 operations).
test_reference.py checks this equals stepping the module one sample at a time.
"""

from __future__ import annotations

import numpy as np
import torch

from mgrade_edge.model import cut_gate_terms, g_activation

CHUNK = 8192  # steps per batched call, so the [chunk, Γ, d] windows stay a few tens of MB


def _recurrence_terms(gru, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(keep, write) with h_t = keep_t h_{t-1} + write_t, the same float32 terms as MinGRU.step."""
    k, a = gru.gates(x)
    if gru.softplus_cutoff is not None:  # min_gru_step_cut
        log_one_minus_z, log_z, log_g_cut = cut_gate_terms(k, a, gru.softplus_cutoff)
        return torch.exp(log_one_minus_z), torch.exp(log_z + log_g_cut)
    z = torch.sigmoid(k)  # min_gru_step: h = (1 - z) h_prev + z g(a)
    return 1.0 - z, z * g_activation(a)


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
        keep, write = (t.numpy() for t in _recurrence_terms(layer.block.gru, xr))
        hs = np.empty_like(keep)
        for t in range(len(xs)):
            h = keep[t] * h + write[t]
            hs[t] = h
        outputs.append(layer.block.after_recurrence(xr, torch.from_numpy(hs), xs))
    return torch.cat(outputs)


@torch.no_grad()
def stepped_outputs(step, stream: np.ndarray) -> np.ndarray:
    """What run_stream(TorchRunner(step), stream) returns (per-step outputs [T, C], float32), batched over time."""
    step = step.float().eval()
    x = step.encoder(torch.from_numpy(np.asarray(stream, dtype=np.float32)))
    for layer in step.layers:
        x = _layer(layer, x)
    return step.decoder(x).numpy()
