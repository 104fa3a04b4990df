/* Each integer kernel of mgrade_edge/export/c/templates/kernels.h against the numpy reference
 * (mgrade_edge/export/c/fixed.py). tests/export/c/test_kernels.py writes kernel_cases.h (act_t, the
 * types, the configuration macros, the tables, every case's inputs and the reference's outputs) and
 * builds this file for the host and for a Cortex-M core. It prints one line per kernel,
 * "<kernel> ok <cases>" or "<kernel> FAIL case <i>: got <g> want <w>", and "kernels: <n> failed";
 * the exit code is the number of failing kernels. */
#include <stdint.h>
#include <stdio.h>

#include "kernel_cases.h"
#include "kernels.h"

static int g_failed;

/* Compares one case; prints the first mismatch of a kernel only. Returns 1 on a mismatch. */
static int differs(const char *kernel, int i, long long got, long long want, int *already) {
  if (got == want) return 0;
  if (!*already) printf("%s FAIL case %d: got %lld want %lld\n", kernel, i, got, want);
  *already = 1;
  return 1;
}

static void done(const char *kernel, int cases, int bad) {
  if (bad) ++g_failed;
  else printf("%s ok %d\n", kernel, cases);
}

static void test_rq(void) {
  int i, bad = 0;
  for (i = 0; i < RQ_N; ++i) bad |= differs("rq", i, rq(RQ_A[i], RQ_K[i]), RQ_WANT[i], &bad);
  done("rq", RQ_N, bad);
}

static void test_rq_fast(void) {  /* the 32-bit form, where the generator allows it (pre >= 0) */
  int i, bad = 0, n = 0;
  for (i = 0; i < RQ_N; ++i) {
    if (RQ_K[i].pre < 0) continue;
    ++n;
    bad |= differs("rq_fast", i, rq_fast(RQ_A[i], RQ_K[i]), RQ_WANT[i], &bad);
    if (RQ_K[i].shift == 1) bad |= differs("rq_fast1", i, rq_fast1(RQ_A[i], RQ_K[i]), RQ_WANT[i], &bad);
  }
  done("rq_fast", n, bad);
}

static void test_clamp(void) {  /* clamp32 (SSAT on Arm for the act and wide ranges) and clamp64 */
  int i, bad = 0;
  for (i = 0; i < CLAMP_N; ++i) {
    bad |= differs("clamp32", i, clamp32((int32_t)CLAMP_V[i], CLAMP_LO[i], CLAMP_HI[i]), CLAMP_WANT[i], &bad);
    bad |= differs("clamp64", i, clamp64(CLAMP_V[i], CLAMP_LO[i], CLAMP_HI[i]), CLAMP_WANT64[i], &bad);
  }
  done("clamp", CLAMP_N, bad);
}

static void test_rq_sat(void) {
  int i, bad = 0;
  for (i = 0; i < RQ_N; ++i) {
    bad |= differs("rq_sat", i, rq_sat(RQ_A[i], RQ_K[i], RQ_LO[i], RQ_HI[i]), RQ_SAT_WANT[i], &bad);
    bad |= differs("rq2_sat", i, rq2_sat(RQ_A[i], RQ_K[i], RQ_B[i], RQ_KB[i], RQ_LO[i], RQ_HI[i]),
                   RQ2_SAT_WANT[i], &bad);
  }
  done("rq_sat", RQ_N, bad);
}

static void test_sig_q15(void) {  /* and on Helium sig_q15_lanes, 4 cases a call */
  int i, bad = 0;
  for (i = 0; i < SIG_N; ++i) bad |= differs("sig_q15", i, sig_q15(SIG_U[i]), SIG_WANT[i], &bad);
#if defined(MVE_PATH)
  for (i = 0; i + 4 <= SIG_N; i += 4) {
    int32_t got[4], j;
    vst1q_s32(got, sig_q15_lanes(vld1q_s32(SIG_U + i)));
    for (j = 0; j < 4; ++j) bad |= differs("sig_q15_lanes", i + j, got[j], SIG_WANT[i + j], &bad);
  }
#endif
  done("sig_q15", SIG_N, bad);
}

static void test_gelu_q16(void) {
  int i, bad = 0;
  for (i = 0; i < GELU_N; ++i) bad |= differs("gelu_q16", i, gelu_q16(GELU_X[i]), GELU_WANT[i], &bad);
  done("gelu_q16", GELU_N, bad);
}

static void test_rdiv(void) {
  int i, bad = 0;
  for (i = 0; i < RDIV_N; ++i) bad |= differs("rdiv", i, rdiv(RDIV_A[i], RDIV_B[i]), RDIV_WANT[i], &bad);
  done("rdiv", RDIV_N, bad);
}

static void test_isqrt62(void) {
  int i, bad = 0;
  for (i = 0; i < ISQRT_N; ++i) bad |= differs("isqrt62", i, isqrt62(ISQRT_V[i]), ISQRT_WANT[i], &bad);
  done("isqrt62", ISQRT_N, bad);
}

