"""The quantised c targets: the generated C is bit-exact with the numpy integer reference over
thousands of steps, within the target's tolerance of the float torch step, warning-free, and its
golden program passes (bit-identical rerun)."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from mgrade_edge.export import get_target
from mgrade_edge.export.c import calib as c_calib
from mgrade_edge.export.c.quant import IntReference, QuantModel
from mgrade_edge.manifest import read_manifest
from mgrade_edge.quantize import calibration_set
from mgrade_edge.runtime import open_runner
from mgrade_edge.runtime.base import run_stream
from mgrade_edge.runtime.torch_runner import TorchRunner
from mgrade_edge.streaming import to_streaming
from mgrade_edge.validate import compare_streams
from tests.artifacts import C_CALIB_STREAMS as CALIB_STREAMS
from tests.helpers import NAMED_CONFIGS, make_model, random_sequences

STRICT = ("-Wall", "-Wextra", "-Werror", "-std=c99", "-pedantic", "-O2")
CASES = [("odd", "int8"), ("all_options", "int8"), ("sigmoid_act", "int8-h8"), ("relu_act", "int16x8"),
         ("odd", "int8-h32"), ("all_options", "int16x8-h32")]
# export --weights int16 (the W16 layout: the same values, stored in 16 bits)
W16_CASES = [("odd", "int8"), ("all_options", "int16x8")]


def reference_for(name: str, precision: str) -> IntReference:
    """The numpy reference built exactly as the exporter builds it (same calibration, same seed, and
    c_calib.calibrated_ranges looked up at call time, as the exporter does, so a patched one applies)."""
    step = to_streaming(make_model(name))
    cal = calibration_set(step, random_sequences(NAMED_CONFIGS[name], 16, 256, seed=1), n_sequences=CALIB_STREAMS)
    return IntReference(QuantModel(step, c_calib.calibrated_ranges(cal), precision))


def run_on_cortex_m4(tmp_path, sources, include_dir, defines, name, extra_flags=()):
    """Build `sources` into a Cortex-M4 program and run it under QEMU (skip when the Arm toolchain or
    QEMU is missing); returns the run's result."""
    from mgrade_edge.board.build import SourceSet
    from mgrade_edge.board.program import ProgramSpec, build_program
    from mgrade_edge.board.run import run_program
    from mgrade_edge.board.toolchain import BoardError

    spec = ProgramSpec((SourceSet(tuple(sources), (include_dir,), tuple(defines), tuple(extra_flags)),), name=name)
    try:
        program = build_program("cortex-m4", spec, tmp_path)
    except BoardError as exc:
        pytest.skip(str(exc))
    return run_program(program.toolchain, program.elf)


@pytest.mark.parametrize("name, precision, weights",
                         [case + ("int8",) for case in CASES] + [case + ("int16",) for case in W16_CASES])
def test_c_is_bit_exact_with_the_integer_reference(c_bundle, name, precision, weights):
    out = c_bundle(name, precision, weights)
    stream = random_sequences(NAMED_CONFIGS[name], 1, 1000, seed=7)[0]
    got = run_stream(open_runner(out), stream)
    ref = reference_for(name, precision)
    expected = np.stack([ref.step(x) for x in stream])
    mismatch = np.nonzero((got != expected).any(axis=1))[0]
    assert len(mismatch) == 0, f"first differing step {mismatch[0]}"


@pytest.mark.parametrize("name, precision", CASES)
def test_within_the_target_tolerance_of_the_float_step(c_bundle, name, precision):
    out = c_bundle(name, precision)
    manifest = read_manifest(out)
    tol = get_target(manifest["target"]).tolerance
    stream = random_sequences(NAMED_CONFIGS[name], 1, 2000, seed=8)[0]
    got = run_stream(open_runner(out), stream)
    ref = run_stream(TorchRunner(to_streaming(make_model(name))), stream)
    stats = compare_streams(ref, got)
    y_scale = next(t["scale"] for t in manifest["tensors"] if t["name"] == "y")
    assert stats["cosine"] >= tol.min_cosine
    assert stats["max_abs_err"] <= tol.max_steps_of_y * y_scale


