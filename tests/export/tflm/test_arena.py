"""Arena measurement with the real TFLite Micro interpreter, on tiny models built here.

Each model is a two-op tf.function converted with TFLiteConverter: int8 and int16x8 with state as
input/output, and int8 with the state in a resource variable (CALL_ONCE / VAR_HANDLE / ...).
"""

import numpy as np
import pytest

from mgrade_edge.errors import ExportError
from mgrade_edge.export.tflm.arena import (
    DEFAULT_MARGIN,
    SEARCH_RESOLUTION,
    arena_after_steps,
    check_tflite_bytes,
    measure_min_arena,
    parse_allocations,
    probe_arena,
)

PRINTOUT = """\
[RecordingMicroAllocator] Arena allocation total 1680 bytes
[RecordingMicroAllocator] Arena allocation head 48 bytes
[RecordingMicroAllocator] Arena allocation tail 1632 bytes
[RecordingMicroAllocator] 'TfLiteEvalTensor data' used 192 bytes with alignment overhead (requested 192 bytes for 8 allocations)
[RecordingMicroAllocator] 'NodeAndRegistration struct' used 256 bytes with alignment overhead (requested 256 bytes for 4 NodeAndRegistration structs)
"""


def _convert(module, function, dataset, quant: str, variables: bool = False) -> bytes:
    from mgrade_edge.export.tflite.export import convert_functions

    return convert_functions(module, [function.get_concrete_function()], quant, dataset, variables)


@pytest.fixture(scope="module")
def tiny_models():
    tf = pytest.importorskip("tensorflow")
    weights = np.random.default_rng(0).normal(size=(4, 16)).astype(np.float32)

    class Step(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.constant(weights)
            self.h = tf.Variable(tf.zeros((1, 16)))

        @tf.function(input_signature=[tf.TensorSpec((1, 4), tf.float32, name="x"),
                                      tf.TensorSpec((1, 16), tf.float32, name="h_in")])
        def external(self, x, h_in):
            y = tf.tanh(tf.matmul(x, self.w) + h_in)
            return {"y": y, "h_out": 0.5 * y}

        @tf.function(input_signature=[tf.TensorSpec((1, 4), tf.float32, name="x")])
        def internal(self, x):
            y = tf.tanh(tf.matmul(x, self.w) + self.h)
            self.h.assign(0.5 * y)
            return {"y": y}

    def external_data():
        rng = np.random.default_rng(1)
        for _ in range(32):
            yield {"x": rng.normal(size=(1, 4)).astype(np.float32),
                   "h_in": rng.uniform(-0.5, 0.5, size=(1, 16)).astype(np.float32)}

    def internal_data():
        rng = np.random.default_rng(1)
        for _ in range(32):
            yield {"x": rng.normal(size=(1, 4)).astype(np.float32)}

    step = Step()
    return {
        "int8": _convert(step, step.external, external_data, "int8"),
        "int16x8": _convert(step, step.external, external_data, "int16x8"),
        "int8_variables": _convert(step, step.internal, internal_data, "int8", variables=True),
    }


@pytest.mark.parametrize("kind", ["int8", "int16x8", "int8_variables"])
def test_measured_minimum_runs_and_one_resolution_step_less_fails(tiny_models, kind):
    model = tiny_models[kind]
    m = measure_min_arena(model, steps=3)
    assert m.minimum % SEARCH_RESOLUTION == 0
    assert m.margin == DEFAULT_MARGIN and m.recommended == m.minimum + m.margin
    # The planner's recorded total is a lower bound; the minimum also holds init-time temporaries.
    assert m.allocations["total"] <= m.minimum
    assert m.allocations["total"] == m.allocations["head"] + m.allocations["tail"]
    # Re-probe independently of the search: the minimum works, one resolution step below does not.
    assert probe_arena(model, m.minimum, steps=3).ok
    below = probe_arena(model, m.minimum - SEARCH_RESOLUTION, steps=3)
    assert not below.ok and below.error
    assert all(p["ok"] == (p["arena"] >= m.minimum) for p in m.probes), m.probes


def test_allocations_are_constant_across_steps(tiny_models):
    model = tiny_models["int8_variables"]
    arena = measure_min_arena(model).recommended
    reports = arena_after_steps(model, [0, 1, 10, 100], arena)
    assert sorted(reports) == [0, 1, 10, 100]
    totals = {c: (r["total"], r["head"], r["tail"], str(r["types"])) for c, r in reports.items()}
    assert len(set(totals.values())) == 1, totals
    assert "Persistent buffer data" in reports[100]["types"]


def test_arena_after_steps_with_a_too_small_arena_is_a_clean_error(tiny_models):
    with pytest.raises(ExportError, match="TFLite Micro failed with a 256-byte arena"):
        arena_after_steps(tiny_models["int8"], [1], 256)


def test_garbage_model_is_a_clean_error():
    with pytest.raises(ExportError, match="not a TFLite flatbuffer"):
        measure_min_arena(b"this is not a model at all")
    with pytest.raises(ExportError, match="not a TFLite flatbuffer"):
        check_tflite_bytes(b"")
    # Right identifier, garbage body: the child process fails or crashes, the caller gets one line.
    garbage = b"\x10\x00\x00\x00TFL3" + bytes(np.random.default_rng(0).integers(0, 256, 200, dtype=np.uint8))
    with pytest.raises(ExportError, match="TFLite Micro cannot run this model"):
        measure_min_arena(garbage)


def test_parse_allocations_reads_every_line():
    parsed = parse_allocations(PRINTOUT)
    assert (parsed["total"], parsed["head"], parsed["tail"]) == (1680, 48, 1632)
    assert (parsed["non_persistent"], parsed["persistent"]) == (48, 1632)
    assert parsed["types"]["TfLiteEvalTensor data"] == {"used": 192, "requested": 192, "count": 8,
                                                        "unit": "allocations"}
    assert parsed["types"]["NodeAndRegistration struct"]["count"] == 4
    assert len(parsed["lines"]) == 5
    with pytest.raises(RuntimeError, match="no arena total"):
        parse_allocations("nothing printed")


def test_bad_step_counts_are_user_errors(tiny_models):
    with pytest.raises(ExportError, match="steps=0"):
        measure_min_arena(tiny_models["int8"], steps=0)
    with pytest.raises(ExportError, match="non-negative"):
        arena_after_steps(tiny_models["int8"], [], 4096)
