/* ---- integer step (the body is the same for every model; the data above is generated) ----------
 * Semantics (documented and mirrored bit for bit by mgrade_edge/export/c/quant.py):
 * act_t matmul inputs / delay lines / I/O, h_t unsigned hidden state, int32 "wide" residual values
 * (saturated to [-WIDE_MAX - 1, WIDE_MAX]), Q16 fixed point for nonlinearities, int8 per-channel weights, int32
 * accumulation, rescaling rq(a, {m, n}) = (a * m + 2^(n-1)) >> n (exact; 32-bit operations where the
 * generator bounded |a|, else int64).
 * Matmul inputs are kept in int16 slots (g_xq, g_mq) so one 32-bit load gives two of them; the dense
 * weights are laid out in blocks of 4 rows x 4 columns by the generator (BLOCKED LAYOUT, kernels.h).
 * Scratch per column (one, or two with MGRADE_BLOCK_PAIRS): g_xw, g_vw (int32 [D]; g_vw only if
 * VW_NEEDED), the int16 slots xq [D4] and mq [MQ_LEN] (g_slots); x and y of step_q may alias column 0's mq
 * (input_buffer/output_buffer).
 * The kernels it calls (rq, clamp, dot4, sig_q15, layer_norm_into, ...) come from templates/kernels.h, placed
 * above by the generator. */

/* g_vw holds a stage's output apart from the residual only where a LayerNorm or the dense rec_out
 * comes between them (elsewhere each value joins the residual as soon as it is computed). */
#define VW_NEEDED (CONV_LN || REC_LN || CM_LN || REC_DENSE_OUT)
/* Block stepping (step_block_q). With -DMGRADE_BLOCK_PAIRS two consecutive steps go through each layer
 * together ("columns" 0 and 1): every dense weight is loaded, and sign-extended, once for both steps,
 * at the price of a second column of scratch. Without it the block is a loop of single steps and the
 * scratch stays one column (the RAM minimum). */
#if defined(MGRADE_BLOCK_PAIRS)
#define N_COLUMNS 2
#else
#define N_COLUMNS 1
#endif
static int32_t g_xw[N_COLUMNS][D];
#if VW_NEEDED
static int32_t g_vw[N_COLUMNS][D];
#endif
/* A column's int16 slots, word-aligned (the DSP path loads pairs of them with LDRD); column 1's xq and
 * mq follow column 0's by the same COLUMN_BYTES (defined by the generator), an immediate offset for
 * the pair kernels. */
typedef union {
  int32_t align;
  struct {
    slot_t xq[D4];
    slot_t mq[MQ_LEN];
  } v;
} column_slots;
typedef char column_bytes_match[sizeof(column_slots) == COLUMN_BYTES ? 1 : -1];
static column_slots g_slots[N_COLUMNS];
#define XQ(k) (g_slots[k].v.xq)
#define MQ(k) (g_slots[k].v.mq)

/* The two outputs as functions (one copy of the code each; unused ones are not compiled). */
static void layer_norm_q(const int32_t *w, const ln_params *p, slot_t *outq) {
  layer_norm_into(w, p, 0, outq, Q_MIN, QMAX);
}
#if CONV_LN || REC_LN || CM_LN
static void layer_norm(const int32_t *w, const ln_params *p, int32_t *out, int32_t lo, int32_t hi) {
  layer_norm_into(w, p, out, 0, lo, hi);
}
#endif

#if REC_ACT != REC_ACT_IDENTITY
static int32_t rec_act_q16(int32_t h) {
#if REC_ACT == REC_ACT_RELU
  return h > 65536 ? h - 65536 : 0;
#elif REC_ACT == REC_ACT_GELU
  return gelu_q16(h - 65536);
#elif REC_ACT == REC_ACT_SIGMOID
  return sig_q15(clamp64(10 * ((int64_t)h - 32768), -INT32_MAX, INT32_MAX)) * 2;
#endif
}
#endif

static INLINE int32_t rec_out_value(const layer_params *p, int32_t h, int32_t lo, int32_t hi) {
#if REC_ACT == REC_ACT_IDENTITY
  return RQS(h, p->h_o, H_O, lo, hi);
#else
  return RQS(rec_act_q16(RQS(h, p->h_fx, H_FX, 0, INT32_MAX)), p->fx_o, FX_O, lo, hi);
#endif
}

#if defined(MVE_PATH) && RING_ROWS_MAX > 0 && RING_ROWS_MAX * D <= 65535 && D % 4 == 0
#define MVE_TAP_GATHERS 1
/* Helium's delay block (conv_lanes) gathers the ring's values by row offsets (uint16: the ring is
 * under 64 K values). TAP_OFFSETS: a layer step's ring row offsets, oldest first. */
#define TAP_OFFSETS ((RING_ROWS_MAX + 7) / 8 * 8)
/* off[k] = ((head + k) mod rows) * D: weight row k meets that ring row */
static INLINE void ring_row_offsets(unsigned rows, unsigned head, uint16_t *off) {
  unsigned g;
  for (g = 0; g < rows; g += 8) {
    const uint16x8_t k = vaddq_n_u16(vidupq_n_u16(g, 1), (uint16_t)head);
    vst1q_u16(off + g, vmulq_n_u16(vpselq_u16(vsubq_n_u16(k, (uint16_t)rows), k, vcmpcsq_n_u16(k, (uint16_t)rows)), D));
  }
}
#if QMAX == 127
#define RING_GATHER(r, o) vldrbq_gather_offset_s16((const int8_t *)(r), (o))
#define RING_GATHER_Z(r, o, m) vldrbq_gather_offset_z_s16((const int8_t *)(r), (o), (m))
#else
#define RING_GATHER(r, o) vldrhq_gather_shifted_offset_s16((const int16_t *)(r), (o))
#define RING_GATHER_Z(r, o, m) vldrhq_gather_shifted_offset_z_s16((const int16_t *)(r), (o), (m))
#endif
/* The 4 channels' taps of one group of 8 rows: ring row offsets ro, weight row offsets wo from the
 * group's first weight row wg (under the predicate m where given). Channel j: both bases + j (scalar
 * adds: offsets + j would keep more vectors live, and Helium's callee-saved ones cost stack). */
