/* ---- integer step (the body is the same for every model; the data above is generated) ----------
 * Semantics (documented and mirrored bit for bit by mgrade_edge/export/c_quant.py):
 * act_t matmul inputs / delay lines / I/O, h_t unsigned hidden state, int32 "wide" residual values
 * (saturated at +-WIDE_MAX), Q16 fixed point for nonlinearities, int8 per-channel weights, int32
 * accumulation, rescaling rq(a, {m, n}) = (a * m + 2^(n-1)) >> n in int64.
 * Scratch: g_xw, g_vw (int32 [D]), g_xq (act_t [D]), g_mq (act_t [MQ_LEN]); x and y of step_q may
 * alias g_mq (input_buffer/output_buffer). */

/* rq() needs an arithmetic right shift of negative values (gcc, clang and arm-none-eabi-gcc do). */
typedef char arithmetic_shift_required[((-8) >> 1) == -4 ? 1 : -1];

static int32_t g_xw[D], g_vw[D];
static act_t g_xq[D], g_mq[MQ_LEN];

static int64_t rq(int64_t a, mult k) { return (a * k.m + ((int64_t)1 << (k.n - 1))) >> k.n; }

static int64_t sat(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }
#define SAT_W(v) sat((v), -WIDE_MAX, WIDE_MAX)
#define SAT_Q(v) sat((v), -QMAX, QMAX)
#define SAT_32(v) sat((v), -INT32_MAX, INT32_MAX)

#if defined(MGRADE_USE_DSP) && defined(__ARM_FEATURE_DSP) && QMAX == 127
/* Optional Arm DSP path (-DMGRADE_USE_DSP on Cortex-M4/M7/M33/M55): 4 MACs per SMLAD pair.
 * Integer sums are exact, so it returns the same value as the portable loop below. */
#include <arm_acle.h>
#include <string.h>
#define ROR8(v) (((uint32_t)(v) >> 8) | ((uint32_t)(v) << 24))
static int32_t dot(const int8_t *w, const act_t *x, int n) {
  int32_t acc = 0, wa, xa;
  int j = 0;
  for (; j + 4 <= n; j += 4) {
    memcpy(&wa, w + j, 4);
    memcpy(&xa, x + j, 4);
    acc = __smlad(__sxtb16(wa), __sxtb16(xa), acc);
    acc = __smlad(__sxtb16((int32_t)ROR8(wa)), __sxtb16((int32_t)ROR8(xa)), acc);
  }
  for (; j < n; ++j) acc += (int32_t)w[j] * (int32_t)x[j];
  return acc;
}
#else
static int32_t dot(const int8_t *w, const act_t *x, int n) {
  int32_t acc = 0;
  int j;
  for (j = 0; j < n; ++j) acc += (int32_t)w[j] * (int32_t)x[j];
  return acc;
}
#endif

static int64_t sig_q15(int64_t u) {  /* sigmoid of Q16 -> Q15; |error| <= 8e-5 */
  const int64_t t = u + ((int64_t)16 << 16), top = (int64_t)(SIG_ENTRIES - 1) << 12;
  int64_t i, f;
  if (t <= 0) return SIG_TABLE[0];
  if (t >= top) return SIG_TABLE[SIG_ENTRIES - 1];
  i = t >> 12;
  f = t & 4095;
  return SIG_TABLE[i] + ((((int64_t)SIG_TABLE[i + 1] - SIG_TABLE[i]) * f + 2048) >> 12);
}

#if MLP_ACT_GELU || REC_ACT == REC_ACT_GELU
static int64_t gelu_q16(int64_t x) {  /* tanh-form GELU in Q16; |error| <= 8e-4 */
  int64_t x3, t, u;
  if (x >= GELU_LIMIT) return x;
  if (x <= -GELU_LIMIT) return 0;
  x3 = (x * x * x) >> 32;
  t = x + ((x3 * GELU_C3 + ((int64_t)1 << 23)) >> 24);
  u = (t * GELU_U + ((int64_t)1 << 23)) >> 24;
  return (x * sig_q15(u) + ((int64_t)1 << 14)) >> 15;
}
#endif

static int64_t rdiv(int64_t a, int64_t b) { return a >= 0 ? (a + b / 2) / b : -((-a + b / 2) / b); }

