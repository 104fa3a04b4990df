"""evaluate-stream end to end on a short stream: a checkpoint, its int8 C bundle (host) and MLPerf's
reference on the same audio; the C step's scores follow the float model's."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mgrade_edge.cli import cli
from tests.tasks.test_keywords import needs_espeak

MLPERF = Path(__file__).resolve().parents[3] / "shared" / "mlperf-tiny" / "str_ww_ref_model.tflite"


@pytest.fixture(scope="module")
def wakeword_checkpoint(tmp_path_factory, signal_library):
    out = tmp_path_factory.mktemp("ww") / "ww.pt"
    r = CliRunner().invoke(cli, ["train", "--task", "wakeword", "--train-clips", "300", "--val-clips", "40",
                                 "--test-clips", "40", "--epochs", "2", "--d-model", "16", "--out", str(out)])
    assert r.exit_code == 0, r.output
    return out


@pytest.fixture(scope="module")
def int8_bundle(wakeword_checkpoint):
    bundle = wakeword_checkpoint.parent / "c"
    r = CliRunner().invoke(cli, ["export", str(wakeword_checkpoint), "--target", "c", "--quant", "int8",
                                 "--out", str(bundle)])
    assert r.exit_code == 0, r.output
    return bundle


@needs_espeak
def test_checkpoint_bundle_and_reference_on_one_stream(wakeword_checkpoint, int8_bundle, tmp_path):
    bundle = int8_bundle
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["frontend"]["kind"] == "filterbank" and manifest["steps_per_second"] == 50.0
    paths = [str(wakeword_checkpoint), str(bundle)] + ([str(MLPERF)] if MLPERF.is_file() else [])
    plot = tmp_path / "curve.png"
    r = CliRunner().invoke(cli, ["evaluate-stream", *paths, "--minutes", "1", "--wakewords", "4", "--json",
                                 "--plot", str(plot), "--plot-seconds", "10"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert report["stream"]["wakewords"] == 4
    assert report["true_positives"] + report["false_negatives"] == 4
    assert {"true_positives", "false_negatives", "false_positives"} <= set(report)
    assert len(report["detectors"]) == len(paths) and plot.stat().st_size > 10_000
    for d in report["detectors"]:
        assert d["true_positives"] + d["false_negatives"] == 4 and len(d["curve"]) == 48


@needs_espeak
def test_the_c_step_follows_the_float_model_over_the_whole_stream(wakeword_checkpoint, int8_bundle):
    from mgrade_edge.manifest import read_manifest
    from mgrade_edge.wakeword_stream.detectors import bundle_scores, checkpoint_scores
    from mgrade_edge.wakeword_stream.stream import StreamSpec, load_stream

    bundle = int8_bundle
    audio = load_stream(StreamSpec(minutes=1, wakewords=4)).audio
    ref = checkpoint_scores(wakeword_checkpoint, audio)
    c = bundle_scores(bundle, read_manifest(bundle), audio)
    assert len(c.scores) == len(ref.scores) == 2999
    assert np.abs(c.scores - ref.scores).max() < 0.1  # int8 against float, no drift over 3,000 hops
    late = slice(2000, None)
    assert np.abs(c.scores[late] - ref.scores[late]).mean() < 0.02


def test_a_path_that_is_not_a_detector_is_one_line(tmp_path):
    r = CliRunner().invoke(cli, ["evaluate-stream", str(tmp_path / "none.pt")])
    assert r.exit_code == 2 and "does not exist" in r.output and r.output.count("\n") == 1
    r = CliRunner().invoke(cli, ["evaluate-stream", str(tmp_path), "--threshold", "0.5"])
    assert r.exit_code == 2 and "without manifest.json" in r.output
