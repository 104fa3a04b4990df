"""CRunner: builds the bundle's C for the host and steps it through ctypes."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from mgrade_edge.errors import UserError
from mgrade_edge.runtime import open_runner
from mgrade_edge.runtime.base import run_stream
from tests.helpers import NAMED_CONFIGS, random_sequences


@pytest.fixture(scope="module")
def bundle(c_bundle):
    return c_bundle("digits_like")


def test_reset_returns_to_the_zero_state(bundle):
    runner = open_runner(bundle)
    zero = runner.state_raw()
    stream = random_sequences(NAMED_CONFIGS["digits_like"], 1, 300, seed=5)[0]
    first = run_stream(runner, stream)
    assert runner.state_raw() != zero
    runner.reset()
    assert runner.state_raw() == zero
    assert np.array_equal(run_stream(runner, stream, reset=False), first)


def test_io_aliased_onto_scratch_gives_the_same_outputs(bundle):
    runner = open_runner(bundle)
    lib, p = runner.lib, runner.prefix
    for n in ("input_buffer", "output_buffer"):
        getattr(lib, f"{p}_{n}").restype = ctypes.POINTER(ctypes.c_float)
    x_buf, y_buf = getattr(lib, f"{p}_input_buffer")(), getattr(lib, f"{p}_output_buffer")()
    stream = random_sequences(NAMED_CONFIGS["digits_like"], 1, 200, seed=6)[0]
    expected = run_stream(runner, stream)
    runner.reset()
    for t, x in enumerate(stream):
        x_buf[0] = float(x[0])
        runner._step(runner._state, ctypes.cast(x_buf, ctypes.c_void_p), ctypes.cast(y_buf, ctypes.c_void_p))
        assert np.array_equal(np.ctypeslib.as_array(y_buf, (10,)), expected[t]), t


def test_missing_compiler_is_one_line_error(bundle, monkeypatch):
    monkeypatch.setenv("CC", "no-such-cc")
    with pytest.raises(UserError, match="C compiler 'no-such-cc' not found"):
        open_runner(bundle)


def test_wrong_input_length_is_refused(bundle):
    with pytest.raises(ValueError, match="takes 1"):
        open_runner(bundle).step(np.zeros(3, np.float32))
