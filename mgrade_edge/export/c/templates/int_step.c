/* ---- integer step (the body is the same for every model; the data above is generated) ----------
 * Semantics (documented and mirrored bit for bit by mgrade_edge/export/c/quant.py):
 * act_t matmul inputs / delay lines / I/O, h_t unsigned hidden state, int32 "wide" residual values
 * (saturated to [-WIDE_MAX - 1, WIDE_MAX]), Q16 fixed point for nonlinearities, int8 per-channel weights, int32
 * accumulation, rescaling rq(a, {m, n}) = (a * m + 2^(n-1)) >> n (exact; 32-bit operations where the
 * generator bounded |a|, else int64).
 * Matmul inputs are kept in int16 slots (g_xq, g_mq) so one 32-bit load gives two of them; the dense
 * weights are laid out in blocks of 4 rows x 4 columns by the generator (BLOCKED LAYOUT, kernels.h).
 * Scratch: g_xw, g_vw (int32 [D]; g_vw only if VW_NEEDED), g_xq (int16 [D4]), g_mq (int16 [MQ_LEN]);
 * x and y of step_q may alias g_mq (input_buffer/output_buffer).
 * The kernels it calls (rq, clamp, dot4, sig_q15, layer_norm_into, ...) come from templates/kernels.h, placed
 * above by the generator. */

/* g_vw holds a stage's output apart from the residual only where a LayerNorm or the dense rec_out
 * comes between them (elsewhere each value joins the residual as soon as it is computed). */
#define VW_NEEDED (CONV_LN || REC_LN || CM_LN || REC_DENSE_OUT)
static int32_t g_xw[D];
#if VW_NEEDED
static int32_t g_vw[D];
#endif
/* int16 slots, word-aligned (the DSP path loads pairs of them with LDRD) */
static union { int32_t align; int16_t v[D4]; } g_xq_words;
static union { int32_t align; int16_t v[MQ_LEN]; } g_mq_words;
#define g_xq (g_xq_words.v)
#define g_mq (g_mq_words.v)

