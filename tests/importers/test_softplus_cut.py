"""The authors' softplus cut on both sides of the cutoff: the torch scan, the torch step and the float
TFLite step agree, and the cut really changes the model (so the comparisons can fail)."""

from __future__ import annotations

import numpy as np
import torch

from mgrade_edge.model import MGRADE, min_gru_scan, min_gru_scan_cut, min_gru_step_cut
from mgrade_edge.streaming import stream_sequences, to_streaming
from tests.helpers import NAMED_CONFIGS, random_sequences

CUTOFF = 3.0  # low, so a good share of gate values lies beyond it


def test_cut_scan_equals_its_step_recurrence_and_differs_from_the_exact_one():
    gen = torch.Generator().manual_seed(0)
    k, a = (6 * torch.randn(2, 300, 5, generator=gen, dtype=torch.float64) for _ in range(2))
    h, steps = torch.zeros(2, 5, dtype=torch.float64), []
    for t in range(k.shape[1]):
        h = min_gru_step_cut(k[:, t], a[:, t], h, CUTOFF)
        steps.append(h)
    scan = min_gru_scan_cut(k, a, CUTOFF)
    assert float((torch.stack(steps, 1) - scan).abs().max()) < 1e-10
    assert float((min_gru_scan(k, a) - scan).abs().max()) > 1e-3


def model_with_large_gates():
    torch.manual_seed(0)
    model = MGRADE(NAMED_CONFIGS["authors_variants"].replace(softplus_cutoff=CUTOFF)).eval()
    with torch.no_grad():
        for layer in model.layers:
            layer.gru.to_gates.weight.mul_(3.0)
    return model


def test_float_tflite_step_matches_the_torch_step_across_the_cut():
    from ai_edge_litert.interpreter import Interpreter

    from mgrade_edge.export.tflite.export import convert_step
    from mgrade_edge.runtime.base import run_stream
    from mgrade_edge.runtime.torch_runner import TorchRunner

    step = to_streaming(model_with_large_gates())
    stream = random_sequences(step.cfg, 1, 300, seed=2)[0]
    ref = run_stream(TorchRunner(step), stream)
    interp = Interpreter(model_content=convert_step(step, "float32", "external")[0])
    runner = interp.get_signature_runner()
    state = {s.name: np.zeros(s.shape, np.float32) for s in step.signature.by_role("state_in")}
    got = []
    for x in stream:
        out = runner(x=x.reshape(1, -1).astype(np.float32), **state)
        got.append(out["y"][0])
        state = {a: out[b] for a, b in step.signature.state_pairs}
    err = np.abs(np.stack(got) - ref).max()
    assert err < 1e-4, f"max error {err:.3g}"


def test_the_cut_is_reached_and_changes_the_outputs():
    model = model_with_large_gates()
    u = torch.from_numpy(random_sequences(model.cfg, 2, 200, seed=2))
    gates = model.layers[0].gru.to_gates(model.encoder(u))
    assert float((gates.abs() > CUTOFF).float().mean()) > 0.05
    exact = MGRADE(model.cfg.replace(softplus_cutoff=None)).eval()
    exact.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert float((stream_sequences(to_streaming(model), u) - exact(u)).abs().max()) > 1e-3