@pytest.mark.parametrize("cc, flags", [("gcc", ()), ("arm-none-eabi-gcc", ("-mcpu=cortex-m4", "-mthumb")),
                                       ("arm-none-eabi-gcc", ("-mcpu=cortex-m4", "-mthumb", "-DMGRADE_USE_DSP")),
                                       ("arm-none-eabi-gcc", ("-mcpu=cortex-m55", "-mthumb", "-DMGRADE_USE_DSP"))])
@pytest.mark.parametrize("precision, weights", [("int8", "int8"), ("int8-h8", "int8"), ("int16x8", "int8"),
                                               ("int16x8-h32", "int8"), ("int8", "int16"), ("int16x8", "int16")])
def test_int_sources_compile_warning_free(c_bundle, tmp_path, cc, flags, precision, weights):
    if shutil.which(cc) is None:
        pytest.skip(f"{cc} not installed")
    out = c_bundle("all_options", precision, weights)
    for src in ("mgrade_all_options.c", "main.c"):
        proc = subprocess.run([cc, *STRICT, *flags, "-c", str(out / src), "-o", str(tmp_path / (src + ".o"))],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("weights", ["int8", "int16"])
@pytest.mark.parametrize("opt", ["-O0", "-Os", "-O3"])
def test_dsp_path_compiles_at_every_optimisation_level(c_bundle, tmp_path, opt, weights):
    """The SMLAD loop's inline assembly needs 13 registers at -O1 and above (LDM of a chunk's weights);
    an unoptimised build keeps a frame pointer and takes the LDRD form instead."""
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    out = c_bundle("wide", "int8", weights)
    proc = subprocess.run(["arm-none-eabi-gcc", *STRICT, opt, "-mcpu=cortex-m4", "-mthumb", "-DMGRADE_USE_DSP", "-c",
                           str(out / "mgrade_wide.c"), "-o", str(tmp_path / "step.o")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("name, precision", [("odd", "int8"), ("relu_act", "int16x8")])
def test_int_golden_program_is_exact(c_bundle, tmp_path, name, precision):
    out = c_bundle(name, precision)
    exe = tmp_path / "golden"
    subprocess.run(["gcc", *STRICT, str(out / "main.c"), str(out / f"mgrade_{name}.c"), "-lm", "-o", str(exe)],
                   check=True)
    proc = subprocess.run([str(exe)], capture_output=True, text=True)
    assert proc.returncode == 0 and "worst error 0 " in proc.stdout and "rerun identical" in proc.stdout, proc.stdout


@pytest.mark.parametrize("name, precision, weights", [("odd", "int8", "int8"), ("relu_act", "int16x8", "int8"),
                                                      ("odd", "int8-h32", "int8"), ("wide", "int8", "int8"),
                                                      ("wide", "int8", "int16"), ("relu_act", "int16x8", "int16")])
def test_dsp_golden_program_is_exact_on_cortex_m4(c_bundle, tmp_path, name, precision, weights):
    """The SMLAD path (assembly inner loop, blocked weights, odd sizes padded; "wide": the 8-chunk loop
    and its 4-, 2- and 1-chunk tails; int16 weights: the W16 chunk) under QEMU: the golden outputs
    recorded from the integer reference, bit for bit."""
    out = c_bundle(name, precision, weights)
    result = run_on_cortex_m4(tmp_path, (out / "main.c", out / f"mgrade_{name}.c"), out, ("MGRADE_USE_DSP",),
                              "golden_dsp")
    assert result.exit_code == 0 and "worst error 0 " in result.output, result.output


@pytest.mark.parametrize("weights", ["int8", "int16"])
def test_unoptimised_dsp_golden_program_is_exact_on_cortex_m4(c_bundle, tmp_path, weights):
    """-O0 keeps a frame pointer, so the SMLAD loop takes its LDRD form (not the LDM one): bit-exact too."""
    out = c_bundle("wide", "int8", weights)
    result = run_on_cortex_m4(tmp_path, (out / "main.c", out / "mgrade_wide.c"), out, ("MGRADE_USE_DSP",),
                              "golden_dsp_o0", extra_flags=("-O0",))
    assert result.exit_code == 0 and "worst error 0 " in result.output, result.output


def test_int16_weight_storage_doubles_every_dense_array_and_says_so(c_bundle):
    """--weights int16 keeps the same arrays (and so the same outputs, tested above) with twice the
    words each; the bundle's README names the storage and the DSP build flag."""
    import re

    def dense_words(out):
        text = (out / "mgrade_all_options.c").read_text()
        return {m[1]: int(m[2]) for m in re.finditer(r"static const uint32_t (\w+_w)\[(\d+)\]", text)}

    narrow, wide = dense_words(c_bundle("all_options", "int8")), dense_words(c_bundle("all_options", "int8", "int16"))
    assert narrow and narrow.keys() == wide.keys()
    assert all(wide[k] == 2 * narrow[k] for k in narrow)
    readme = (c_bundle("all_options", "int8", "int16") / "README.md").read_text()
    assert "stored as int16" in readme and "-DMGRADE_USE_DSP" in readme


def test_int_reexport_is_byte_identical(c_bundle, tmp_path):
    from mgrade_edge.pipeline import export_checkpoint

    first = c_bundle("odd", "int8")
    root = first.parent
    export_checkpoint(root / "odd.pt", "c-int8", tmp_path / "again", calib_file=root / "calib.npy",
                      calib_sequences=CALIB_STREAMS, validate=False)
    for f in ("mgrade_odd.c", "mgrade_odd.h", "main.c", "README.md"):
        assert (first / f).read_bytes() == (tmp_path / "again" / f).read_bytes(), f


def test_unsigned_hidden_state_and_ring_types(c_bundle):
    header = (c_bundle("relu_act", "int16x8") / "mgrade_relu_act.h").read_text()
    assert "int16_t ring[" in header and "uint16_t h[" in header
    header = (c_bundle("odd", "int8") / "mgrade_odd.h").read_text()
    assert "int8_t ring[" in header and "uint16_t h[" in header
    header = (c_bundle("sigmoid_act", "int8-h8") / "mgrade_sigmoid_act.h").read_text()
    assert "int8_t ring[" in header and "uint8_t h[" in header
    header = (c_bundle("odd", "int8-h32") / "mgrade_odd.h").read_text()
    assert "int8_t ring[" in header and "uint32_t h[" in header


@pytest.mark.parametrize("name, precision", CASES)
def test_reported_state_bytes_are_the_structs_size(c_bundle, name, precision):
    out = c_bundle(name, precision)
    assert read_manifest(out)["details"]["c"]["state_bytes"] == open_runner(out).state_bytes


@pytest.mark.parametrize("m", [(1197923909, 41), (-1610612736, 29), (0, 1), (1 << 30, 31), (2147128950, 42)])
def test_rq_bound_is_the_largest_rescaled_magnitude(m):
    from mgrade_edge.export.c import fixed as fx
    from mgrade_edge.export.c.int_step import rq_bound

    for bound in (0, 1, 127, 5000):
        a = np.arange(-bound, bound + 1, dtype=np.int64)
        assert rq_bound(m, bound) == int(np.abs(fx.rq(a, m)).max())


def test_doctests():
    import doctest

    from mgrade_edge.export.c import int_step as c_int

    result = doctest.testmod(c_int)
    assert result.failed == 0 and result.attempted >= 2


@pytest.mark.parametrize("name, precision", [("odd", "int8"), ("relu_act", "int16x8")])
def test_c_is_bit_exact_where_every_range_saturates(tmp_path, monkeypatch, name, precision):
    """With every calibrated range but the input's shrunk 64x, act values run into both ends of their
    two's-complement range [-QMAX - 1, QMAX] all the time; the C still equals the reference. The
    reference's saturations at -QMAX - 1 are counted: the test fails if that end was never reached.
    (Wide values stay inside their 16x headroom even then; clamp32 at -2^24 is checked directly by
    test_ssat_saturation_equals_the_reference_on_cortex_m4 and rq's 32-bit form at -(bound + 1) in
    test_c_fixed.)"""
    from mgrade_edge.export.c import quant as c_quant
    from tests.artifacts import build_c_bundle

    real_ranges, real_sat = c_calib.calibrated_ranges, c_quant.sat
    monkeypatch.setattr(c_calib, "calibrated_ranges",
                        lambda cal: {k: v if k == "u" else v / 64 for k, v in real_ranges(cal).items()})
    out = build_c_bundle(tmp_path / "b", name, precision)
    ref = reference_for(name, precision)
    lows = {-ref.qm.qmax - 1: 0}

    def counting_sat(a, lo, hi):
        if lo in lows:
            lows[lo] += int((np.asarray(a) < lo).sum())
        return real_sat(a, lo, hi)

    monkeypatch.setattr(c_quant, "sat", counting_sat)
    stream = random_sequences(NAMED_CONFIGS[name], 1, 400, seed=9)[0]
    expected = np.stack([ref.step(x) for x in stream])
    got = run_stream(open_runner(out), stream)
    assert all(n > 0 for n in lows.values()), lows
    mismatch = np.nonzero((got != expected).any(axis=1))[0]
    assert len(mismatch) == 0, f"first differing step {mismatch[0]}"


SATURATION_PROGRAM = """#include "{source}"
#include <stdio.h>
static const int32_t values[{n}] = {{{values}}};
static const int32_t want_q[{n}] = {{{want_q}}}, want_w[{n}] = {{{want_w}}}, want_sig[{n}] = {{{want_sig}}};
int main(void) {{
  int bad = 0, i;
  for (i = 0; i < {n}; ++i) {{
    bad += clamp32(values[i], Q_MIN, QMAX) != want_q[i];
    bad += clamp32(values[i], W_MIN, WIDE_MAX) != want_w[i];
    bad += sig_q15(values[i]) != want_sig[i];
  }}
  printf("%s %d\\n", bad ? "FAIL" : "PASS", bad);
  return bad != 0;
}}
"""


@pytest.mark.parametrize("defines", [(), ("MGRADE_USE_DSP",)])
@pytest.mark.parametrize("precision", ["int8", "int16x8"])
def test_ssat_saturation_equals_the_reference_on_cortex_m4(c_bundle, tmp_path, precision, defines):
    """The SSATs of every Arm build that has them (clamp32 to the act and wide ranges, sig_q15's input
    range; with and without the DSP path) against the numpy reference's sat and sig_q15, at and around
    every range end, run under QEMU."""
    from mgrade_edge.export.c import fixed as fx

    out = c_bundle("odd", precision)
    qmax = 127 if precision == "int8" else 32767
    ends = [qmax, fx.WIDE_MAX, 1 << 20, fx.INT32_MAX - 1]
    values = np.unique(np.array([0, fx.INT32_MAX, -fx.INT32_MAX] + [s * e + k for e in ends for s in (1, -1)
                                                                    for k in (-2, -1, 0, 1, 2)], dtype=np.int64))
    values = values[(values >= -fx.INT32_MAX) & (values <= fx.INT32_MAX)]

    def c_list(a):
        return ", ".join(str(int(v)) for v in a)

    program = tmp_path / "saturation.c"
    program.write_text(SATURATION_PROGRAM.format(
        source=out / "mgrade_odd.c", n=len(values), values=c_list(values),
        want_q=c_list(fx.sat(values, -qmax - 1, qmax)), want_w=c_list(fx.sat(values, -fx.WIDE_MAX - 1, fx.WIDE_MAX)),
        want_sig=c_list(fx.sig_q15(values))))
    result = run_on_cortex_m4(tmp_path, (program,), out, defines, "saturation" + "_dsp" * bool(defines))
    assert result.exit_code == 0 and "PASS 0" in result.output, result.output
