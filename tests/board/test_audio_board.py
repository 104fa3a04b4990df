"""The audio path on a Cortex-M4 under QEMU: every hop's outputs equal the host's, in one pass fed
hop by hop and one fed in odd chunks; instructions per hop split between front end and network."""

import pytest

from mgrade_edge.board.audio_golden import board_test_audio, format_audio_report
from mgrade_edge.pipeline import export_checkpoint
from tests.board.conftest import require_board
from tests.helpers import save_tiny_wakeword_checkpoint, wakeword_calibration


@pytest.fixture(scope="module")
def int8_audio_bundle(tmp_path_factory, signal_library):
    root = tmp_path_factory.mktemp("audio_board")
    ckpt = save_tiny_wakeword_checkpoint(root / "ww.pt")
    export_checkpoint(ckpt, "c-int8", root / "c", calib_file=wakeword_calibration(root / "calib.npy"), validate=False)
    return root / "c"


def test_audio_path_on_cortex_m4_is_bit_exact_with_the_host(int8_audio_bundle):
    require_board("cortex-m4", "reference")
    r = board_test_audio(int8_audio_bundle, "cortex-m4", dsp=True)
    assert r["passed"], r["result_line"]
    assert "worst error 0 " in r["result_line"] and "chunked rerun identical" in r["result_line"]
    assert r["hops"] == 62 and r["steps_per_second"] == 31.25  # 2 s at a 32 ms hop
    i = r["instructions_per_hop"]
    assert i["front_end"] > 10_000 and i["network"] > 1_000 and i["total"] == i["front_end"] + i["network"]
    parts = r["ram_parts"]
    assert parts["front_end_kept_between_hops"] < parts["front_end_memory"] <= parts["audio_struct"]
    assert r["ram_bytes"] == parts["audio_struct"] + parts["step_scratch"] + parts["stack"]
    assert r["flash_parts"]["front_end"] > 0 and "per hop" in format_audio_report(r)
