"""The c bundle's audio path (<prefix>_audio.c + the front end) on the host: it is what the float
step computes on the host front end's features, whatever the chunking, and the integer conversion
of features to the step's input is the rounding it stands for."""

import numpy as np
import pytest

from mgrade_edge.export.c.audio import MULTIPLIER_SHIFT, input_multiplier
from mgrade_edge.manifest import read_manifest
from mgrade_edge.pipeline import export_checkpoint
from mgrade_edge.runtime.c_audio import AudioRunner
from mgrade_edge.runtime.c_runner import CRunner
from mgrade_edge.tasks import frontend_spec
from mgrade_edge.tasks.features import stream_features
from tests.helpers import WAKEWORD_OPTIONS, save_tiny_wakeword_checkpoint, utterance_like, wakeword_calibration

FRONT = frontend_spec("wakeword", WAKEWORD_OPTIONS)


@pytest.fixture(scope="module")
def bundles(tmp_path_factory, signal_library):
    root = tmp_path_factory.mktemp("audio")
    ckpt = save_tiny_wakeword_checkpoint(root / "ww.pt")
    calib = wakeword_calibration(root / "calib.npy")
    out = {}
    for target in ("c-float32", "c-int8"):
        out[target] = root / target
        export_checkpoint(ckpt, target, out[target], calib_file=None if target == "c-float32" else calib,
                          validate=False)
    return out


def test_the_bundle_carries_its_front_end(bundles):
    for directory in bundles.values():
        m = read_manifest(directory)
        facts = m["details"]["c"]["audio"]
        assert m["frontend"]["hop_ms"] == 32.0 and m["steps_per_second"] == 31.25
        assert {"mgrade_frontend.cc", "mgrade_frontend.h"} <= {p.name for p in directory.iterdir()}
        assert facts["frontend_sources"][0].endswith("_audio.c") and facts["needs_signal_library"]


def test_float_audio_path_equals_the_step_on_host_features(bundles):
    """Same front end, same x = feature / 64 (exact in float), same step: equal bit for bit."""
    m = read_manifest(bundles["c-float32"])
    audio = utterance_like(3 * FRONT.sample_rate, FRONT.sample_rate, seed=5)
    path = AudioRunner(bundles["c-float32"], m).push_raw(audio)
    step = CRunner(bundles["c-float32"], m)
    features = stream_features(audio, FRONT)
    expected = np.stack([step.step(x) for x in features])
    assert path.shape == (FRONT.steps_for(len(audio)), 3)
    np.testing.assert_array_equal(path, expected)


@pytest.mark.parametrize("target", ["c-float32", "c-int8"])
def test_any_chunking_gives_the_same_outputs(bundles, target):
    runner = AudioRunner(bundles[target], read_manifest(bundles[target]))
    audio = utterance_like(2 * FRONT.sample_rate, FRONT.sample_rate, seed=6)
    whole = runner.push_raw(audio)
    runner.reset()
    cuts = np.sort(np.random.default_rng(0).integers(0, len(audio), 40))
    chunked = np.concatenate([runner.push_raw(c) for c in np.split(audio, cuts)])
    np.testing.assert_array_equal(chunked, whole)


def test_int8_audio_path_follows_the_float_features_step(bundles):
    """The integer path quantises features in integers; the float-input step rounds in float: the
    inputs may differ by one step of the input scale, the outputs hardly."""
    m = read_manifest(bundles["c-int8"])
    audio = utterance_like(3 * FRONT.sample_rate, FRONT.sample_rate, seed=7)
    path = AudioRunner(bundles["c-int8"], m).push(audio)
    step = CRunner(bundles["c-int8"], m)
    reference = np.stack([step.step(x) for x in stream_features(audio, FRONT)])
    spread = reference.max() - reference.min()
    assert np.abs(path - reference).max() <= 0.05 * spread


@pytest.mark.parametrize("x_scale", [0.01, 0.0507, 0.1, 0.37])
def test_integer_feature_conversion_rounds_like_the_scale(x_scale):
    m = input_multiplier(x_scale)
    f = np.arange(0, 32768, dtype=np.int64)
    q = (f * m + (1 << (MULTIPLIER_SHIFT - 1))) >> MULTIPLIER_SHIFT
    exact = f / 64.0 / x_scale
    # rounding (1/2) plus the multiplier's own rounding (1/2) scaled by the largest feature / 2^20
    assert np.abs(q - exact).max() <= 0.5 + 0.5 * 32767 / 2 ** MULTIPLIER_SHIFT


def test_the_cmake_project_builds_the_audio_library_on_the_signal_library(bundles):
    import os

    from tests.cmake_build import cmake_build_and_test

    tflm = os.environ.get("TFLM_DIR")
    result = cmake_build_and_test(bundles["c-int8"], "c-audio-host", f"-DMGRADE_TFLM_DIR={tflm}")
    assert result["returncode"] == 0, result["output"][-2000:]
    files = {os.path.basename(c["file"]) for c in result["commands"]}
    assert {"mgrade_frontend.cc", "rfft_int16.cc", "pcan_argc_fixed.cc"} <= files
    assert any(f.endswith("_audio.c") for f in files)
    assert (result["build"] / "libmgrade_audio.a").is_file()