static uint64_t isqrt64(uint64_t v) {  /* floor(sqrt(v)), bit by bit */
  uint64_t res = 0, one = (uint64_t)1 << 62;
  while (one > v) one >>= 2;
  while (one) {
    if (v >= res + one) {
      v -= res + one;
      res = (res >> 1) + one;
    } else {
      res >>= 1;
    }
    one >>= 2;
  }
  return res;
}

/* out[c] = sat(gamma_c * (w_c - mean) / sqrt(var + eps) + beta_c); out may be w. */
static void layer_norm(const int32_t *w, const ln_params *p, int32_t *out, int64_t lo, int64_t hi) {
  int64_t sum = 0, var = 0, mean, inv;
  uint64_t v, sd;
  int c, k = 0;
  for (c = 0; c < D; ++c) sum += w[c];
  mean = rdiv(sum, D);
  for (c = 0; c < D; ++c) var += (w[c] - mean) * (w[c] - mean);
  var = rdiv(var, D) + p->eps;
  v = (uint64_t)(var < 1 ? 1 : var);
  while (v < ((uint64_t)1 << 58)) {
    v <<= 2;
    ++k;
  }
  sd = isqrt64(v);
  inv = (int64_t)((((uint64_t)1 << 56) + sd / 2) / sd);
  for (c = 0; c < D; ++c) {
    const int64_t xhat = ((w[c] - mean) * inv + ((int64_t)1 << (39 - k))) >> (40 - k);
    out[c] = (int32_t)sat(rq(xhat, p->g[c]) + p->b[c], lo, hi);
  }
}

#if REC_ACT != REC_ACT_IDENTITY
static int64_t rec_act_q16(int64_t h) {
#if REC_ACT == REC_ACT_RELU
  return h > 65536 ? h - 65536 : 0;
#elif REC_ACT == REC_ACT_GELU
  return gelu_q16(h - 65536);
#elif REC_ACT == REC_ACT_SIGMOID
  return sig_q15(SAT_32(10 * (h - 32768))) * 2;
#endif
}
#endif

static int64_t rec_out_value(const layer_params *p, int64_t h) {
#if REC_ACT == REC_ACT_IDENTITY
  return rq(h, p->h_o);
#else
  return rq(rec_act_q16(sat(rq(h, p->h_fx), 0, INT32_MAX)), p->fx_o);
#endif
}