static void test_dot(void) {  /* the encoder's plain row */
  int i, bad = 0;
  for (i = 0; i < DOT_ROWS; ++i) bad |= differs("dot", i, dot(DOT_W + i * DOT_LEN, DOT_X, DOT_LEN), DOT_WANT[i], &bad);
  done("dot", DOT_ROWS, bad);
}

/* dot4 reads its input from word-aligned slots (int16 pairs, or int8 on Helium: the step's scratch
   buffers are) */
static union { int32_t align; slot_t v[DOT4_COLS]; } g_dot4_x;

static void test_dot4(void) {  /* the blocked dense layer: 4 rows a call, every block of the matrix */
  int block, r, j, bad = 0;
  int32_t acc[4];
  for (j = 0; j < DOT4_COLS; ++j) g_dot4_x.v[j] = DOT4_X[j];
  for (block = 0; block < DOT4_ROWS / 4; ++block) {
    dot4(DOT4_W + block * ROW_WORDS(DOT4_COLS) * 4, g_dot4_x.v, DOT4_COLS / 4, acc);
    for (r = 0; r < 4; ++r) bad |= differs("dot4", 4 * block + r, acc[r], DOT4_WANT[4 * block + r], &bad);
  }
  done("dot4", DOT4_ROWS, bad);
}

/* two columns' inputs, COLUMN_BYTES apart, as the step's g_slots hold them */
#define COLUMN_SLOTS (COLUMN_BYTES / (int)sizeof(slot_t))
static union { int32_t align; slot_t v[2 * COLUMN_SLOTS]; } g_dot4x2_x;

static void test_dot4x2(void) {  /* block stepping's pair kernel: both columns' rows from one pass */
  int block, r, j, bad = 0;
  int32_t acc[4], accy[4];
  for (j = 0; j < DOT4_COLS; ++j) {
    g_dot4x2_x.v[j] = DOT4_X[j];
    g_dot4x2_x.v[COLUMN_SLOTS + j] = DOT4_Y[j];
  }
  for (block = 0; block < DOT4_ROWS / 4; ++block) {
    dot4x2(DOT4_W + block * ROW_WORDS(DOT4_COLS) * 4, g_dot4x2_x.v, DOT4_COLS / 4, acc, accy);
    for (r = 0; r < 4; ++r) {
      bad |= differs("dot4x2", 4 * block + r, acc[r], DOT4_WANT[4 * block + r], &bad);
      bad |= differs("dot4x2", 4 * block + r, accy[r], DOT4_WANT_Y[4 * block + r], &bad);
    }
  }
  done("dot4x2", DOT4_ROWS, bad);
}

static void test_layer_norm(void) {  /* both outputs: wide int32 values, and saturated matmul inputs (slots) */
  int i, c, bad = 0;
  int32_t out[D];
  slot_t outq[D];
  for (i = 0; i < LN_N; ++i) {
    const ln_params p = {LN_G + i * D, LN_B + i * D, LN_EPS[i]};
    layer_norm_into(LN_W + i * D, &p, out, 0, LN_LO[i], LN_HI[i]);
    layer_norm_into(LN_W + i * D, &p, 0, outq, Q_MIN, QMAX);
    for (c = 0; c < D; ++c) {
      bad |= differs("layer_norm", i * D + c, out[c], LN_WANT[i * D + c], &bad);
      bad |= differs("layer_norm_q", i * D + c, outq[c], LN_WANT_Q[i * D + c], &bad);
    }
  }
  done("layer_norm", LN_N, bad);
}

static void test_rq_g_h(void) {  /* 8 cases per mult; on Helium also rq_g_h_lanes, 4 a call */
  int i, j, bad = 0;
  for (i = 0; i < 8 * GH_MULTS; ++i)
    bad |= differs("rq_g_h", i, rq_g_h(GH_G[i], &GH_K[i / 8], GH_PRE[i / 8], GH_LIM[i / 8]), GH_WANT[i], &bad);
#if defined(MVE_PATH)
  for (i = 0; i < 8 * GH_MULTS; i += 4) {
    uint32_t got[4];
    vst1q_u32(got, rq_g_h_lanes(vld1q_s32(GH_G + i), &GH_K[i / 8], GH_PRE[i / 8], GH_LIM[i / 8]));
    for (j = 0; j < 4; ++j) bad |= differs("rq_g_h_lanes", i + j, (long long)got[j], GH_WANT[i + j], &bad);
  }
#endif
  done("rq_g_h", 8 * GH_MULTS, bad);
}

int main(void) {
  test_rq();
  test_rq_fast();
  test_clamp();
  test_rq_sat();
  test_sig_q15();
  test_gelu_q16();
  test_rdiv();
  test_isqrt62();
  test_dot();
  test_dot4();
  test_dot4x2();
  test_layer_norm();
  test_rq_g_h();
  printf("kernels: %d failed\n", g_failed);
  return g_failed;
}
