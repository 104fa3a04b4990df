"""Calibration (mgrade_edge/quantize.py): long streams of real sequences, every step's inputs recorded in
stream order, ranges, determinism from the seed, and one-line errors for bad calibration files."""

import numpy as np
import pytest
import torch

from mgrade_edge.errors import DataError
from mgrade_edge.quantize import calibration_set, iter_step_inputs, load_calibration_file, make_streams
from mgrade_edge.streaming import to_streaming
from tests.helpers import NAMED_CONFIGS, make_model, random_sequences


def tagged_sequences(n: int, length: int, d_in: int = 1) -> np.ndarray:
    """Sequence i holds the value 1000 i + t at step t, so every sample says where it came from."""
    base = 1000.0 * np.arange(n)[:, None] + np.arange(length)[None, :]
    return np.repeat(base[:, :, None], d_in, axis=2).astype(np.float32)


# ---- streams -------------------------------------------------------------------------------------

def test_streams_are_whole_real_sequences_back_to_back():
    seqs = tagged_sequences(5, 10)
    streams = make_streams(seqs, n_streams=3, steps=35, seed=0)
    assert len(streams) == 3
    for s in streams:
        assert s.shape == (35, 1) and s.dtype == np.float32
        values = s[:, 0]
        for start in range(0, 35, 10):  # each 10-step block is one sequence from its first step
            block = values[start:start + 10]
            assert block[0] % 1000 == 0 and np.array_equal(block - block[0], np.arange(len(block)))


def test_streams_without_replacement_use_distinct_sequences():
    streams = make_streams(tagged_sequences(8, 4), n_streams=1, steps=16, seed=3)  # 4 of 8 sequences
    firsts = streams[0][::4, 0] // 1000
    assert len(set(firsts.tolist())) == 4


