"""C emission of the quantised step (int8 / int16x8): the constants of c_quant.QuantModel as const
data, the per-layer records, and the golden outputs of the numpy integer reference."""

from __future__ import annotations

import re

import numpy as np

from ...errors import ExportError
from .. import cgen
from ..artifact import TensorInfo
from . import fixed as fx
from .generator import TEMPLATES, header_text, layer_struct, option_macros
from .quant import IntReference, QuantModel

INT_FIELDS = (("rows", "unsigned"), ("ring_offset", "unsigned"), ("k0", "const int8_t *"),
              ("kring", "const int8_t *"), ("m_v", "const mult *"), ("conv_ln", "const ln_params *"),
              ("x_x1", "mult"), ("v_x1", "mult"), ("x1q", "mult"), ("gate", "dense_params"), ("g_h", "mult"),
              ("h_fx", "mult"), ("h_o", "mult"), ("fx_o", "mult"), ("rec_out", "dense_params"),
              ("rec_ln", "const ln_params *"), ("x1_x2", "mult"), ("o_x2", "mult"), ("mlp_ln", "const ln_params *"),
              ("mlp_in", "dense_params"), ("m2", "mult"), ("mlp_out", "dense_params"), ("cm_ln", "const ln_params *"),
              ("x2_s", "mult"), ("m_s", "mult"), ("post_ln", "const ln_params *"))
TYPES = """/* x * m / 2^n; pre >= 0: rq's 32-bit form (round = 2^(shift-1)) */
typedef struct { int32_t m, round; int8_t n, pre, shift; } mult;
/* w: blocked uint32 words (dot4; int8 or, with W16, int16 weights), or int8 rows (the encoder's dot) */
typedef struct { const void *w; const int32_t *b; const mult *m; } dense_params;
typedef struct { const mult *g; const int32_t *b; int64_t eps; } ln_params;
"""


def _mult(m, bound: int) -> tuple[str, int, int]:
    """A C mult {m, round, n, pre, shift}: rq's constants and its 32-bit form for inputs |a| <= bound
    (round = 2^(shift-1)), with that form's (pre, shift); pre < 0: the form does not apply."""
    pre, shift = fx.rq_pre_shift((int(m[0]), int(m[1])), int(bound))
    return f"{{{int(m[0])}, {(1 << (shift - 1)) if pre >= 0 else 0}, {int(m[1])}, {pre}, {shift}}}", pre, shift


def rq_bound(m, bound: int) -> int:
    """max |rq(a, m)| over |a| <= bound (rq is monotonic; m > 0 or m = 0)."""
    mul, n = int(m[0]), int(m[1])
    return max(abs((bound * mul + (1 << (n - 1))) >> n), abs((-bound * mul + (1 << (n - 1))) >> n))


