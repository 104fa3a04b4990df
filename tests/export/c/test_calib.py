"""The integer C target's calibration trace is the streaming layer's own forward, with names."""

import torch

from mgrade_edge.export.c.calib import trace_step
from mgrade_edge.streaming import to_streaming
from tests.helpers import make_model

# Every intermediate c_quant scales when all optional blocks are on (conv_ln, rec_dense_out, rec_ln, cm_ln).
ALL_NAMES = {"x", "v", "v_ln", "x1", "h", "o", "ro", "o_ln", "x2", "mln", "m2", "m3", "m_ln", "sum", "post"}


def test_trace_names_every_intermediate_and_changes_nothing():
    step = to_streaming(make_model("all_options"))
    torch.manual_seed(0)
    x = torch.randn(5, step.cfg.d_in)
    state = [s.normal_() if i % 2 == 0 else s.uniform_(0, 1)
             for i, s in enumerate(step.initial_state(batch=5))]
    y, names = trace_step(step, x, state)
    assert {k.split(".", 1)[1] for k in names if k.startswith("l1.")} == ALL_NAMES
    expected = step(x, *state)
    assert torch.equal(y, expected[0])  # the traced run is the step itself, bit for bit
    assert torch.equal(names["l0.h"], expected[2])
    assert torch.equal(names["l1.post"], names["l1.sum"] if step.layers[1].block.post_ln is None
                       else step.layers[1].block.post_ln(names["l1.sum"]))


def test_a_disabled_block_leaves_its_name_out():
    step = to_streaming(make_model("tiny"))
    _, names = trace_step(step, torch.zeros(2, step.cfg.d_in), step.initial_state(batch=2))
    assert not {"l0.v_ln", "l0.ro", "l0.o_ln", "l0.m_ln"} & set(names)
    assert {"l0.x1", "l0.h", "l0.post"} <= set(names)
