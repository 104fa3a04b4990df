"""The Helium (Cortex-M55) step on the layer switches the tiny bundle does not have: the conv, recurrent
and channel-mixing LayerNorms, the dense rec_out, and a delay line whose rows are one full group of 8
and a tail (its per-channel gathers). Its outputs must hash as the export's integer mirror's, one step
a call and in block pairs (int8 slots two columns apart), and with --weights int16 (the int8 slots
widened to meet int16 weights)."""

import pytest

from mgrade_edge.board.c_golden import BLOCK_PAIRS_DEFINE, MVE_DEFINE, board_test_c, expected_output_hash
from mgrade_edge.config import MGRADEConfig
from tests.board.conftest import require_toolchain
from tests.helpers import random_sequences

# D % 4 == 0 and a GELU MLP: every Helium epilogue applies; kernel 13: 12 ring rows = 8 + a tail of 4
SWITCHES = MGRADEConfig(d_in=1, d_model=12, n_layers=2, n_classes=3, kernel_size=13, n_taps=3,
                        conv_ln=True, rec_ln=True, rec_dense_out=True, cm_ln=True)


@pytest.fixture(scope="module")
def switches_bundles(tmp_path_factory):
    """weights ("int8" or "int16") -> the bundle of one calibrated SWITCHES step, exported once each."""
    import torch

    from mgrade_edge.export.artifact import ExportOptions, build_manifest
    from mgrade_edge.export.c.export import export_c
    from mgrade_edge.export.c.options import CIntOptions
    from mgrade_edge.manifest import write_manifest
    from mgrade_edge.model import MGRADE
    from mgrade_edge.quantize import calibration_set
    from mgrade_edge.streaming import to_streaming

    torch.manual_seed(3)
    step = to_streaming(MGRADE(SWITCHES).eval())
    calibration = calibration_set(step, random_sequences(SWITCHES, 8, 64, seed=4), n_sequences=2, stream_steps=256)
    bundles = {}

    def get(weights: str):
        if weights not in bundles:
            directory = tmp_path_factory.mktemp(f"helium_switches_{weights}")
            opts = ExportOptions(target="c-int8", state="internal", calibration=calibration, model_name="switches",
                                 options=CIntOptions(weights=weights))
            result = export_c(step, opts, directory)
            write_manifest(directory, build_manifest(step, opts, result, directory, "int8"))
            bundles[weights] = directory
        return bundles[weights]

    return get


@pytest.mark.board
@pytest.mark.parametrize("weights, pairs", [("int8", False), ("int8", True), ("int16", False)])
def test_helium_step_with_every_layer_switch_is_bit_exact(switches_bundles, weights, pairs):
    require_toolchain("cortex-m55")
    bundle = switches_bundles(weights)
    defines = (MVE_DEFINE,) + ((BLOCK_PAIRS_DEFINE, "MGRADE_BLOCK_STEPS=5") if pairs else ())
    r = board_test_c(bundle, cpu="cortex-m55", dsp=True, defines=defines)
    assert r["passed"] and r["block_identical"], r["result_line"]
    assert r["output_hash"] == expected_output_hash(bundle) and r["kernels"] == "helium"
    assert r["block_pairs"] == pairs
    if not pairs:  # the int8 slots: the Helium build's planned scratch, as linked
        assert r["ram_parts"]["scratch"] == r["planned_ram_parts"]["scratch"]