/* The two outputs as functions (one copy of the code each; unused ones are not compiled). */
static void layer_norm_q(const int32_t *w, const ln_params *p, int16_t *outq) {
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

/* Delay block for channels c..c+3 (lag 0 from x, lags rows..1 from the ring, oldest first from the
 * head slot), then the new x overwrites the head row of those channels. */
static void conv4(const layer_params *p, act_t *ring, unsigned head, int c, int32_t *acc) {
  const int16_t *x = g_xq + c;
  int32_t a0 = p->k0[c] * x[0], a1 = p->k0[c + 1] * x[1], a2 = p->k0[c + 2] * x[2], a3 = p->k0[c + 3] * x[3];
  const int8_t *w = p->kring + c;
  act_t *const top = ring + (long)head * D + c;
  const act_t *b, *const end = ring + (long)p->rows * D + c;
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
  top[0] = (act_t)x[0];
  top[1] = (act_t)x[1];
  top[2] = (act_t)x[2];
  top[3] = (act_t)x[3];
}

#if D % 4
/* The same for one channel (the D % 4 channels after the last block of 4). */
static int32_t conv1(const layer_params *p, act_t *ring, unsigned head, int c) {
  int32_t a = p->k0[c] * g_xq[c];
  unsigned k, slot = head;
  for (k = 0; k < p->rows; ++k) {
    a += p->kring[(long)k * D + c] * ring[(long)slot * D + c];
    if (++slot == p->rows) slot = 0;
  }
  ring[(long)head * D + c] = (act_t)g_xq[c];
  return a;
}
#endif

/* x1 = x + v (wide) and its act copy, which replaces x in g_xq; with CONV_LN, v is kept for the
 * LayerNorm (the residual follows it). */
static INLINE void residual_x1(const layer_params *p, int c, int32_t v) {
#if CONV_LN
  (void)p;
  g_vw[c] = v;
#else
  g_xw[c] = RQ2S(g_xq[c], p->x_x1, X_X1, v, p->v_x1, V_X1, W_MIN, WIDE_MAX);
  g_xq[c] = (int16_t)RQS(g_xw[c], p->x1q, X1Q, Q_MIN, QMAX);
#endif
}

/* STMT(row, acc) for the rows of the block starting at row i of n (acc: a0..a3, constant indices so
 * the accumulators stay in registers; the tests fold away when n is a multiple of 4). */
#define EACH_ROW(i, n, STMT)                                \
  do {                                                      \
    STMT((i), acc[0]);                                      \
    if ((n) % 4 == 0 || (i) + 1 < (n)) STMT((i) + 1, acc[1]); \
    if ((n) % 4 == 0 || (i) + 2 < (n)) STMT((i) + 2, acc[2]); \
    if ((n) % 4 == 0 || (i) + 3 < (n)) STMT((i) + 3, acc[3]); \
  } while (0)

/* out[i] = sat(rq(b_i + W_i . x)) for a blocked dense layer of N_OUT rows over x[IN4]. */
#define DENSE_SAT(p, site, x, IN4, N_OUT, out, lo, hi)                                            \
  do {                                                                                            \
    int32_t acc[4];                                                                               \
    int i_;                                                                                       \
    for (i_ = 0; i_ < (N_OUT); i_ += 4) {                                                         \
      dot4((const uint32_t *)(p)->w + (long)i_ * ROW_WORDS(IN4), (x), (IN4) / 4, acc);            \
      EACH_ROW(i_, (N_OUT), DENSE_ROW_##site);                                                    \
    }                                                                                             \
  } while (0)

/* minGRU of one channel: k, a are its gate accumulators (scalars), h is updated in place.
 * gh_pre, gh_lim: where the generator could not bound g for the 32-bit rq by g_h (RQ32_G_H 0), the
 * 32-bit form still holds for each g <= gh_lim (g * 2^gh_pre fits int32, n + gh_pre = 33: shift 1),
 * which is most of them; the others take the int64 form. gh_lim -1: always the int64 form. */
static INLINE void gru_update(const layer_params *p, h_t *h, int i, int row, int32_t k_acc, int32_t a_acc,
                              int gh_pre, int32_t gh_lim) {
  const int32_t k = RQS(p->gate.b[row] + k_acc, p->gate.m[row], GATE, -INT32_MAX, INT32_MAX);
  const int32_t a = RQS(p->gate.b[row + 1] + a_acc, p->gate.m[row + 1], GATE, -INT32_MAX, INT32_MAX);
  const int32_t z = sig_q15(k);
  const int32_t g = a >= 0 ? (a < INT32_MAX - 65536 ? a : INT32_MAX - 65536) + 32768 : sig_q15(a) * 2;
#if RQ32_G_H
  const int32_t gh = RQS(g, p->g_h, G_H, 0, INT32_MAX);
  (void)gh_pre;
  (void)gh_lim;
#else
  const int32_t gh = g <= gh_lim ? clamp32((mul_hi32(g * ((int32_t)1 << gh_pre), p->g_h.m) + 1) >> 1, 0, INT32_MAX)
                                 : rq_sat(g, p->g_h, 0, INT32_MAX);
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
#if !REC_DENSE_OUT && !REC_LN
  /* the recurrent output joins the residual at once: x2 = x1 + o */
  g_xw[i] = RQ2S(g_xw[i], p->x1_x2, X1_X2, rec_out_value(p, h[i], W_MIN, WIDE_MAX), p->o_x2, O_X2, W_MIN, WIDE_MAX);
#endif
}

static void layer_step(const layer_params *p, act_t *ring, h_t *h, uint16_t *head) {
  int32_t *xw = g_xw;
#if VW_NEEDED
  int32_t *vw = g_vw;
#endif
  int16_t *xq = g_xq, *mq = g_mq;
  int32_t acc[4], gh_lim;
  int c, i, gh_pre;
  /* delay block, fused with the residual when there is no LayerNorm in between */
  if (p->rows > 0) {
    for (c = 0; c + 4 <= D; c += 4) {
      conv4(p, ring, *head, c, acc);
#define CONV_ROW(ch, a) residual_x1(p, ch, RQS((a), p->m_v[ch], M_V, W_MIN, WIDE_MAX))
      EACH_ROW(c, 4, CONV_ROW);
#undef CONV_ROW
    }
#if D % 4
    for (; c < D; ++c) residual_x1(p, c, RQS(conv1(p, ring, *head, c), p->m_v[c], M_V, W_MIN, WIDE_MAX));
#endif
    *head = (uint16_t)((unsigned)*head + 1u == p->rows ? 0u : (unsigned)*head + 1u);
  } else {
    for (c = 0; c < D; ++c) residual_x1(p, c, RQS(p->k0[c] * xq[c], p->m_v[c], M_V, W_MIN, WIDE_MAX));
  }
#if CONV_LN
  layer_norm(vw, p->conv_ln, vw, W_MIN, WIDE_MAX);
  for (c = 0; c < D; ++c) {
    xw[c] = RQ2S(xq[c], p->x_x1, X_X1, vw[c], p->v_x1, V_X1, W_MIN, WIDE_MAX);
    xq[c] = (int16_t)RQS(xw[c], p->x1q, X1Q, Q_MIN, QMAX);
  }
#endif
  /* minGRU: the gate rows are interleaved k_i, a_i, k_i+1, a_i+1 per block of 4 */
  gh_pre = p->g_h.n > 2 && p->g_h.n < 33 ? 33 - p->g_h.n : 0;
  gh_lim = gh_pre ? INT32_MAX >> gh_pre : -1;
  for (i = 0; i < D; i += 2) {
    dot4((const uint32_t *)p->gate.w + (long)2 * i * ROW_WORDS(D4), xq, D4 / 4, acc);
    gru_update(p, h, i, 2 * i, acc[0], acc[1], gh_pre, gh_lim);
    if (i + 1 < D) gru_update(p, h, i + 1, 2 * i + 2, acc[2], acc[3], gh_pre, gh_lim);
  }
#if REC_DENSE_OUT
  for (c = 0; c < D; ++c) mq[c] = (int16_t)rec_out_value(p, h[c], Q_MIN, QMAX);
#define DENSE_ROW_REC_OUT(row, a) vw[row] = RQS(p->rec_out.b[row] + (a), p->rec_out.m[row], REC_OUT, W_MIN, WIDE_MAX)
  DENSE_SAT(&p->rec_out, REC_OUT, mq, D4, D, vw, W_MIN, WIDE_MAX);
#elif REC_LN
  for (c = 0; c < D; ++c) vw[c] = rec_out_value(p, h[c], W_MIN, WIDE_MAX);
#endif
#if REC_LN
  layer_norm(vw, p->rec_ln, vw, W_MIN, WIDE_MAX);
#endif
#if REC_DENSE_OUT || REC_LN
  for (c = 0; c < D; ++c) xw[c] = RQ2S(xw[c], p->x1_x2, X1_X2, vw[c], p->o_x2, O_X2, W_MIN, WIDE_MAX);
#endif
  /* channel mixing */
  layer_norm_q(xw, p->mlp_ln, xq);
#if MLP_ACT_GELU
#define MLP_ACT(m) gelu_q16(m)
#else
#define MLP_ACT(m) ((m) > 0 ? (m) : 0)
#endif
#define MLP_IN_ROW(row, a) \
  mq[row] = (int16_t)RQS(MLP_ACT(RQS(p->mlp_in.b[row] + (a), p->mlp_in.m[row], MLP_IN, -INT32_MAX, INT32_MAX)), \
                         p->m2, M2, Q_MIN, QMAX)
  for (i = 0; i < R; i += 4) {
    dot4((const uint32_t *)p->mlp_in.w + (long)i * ROW_WORDS(D4), xq, D4 / 4, acc);
    EACH_ROW(i, R, MLP_IN_ROW);
  }
#undef MLP_IN_ROW
#define MLP_OUT_VALUE(row, a) RQS(p->mlp_out.b[row] + (a), p->mlp_out.m[row], MLP_OUT, W_MIN, WIDE_MAX)
#if CM_LN
#define DENSE_ROW_MLP_OUT(row, a) vw[row] = MLP_OUT_VALUE(row, a)
  DENSE_SAT(&p->mlp_out, MLP_OUT, mq, R4, D, vw, W_MIN, WIDE_MAX);
  layer_norm(vw, p->cm_ln, vw, W_MIN, WIDE_MAX);
  for (c = 0; c < D; ++c) xw[c] = RQ2S(xw[c], p->x2_s, X2_S, vw[c], p->m_s, M_S, W_MIN, WIDE_MAX);
#else
  /* each output row joins the residual at once: s = x2 + m */
#define DENSE_ROW_MLP_OUT(row, a) \
  xw[row] = RQ2S(xw[row], p->x2_s, X2_S, MLP_OUT_VALUE(row, a), p->m_s, M_S, W_MIN, WIDE_MAX)
  DENSE_SAT(&p->mlp_out, MLP_OUT, mq, R4, D, xw, W_MIN, WIDE_MAX);
#endif
  layer_norm_q(xw, p->post_ln, xq);  /* the next layer (or the decoder) reads only xq */
}

void API(reset)(API(state) *s) {
  long i;
  for (i = 0; i < RING_VALUES; ++i) s->ring[i] = 0;
  for (i = 0; i < N_LAYERS * D; ++i) s->h[i] = 0;
  for (i = 0; i < N_LAYERS; ++i) s->head[i] = 0;
}

/* The whole step up to the decoder's int32 accumulators (written to out[N_CLASSES]). */
static void step_acc(API(state) *s, const act_t *uq, int32_t *out) {
  int32_t acc[4];
  int i, l;
  for (i = 0; i < D; ++i)
    g_xq[i] = (int16_t)RQS(ENC.b[i] + dot((const int8_t *)ENC.w + (long)i * D_IN, uq, D_IN), ENC.m[i], ENC, Q_MIN, QMAX);
  for (l = 0; l < N_LAYERS; ++l)
    layer_step(&LAYERS[l], s->ring + LAYERS[l].ring_offset, s->h + l * D, &s->head[l]);
#define DEC_ROW(row, a) out[row] = DEC.b[row] + (a)
  for (i = 0; i < N_CLASSES; i += 4) {
    dot4((const uint32_t *)DEC.w + (long)i * ROW_WORDS(D4), g_xq, D4 / 4, acc);
    EACH_ROW(i, N_CLASSES, DEC_ROW);
  }
}

void API(step_q)(API(state) *s, const act_t *xq, act_t *yq) {
  int32_t acc[N_CLASSES];
  int i;
  step_acc(s, xq, acc);
  for (i = 0; i < N_CLASSES; ++i) yq[i] = (act_t)RQS(acc[i], DEC.m[i], DEC, Q_MIN, QMAX);
}

void API(step)(API(state) *s, const float *x, float *y) {
  act_t uq[D_IN];
  int32_t acc[N_CLASSES];
  int i;
  for (i = 0; i < D_IN; ++i) {  /* mgrade-edge's qio quantise: x / scale, rounded half away, clamped */
    const long q = lroundf(x[i] / S_U);
    uq[i] = (act_t)(q < -QMAX - 1 ? -QMAX - 1 : (q > QMAX ? QMAX : q));
  }
  step_acc(s, uq, acc);
  for (i = 0; i < N_CLASSES; ++i) y[i] = (float)acc[i] * Y_SCALE[i];
}

/* act_t views of g_mq (act_t is a character type or int16_t, so the access is well defined). */
act_t *API(input_buffer)(void) { return (act_t *)(void *)g_mq; }
act_t *API(output_buffer)(void) { return (act_t *)(void *)g_mq; }
unsigned long API(state_bytes)(void) { return (unsigned long)sizeof(API(state)); }
unsigned long API(scratch_bytes)(void) {
  return (unsigned long)(sizeof(g_xw) + VW_NEEDED * sizeof(g_xw) + sizeof(g_xq) + sizeof(g_mq));
}
