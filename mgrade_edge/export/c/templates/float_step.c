/* ---- float32 step (the body is the same for every model; the data above is generated) ----------
 * State: every layer's delay line is a ring of `rows` time-major rows [rows][D] with one head index
 * (the slot of the oldest sample); the current sample is never stored. h is updated in place.
 * Scratch: X[D] (layer activation and residual), V[D] (branch outputs), M[R] (MLP hidden); the
 * caller's x and y may alias the V region (input_buffer/output_buffer): the encoder reads x before
 * it writes X, the decoder reads X and writes y. */

static float g_scratch[SCRATCH_VALUES];
#define SX (g_scratch)
#define SV (g_scratch + D)
#define SM (g_scratch + 2 * D)

static void matvec(const float *w, const float *b, const float *x, float *y, int n_in, int n_out) {
  int i, j;
  for (i = 0; i < n_out; ++i) {
    const float *row = w + (long)i * n_in;
    float acc = b ? b[i] : 0.0f;
    for (j = 0; j < n_in; ++j) acc += row[j] * x[j];
    y[i] = acc;
  }
}

static void layer_norm(float *v, const float *gamma, const float *beta) {
  float mean = 0.0f, var = 0.0f, inv;
  int c;
  for (c = 0; c < D; ++c) mean += v[c];
  mean /= (float)D;
  for (c = 0; c < D; ++c) var += (v[c] - mean) * (v[c] - mean);
  inv = 1.0f / sqrtf(var / (float)D + LN_EPS);
  for (c = 0; c < D; ++c) v[c] = (v[c] - mean) * inv * gamma[c] + beta[c];
}

static float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

static float gelu(float x) {  /* tanh approximation, as the model */
  return 0.5f * x * (1.0f + tanhf(0.7978845608f * (x + 0.044715f * x * x * x)));
}

static float rec_act(float h) {
#if REC_ACT == REC_ACT_RELU
  return h > 1.0f ? h - 1.0f : 0.0f;
#elif REC_ACT == REC_ACT_GELU
  return gelu(h - 1.0f);
#elif REC_ACT == REC_ACT_SIGMOID
  return sigmoid(10.0f * (h - 0.5f));
#else
  return h;
#endif
}

static void layer_step(const layer_params *p, float *ring, float *h, uint16_t *head) {
  float *x = SX, *v = SV, *m = SM;
  int c, i;
  /* delay block: lag 0 from x, lags rows..1 from the ring, oldest slot first */
  for (c = 0; c < D; ++c) v[c] = p->k0[c] * x[c];
  if (p->rows > 0) {
    unsigned k, slot = *head;
    for (k = 0; k < p->rows; ++k) {
      const float *b = ring + (long)slot * D, *w = p->kring + (long)k * D;
      for (c = 0; c < D; ++c) v[c] += w[c] * b[c];
      if (++slot == p->rows) slot = 0;
    }
    for (c = 0; c < D; ++c) ring[(long)*head * D + c] = x[c];  /* x overwrites the oldest row */
    *head = (uint16_t)((unsigned)*head + 1u == p->rows ? 0u : (unsigned)*head + 1u);
  }
#if CONV_LN
  layer_norm(v, p->conv_g, p->conv_b);
#endif
  for (c = 0; c < D; ++c) x[c] += v[c];
  /* minGRU: k_i and a_i are scalars per channel, so h is updated in place with no gate buffers */
  for (i = 0; i < D; ++i) {
    const float *wz = p->gate_w + (long)i * D, *wh = p->gate_w + (long)(D + i) * D;
    float kz = p->gate_b[i], a = p->gate_b[D + i], z, g;
    for (c = 0; c < D; ++c) {
      kz += wz[c] * x[c];
      a += wh[c] * x[c];
    }
    z = sigmoid(kz);
    g = a >= 0.0f ? a + 0.5f : sigmoid(a);
    h[i] = (1.0f - z) * h[i] + z * g;
  }
#if REC_DENSE_OUT
  for (c = 0; c < D; ++c) m[c] = rec_act(h[c]);
  matvec(p->ro_w, p->ro_b, m, v, D, D);
#else
  for (c = 0; c < D; ++c) v[c] = rec_act(h[c]);
#endif
#if REC_LN
  layer_norm(v, p->rec_g, p->rec_b);
#endif
  for (c = 0; c < D; ++c) x[c] += v[c];
  /* channel mixing */
  for (c = 0; c < D; ++c) v[c] = x[c];
  layer_norm(v, p->mlp_g, p->mlp_b);
  matvec(p->w1, p->b1, v, m, D, R);
  for (i = 0; i < R; ++i) {
#if MLP_ACT_GELU
    m[i] = gelu(m[i]);
#else
    m[i] = m[i] > 0.0f ? m[i] : 0.0f;
#endif
  }
  matvec(p->w2, p->b2, m, v, R, D);
#if CM_LN
  layer_norm(v, p->cm_g, p->cm_b);
#endif
  for (c = 0; c < D; ++c) x[c] += v[c];
  layer_norm(x, p->post_g, p->post_b);
}

void API(reset)(API(state) *s) {
  long i;
  for (i = 0; i < RING_VALUES; ++i) s->ring[i] = 0.0f;
  for (i = 0; i < N_LAYERS * D; ++i) s->h[i] = 0.0f;
  for (i = 0; i < N_LAYERS; ++i) s->head[i] = 0;
}

void API(step)(API(state) *s, const float *x, float *y) {
  int l;
  matvec(ENC_W, ENC_B, x, SX, D_IN, D);
  for (l = 0; l < N_LAYERS; ++l)
    layer_step(&LAYERS[l], s->ring + LAYERS[l].ring_offset, s->h + l * D, &s->head[l]);
  matvec(DEC_W, DEC_B, SX, y, D, N_CLASSES);
}

void API(step_block)(API(state) *s, const float *x, int n, float *y) {
  int t;
  for (t = 0; t < n; ++t) API(step)(s, x + (long)t * D_IN, y + (long)t * N_CLASSES);
}

float *API(input_buffer)(void) { return SV; }
float *API(output_buffer)(void) { return SV; }
unsigned long API(state_bytes)(void) { return (unsigned long)sizeof(API(state)); }
unsigned long API(scratch_bytes)(void) { return (unsigned long)sizeof(g_scratch); }
