"""The C integer kernels (export/c/templates/kernels.h), each against its numpy reference (export/c/fixed.py).

kernels_test.c runs every kernel on cases written here with the reference's answers: random values,
the edges of every range (saturation limits, table ends, int32/int64 extremes) and both of rq's forms.
Three configurations cover the header's switches: int8 activations, int8 weights and the generic
LayerNorm call site; int16 activations, int16 weights (W16) and the 32-bit LayerNorm site (RQ32_LN,
LN_ADD32); int8 activations with W16 weights (Helium's int8 slots widened as they load). Built for
the host, for Cortex-M4 with the DSP path (SSAT, SMLAD, SXTB16, SMMUL) and for Cortex-M55 with Helium."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from mgrade_edge.export import cgen
from mgrade_edge.export.c import fixed as fx
from mgrade_edge.export.c.int_step import TYPES, dense_words, padded4
from tests.board.conftest import require_toolchain

HERE = Path(__file__).parent
TEMPLATES = Path(fx.__file__).parent / "templates"
D = 24  # LayerNorm width: not a power of two, so the mean's rounding division is exercised
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def _mult(m: int, n: int, bound: int) -> tuple[int, int, int, int, int]:
    """The C mult {m, round, n, pre, shift} of (m, n) for inputs |a| <= bound (int_step._mult's rule)."""
    pre, shift = fx.rq_pre_shift((m, n), bound)
    return m, (1 << (shift - 1)) if pre >= 0 else 0, n, pre, shift


def _mult_array(name: str, mults) -> str:
    items = ", ".join("{" + ", ".join(map(str, k)) + "}" for k in mults)
    return f"static const mult {name}[{len(mults)}] = {{{items}}};\n"


def _array(name: str, ctype: str, values) -> str:
    return cgen.c_array(name, ctype, np.asarray(values, dtype=np.int64).reshape(-1), per_line=12,
                        modifiers="static const")


def _rq_cases(rng, qmax: int):
    """rq, rq_sat, rq2_sat cases: factors over 2^-20..2^8, both forms, inputs up to each form's bound."""
    factors = np.exp2(rng.uniform(-20, 8, 300)) * rng.choice([1, -1], 300)
    cases = []
    for f in factors:
        m, n = fx.multiplier(float(f))
        bound = int(rng.choice([qmax + 1, fx.WIDE_MAX, 1 << 20, INT32_MAX]))
        k = _mult(m, n, bound)
        edge = [-bound - 1 if bound < INT32_MAX else INT32_MIN, bound, 0, 1, -1]
        for a in edge + list(rng.integers(-bound - 1 if bound < INT32_MAX else INT32_MIN, bound, 3, endpoint=True)):
            if abs(int(a) * m) < (1 << 62):  # rq's int64 product
                cases.append((int(a), k))
    lo_hi = [(-qmax - 1, qmax), (-fx.WIDE_MAX - 1, fx.WIDE_MAX), (-1000, 2000), (INT32_MIN + 1, INT32_MAX)]
    a = [c[0] for c in cases]
    ks = [c[1] for c in cases]
    ranges = [lo_hi[i % len(lo_hi)] for i in range(len(cases))]
    b = [int(x) for x in rng.integers(-(qmax + 1), qmax, len(cases), endpoint=True)]
    kb = [_mult(*fx.multiplier(float(f)), qmax + 1) for f in np.exp2(rng.uniform(-10, 6, len(cases)))]
    want = [int(fx.rq(x, (k[0], k[2]))) for x, k in zip(a, ks)]
    sat = [int(fx.sat(w, lo, hi)) for w, (lo, hi) in zip(want, ranges)]
    sat2 = [int(fx.sat(w + int(fx.rq(y, (k2[0], k2[2]))), lo, hi)) for w, y, k2, (lo, hi) in zip(want, b, kb, ranges)]
    return "".join([
        f"#define RQ_N {len(cases)}\n", _array("RQ_A", "int32_t", a), _mult_array("RQ_K", ks),
        _array("RQ_WANT", "int64_t", want), _array("RQ_B", "int32_t", b), _mult_array("RQ_KB", kb),
        _array("RQ_LO", "int32_t", [r[0] for r in ranges]), _array("RQ_HI", "int32_t", [r[1] for r in ranges]),
        _array("RQ_SAT_WANT", "int32_t", sat), _array("RQ2_SAT_WANT", "int32_t", sat2)])


def _clamp_cases(rng, qmax: int) -> str:
    ranges = [(-qmax - 1, qmax), (-fx.WIDE_MAX - 1, fx.WIDE_MAX), (-5, 7), (INT32_MIN, INT32_MAX)]
    v, lo, hi = [], [], []
    for low, high in ranges:
        for x in [low - 1, low, low + 1, high - 1, high, high + 1, 0, *rng.integers(2 * low, 2 * high, 20)]:
            v.append(int(np.clip(x, INT32_MIN, INT32_MAX)))  # clamp32 takes an int32
            lo.append(low)
            hi.append(high)
    # two int64 values beyond int32 for clamp64; clamp32 takes the int32 conversion of its argument (0 here)
    v64 = list(v) + [1 << 40, -(1 << 40)]
    lo64, hi64 = lo + [ranges[1][0]] * 2, hi + [ranges[1][1]] * 2
    v = v + [0, 0]
    return "".join([f"#define CLAMP_N {len(v64)}\n", _array("CLAMP_V", "int64_t", v64),
                    _array("CLAMP_LO", "int32_t", lo64), _array("CLAMP_HI", "int32_t", hi64),
                    _array("CLAMP_WANT", "int32_t", fx.sat(v, np.array(lo64), np.array(hi64))),
                    _array("CLAMP_WANT64", "int32_t", fx.sat(v64, np.array(lo64), np.array(hi64)))])


def _table_cases(rng) -> str:
    edges = [INT32_MIN, -(16 << 16) - 1, -(16 << 16), -(16 << 16) + 1, -1, 0, 1, (16 << 16) - 4097, (16 << 16) - 1,
             16 << 16, INT32_MAX]
    u = edges + [int(x) for x in rng.integers(-(20 << 16), 20 << 16, 3000)]
    g_edges = [-fx.GELU_LIMIT - 1, -fx.GELU_LIMIT, -fx.GELU_LIMIT + 1, 0, fx.GELU_LIMIT - 1, fx.GELU_LIMIT,
               fx.GELU_LIMIT + 1, INT32_MAX, INT32_MIN + 1]
    x = g_edges + [int(v) for v in rng.integers(-(10 << 16), 10 << 16, 3000)]
    return "".join([f"#define SIG_N {len(u)}\n", _array("SIG_U", "int32_t", u),
                    _array("SIG_WANT", "int32_t", fx.sig_q15(u)),
                    f"#define GELU_N {len(x)}\n", _array("GELU_X", "int32_t", x),
                    _array("GELU_WANT", "int32_t", fx.gelu_q16(x))])


def _division_cases(rng) -> str:
    a = [0, 1, -1, 5, -5, 7, -7, (1 << 62), -(1 << 62)] + [int(v) for v in rng.integers(-(1 << 62), 1 << 62, 500)]
    b = [2, 2, 2, 10, 10, 14, 14, 3, 3] + [int(v) for v in rng.integers(1, 1 << 20, 500)]
    want = [int(fx.rdiv(x, y)) for x, y in zip(a, b)]
    v = [0, 1, 2, 3, 4, (1 << 62) - 1, (1 << 58), (1 << 58) - 1] + [int(s) for s in rng.integers(0, 1 << 62, 500)]
    # LayerNorm's range [2^58, 2^62) (the Newton path): squares and their neighbours, where floor(sqrt) turns
    roots = [int(s) for s in rng.integers(1 << 29, 1 << 31, 100)] + [1 << 29, (1 << 31) - 1]
    v += [r * r + d for r in roots for d in (-1, 0, 1) if (1 << 58) <= r * r + d < (1 << 62)]
    return "".join([f"#define RDIV_N {len(a)}\n", _array("RDIV_A", "int64_t", a), _array("RDIV_B", "int64_t", b),
                    _array("RDIV_WANT", "int64_t", want), f"#define ISQRT_N {len(v)}\n",
                    cgen.c_array("ISQRT_V", "uint64_t", v, per_line=6, modifiers="static const"),
                    _array("ISQRT_WANT", "uint32_t", [math.isqrt(s) for s in v])])


def _dot_cases(rng, qmax: int, weights: str) -> str:
    rows, cols = 10, 59  # neither a multiple of 4: the blocked layout pads both; 15 chunks: every tail (8+4+2+1, odd)
    w = rng.integers(-128, 127, (rows, cols), endpoint=True)
    w[0], w[1] = 127, -128  # the extremes of every product
    x = rng.integers(-qmax - 1, qmax, cols, endpoint=True)
    x[:4] = [-qmax - 1, qmax, -qmax - 1, qmax]
    cols4, rows4 = padded4(cols), padded4(rows)
    x4 = np.zeros(cols4, np.int64)
    x4[:cols] = x
    want4 = np.zeros(rows4, np.int64)
    want4[:rows] = w @ x
    # dot4x2: a second column's input COLUMN_BYTES after the first's (a gap of 8 bytes between them)
    y4 = np.zeros(cols4, np.int64)
    y4[:cols] = rng.integers(-qmax - 1, qmax, cols, endpoint=True)
    want4_y = np.zeros(rows4, np.int64)
    want4_y[:rows] = w @ y4[:cols]
    act = "int8_t" if qmax == 127 else "int16_t"
    return "".join([
        f"#define COLUMN_BYTES {2 * cols4 + 8}\n", _array("DOT4_Y", "int16_t", y4),
        _array("DOT4_WANT_Y", "int32_t", want4_y),
        f"#define DOT_ROWS {rows}\n#define DOT_LEN {cols}\n", _array("DOT_W", "int8_t", w),
        _array("DOT_X", act, x), _array("DOT_WANT", "int32_t", w @ x),
        f"#define DOT4_ROWS {rows4}\n#define DOT4_COLS {cols4}\n",
        cgen.c_array("DOT4_W", "uint32_t", dense_words(w, weights), per_line=6, modifiers="static const"),
        _array("DOT4_X", "int16_t", x4), _array("DOT4_WANT", "int32_t", want4)])


def _g_h_cases(rng) -> str:
    """rq_g_h: g >= 0 by mults whose n puts pre = 33 - n in 1..30 (lim = INT32_MAX >> pre: the 32-bit form at or
    below, the int64 form above) or n >= 33 (lim -1: always int64); 8 g per mult (two groups of 4 lanes),
    around lim and across [0, INT32_MAX - 32768] (the minGRU's g)."""
    g_max = INT32_MAX - 32768
    ks, gs, pres, lims, want = [], [], [], [], []
    for n in [3, 4, 10, 20, 31, 32, 33, 34, 40, 45] + [int(v) for v in rng.integers(3, 46, 30)]:
        m = int(rng.integers(1 << 30, 1 << 31))
        pre = 33 - n if 2 < n < 33 else 0
        lim = INT32_MAX >> pre if pre else -1
        near = [v for v in (lim - 1, lim, lim + 1, lim + 2) if 0 <= v <= g_max]
        g = (near + [0, g_max] + [int(v) for v in rng.integers(0, g_max, 8, endpoint=True)])[:8]
        ks.append(_mult(m, n, INT32_MAX))
        gs += g
        pres.append(pre)
        lims.append(lim)
        want += [int(v) for v in fx.sat(fx.rq(g, (m, n)), 0, INT32_MAX)]
    return "".join([f"#define GH_MULTS {len(ks)}\n", _mult_array("GH_K", ks), _array("GH_PRE", "int32_t", pres),
                    _array("GH_LIM", "int32_t", lims), _array("GH_G", "int32_t", gs),
                    _array("GH_WANT", "int32_t", want)])


def _layer_norm_cases(rng, qmax: int, fast: bool) -> str:
    """Wide inputs of many spreads (constant, tiny, full range); gammas in the generator's 32-bit form when
    `fast` (RQ32_LN), else a mix of both forms."""
    xhat_bound = int(np.ceil(np.sqrt(D) * fx.Q16 * 1.001)) + 16
    ws, gs, bs, eps, lo, hi, want, want_q = [], [], [], [], [], [], [], []
    spreads = [0, 1, 3, 100, 10_000, 1 << 20, fx.WIDE_MAX]
    for i in range(40):
        spread = spreads[i % len(spreads)]
        center = int(rng.integers(-fx.WIDE_MAX + spread, fx.WIDE_MAX - spread, endpoint=True))
        w = np.clip(center + rng.integers(-spread, spread, D, endpoint=True), -fx.WIDE_MAX - 1, fx.WIDE_MAX)
        if i % 7 == 6:
            w[::2], w[1::2] = -fx.WIDE_MAX - 1, fx.WIDE_MAX  # the largest variance
        scale = 2.0 ** rng.uniform(-6, 4, D) * (1 if fast else rng.choice([1, 2.0 ** 12], D))
        g = [fx.multiplier(float(f)) for f in scale]
        k = [_mult(m, n, xhat_bound) for m, n in g]
        if fast:
            assert all(c[3] >= 0 for c in k)
        beta = rng.integers(-(1 << 22), 1 << 22, D)
        e = int(rng.choice([1, 1 << 10, 1 << 30]))
        low, high = (-fx.WIDE_MAX - 1, fx.WIDE_MAX) if i % 2 else (-(1 << 18), 1 << 18)
        ws.append(w)
        gs += k
        bs.append(beta)
        eps.append(e)
        lo.append(low)
        hi.append(high)
        want.append(fx.layer_norm(w, g, beta, e, low, high))
        want_q.append(fx.layer_norm(w, g, beta, e, -qmax - 1, qmax))
    return "".join([f"#define LN_N {len(ws)}\n", _array("LN_W", "int32_t", ws), _mult_array("LN_G", gs),
                    _array("LN_B", "int32_t", bs), _array("LN_EPS", "int64_t", eps), _array("LN_LO", "int32_t", lo),
                    _array("LN_HI", "int32_t", hi), _array("LN_WANT", "int32_t", want),
                    _array("LN_WANT_Q", "int32_t", want_q)])


CONFIGS = {  # name: (QMAX, weights, the LayerNorm call site in its 32-bit form)
    "int8": (127, "int8", False),
    "int16-w16": (32767, "int16", True),
    "int8-w16": (127, "int16", True),  # on Helium: int8 slots widened to meet int16 weights
}


def kernel_cases(config: str, seed: int = 0) -> str:
    qmax, weights, fast = CONFIGS[config]
    rng = np.random.default_rng(seed)
    act = "int8_t" if qmax == 127 else "int16_t"
    return "".join([
        "#include <stdint.h>\n", f"typedef {act} act_t;\n", TYPES,
        f"#define D {D}\n#define QMAX {qmax}\n#define WIDE_MAX {fx.WIDE_MAX}\n#define W16 {int(weights == 'int16')}\n",
        f"#define SIG_ENTRIES {fx.SIG_ENTRIES}\n#define GELU_LIMIT {fx.GELU_LIMIT}\n",
        "#define MLP_ACT_GELU 1\n#define REC_ACT 0\n#define REC_ACT_GELU 2\n",
        f"#define RQ32_LN {int(fast)}\n#define IDENT_LN 0\n#define SH1_LN 0\n#define LN_ADD32 {int(fast)}\n",
        _array("SIG_TABLE", "int32_t", fx.SIG_TABLE), _array("GELU_TABLE", "int32_t", fx.GELU_TABLE),
        _rq_cases(rng, qmax), _clamp_cases(rng, qmax), _table_cases(rng), _division_cases(rng),
        _dot_cases(rng, qmax, weights), _layer_norm_cases(rng, qmax, fast), _g_h_cases(rng)])


def run_kernel_tests(tmp_path: Path, config: str, cpu: str, dsp: bool = False, mve: bool = False) -> str:
    from mgrade_edge.board.build import SourceSet
    from mgrade_edge.board.program import ProgramSpec, build_program
    from mgrade_edge.board.run import run_program

    variant = ("-dsp" if dsp else "") + ("-mve" if mve else "")
    work = tmp_path / f"{config}-{cpu}{variant}"
    work.mkdir()
    (work / "kernel_cases.h").write_text(kernel_cases(config))
    defines = (("MGRADE_USE_DSP",) if dsp else ()) + (("MGRADE_USE_MVE",) if mve else ())
    spec = ProgramSpec((SourceSet((HERE / "kernels_test.c",), (work, TEMPLATES), defines),),
                       name=f"kernels_{config}_{cpu}{variant.replace('-', '_')}")
    program = build_program(cpu, spec, work)
    result = run_program(program.toolchain, program.elf)
    assert not result.timed_out
    assert result.exit_code == 0 and "kernels: 0 failed" in result.output, result.output
    return result.output


KERNELS = ("rq", "rq_fast", "clamp", "rq_sat", "sig_q15", "gelu_q16", "rdiv", "isqrt62", "dot", "dot4", "dot4x2",
           "layer_norm", "rq_g_h")


@pytest.mark.parametrize("config", list(CONFIGS))
def test_every_kernel_matches_the_reference_on_the_host(config, tmp_path):
    output = run_kernel_tests(tmp_path, config, "host")
    assert [line.split()[0] for line in output.splitlines() if " ok " in line] == list(KERNELS), output


@pytest.mark.board
@pytest.mark.parametrize("config", list(CONFIGS))
def test_every_kernel_matches_the_reference_on_cortex_m4_with_the_dsp_path(config, tmp_path):
    require_toolchain("cortex-m4")
    output = run_kernel_tests(tmp_path, config, "cortex-m4", dsp=True)
    assert [line.split()[0] for line in output.splitlines() if " ok " in line] == list(KERNELS), output


@pytest.mark.board
@pytest.mark.parametrize("config", list(CONFIGS))
def test_every_kernel_matches_the_reference_on_cortex_m55_with_helium(config, tmp_path):
    """The MVE dot product (gathers + VMLADAVA, a predicated odd chunk) against the same answers."""
    require_toolchain("cortex-m55")
    output = run_kernel_tests(tmp_path, config, "cortex-m55", mve=True)
    assert [line.split()[0] for line in output.splitlines() if " ok " in line] == list(KERNELS), output


def test_a_wrong_reference_answer_is_reported(tmp_path):
    """The harness can fail: one reference answer off by one is named, with the exit code."""
    from mgrade_edge.board.build import SourceSet
    from mgrade_edge.board.program import ProgramSpec, build_program
    from mgrade_edge.board.run import run_program

    text = kernel_cases("int8")
    marker = "static const int32_t SIG_WANT["
    head, rest = text.split(marker, 1)
    size, values = rest.split("{", 1)
    first_value, others = values.split(",", 1)
    text = head + marker + size + "{" + str(int(first_value) + 1) + "," + others
    (tmp_path / "kernel_cases.h").write_text(text)
    program = build_program("host", ProgramSpec((SourceSet((HERE / "kernels_test.c",), (tmp_path, TEMPLATES)),),
                                                name="kernels_broken"), tmp_path)
    result = run_program(program.toolchain, program.elf)
    assert result.exit_code == 1 and "sig_q15 FAIL case 0" in result.output and "kernels: 1 failed" in result.output