#define RING_TAPS4(GATHER_RING, GATHER_W, MLA, ...)                                                           \
  do {                                                                                                       \
    a0 = MLA(a0, GATHER_RING(r, ro, ##__VA_ARGS__), GATHER_W(wg, wo, ##__VA_ARGS__), ##__VA_ARGS__);        \
    a1 = MLA(a1, GATHER_RING(r + 1, ro, ##__VA_ARGS__), GATHER_W(wg + 1, wo, ##__VA_ARGS__), ##__VA_ARGS__); \
    a2 = MLA(a2, GATHER_RING(r + 2, ro, ##__VA_ARGS__), GATHER_W(wg + 2, wo, ##__VA_ARGS__), ##__VA_ARGS__); \
    a3 = MLA(a3, GATHER_RING(r + 3, ro, ##__VA_ARGS__), GATHER_W(wg + 3, wo, ##__VA_ARGS__), ##__VA_ARGS__); \
  } while (0)
#endif

/* Delay block for channels c..c+3 (lag 0 from x, lags rows..1 from the ring, oldest first from the
 * head slot), then the new x overwrites the head row of those channels. */
static void conv4(const layer_params *p, act_t *ring, unsigned head, int col, int c, int32_t *acc) {
  const slot_t *x = XQ(col) + c;
  const int8_t *w = p->kring + c;
  act_t *const top = ring + (long)head * D + c;
  const act_t *b, *const end = ring + (long)p->rows * D + c;
#if defined(MVE_PATH)
  /* Helium: the 4 channels' weights and delay-line values widened into int32 lanes, one multiply and
     one add per row (MVE has no vector-by-vector multiply-accumulate); exact, as the scalar sums */
#if QMAX == 127
#define RING_LANES(q) vldrbq_s32((const int8_t *)(q))
#else
#define RING_LANES(q) vldrhq_s32((const int16_t *)(q))
#endif
  int32x4_t a = vmulq_s32(vldrbq_s32(p->k0 + c), SLOT_LOAD_LANES(x));
  for (b = top; b < end; b += D, w += D) a = vaddq_s32(a, vmulq_s32(vldrbq_s32(w), RING_LANES(b)));
  for (b = ring + c; b < top; b += D, w += D) a = vaddq_s32(a, vmulq_s32(vldrbq_s32(w), RING_LANES(b)));
#undef RING_LANES
  vst1q_s32(acc, a);
#else
  int32_t a0 = p->k0[c] * x[0], a1 = p->k0[c + 1] * x[1], a2 = p->k0[c + 2] * x[2], a3 = p->k0[c + 3] * x[3];
#if defined(DSP_PATH) && QMAX == 127
  /* 4 channels' int8 weights and delay-line values in one word each: SMLABB/SMLATT on their
     sign-extended even and odd bytes */
#define CONV_MACS                                                       \
  do {                                                                  \
    uint32_t wv, bv;                                                    \
    int32_t we, be, wo, bo;                                             \
    memcpy(&wv, w, 4);                                                  \
    memcpy(&bv, b, 4);                                                  \
    we = __sxtb16((int32_t)wv);                                         \
    be = __sxtb16((int32_t)bv);                                         \
    wo = sxtb16_ror8(wv);                                               \
    bo = sxtb16_ror8(bv);                                               \
    a0 = __smlabb(we, be, a0);                                          \
    a2 = __smlatt(we, be, a2);                                          \
    a1 = __smlabb(wo, bo, a1);                                          \
    a3 = __smlatt(wo, bo, a3);                                          \
  } while (0)
#else
#define CONV_MACS          \
  do {                     \
    a0 += w[0] * b[0];     \
    a1 += w[1] * b[1];     \
    a2 += w[2] * b[2];     \
    a3 += w[3] * b[3];     \
  } while (0)
#endif
  for (b = top; b < end; b += D, w += D) CONV_MACS;  /* the head slot to the last row */
  for (b = ring + c; b < top; b += D, w += D) CONV_MACS;  /* then the first row up to the head */
#undef CONV_MACS
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
#endif
  top[0] = (act_t)x[0];
  top[1] = (act_t)x[1];
  top[2] = (act_t)x[2];
  top[3] = (act_t)x[3];
}

#if D % 4
/* The same for one channel (the D % 4 channels after the last block of 4). */
static int32_t conv1(const layer_params *p, act_t *ring, unsigned head, int col, int c) {
  int32_t a = p->k0[c] * XQ(col)[c];
  unsigned k, slot = head;
  for (k = 0; k < p->rows; ++k) {
    a += p->kring[(long)k * D + c] * ring[(long)slot * D + c];
    if (++slot == p->rows) slot = 0;
  }
  ring[(long)head * D + c] = (act_t)XQ(col)[c];
  return a;
}
#endif

/* x1 = x + v (wide) and its act copy, which replaces x in g_xq; with CONV_LN, v is kept for the
 * LayerNorm (the residual follows it). */
static INLINE void residual_x1(const layer_params *p, int col, int c, int32_t v) {
#if CONV_LN
  (void)p;
  g_vw[col][c] = v;
#else
  g_xw[col][c] = RQ2S(XQ(col)[c], p->x_x1, X_X1, v, p->v_x1, V_X1, W_MIN, WIDE_MAX);
  XQ(col)[c] = (slot_t)RQS(g_xw[col][c], p->x1q, X1Q, Q_MIN, QMAX);
#endif
}

/* the delay block's output v of channel ch by its accumulator a (col k) */
#define CONV_ROW(ch, a) residual_x1(p, k, ch, RQS((a), p->m_v[ch], M_V, W_MIN, WIDE_MAX))

/* STMT(row, a) for the rows of the block starting at row i of n (a: acc[0..3], constant indices so
 * the accumulators stay in registers; the tests fold away when n is a multiple of 4). */
#define EACH_ROW_OF(acc, i, n, STMT)                          \
  do {                                                        \
    STMT((i), (acc)[0]);                                      \
    if ((n) % 4 == 0 || (i) + 1 < (n)) STMT((i) + 1, (acc)[1]); \
    if ((n) % 4 == 0 || (i) + 2 < (n)) STMT((i) + 2, (acc)[2]); \
    if ((n) % 4 == 0 || (i) + 3 < (n)) STMT((i) + 3, (acc)[3]); \
  } while (0)
#define EACH_ROW(i, n, STMT) EACH_ROW_OF(acc, i, n, STMT)

/* the column loops unrolled (GCC keeps them rolled otherwise, the accumulators in memory) */
#if defined(__GNUC__) && !defined(__clang__)
#define UNROLL_COLUMNS _Pragma("GCC unroll 2")
#else
#define UNROLL_COLUMNS
#endif
/* acc[k][r] = W_r . x_k for the 4 rows of a block and the first nc columns' inputs X(0), X(1) (slots of
 * g_slots, COLUMN_BYTES apart): with two columns one pass over the weights serves both. _AT: into
 * acc[k] + at. */
#if N_COLUMNS == 2
#define DOT4_COLUMNS_AT(w, X, chunks, nc, acc, at) \
  ((nc) == 2 ? dot4x2((w), X(0), (chunks), (acc)[0] + (at), (acc)[1] + (at)) : dot4((w), X(0), (chunks), (acc)[0] + (at)))
#else
#define DOT4_COLUMNS_AT(w, X, chunks, nc, acc, at) dot4((w), X(0), (chunks), (acc)[0] + (at))
#endif
#define DOT4_COLUMNS(w, X, chunks, nc, acc) DOT4_COLUMNS_AT(w, X, chunks, nc, acc, 0)

/* For each column k_ < nc and block of 4 rows from i_: BLOCK(acc, i_, N_OUT, ROWS) with acc the
 * block's sums W_i . X(k_), for a blocked dense layer dn of N_OUT rows over X(k)[IN4]. */
#define DENSE_BLOCKS(dn, X, IN4, N_OUT, nc, BLOCK, ROWS)                                               \
  do {                                                                                                 \
    int32_t accs_[N_COLUMNS][4];                                                                       \
    int i_, k_;                                                                                        \
    for (i_ = 0; i_ < (N_OUT); i_ += 4) {                                                              \
      DOT4_COLUMNS((const uint32_t *)(dn)->w + (long)i_ * ROW_WORDS(IN4), X, (IN4) / 4, (nc), accs_);  \
      UNROLL_COLUMNS for (k_ = 0; k_ < (nc); ++k_) BLOCK(accs_[k_], i_, (N_OUT), ROWS);                \
    }                                                                                                  \
  } while (0)
/* DENSE_ROW_<site>(row, a) for each row, a = b_i + W_i . X(k_) accumulated */
#define DENSE_EACH(dn, site, X, IN4, N_OUT, nc) DENSE_BLOCKS(dn, X, IN4, N_OUT, nc, EACH_ROW_OF, DENSE_ROW_##site)
/* Helium: rows4(p, k_, i_, acc) for each block (N_OUT a multiple of 4) */
#define CALL_ROWS4(acc, i, n, rows4) rows4(p, k_, (i), (acc))
#define DENSE_EACH4(dn, X, IN4, N_OUT, nc, rows4) DENSE_BLOCKS(dn, X, IN4, N_OUT, nc, CALL_ROWS4, rows4)

/* minGRU of one channel: k, a are its gate accumulators (scalars), h is updated in place.
 * gh_pre, gh_lim: rq_g_h's pre and lim for g_h (where RQ32_G_H is 0). */
static INLINE void gru_update(const layer_params *p, int col, h_t *h, int i, int row, int32_t k_acc,
                              int32_t a_acc, int gh_pre, int32_t gh_lim) {
  const int32_t k = RQS(p->gate.b[row] + k_acc, p->gate.m[row], GATE, -INT32_MAX, INT32_MAX);
  const int32_t a = RQS(p->gate.b[row + 1] + a_acc, p->gate.m[row + 1], GATE, -INT32_MAX, INT32_MAX);
  const int32_t z = sig_q15(k);
  const int32_t g = a >= 0 ? (a < INT32_MAX - 65536 ? a : INT32_MAX - 65536) + 32768 : sig_q15(a) * 2;
#if RQ32_G_H
  const int32_t gh = RQS(g, p->g_h, G_H, 0, INT32_MAX);
  (void)gh_pre;
  (void)gh_lim;
#else
  const int32_t gh = rq_g_h(g, &p->g_h, gh_pre, gh_lim);
#endif
#if H_SHIFT
  /* an 8- or 16-bit h: (32768 - z) * h < 2^31, and gh carries H_SHIFT fractional bits more than h */
  const int64_t next = ((int64_t)((32768 - z) * (int32_t)h[i]) * (1 << H_SHIFT) + mul_wide(z, gh) +
                        ((int64_t)1 << (14 + H_SHIFT))) >> (15 + H_SHIFT);
#else
  /* a 31-bit h: gh is at h's own scale; both products need 64 bits */
  const int64_t next = (mul_wide(32768 - z, (int32_t)h[i]) + mul_wide(z, gh) + (1 << 14)) >> 15;
#endif
  h[i] = (h_t)(next > HMAX ? HMAX : next);
  /* the recurrent output is taken at once (with two columns, column 1 updates h next) */
#if REC_DENSE_OUT
  MQ(col)[i] = (slot_t)rec_out_value(p, h[i], Q_MIN, QMAX);  /* the input of the dense rec_out */
#elif REC_LN
  g_vw[col][i] = rec_out_value(p, h[i], W_MIN, WIDE_MAX);  /* LayerNorm'd before it joins the residual */
#else
  /* it joins the residual: x2 = x1 + o */
  g_xw[col][i] = RQ2S(g_xw[col][i], p->x1_x2, X1_X2, rec_out_value(p, h[i], W_MIN, WIDE_MAX), p->o_x2, O_X2, W_MIN,
                      WIDE_MAX);
#endif
}

#if defined(MVE_PATH) && RQ32_MLP_IN && RQ32_M2 && R % 4 == 0 && MLP_ACT_GELU
#define MLP_IN_ROWS4 1
/* Helium: the MLP's first layer's epilogue for rows i..i+3 at once, the scalar MLP_IN_ROW's arithmetic
 * lane by lane: bias, rq by each row's multiplier (VMULH, VRSHL), GELU by table (two gathers, the
 * interpolation, and the two ends selected by predicate), rq by m2, SSAT as a saturating shift.
 * Not inlined, the accumulators passed in a vector register: its vectors would otherwise make the whole
 * layer step save Helium's callee-saved registers and spill (stack painting: digits' step grew by 112
 * bytes inlined, past 1.05x the RAM minimum). */
__attribute__((noinline)) static void mlp_in_rows4(const layer_params *p, int i, int32x4_t v, slot_t *out) {
  int32x4_t t;
  v = rq_fast_lanes(vaddq_s32(v, vld1q_s32(p->mlp_in.b + i)), p->mlp_in.m + i, SH1_MLP_IN);
  /* gelu_q16: t = x + LIMIT kept in [0, 2 LIMIT) for the gathers; lanes beyond either end selected after */
  t = table_lanes(GELU_TABLE, vminq_s32(vmaxq_s32(vaddq_n_s32(v, GELU_LIMIT), vdupq_n_s32(0)), vdupq_n_s32(2 * GELU_LIMIT - 1)));
  t = vpselq_s32(v, t, vcmpgeq_n_s32(v, GELU_LIMIT));
  v = vpselq_s32(vdupq_n_s32(0), t, vcmpleq_n_s32(v, -GELU_LIMIT));
  /* rq by m2, saturated to the act range */
  SLOT_STORE_LANES(out + i, clamp_lanes(rq_fast_lanes1(v, p->m2, SH1_M2), Q_MIN, QMAX));
}
#endif

#if defined(MVE_PATH) && D % 4 == 0
/* Helium epilogues, 4 channels (rows) a time, each the scalar statement's arithmetic lane by lane, where
 * every rq of the statement has the 32-bit form (RQ32_<site>). Not inlined, as mlp_in_rows4. */
#define RQF_LANES(v, k, site) (IDENT_##site ? (v) : rq_fast_lanes1((v), (k), SH1_##site))
#define RQ2S_LANES(a, ka, sa, b, kb, sb, lo, hi) clamp_lanes(vaddq_s32(RQF_LANES(a, ka, sa), RQF_LANES(b, kb, sb)), (lo), (hi))
#if RQ32_X_X1 && RQ32_V_X1 && RQ32_X1Q
#define X1_LANES 1
/* residual_x1's x1 = x + v and its act copy (replacing x in the slots) for channels c..c+3 */
static INLINE void x1_lanes(const layer_params *p, int col, int c, int32x4_t v) {
  const int32x4_t x1 = RQ2S_LANES(SLOT_LOAD_LANES(XQ(col) + c), p->x_x1, X_X1, v, p->v_x1, V_X1, W_MIN, WIDE_MAX);
  vst1q_s32(g_xw[col] + c, x1);
  SLOT_STORE_LANES(XQ(col) + c, clamp_lanes(rq_fast_lanes1(x1, p->x1q, SH1_X1Q), Q_MIN, QMAX));
}
#endif
#if defined(MVE_TAP_GATHERS)
/* The delay block of every channel (column k's x; the ring's rows from head, oldest first) and its
 * CONV_ROWs, 4 channels a time: each channel's taps one dot product over the rows, 8 rows a
 * VMLADAVA (int16 lanes) of the ring's values and the weights gathered by row offsets. The new x
 * then overwrites the head row. */
__attribute__((noinline)) static void conv_lanes(const layer_params *p, act_t *ring, unsigned head, int k) {
  uint16_t off[TAP_OFFSETS];
  const uint16_t *const o_end = off + (p->rows & ~7u);
  const uint16x8_t wo = vmulq_n_u16(vidupq_n_u16(0, 1), D); /* weight row k at k * D */
  int c;
  ring_row_offsets(p->rows, head, off);
  for (c = 0; c < D; c += 4) {
    const slot_t *const x = XQ(k) + c;
    const act_t *const r = ring + c;
    const int8_t *wg = p->kring + c;
    const uint16_t *o = off;
    int32_t a0 = p->k0[c] * x[0], a1 = p->k0[c + 1] * x[1], a2 = p->k0[c + 2] * x[2], a3 = p->k0[c + 3] * x[3];
    uint16x8_t ro;
    int32_t acc[4];
    act_t *const top = ring + (long)head * D + c;
    for (; o < o_end; o += 8, wg += 8 * D) {
      ro = vld1q_u16(o);
      RING_TAPS4(RING_GATHER, vldrbq_gather_offset_s16, vmladavaq_s16);
    }
    if (p->rows % 8) {
      const mve_pred16_t tail = vctp16q(p->rows % 8);
      ro = vld1q_u16(o);
      RING_TAPS4(RING_GATHER_Z, vldrbq_gather_offset_z_s16, vmladavaq_p_s16, tail);
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
    top[0] = (act_t)x[0]; /* before the CONV_ROWs replace x by x1 */
    top[1] = (act_t)x[1];
    top[2] = (act_t)x[2];
    top[3] = (act_t)x[3];
#if RQ32_M_V && (CONV_LN || defined(X1_LANES))
    {
      /* CONV_ROW lane by lane: v = rq by m_v, then residual_x1 */
      const int32x4_t v = clamp_lanes(rq_fast_lanes(vld1q_s32(acc), p->m_v + c, SH1_M_V), W_MIN, WIDE_MAX);
#if CONV_LN
      vst1q_s32(g_vw[k] + c, v);
#else
      x1_lanes(p, k, c, v);
#endif
    }
#else
    EACH_ROW(c, 4, CONV_ROW);
#endif
  }
}
#undef RING_TAPS4
#undef RING_GATHER
#undef RING_GATHER_Z
#endif
#if CONV_LN && defined(X1_LANES)
#define CONV_LN_RESIDUAL_LANES 1
/* after the conv LayerNorm: x1 = x + v and its act copy, for every channel */
__attribute__((noinline)) static void conv_ln_residual(const layer_params *p, int col) {
  int c;
  for (c = 0; c < D; c += 4) x1_lanes(p, col, c, vld1q_s32(g_vw[col] + c));
}
#endif
#if (REC_DENSE_OUT || REC_LN) && RQ32_X1_X2 && RQ32_O_X2
#define REC_RESIDUAL_LANES 1
/* x2 = x1 + o for every channel (o in g_vw) */
__attribute__((noinline)) static void rec_residual(const layer_params *p, int col) {
  int c;
  for (c = 0; c < D; c += 4)
    vst1q_s32(g_xw[col] + c, RQ2S_LANES(vld1q_s32(g_xw[col] + c), p->x1_x2, X1_X2, vld1q_s32(g_vw[col] + c), p->o_x2,
                                        O_X2, W_MIN, WIDE_MAX));
}
#endif
#if REC_DENSE_OUT && RQ32_REC_OUT
#define REC_OUT_ROWS4 1
/* DENSE_ROW_REC_OUT of rows i..i+3 */
__attribute__((noinline)) static void rec_out_rows4(const layer_params *p, int col, int i, const int32_t *acc) {
  const int32x4_t a = vaddq_s32(vld1q_s32(p->rec_out.b + i), vld1q_s32(acc));
  vst1q_s32(g_vw[col] + i, clamp_lanes(rq_fast_lanes(a, p->rec_out.m + i, SH1_REC_OUT), W_MIN, WIDE_MAX));
}
#endif
#if RQ32_MLP_OUT && (CM_LN || (RQ32_X2_S && RQ32_M_S))
#define MLP_OUT_ROWS4 1
/* DENSE_ROW_MLP_OUT of rows i..i+3 */
__attribute__((noinline)) static void mlp_out_rows4(const layer_params *p, int col, int i, const int32_t *acc) {
  const int32x4_t a = vaddq_s32(vld1q_s32(p->mlp_out.b + i), vld1q_s32(acc));
  const int32x4_t m = clamp_lanes(rq_fast_lanes(a, p->mlp_out.m + i, SH1_MLP_OUT), W_MIN, WIDE_MAX);
#if CM_LN
  vst1q_s32(g_vw[col] + i, m);
#else
  vst1q_s32(g_xw[col] + i, RQ2S_LANES(vld1q_s32(g_xw[col] + i), p->x2_s, X2_S, m, p->m_s, M_S, W_MIN, WIDE_MAX));
#endif
}
#endif
#if RQ32_GATE && H_SHIFT >= 1 && H_SHIFT <= 8 && HMAX <= 65535 && REC_ACT == REC_ACT_IDENTITY && RQ32_H_O && \
    (REC_DENSE_OUT || REC_LN || (RQ32_X1_X2 && RQ32_O_X2))
#define GRU_UPDATE4 1
/* gru_update of channels i..i+3 in lanes (a8: their gate sums k_i, a_i, k_i+1, a_i+1, ...). The h update
 * (32768 - z) h 2^s + z gh, rounded and shifted by 15 + s, needs 46 bits; in 32-bit lanes it is exact
 * by parts (s = H_SHIFT <= 8, h < 2^16, A = (32768 - z) h < 2^31, gh < 2^31 split at bit 15):
 *   U = z (gh >> 15) + (A >> (15 - s)) < 2^31 + 2^24,
 *   L = (A mod 2^(15-s)) 2^s + z (gh mod 2^15) + 2^(14+s) < 2^31,
 *   next = (U + (L >> 15)) >> s,
 * since the sum is U 2^15 + L. */
__attribute__((noinline)) static void gru_update4(const layer_params *p, int col, h_t *h, int i, const int32_t *a8,
                                                  int gh_pre, int32_t gh_lim) {
  static const uint32_t every_other[4] = {0, 2 * sizeof(mult), 4 * sizeof(mult), 6 * sizeof(mult)};
  const uint32x4_t o = vld1q_u32(every_other);
  const int32x4x2_t acc = vld2q_s32(a8), bias = vld2q_s32(p->gate.b + 2 * i); /* val[0]: the k rows, val[1]: a */
  const int32x4_t k = rq_fast_lanes_at(vaddq_s32(bias.val[0], acc.val[0]), p->gate.m + 2 * i, o, SH1_GATE);
  const int32x4_t a = rq_fast_lanes_at(vaddq_s32(bias.val[1], acc.val[1]), p->gate.m + 2 * i + 1, o, SH1_GATE);
  const uint32x4_t z = vreinterpretq_u32_s32(sig_q15_lanes(k));
  const int32x4_t g = vpselq_s32(vaddq_n_s32(vminq_s32(a, vdupq_n_s32(INT32_MAX - 65536)), 32768),
                                 vshlq_n_s32(sig_q15_lanes(a), 1), vcmpgeq_n_s32(a, 0));
  uint32x4_t gh, big, small, next, hv;
  int32x4_t o_lanes;
#if RQ32_G_H
  (void)gh_pre;
  (void)gh_lim;
  gh = vreinterpretq_u32_s32(vmaxq_s32(rq_fast_lanes1(g, p->g_h, SH1_G_H), vdupq_n_s32(0)));
#else
  gh = rq_g_h_lanes(g, &p->g_h, gh_pre, gh_lim);
#endif
  hv = vldrhq_u32(h + i);
  hv = vmulq_u32(vsubq_u32(vdupq_n_u32(32768), z), hv); /* A */
  big = vaddq_u32(vmulq_u32(z, vshrq_n_u32(gh, 15)), vshrq_n_u32(hv, 15 - H_SHIFT));
  small = vaddq_u32(vshlq_n_u32(vandq_u32(hv, vdupq_n_u32((1u << (15 - H_SHIFT)) - 1)), H_SHIFT),
                    vaddq_u32(vmulq_u32(z, vandq_u32(gh, vdupq_n_u32(32767))), vdupq_n_u32(1u << (14 + H_SHIFT))));
  next = vminq_u32(vshrq_n_u32(vaddq_u32(big, vshrq_n_u32(small, 15)), H_SHIFT), vdupq_n_u32(HMAX));
  vstrhq_u32(h + i, next);
  /* the recurrent output of the 4 channels, as gru_update's */
  o_lanes = rq_fast_lanes1(vreinterpretq_s32_u32(next), p->h_o, SH1_H_O);
#if REC_DENSE_OUT
  SLOT_STORE_LANES(MQ(col) + i, clamp_lanes(o_lanes, Q_MIN, QMAX));
#elif REC_LN
  vst1q_s32(g_vw[col] + i, clamp_lanes(o_lanes, W_MIN, WIDE_MAX));
#else
  vst1q_s32(g_xw[col] + i, RQ2S_LANES(vld1q_s32(g_xw[col] + i), p->x1_x2, X1_X2, clamp_lanes(o_lanes, W_MIN, WIDE_MAX),
                                      p->o_x2, O_X2, W_MIN, WIDE_MAX));
#endif
}
#endif
#undef RQF_LANES
#undef RQ2S_LANES
#endif

/* One layer for the first nc columns (nc is a constant where this is inlined: the column loops fold
 * away). Column 1 is the step after column 0: it reads the delay line after column 0's x went in, and
 * its minGRU update starts from column 0's h. */
static INLINE void layer_step_n(const layer_params *p, act_t *ring, h_t *h, uint16_t *head, const int nc) {
  int32_t acc[4], accs[N_COLUMNS][4], gh_lim;
  int c, i, k, gh_pre;
  /* delay block, fused with the residual when there is no LayerNorm in between */
  UNROLL_COLUMNS for (k = 0; k < nc; ++k) {
    if (p->rows > 0) {
#if defined(MVE_TAP_GATHERS)
      conv_lanes(p, ring, *head, k);
#else
      for (c = 0; c + 4 <= D; c += 4) {
        conv4(p, ring, *head, k, c, acc);
        EACH_ROW(c, 4, CONV_ROW);
      }
#endif
#if D % 4
      for (; c < D; ++c) residual_x1(p, k, c, RQS(conv1(p, ring, *head, k, c), p->m_v[c], M_V, W_MIN, WIDE_MAX));
#endif
      *head = (uint16_t)((unsigned)*head + 1u == p->rows ? 0u : (unsigned)*head + 1u);
    } else {
      for (c = 0; c < D; ++c) residual_x1(p, k, c, RQS(p->k0[c] * XQ(k)[c], p->m_v[c], M_V, W_MIN, WIDE_MAX));
    }
#if CONV_LN
    layer_norm(g_vw[k], p->conv_ln, g_vw[k], W_MIN, WIDE_MAX);
#if defined(CONV_LN_RESIDUAL_LANES)
    conv_ln_residual(p, k);
#else
    for (c = 0; c < D; ++c) {
      g_xw[k][c] = RQ2S(XQ(k)[c], p->x_x1, X_X1, g_vw[k][c], p->v_x1, V_X1, W_MIN, WIDE_MAX);
      XQ(k)[c] = (slot_t)RQS(g_xw[k][c], p->x1q, X1Q, Q_MIN, QMAX);
    }
#endif
#endif
  }
  /* minGRU: the gate rows are interleaved k_i, a_i, k_i+1, a_i+1 per block of 4 */
  gh_pre = G_H_PRE(p->g_h);
  gh_lim = G_H_LIM(gh_pre);
#if defined(GRU_UPDATE4)
  for (i = 0; i < D; i += 4) {  /* two blocks of gate rows: 4 channels, a8[k]: column k's 8 sums */
    const uint32_t *const w0 = (const uint32_t *)p->gate.w + (long)2 * i * ROW_WORDS(D4);
    const uint32_t *const w1 = w0 + 4 * ROW_WORDS(D4);
    int32_t a8[N_COLUMNS][8];
    DOT4_COLUMNS_AT(w0, XQ, D4 / 4, nc, a8, 0);
    DOT4_COLUMNS_AT(w1, XQ, D4 / 4, nc, a8, 4);
    UNROLL_COLUMNS for (k = 0; k < nc; ++k) gru_update4(p, k, h, i, a8[k], gh_pre, gh_lim);
  }
#else
  for (i = 0; i < D; i += 2) {
    DOT4_COLUMNS((const uint32_t *)p->gate.w + (long)2 * i * ROW_WORDS(D4), XQ, D4 / 4, nc, accs);
    UNROLL_COLUMNS for (k = 0; k < nc; ++k) {
      gru_update(p, k, h, i, 2 * i, accs[k][0], accs[k][1], gh_pre, gh_lim);
      if (i + 1 < D) gru_update(p, k, h, i + 1, 2 * i + 2, accs[k][2], accs[k][3], gh_pre, gh_lim);
    }
  }
#endif
#if REC_DENSE_OUT
#define DENSE_ROW_REC_OUT(row, a) \
  g_vw[k_][row] = RQS(p->rec_out.b[row] + (a), p->rec_out.m[row], REC_OUT, W_MIN, WIDE_MAX)
#if defined(REC_OUT_ROWS4)
  DENSE_EACH4(&p->rec_out, MQ, D4, D, nc, rec_out_rows4);
#else
  DENSE_EACH(&p->rec_out, REC_OUT, MQ, D4, D, nc);
#endif
#undef DENSE_ROW_REC_OUT
#endif
  UNROLL_COLUMNS for (k = 0; k < nc; ++k) {
#if REC_LN
    layer_norm(g_vw[k], p->rec_ln, g_vw[k], W_MIN, WIDE_MAX);
#endif
#if defined(REC_RESIDUAL_LANES)
    rec_residual(p, k);
#elif REC_DENSE_OUT || REC_LN
    for (c = 0; c < D; ++c)
      g_xw[k][c] = RQ2S(g_xw[k][c], p->x1_x2, X1_X2, g_vw[k][c], p->o_x2, O_X2, W_MIN, WIDE_MAX);
#endif
    /* channel mixing */
    layer_norm_q(g_xw[k], p->mlp_ln, XQ(k));
  }
#if MLP_ACT_GELU
#define MLP_ACT(m) gelu_q16(m)
#else
#define MLP_ACT(m) ((m) > 0 ? (m) : 0)
#endif
#define MLP_IN_ROW(row, a) \
  MQ(k)[row] = (slot_t)RQS(MLP_ACT(RQS(p->mlp_in.b[row] + (a), p->mlp_in.m[row], MLP_IN, -INT32_MAX, INT32_MAX)), \
                            p->m2, M2, Q_MIN, QMAX)
  for (i = 0; i < R; i += 4) {
    DOT4_COLUMNS((const uint32_t *)p->mlp_in.w + (long)i * ROW_WORDS(D4), XQ, D4 / 4, nc, accs);
#if defined(MLP_IN_ROWS4)
    UNROLL_COLUMNS for (k = 0; k < nc; ++k) {
      int32x4_t v = vdupq_n_s32(accs[k][0]);
      v = vsetq_lane_s32(accs[k][1], v, 1);
      v = vsetq_lane_s32(accs[k][2], v, 2);
      mlp_in_rows4(p, i, vsetq_lane_s32(accs[k][3], v, 3), MQ(k));
    }
#else
    UNROLL_COLUMNS for (k = 0; k < nc; ++k) EACH_ROW_OF(accs[k], i, R, MLP_IN_ROW);
#endif
  }
#undef MLP_IN_ROW
#define MLP_OUT_VALUE(row, a) RQS(p->mlp_out.b[row] + (a), p->mlp_out.m[row], MLP_OUT, W_MIN, WIDE_MAX)
#if CM_LN
#define DENSE_ROW_MLP_OUT(row, a) g_vw[k_][row] = MLP_OUT_VALUE(row, a)
#if defined(MLP_OUT_ROWS4)
  DENSE_EACH4(&p->mlp_out, MQ, R4, D, nc, mlp_out_rows4);
#else
  DENSE_EACH(&p->mlp_out, MLP_OUT, MQ, R4, D, nc);
#endif
  UNROLL_COLUMNS for (k = 0; k < nc; ++k) {
    layer_norm(g_vw[k], p->cm_ln, g_vw[k], W_MIN, WIDE_MAX);
    for (c = 0; c < D; ++c) g_xw[k][c] = RQ2S(g_xw[k][c], p->x2_s, X2_S, g_vw[k][c], p->m_s, M_S, W_MIN, WIDE_MAX);
  }
#else
  /* each output row joins the residual at once: s = x2 + m */
#define DENSE_ROW_MLP_OUT(row, a) \
  g_xw[k_][row] = RQ2S(g_xw[k_][row], p->x2_s, X2_S, MLP_OUT_VALUE(row, a), p->m_s, M_S, W_MIN, WIDE_MAX)
#if defined(MLP_OUT_ROWS4)
  DENSE_EACH4(&p->mlp_out, MQ, R4, D, nc, mlp_out_rows4);
#else
  DENSE_EACH(&p->mlp_out, MLP_OUT, MQ, R4, D, nc);
#endif
#endif
#undef DENSE_ROW_MLP_OUT
#undef MLP_OUT_VALUE
#undef MLP_ACT
  /* the next layer (or the decoder) reads only XQ */
  UNROLL_COLUMNS for (k = 0; k < nc; ++k) layer_norm_q(g_xw[k], p->post_ln, XQ(k));
}

static void layer_step(const layer_params *p, act_t *ring, h_t *h, uint16_t *head) {
  layer_step_n(p, ring, h, head, 1);
}
#if N_COLUMNS == 2
static void layer_step2(const layer_params *p, act_t *ring, h_t *h, uint16_t *head) {
  layer_step_n(p, ring, h, head, 2);
}
#endif
void API(reset)(API(state) *s) {
  long i;
  for (i = 0; i < RING_VALUES; ++i) s->ring[i] = 0;
  for (i = 0; i < N_LAYERS * D; ++i) s->h[i] = 0;
  for (i = 0; i < N_LAYERS; ++i) s->head[i] = 0;
}

/* The whole step of the first nc columns up to the decoder's int32 accumulators: column k's input is
 * uq + k * D_IN, its accumulators out[k][N_CLASSES]. */
static INLINE void step_acc_n(API(state) *s, const act_t *uq, int32_t (*out)[N_CLASSES], const int nc) {
  int32_t accs[N_COLUMNS][4];
  int i, k, l;
  UNROLL_COLUMNS for (k = 0; k < nc; ++k)
    for (i = 0; i < D; ++i)
      XQ(k)[i] = (slot_t)RQS(ENC.b[i] + dot((const int8_t *)ENC.w + (long)i * D_IN, uq + (long)k * D_IN, D_IN),
                              ENC.m[i], ENC, Q_MIN, QMAX);
  for (l = 0; l < N_LAYERS; ++l) {
#if N_COLUMNS == 2
    if (nc == 2) {
      layer_step2(&LAYERS[l], s->ring + LAYERS[l].ring_offset, s->h + l * D, &s->head[l]);
      continue;
    }
#endif
    layer_step(&LAYERS[l], s->ring + LAYERS[l].ring_offset, s->h + l * D, &s->head[l]);
  }
#define DEC_ROW(row, a) out[k][row] = DEC.b[row] + (a)
  for (i = 0; i < N_CLASSES; i += 4) {
    DOT4_COLUMNS((const uint32_t *)DEC.w + (long)i * ROW_WORDS(D4), XQ, D4 / 4, nc, accs);
    UNROLL_COLUMNS for (k = 0; k < nc; ++k) EACH_ROW_OF(accs[k], i, N_CLASSES, DEC_ROW);
  }
#undef DEC_ROW
}
/* One copy of the code per column count. */
static void step_acc1(API(state) *s, const act_t *uq, int32_t (*out)[N_CLASSES]) { step_acc_n(s, uq, out, 1); }
#if N_COLUMNS == 2
static void step_acc2(API(state) *s, const act_t *uq, int32_t (*out)[N_CLASSES]) { step_acc_n(s, uq, out, 2); }
#endif

static void quantize_input(const float *x, act_t *uq) {
  int i;
  for (i = 0; i < D_IN; ++i) {  /* mgrade-edge's qio quantise: x / scale, rounded half away, clamped */
    const long q = lroundf(x[i] / S_U);
    uq[i] = (act_t)(q < -QMAX - 1 ? -QMAX - 1 : (q > QMAX ? QMAX : q));
  }
}

void API(step_q)(API(state) *s, const act_t *xq, act_t *yq) {
  int32_t acc[1][N_CLASSES];
  int i;
  step_acc1(s, xq, acc);
  for (i = 0; i < N_CLASSES; ++i) yq[i] = (act_t)RQS(acc[0][i], DEC.m[i], DEC, Q_MIN, QMAX);
}

void API(step)(API(state) *s, const float *x, float *y) {
  act_t uq[D_IN];
  int32_t acc[1][N_CLASSES];
  int i;
  quantize_input(x, uq);
  step_acc1(s, uq, acc);
  for (i = 0; i < N_CLASSES; ++i) y[i] = (float)acc[0][i] * Y_SCALE[i];
}

/* The accumulators of the next m (1 or N_COLUMNS) steps of a block: two through the pair path. */
static void step_acc_m(API(state) *s, const act_t *uq, int m, int32_t (*out)[N_CLASSES]) {
#if N_COLUMNS == 2
  if (m == 2) {
    step_acc2(s, uq, out);
    return;
  }
#endif
  (void)m;
  step_acc1(s, uq, out);
}
#define NEXT_COLUMNS(n, t) ((n) - (t) < N_COLUMNS ? (n) - (t) : N_COLUMNS)

/* n steps: xq [n][D_IN] -> yq [n][N_CLASSES], the same outputs and state as n calls of step_q (xq and
 * yq must not overlap). With MGRADE_BLOCK_PAIRS the steps go through the layers two at a time. */
void API(step_block_q)(API(state) *s, const act_t *xq, int n, act_t *yq) {
  int32_t acc[N_COLUMNS][N_CLASSES];
  int t, i, k, m;
  for (t = 0; t < n; t += m) {
    m = NEXT_COLUMNS(n, t);
    step_acc_m(s, xq + (long)t * D_IN, m, acc);
    for (k = 0; k < m; ++k)
      for (i = 0; i < N_CLASSES; ++i) yq[(long)(t + k) * N_CLASSES + i] = (act_t)RQS(acc[k][i], DEC.m[i], DEC, Q_MIN, QMAX);
  }
}

/* The same with float I/O: x [n][D_IN] -> y [n][N_CLASSES], as n calls of step. */
void API(step_block)(API(state) *s, const float *x, int n, float *y) {
  act_t uq[N_COLUMNS][D_IN];
  int32_t acc[N_COLUMNS][N_CLASSES];
  int t, i, k, m;
  for (t = 0; t < n; t += m) {
    m = NEXT_COLUMNS(n, t);
    for (k = 0; k < m; ++k) quantize_input(x + (long)(t + k) * D_IN, uq[k]);
    step_acc_m(s, uq[0], m, acc);
    for (k = 0; k < m; ++k)
      for (i = 0; i < N_CLASSES; ++i) y[(long)(t + k) * N_CLASSES + i] = (float)acc[k][i] * Y_SCALE[i];
  }
}

/* act_t views of column 0's mq (act_t is a character type or int16_t, so the access is well defined). */
act_t *API(input_buffer)(void) { return (act_t *)(void *)MQ(0); }
act_t *API(output_buffer)(void) { return (act_t *)(void *)MQ(0); }
unsigned long API(state_bytes)(void) { return (unsigned long)sizeof(API(state)); }
unsigned long API(scratch_bytes)(void) {
  return (unsigned long)(sizeof(g_xw) + VW_NEEDED * sizeof(g_xw) + sizeof(g_slots));
}