def padded4(n: int) -> int:
    return -(-n // 4) * 4




def blocked(w: np.ndarray, order=(0, 2, 1, 3)) -> np.ndarray:
    """A dense layer's int8 weights [out, in] in the template's BLOCKED LAYOUT (kernels.h): blocks of
    4 rows, chunks of 4 columns, a chunk's 4 rows one after the other, each row's 4 values in `order`
    (bytes w0, w2, w1, w3 for SXTB16; int16 halves in their own order, 0 1 2 3, for W16).

    >>> blocked(np.arange(1, 5).reshape(1, 4)).tolist()[:8]
    [1, 3, 2, 4, 0, 0, 0, 0]
    """
    out, n_in = w.shape
    p = np.zeros((padded4(out), padded4(n_in)), dtype=np.int64)
    p[:out, :n_in] = w
    p = p.reshape(p.shape[0] // 4, 4, p.shape[1] // 4, 4)[..., list(order)]  # block, row, chunk, value
    return p.transpose(0, 2, 1, 3).reshape(-1)


def packed_words(values: np.ndarray) -> np.ndarray:
    """int8 values, 4 per uint32 word, the first in the low byte (the word's value, not its memory
    layout, carries the order: the C extracts bytes by shifting, on any byte order).

    >>> packed_words(np.array([1, -1, 0, -128])).tolist()
    [2147548929]
    """
    b = (np.asarray(values, dtype=np.int64).reshape(-1, 4) & 0xFF).astype(np.uint64)
    return (b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16) | (b[:, 3] << 24)).astype(np.int64)


def packed_halves(values: np.ndarray) -> np.ndarray:
    """int16 values, 2 per uint32 word, the first in the low half (by value, as packed_words).

    >>> packed_halves(np.array([1, -1, -128, 127])).tolist()
    [4294901761, 8388480]
    """
    h = (np.asarray(values, dtype=np.int64).reshape(-1, 2) & 0xFFFF).astype(np.uint64)
    return (h[:, 0] | (h[:, 1] << 16)).astype(np.int64)


def dense_words(w: np.ndarray, weights: str) -> np.ndarray:
    """The uint32 words of a dense layer's blocked weights stored as `weights` (options.WEIGHT_STORAGE)."""
    if weights == "int16":
        return packed_halves(blocked(w, order=(0, 1, 2, 3)))
    return packed_words(blocked(w))


def gate_rows(d: int) -> np.ndarray:
    """Row order of the gate matmul in C: k_0, a_0, k_1, a_1, ... (one channel's two gates side by side,
    so a block of 4 rows finishes two channels' minGRU updates)."""
    return np.stack([np.arange(d), d + np.arange(d)], axis=1).reshape(-1)


# Bounds of |a| for the scalar multipliers of the layer record (the template's call sites).
SCALAR_INPUT = {"x_x1": "act", "v_x1": "wide", "x1q": "wide", "g_h": "q16", "h_fx": "h", "h_o": "h", "fx_o": "q16",
                "x1_x2": "wide", "o_x2": "wide", "m2": "q16", "x2_s": "wide", "m_s": "wide"}


class Emitter:
    def __init__(self, qm, weights: str = "int8"):
        self.data: list[str] = []
        self.weights = weights
        self.qmax = qm.qmax
        self.bounds = {"act": qm.qmax + 1, "wide": fx.WIDE_MAX, "q16": fx.INT32_MAX, "h": qm.hmax}
        # LayerNorm's xhat (Q16) is at most sqrt(d) in magnitude, plus rounding: a generous bound.
        self.xhat_bound = int(np.ceil(np.sqrt(qm.cfg.d_model) * fx.Q16 * 1.001)) + 16
        self.fast: dict[str, bool] = {}  # call site -> every one of its mults has the 32-bit form
        self.identity: dict[str, bool] = {}  # call site -> every one of its mults is exactly 1
        self.shift1: dict[str, bool] = {}  # call site -> every one of its mults has the 32-bit form with shift 1
        self.ln_add32 = True  # every LayerNorm's |rq(xhat, gamma_c)| + |beta_c| fits int32

    def mult(self, site: str, m, bound: int) -> str:
        text, pre, shift = _mult(m, bound)
        fast = pre >= 0
        self.fast[site] = self.fast.get(site, True) and fast
        self.shift1[site] = self.shift1.get(site, True) and fast and shift == 1
        self.identity[site] = self.identity.get(site, True) and tuple(map(int, m)) == fx.multiplier(1.0)
        return text

    def mult_array(self, name: str, site: str, mults, bounds) -> str:
        cgen.check_identifier(name)
        bounds = np.broadcast_to(np.asarray(bounds, dtype=object), (len(mults),))
        items = [self.mult(site, m, b) for m, b in zip(mults, bounds)]
        rows = "\n".join("    " + ", ".join(items[i:i + 6]) + "," for i in range(0, len(items), 6))
        self.data.append(f"static const mult {name}[{len(items)}] = {{\n{rows}\n}};\n")

    def fast_macros(self) -> str:
        """RQ32_<SITE> 1 where the template may use the 32-bit rq unconditionally (no branch)."""
        text = "".join(f"#define RQ32_{site.upper()} {int(fast)}\n" for site, fast in sorted(self.fast.items()))
        # IDENT_<SITE> 1: rq by exactly 1 (the shared residual scale, c_quant) is the identity, skipped
        text += "".join(f"#define IDENT_{site.upper()} {int(self.identity[site] and self.fast[site])}\n"
                        for site in sorted(SCALAR_INPUT))
        # SH1_<SITE> 1: every 32-bit form of the site shifts by 1 (round 1): constants, not loads
        text += "".join(f"#define SH1_{site.upper()} {int(one)}\n" for site, one in sorted(self.shift1.items()))
        # LN_ADD32 1: LayerNorm adds beta to its 32-bit rq in int32, without the int64 saturation
        return text + f"#define LN_ADD32 {int(self.ln_add32 and self.fast.get('ln', True))}\n"

    def array(self, name: str, ctype: str, values, suffix: str = "") -> str:
        values = np.asarray(values).reshape(-1)
        if values.size == 0:
            return "0"
        text = cgen.c_array(name, ctype, values, per_line=8 if suffix else 16, modifiers="static const")
        if suffix:  # unsigned literals (a word >= 2^31 is not an int)
            text = re.sub(r"(?<=\d)(?=,)", suffix, text)
        self.data.append(text)
        return name

    def dense(self, name: str, site: str, p, layout: str = "blocked", rows=None) -> str:
        """layout "blocked" (the template's dot4) or "rows" (row-major, dot); rows: an output row order."""
        w, b, mults = np.asarray(p.w), np.asarray(p.b), list(p.mult)
        if rows is not None:
            w, b, mults = w[rows], b[rows], [mults[i] for i in rows]
        bounds = [abs(int(v)) + w.shape[1] * (self.qmax + 1) * 127 for v in b]  # |bias + accumulator|
        if layout == "blocked":
            w = self.array(f"{name}_w", "uint32_t", dense_words(w, self.weights), suffix="u")
        else:
            w = self.array(f"{name}_w", "int8_t", w)
        b = self.array(f"{name}_b", "int32_t", b)
        self.mult_array(f"{name}_m", site, mults, bounds)
        return f"{{{w}, {b}, {name}_m}}"

    def norm(self, name: str, p) -> str:
        if p is None:
            return "0"
        self.mult_array(f"{name}_g", "ln", p.gamma, self.xhat_bound)
        self.ln_add32 = self.ln_add32 and all(
            rq_bound(g, self.xhat_bound) + abs(int(b)) <= fx.INT32_MAX for g, b in zip(p.gamma, p.beta))
        b = self.array(f"{name}_b", "int32_t", p.beta)
        self.data.append(f"static const ln_params {name} = {{{name}_g, {b}, INT64_C({int(p.eps)})}};\n")
        return f"&{name}"


def _aligned(n: int, alignment: int) -> int:
    return -(-n // alignment) * alignment


def state_struct_bytes(act_bytes: int, ring_values: int, h_bytes: int, h_values: int, n_layers: int) -> int:
    """sizeof the state struct {act_t ring[]; h_t h[]; uint16_t head[]}: each member starts at a multiple
    of its type's size (its alignment on every target here), the whole at a multiple of the largest.

    >>> state_struct_bytes(1, 5, 4, 3, 1)  # ring 5 B, 3 B of padding, h 12 B, head 2 B, 2 B of padding
    24
    """
    end = _aligned(act_bytes * ring_values, h_bytes) + h_bytes * h_values
    end = _aligned(end, 2) + 2 * n_layers
    return _aligned(end, max(act_bytes, h_bytes, 2))


def check_ranges(qm) -> None:
    """int32 accumulation must not overflow: (inputs per dot product) * (QMAX + 1) * 127 < 2^31, and neither
    may bias + accumulator (the C adds them in int32)."""
    cfg = qm.cfg
    longest = max(cfg.d_in, cfg.d_model, cfg.mlp_hidden, max(qm.ring_rows) + 1)
    if longest * (qm.qmax + 1) * 127 >= 1 << 31:
        raise ExportError(f"{qm.precision}: a dot product over {longest} inputs can overflow int32 accumulation; "
                          f"use --quant int8 for this model")
    denses = [qm.enc, qm.dec] + [d for L in qm.layers for d in L.c.values() if hasattr(d, "w")]
    for d in denses:
        bound = np.abs(d.b).max(initial=0) + np.asarray(d.w).shape[1] * (qm.qmax + 1) * 127
        if bound > fx.INT32_MAX:
            raise ExportError(f"{qm.precision}: a bias plus its dot product can overflow int32; the calibration "
                              f"range of a matmul input is degenerate, calibrate on real inputs")


def int_sources(step, calibration, precision: str, p: str, desc: str, inputs: np.ndarray, weights: str = "int8"):
    """The integer step's files ({name: text}), facts (sizes, scales), golden arrays as C, tensors, and
    the golden (xq, yq) of the integer reference on `inputs` (the tflm-fused bundle's golden data).
    weights: how the dense layers' int8 weights are stored (options.WEIGHT_STORAGE); the values, and so every
    output, are the same either way."""
    from .calib import calibrated_ranges

    if calibration is None:
        raise ExportError(f"target c-{precision} needs calibration data; pass --calib FILE.npy")
    qm = QuantModel(step, calibrated_ranges(calibration), precision)
    check_ranges(qm)
    cfg, em = qm.cfg, Emitter(qm, weights)
    offsets, total = [], 0
    for rows in qm.ring_rows:
        offsets.append(total)
        total += rows * cfg.d_model
    enc, dec = em.dense("enc", "enc", qm.enc, layout="rows"), em.dense("dec", "dec", qm.dec)
    inits = []
    for i, L in enumerate(qm.layers):
        n, c = f"L{i}_", L.c
        em.mult_array(n + "m_v", "m_v", L.m_v, (L.rows + 1) * (qm.qmax + 1) * 127)
        vals = {"rows": f"{L.rows}u", "ring_offset": f"{offsets[i]}u", "k0": em.array(n + "k0", "int8_t", L.k0),
                "kring": em.array(n + "kring", "int8_t", L.kring), "m_v": n + "m_v"}
        for f, ctype in INT_FIELDS[5:]:
            if ctype == "mult":
                vals[f] = em.mult(f, c[f], em.bounds[SCALAR_INPUT[f]])
            elif ctype == "dense_params":
                rows = gate_rows(cfg.d_model) if f == "gate" else None
                vals[f] = em.dense(n + f, f, c[f], rows=rows) if f in c else "{0, 0, 0}"
            else:
                vals[f] = em.norm(n + f, c.get(f))
        inits.append("  {" + ", ".join(vals[f] for f, _ in INT_FIELDS) + "}")
    sig = em.array("SIG_TABLE", "int32_t", fx.SIG_TABLE)
    if cfg.mlp_act == "gelu" or cfg.rec_act == "gelu":
        em.array("GELU_TABLE", "int32_t", fx.GELU_TABLE)
    act_bytes, h_bytes = (1 if qm.qmax == 127 else 2), {"uint8_t": 1, "uint16_t": 2, "uint32_t": 4}[qm.h_ctype]
    d4, r4 = padded4(cfg.d_model), padded4(cfg.mlp_hidden)
    # int16 slots: the MLP hidden values (and o when it feeds rec_out), or x / y of step_q
    mq_len = max(r4, d4 if cfg.rec_dense_out else 0, cfg.d_in, cfg.n_classes)
    # int32 g_xw [D], and g_vw [D] where a LayerNorm or the dense rec_out keeps a stage's output apart
    vw_needed = cfg.conv_ln or cfg.rec_ln or cfg.cm_ln or cfg.rec_dense_out
    column_bytes = (2 * (d4 + mq_len) + 3) // 4 * 4  # a column's int16 slots (xq, mq), word-aligned
    column_bytes_int8 = (d4 + mq_len + 3) // 4 * 4  # the same in int8 slots (Helium, int8 act values)
    scratch = 4 * cfg.d_model * (2 if vw_needed else 1) + column_bytes
    # Helium builds of int8 act values keep the slots in int8 (kernels.h SLOT_INT8)
    scratch_int8_slots = scratch - column_bytes + column_bytes_int8 if qm.qmax == 127 else None
    state_bytes = state_struct_bytes(act_bytes, max(total, 1), h_bytes, cfg.n_layers * cfg.d_model, cfg.n_layers)
    macros = (f"#define D_IN {cfg.d_in}\n#define D {cfg.d_model}\n#define R {cfg.mlp_hidden}\n"
              f"#define D4 {d4}\n#define R4 {r4}\n"
              f"#define N_CLASSES {cfg.n_classes}\n#define N_LAYERS {cfg.n_layers}\n"
              f"#define RING_VALUES {max(total, 1)}\n#define RING_ROWS_MAX {max(qm.ring_rows, default=0)}\n"
              f"#define MQ_LEN {mq_len}\n#define QMAX {qm.qmax}\n"
              f"#define COLUMN_BYTES_INT16 {column_bytes}\n#define COLUMN_BYTES_INT8 {column_bytes_int8}\n"
              f"#define HMAX {qm.hmax}\n#define H_SHIFT {qm.h_shift}\n#define WIDE_MAX {fx.WIDE_MAX}\n"
              f"#define SIG_ENTRIES {fx.SIG_ENTRIES}\n"
              f"#define GELU_LIMIT {fx.GELU_LIMIT}\n#define W16 {int(weights == 'int16')}\n"
              f"#define S_U {cgen.c_float(qm.s_u)}\n")
    source = "".join([
        cgen.banner(desc), f'#include "{p}.h"\n\n#include <math.h>\n\n', f"#define API(name) {p}_##name\n",
        f"typedef {qm.act_ctype} act_t;\ntypedef {qm.h_ctype} h_t;\n", macros, option_macros(cfg), em.fast_macros(),
        "\n", TYPES,
        layer_struct(list(INT_FIELDS), precision), "\n", "\n".join(em.data), "\n",
        cgen.c_array("Y_SCALE", "float", qm.y_scale, modifiers="static const"),
        f"static const dense_params ENC = {enc};\nstatic const dense_params DEC = {dec};\n",
        "static const layer_params LAYERS[N_LAYERS] = {\n" + ",\n".join(inits) + "\n};\n\n",
        # the kernels, then the step that calls them: one source file per bundle, tested apart
        # (tests/export/c/test_kernels.py)
        (TEMPLATES / "kernels.h").read_text(), "\n", (TEMPLATES / "int_step.c").read_text()])
    assert sig == "SIG_TABLE"
    act = qm.act_ctype
    extra = (f"/* Quantised I/O: xq = round(x / {qm.s_u!r}), y = yq * {qm.s_y!r} (symmetric, zero point 0). */\n"
             f"void {p}_step_q({p}_state *s, const {act} *xq, {act} *yq);\n"
             f"/* n quantised steps: xq [n][D_IN] -> yq [n][N_CLASSES], as n calls of step_q. Built with\n"
             f" * -DMGRADE_BLOCK_PAIRS, two steps go through each layer together (every weight read once for\n"
             f" * both) at the price of a second copy of the scratch. */\n"
             f"void {p}_step_block_q({p}_state *s, const {act} *xq, int n, {act} *yq);\n")
    header = header_text(p, desc, precision, cfg, act, total, qm.h_ctype, state_bytes, scratch, act, extra,
                         scratch_helium=scratch_int8_slots)
    ref = IntReference(qm)
    xq_golden = np.stack([ref.quantize_x(x) for x in inputs])
    ref.reset()
    yq_golden = np.stack([ref.step_q(xq) for xq in xq_golden])
    golden = (f"#define GOLDEN_STEPS {len(inputs)}\n#define GOLDEN_TOLERANCE 0.0\n"
              + cgen.c_array("kGoldenInput", act, xq_golden.reshape(-1), per_line=16, modifiers="static const")
              + cgen.c_array("kGoldenOutput", act, yq_golden.reshape(-1), per_line=16, modifiers="static const"))
    facts = {"rows": qm.ring_rows, "ring_values": total, "scratch_bytes": scratch,
             "scratch_bytes_helium": scratch_int8_slots or scratch, "state_bytes": state_bytes,
             "io_bytes": act_bytes * (cfg.d_in + cfg.n_classes), "io_ctype": act,
             "x_scale": qm.s_u, "y_scale": qm.s_y, "h_type": qm.h_ctype, "weights": weights}
    tensors = [TensorInfo("x", "input", [1, cfg.d_in], act.replace("_t", ""), qm.s_u, 0),
               TensorInfo("y", "output", [1, cfg.n_classes], act.replace("_t", ""), qm.s_y, 0)]
    return {f"{p}.h": header, f"{p}.c": source}, facts, golden, tensors, (xq_golden, yq_golden)
