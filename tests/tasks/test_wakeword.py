"""The wakeword task: per-step labels by the time each window ends, clips, the cache."""

import numpy as np
import pytest

from mgrade_edge.errors import DataError
from mgrade_edge.frontend.spec import FrontendSpec
from mgrade_edge.tasks.wakeword import IGNORE, OTHER, SILENCE, WAKEWORD, WakewordSpec, load_wakeword, step_labels
from tests.tasks.test_keywords import needs_espeak

FRONT = FrontendSpec("filterbank", 16000, window_ms=32, hop_ms=32)


def test_labels_follow_the_word_ends():
    sr, hop = 16000, 512
    wake = (8000, 16000, WAKEWORD)  # 0.5 s - 1.0 s
    other = (20000, 24000, OTHER)
    y = step_labels([wake, other], 62, FRONT)
    t = FRONT.window_samples + hop * np.arange(62)  # where each step's window ends
    assert (y[t <= 8000] == SILENCE).all()
    assert (y[(t > 8000) & (t < 16000)] == IGNORE).all()  # inside the wakeword: neither right nor wrong
    assert (y[(t >= 16000) & (t < 16000 + 0.25 * sr)] == WAKEWORD).all()
    assert (y[(t >= 16000 + 0.25 * sr) & (t < 16000 + 0.6 * sr)] == IGNORE).all()
    assert (y[(t > 26000) & (t <= 24000 + 0.1 * sr)] == OTHER).all()
    assert y[-1] == SILENCE


def test_bad_options_are_one_line():
    with pytest.raises(DataError, match="--wakeword 'hello' is not one of the 35 keywords"):
        WakewordSpec(wakeword="hello")
    with pytest.raises(DataError, match="runs at frame rate"):
        WakewordSpec(frontend=FrontendSpec("raw", 16000))


@needs_espeak
def test_generated_clips_hold_every_class_and_come_back_from_the_cache(tmp_path, signal_library):
    spec = WakewordSpec(train_clips=60, val_clips=6, test_clips=6, frontend=FRONT)
    data = load_wakeword(spec, cache=tmp_path)
    assert data.train_x.shape == (60, FRONT.steps_for(32000), 40) and data.kind == "step_class"
    assert set(np.unique(data.train_y)) == {IGNORE, WAKEWORD, SILENCE, OTHER}
    assert data.train_x.min() >= 0 and data.train_x.max() < 20  # log filter bank / 64
    again = load_wakeword(spec, cache=tmp_path)
    np.testing.assert_array_equal(again.train_x, data.train_x)
    assert len(list(tmp_path.glob("*.npz"))) == 1