static void layer_step(const layer_params *p, act_t *ring, h_t *h, uint16_t *head) {
  int32_t *xw = g_xw, *vw = g_vw;
  act_t *xq = g_xq, *mq = g_mq;
  int c, i;
  /* delay block: int32 accumulators in vw, lag 0 from x, lags rows..1 from the ring */
  for (c = 0; c < D; ++c) vw[c] = (int32_t)p->k0[c] * xq[c];
  if (p->rows > 0) {
    unsigned k, slot = *head;
    for (k = 0; k < p->rows; ++k) {
      const act_t *b = ring + (long)slot * D;
      const int8_t *w = p->kring + (long)k * D;
      for (c = 0; c < D; ++c) vw[c] += (int32_t)w[c] * b[c];
      if (++slot == p->rows) slot = 0;
    }
    for (c = 0; c < D; ++c) ring[(long)*head * D + c] = xq[c];
    *head = (uint16_t)((unsigned)*head + 1u == p->rows ? 0u : (unsigned)*head + 1u);
  }
  for (c = 0; c < D; ++c) vw[c] = (int32_t)SAT_W(rq(vw[c], p->m_v[c]));
#if CONV_LN
  layer_norm(vw, p->conv_ln, vw, -WIDE_MAX, WIDE_MAX);
#endif
  for (c = 0; c < D; ++c) {
    xw[c] = (int32_t)SAT_W(rq(xq[c], p->x_x1) + rq(vw[c], p->v_x1));
    xq[c] = (act_t)SAT_Q(rq(xw[c], p->x1q));
  }
  /* minGRU: per channel k_i, a_i are scalars, h is updated in place */
  for (i = 0; i < D; ++i) {
    const int64_t k = SAT_32(rq((int64_t)p->gate.b[i] + dot(p->gate.w + (long)i * D, xq, D), p->gate.m[i]));
    const int64_t a = SAT_32(rq((int64_t)p->gate.b[D + i] + dot(p->gate.w + (long)(D + i) * D, xq, D),
                                p->gate.m[D + i]));
    const int64_t z = sig_q15(k);
    const int64_t g = a >= 0 ? (a < INT32_MAX - 65536 ? a : INT32_MAX - 65536) + 32768 : sig_q15(a) * 2;
    const int64_t gh = sat(rq(g, p->g_h), 0, INT32_MAX);
    h[i] = (h_t)sat(((32768 - z) * h[i] * 256 + z * gh + ((int64_t)1 << 22)) >> 23, 0, HMAX);
  }
#if REC_DENSE_OUT
  for (c = 0; c < D; ++c) mq[c] = (act_t)SAT_Q(rec_out_value(p, h[c]));
  for (i = 0; i < D; ++i)
    vw[i] = (int32_t)SAT_W(rq((int64_t)p->rec_out.b[i] + dot(p->rec_out.w + (long)i * D, mq, D), p->rec_out.m[i]));
#else
  for (c = 0; c < D; ++c) vw[c] = (int32_t)SAT_W(rec_out_value(p, h[c]));
#endif
#if REC_LN
  layer_norm(vw, p->rec_ln, vw, -WIDE_MAX, WIDE_MAX);
#endif
  for (c = 0; c < D; ++c) xw[c] = (int32_t)SAT_W(rq(xw[c], p->x1_x2) + rq(vw[c], p->o_x2));
  /* channel mixing */
  layer_norm(xw, p->mlp_ln, vw, -QMAX, QMAX);
  for (c = 0; c < D; ++c) xq[c] = (act_t)vw[c];
  for (i = 0; i < R; ++i) {
    int64_t m = SAT_32(rq((int64_t)p->mlp_in.b[i] + dot(p->mlp_in.w + (long)i * D, xq, D), p->mlp_in.m[i]));
#if MLP_ACT_GELU
    m = gelu_q16(m);
#else
    m = m > 0 ? m : 0;
#endif
    mq[i] = (act_t)SAT_Q(rq(m, p->m2));
  }
  for (i = 0; i < D; ++i)
    vw[i] = (int32_t)SAT_W(rq((int64_t)p->mlp_out.b[i] + dot(p->mlp_out.w + (long)i * R, mq, R), p->mlp_out.m[i]));
#if CM_LN
  layer_norm(vw, p->cm_ln, vw, -WIDE_MAX, WIDE_MAX);
#endif
  for (c = 0; c < D; ++c) xw[c] = (int32_t)SAT_W(rq(xw[c], p->x2_s) + rq(vw[c], p->m_s));
  layer_norm(xw, p->post_ln, xw, -QMAX, QMAX);
  for (c = 0; c < D; ++c) xq[c] = (act_t)xw[c];
}

void API(reset)(API(state) *s) {
  long i;
  for (i = 0; i < RING_VALUES; ++i) s->ring[i] = 0;
  for (i = 0; i < N_LAYERS * D; ++i) s->h[i] = 0;
  for (i = 0; i < N_LAYERS; ++i) s->head[i] = 0;
}

/* The whole step up to the decoder's int32 accumulators (written to acc[N_CLASSES]). */
static void step_acc(API(state) *s, const act_t *uq, int32_t *acc) {
  int i, l;
  for (i = 0; i < D; ++i)
    g_xq[i] = (act_t)SAT_Q(rq((int64_t)ENC.b[i] + dot(ENC.w + (long)i * D_IN, uq, D_IN), ENC.m[i]));
  for (l = 0; l < N_LAYERS; ++l)
    layer_step(&LAYERS[l], s->ring + LAYERS[l].ring_offset, s->h + l * D, &s->head[l]);
  for (i = 0; i < N_CLASSES; ++i) acc[i] = DEC.b[i] + dot(DEC.w + (long)i * D, g_xq, D);
}

void API(step_q)(API(state) *s, const act_t *xq, act_t *yq) {
  int32_t acc[N_CLASSES];
  int i;
  step_acc(s, xq, acc);
  for (i = 0; i < N_CLASSES; ++i) yq[i] = (act_t)SAT_Q(rq(acc[i], DEC.m[i]));
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

act_t *API(input_buffer)(void) { return g_mq; }
act_t *API(output_buffer)(void) { return g_mq; }
unsigned long API(state_bytes)(void) { return (unsigned long)sizeof(API(state)); }
unsigned long API(scratch_bytes)(void) {
  return (unsigned long)(sizeof(g_xw) + sizeof(g_vw) + sizeof(g_xq) + sizeof(g_mq));
}