def test_streams_longer_than_the_data_reuse_sequences():
    streams = make_streams(tagged_sequences(2, 3), n_streams=1, steps=30, seed=0)
    assert streams[0].shape == (30, 1)
    assert set((streams[0][:, 0] // 1000).tolist()) <= {0.0, 1.0}


def test_streams_are_deterministic_from_the_seed():
    seqs = random_sequences(NAMED_CONFIGS["tiny"], 20, 16, seed=0)
    a, b = make_streams(seqs, 4, 100, seed=7), make_streams(seqs, 4, 100, seed=7)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    c = make_streams(seqs, 4, 100, seed=8)
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_zero_steps_still_gives_one_step():
    assert make_streams(tagged_sequences(3, 5), 2, 0, seed=0)[0].shape == (1, 1)


def test_default_streams_hold_two_whole_sequences_when_those_are_longer_than_1024_steps(odd_step):
    """Keyword clips are 8,000 steps: a 1,024-step stream would see only each clip's leading silence."""
    long = calibration_set(odd_step, random_sequences(odd_step.cfg, 4, 700, seed=1), n_sequences=2)
    assert [len(s) for s in long.streams] == [1400, 1400]
    short = calibration_set(odd_step, random_sequences(odd_step.cfg, 4, 64, seed=1), n_sequences=2)
    assert [len(s) for s in short.streams] == [1024, 1024]


def test_default_streams_reach_the_late_part_of_long_sequences(odd_step):
    """A sequence silent for its first 1,100 steps and loud after: the default ranges include the loud part."""
    seqs = np.zeros((3, 1500, odd_step.cfg.d_in), np.float32)
    seqs[:, 1100:] = 5.0
    lo, hi = calibration_set(odd_step, seqs, n_sequences=1).ranges()["x"]
    assert hi == 5.0


@pytest.mark.parametrize("steps", [0, 1_000_001])
def test_stream_steps_out_of_range_is_a_data_error(odd_step, steps):
    with pytest.raises(DataError, match="--calib-steps must be in"):
        calibration_set(odd_step, random_sequences(odd_step.cfg, 4, 20, seed=1), stream_steps=steps)


# ---- recorded step inputs --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def odd_step():
    return to_streaming(make_model("odd", seed=0))


def test_every_step_is_recorded_with_the_state_it_saw(odd_step):
    """Sample t of a stream holds x_t and the state after t steps, i.e. the previous step's outputs."""
    streams = make_streams(random_sequences(odd_step.cfg, 4, 20, seed=1), 2, 50, seed=0)
    samples = list(iter_step_inputs(odd_step, streams))
    names = odd_step.signature.input_names
    assert len(samples) == 100 and all(list(s) == names for s in samples)
    for i, stream in enumerate(streams):
        state = odd_step.initial_state(1, torch.float32)
        for t, x in enumerate(stream):
            sample = samples[50 * i + t]
            np.testing.assert_array_equal(sample["x"], x.reshape(1, -1))
            for name, value in zip(names[1:], state):
                np.testing.assert_array_equal(sample[name], value.numpy(), err_msg=f"stream {i} step {t} {name}")
            with torch.no_grad():
                _, *state = odd_step(torch.from_numpy(x.reshape(1, -1)), *state)


def test_each_stream_starts_from_zero_state(odd_step):
    streams = make_streams(random_sequences(odd_step.cfg, 4, 20, seed=1), 3, 30, seed=0)
    samples = list(iter_step_inputs(odd_step, streams))
    for first in (samples[0], samples[30], samples[60]):
        assert all(not np.any(v) for n, v in first.items() if n != "x")
    assert any(np.any(v) for n, v in samples[29].items() if n != "x")


def test_ranges_are_the_extremes_over_all_recorded_steps(odd_step):
    calib = calibration_set(odd_step, random_sequences(odd_step.cfg, 6, 25, seed=2), n_sequences=3,
                            stream_steps=60, seed=5)
    assert calib.num_samples == 180
    samples = list(calib.samples())
    ranges = calib.ranges()
    assert list(ranges) == odd_step.signature.input_names
    for name, (lo, hi) in ranges.items():
        values = np.concatenate([s[name].ravel() for s in samples])
        assert (lo, hi) == (float(values.min()), float(values.max())), name
    # x is the raw input: its range is the streams' range
    data = np.concatenate(calib.streams)
    assert ranges["x"] == (float(data.min()), float(data.max()))
    # minGRU state h is a convex mix of h_prev and g(a) > 0 from h_0 = 0: never negative
    for name in odd_step.signature.input_names:
        if name.startswith("h_"):
            assert ranges[name][0] >= 0.0 and ranges[name][1] > 0.0, name


def test_calibration_is_deterministic_from_the_seed(odd_step):
    seqs = random_sequences(odd_step.cfg, 6, 25, seed=2)
    a = calibration_set(odd_step, seqs, 2, 40, seed=1).ranges()
    assert a == calibration_set(odd_step, seqs, 2, 40, seed=1).ranges()
    assert a != calibration_set(odd_step, seqs, 2, 40, seed=2).ranges()


def test_non_positive_sequence_count_is_a_user_error(odd_step):
    with pytest.raises(DataError, match="--calib-sequences must be > 0, got 0"):
        calibration_set(odd_step, random_sequences(odd_step.cfg, 2, 5), n_sequences=0)


# ---- user calibration files --------------------------------------------------------------------------

def test_a_good_file_loads_as_float32(tmp_path):
    path = tmp_path / "calib.npy"
    np.save(path, np.arange(64, dtype=np.int16).reshape(2, 16, 2))  # 32 steps, the fewest accepted
    arr = load_calibration_file(path, d_in=2)
    assert arr.dtype == np.float32 and arr.shape == (2, 16, 2) and arr[1, 15, 1] == 63.0


@pytest.mark.parametrize("content,message", [
    (None, "not found"),
    (b"not an npy file", "not a readable .npy array"),
    (np.zeros((4, 3), np.float32), r"has shape \[4, 3\]; expected \[N, T, 2\]"),
    (np.zeros((4, 3, 1), np.float32), r"has shape \[4, 3, 1\]; expected \[N, T, 2\]"),
    (np.zeros((0, 3, 2), np.float32), r"has shape \[0, 3, 2\]"),
    (np.array([[["a", "b"]]]), "has dtype <U1; expected a float array"),
    (np.full((2, 16, 2), np.nan), "contains NaN or Inf"),
    (np.ones((2, 16, 2)) * [np.inf, 0.0], "contains NaN or Inf"),
    (np.ones((1, 31, 2), np.float32), "holds only 31 step"),
    (np.full((2, 16, 2), 0.5, np.float32), "is constant"),
    (np.linspace(0, 2e6, 64).reshape(2, 16, 2), "outside the supported range"),
    (np.array([[[{"x": 1}, 0]]], dtype=object), "object arrays are refused"),
])
def test_bad_files_are_one_line_data_errors(tmp_path, content, message):
    path = tmp_path / "calib.npy"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        np.save(path, content, allow_pickle=True)
    with pytest.raises(DataError, match=message) as info:
        load_calibration_file(path, d_in=2)
    assert "\n" not in str(info.value)
