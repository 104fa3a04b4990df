/* ---- integer step (the body is the same for every model; the data above is generated) ----------
 * Semantics (documented and mirrored bit for bit by mgrade_edge/export/c/quant.py):
 * act_t matmul inputs / delay lines / I/O, h_t unsigned hidden state, int32 "wide" residual values
 * (saturated to [-WIDE_MAX - 1, WIDE_MAX]), Q16 fixed point for nonlinearities, int8 per-channel weights, int32
 * accumulation, rescaling rq(a, {m, n}) = (a * m + 2^(n-1)) >> n (exact; 32-bit operations where the
 * generator bounded |a|, else int64).
 * Matmul inputs are kept in int16 slots (g_xq, g_mq) so one 32-bit load gives two of them; the dense
 * weights are laid out in blocks of 4 rows x 4 columns by the generator (BLOCKED LAYOUT below).
 * Scratch: g_xw, g_vw (int32 [D]; g_vw only if VW_NEEDED), g_xq (int16 [D4]), g_mq (int16 [MQ_LEN]);
 * x and y of step_q may alias g_mq (input_buffer/output_buffer). */

/* rq() needs an arithmetic right shift of negative values (gcc, clang and arm-none-eabi-gcc do). */
typedef char arithmetic_shift_required[((-8) >> 1) == -4 ? 1 : -1];

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

/* The small helpers are inlined: a call would cost more than their body on Cortex-M. */
#if defined(__GNUC__)
#define INLINE inline __attribute__((always_inline))
#else
#define INLINE inline
#endif

/* rq(a, k) = (a * m + 2^(n-1)) >> n. Where the generator bounded |a| (k.pre >= 0), the same value comes
 * from 32-bit operations: the high word of (a * 2^pre) * m, rounded and shifted (c_fixed.rq_pre_shift);
 * its magnitude is below 2^30. */
static INLINE int32_t rq_hi(int32_t a, mult k) { return (int32_t)(((int64_t)(a * ((int32_t)1 << k.pre)) * k.m) >> 32); }
static INLINE int32_t rq_fast(int32_t a, mult k) { return (rq_hi(a, k) + k.round) >> k.shift; }
/* rq_fast where the site's shift is 1 (SH1_<site>, most sites: n + pre = 33): round and shift are
 * constants instead of two loads per value. */
static INLINE int32_t rq_fast1(int32_t a, mult k) { return (rq_hi(a, k) + 1) >> 1; }
#define RQ_FAST(a, k, site) (SH1_##site ? rq_fast1((a), (k)) : rq_fast((a), (k)))
static INLINE int64_t rq(int32_t a, mult k) {
  if (k.pre >= 0) return rq_fast(a, k);
  return ((int64_t)a * k.m + ((int64_t)1 << (k.n - 1))) >> k.n;
}
#if defined(MGRADE_USE_DSP) && defined(__ARM_FEATURE_DSP) && !defined(__ARM_BIG_ENDIAN)
#define DSP_PATH 1
#endif
/* SSAT is a core instruction of ARMv6 and ARMv7-M (ACLE's __ARM_FEATURE_SAT; not the DSP extension),
 * so every Arm build that has it uses it, with or without MGRADE_USE_DSP; elsewhere (x86, Cortex-M0)
 * the comparisons below. gcc does not form SSAT from them in this code itself. */
#if defined(__ARM_FEATURE_SAT) || defined(DSP_PATH)
#define SAT_PATH 1
#include <arm_acle.h>
#endif
/* The act and wide ranges [-QMAX - 1, QMAX] and [-WIDE_MAX - 1, WIDE_MAX] are [-2^k, 2^k - 1]: one SSAT
 * saturates to them (the same value as the two comparisons). */
#define QMAX_BITS (QMAX == 127 ? 8 : 16)
#define WIDE_BITS 25
typedef char sat_bits_match[QMAX == (1 << (QMAX_BITS - 1)) - 1 && WIDE_MAX == (1L << (WIDE_BITS - 1)) - 1 ? 1 : -1];
static INLINE int32_t clamp32(int32_t v, int32_t lo, int32_t hi) {
#if defined(SAT_PATH)
  if (lo == -QMAX - 1 && hi == QMAX) return __ssat(v, QMAX_BITS);
  if (lo == -WIDE_MAX - 1 && hi == WIDE_MAX) return __ssat(v, WIDE_BITS);
#endif
  return v < lo ? lo : (v > hi ? hi : v);
}
static INLINE int32_t clamp64(int64_t v, int32_t lo, int32_t hi) {
  return v < lo ? lo : (v > hi ? hi : (int32_t)v);
}
/* sat(rq(a, k), lo, hi) */
static INLINE int32_t rq_sat(int32_t a, mult k, int32_t lo, int32_t hi) {
  return k.pre >= 0 ? clamp32(rq_fast(a, k), lo, hi) : clamp64(rq(a, k), lo, hi);
}
/* sat(rq(a, ka) + rq(b, kb), lo, hi) (two 32-bit forms cannot overflow their int32 sum) */
static INLINE int32_t rq2_sat(int32_t a, mult ka, int32_t b, mult kb, int32_t lo, int32_t hi) {
  if (ka.pre >= 0 && kb.pre >= 0) return clamp32(rq_fast(a, ka) + rq_fast(b, kb), lo, hi);
  return clamp64(rq(a, ka) + rq(b, kb), lo, hi);
}
/* A 32-bit rq's magnitude is at most 2^29 (|hi| < 2^30, shifted by >= 1): bounds at or beyond 2^30
 * cannot bind, and the clamp folds away. */
#define CLAMP_RQ32(v, lo, hi) ((lo) <= -((int32_t)1 << 30) && (hi) >= ((int32_t)1 << 30) ? (v) : clamp32((v), (lo), (hi)))
/* The same where the generator found the 32-bit form valid for every mult of a call site
 * (RQ32_<site> 1): no test of k.pre at run time. A wide value (|v| <= WIDE_MAX) by a mult of exactly
 * 1 is itself (rq(a, {2^30, 30}) == a), so IDENT_<site> 1 skips it. */
#define RQS(a, k, site, lo, hi) \
  (RQ32_##site ? CLAMP_RQ32(RQ_FAST((a), (k), site), (lo), (hi)) : rq_sat((a), (k), (lo), (hi)))
#define RQF(a, k, site) (IDENT_##site ? (int32_t)(a) : RQ_FAST((a), (k), site))  /* IDENT_<site>: every m is 1 */
#define RQ2S(a, ka, sa, b, kb, sb, lo, hi)                                           \
  (RQ32_##sa && RQ32_##sb ? clamp32(RQF((a), (ka), sa) + RQF((b), (kb), sb), (lo), (hi)) \
                          : rq2_sat((a), (ka), (b), (kb), (lo), (hi)))
/* saturation to the two's-complement ranges [-2^k, 2^k - 1] (one SSAT on Arm) */
#define W_MIN (-WIDE_MAX - 1)
#define Q_MIN (-QMAX - 1)

/* BLOCKED LAYOUT: a dense layer's rows come in blocks of 4 (zero rows pad the last block), each
 * block in chunks of 4 columns (zero columns pad the last chunk); a chunk is 4 uint32 words, one per
 * row, holding that row's weights for columns j..j+3 as bytes (low byte first) w0, w2, w1, w3.
 * The order is the one the SMLAD path wants (bytes 0 and 2 sign-extend to the pair for x0, x1, bytes
 * 1 and 3 to the pair for x2, x3); the portable loop reads the same bytes from memory. Inputs past
 * the last column are never zeroed: they only ever meet zero weights.
 * W16 (export --weights int16): the same blocks and chunks, but a chunk's row is 2 words, w0 | w1 << 16
 * and w2 | w3 << 16 (int16 halves, low half first), which SMLAD multiplies with the input pairs as
 * they are: no sign-extends, half the dot products' instructions, twice their flash. */
#define ROW_WORDS(n) ((n) / (W16 ? 2 : 4)) /* words of one row of n (a multiple of 4) weights */
#if defined(DSP_PATH)
/* Optional Arm DSP path (-DMGRADE_USE_DSP on little-endian Cortex-M4/M7/M33/M55): SMLAD does 2 MACs;
 * integer sums are exact, so it returns the same value as the portable loop below. */
#include <string.h>
/* high word of a * b: SMMUL (the compiler would fold a constant shift of a into b, and a product
 * of more than 32 bits needs a 64 x 64 multiply) */
static INLINE int32_t mul_hi32(int32_t a, int32_t b) {
  int32_t r;
  __asm__("smmul %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
/* a * b in 64 bits: SMULL (where the compiler kept a sign-extended operand and multiplied 64 x 64) */
static INLINE int64_t mul_wide(int32_t a, int32_t b) {
  uint32_t lo, hi;
  __asm__("smull %0, %1, %2, %3" : "=&r"(lo), "=&r"(hi) : "r"(a), "r"(b));
  return (int64_t)(((uint64_t)hi << 32) | lo);
}
static INLINE int32_t sxtb16_ror8(uint32_t v) {
  int32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
  return r;
}
/* One chunk (4 inputs x 4 rows) as the loop body of dot4, in assembly so the loads post-increment
 * their pointers (the compiler's schedule needs two extra adds and spills when unrolled). */
#define DOT4_ROW(a, wr)                                                                 \
  "sxtb16 %[t], %[" wr "]\n\t"                                                          \
  "smlad %[" a "], %[t], %[x01], %[" a "]\n\t"                                          \
  "sxtb16 %[t], %[" wr "], ror #8\n\t"                                                  \
  "smlad %[" a "], %[t], %[x23], %[" a "]\n\t"
/* W16: a row's two words meet the input pairs directly */
#define DOT4_ROW16(a, wa, wb)                                                           \
  "smlad %[" a "], %[" wa "], %[x01], %[" a "]\n\t"                                     \
  "smlad %[" a "], %[" wb "], %[x23], %[" a "]\n\t"
#if defined(__OPTIMIZE__)
/* The chunk's weight words are contiguous: one LDM loads 4 of them (into r8-r11: its register list
 * ascends). */
#define DOT4_W_DECL register uint32_t w0 __asm__("r8"), w1 __asm__("r9"), w2 __asm__("r10"), w3 __asm__("r11")
#define DOT4_W_OPERANDS [w0] "=&r"(w0), [w1] "=&r"(w1), [w2] "=&r"(w2), [w3] "=&r"(w3)
#if W16
#define DOT4_CHUNK                                                                      \
  "ldrd %[x01], %[x23], [%[x]], #8\n\t"                                                 \
  "ldmia %[w]!, {%[w0], %[w1], %[w2], %[w3]}\n\t"                                       \
  DOT4_ROW16("a0", "w0", "w1") DOT4_ROW16("a1", "w2", "w3")                             \
  "ldmia %[w]!, {%[w0], %[w1], %[w2], %[w3]}\n\t"                                       \
  DOT4_ROW16("a2", "w0", "w1") DOT4_ROW16("a3", "w2", "w3")
#else
#define DOT4_CHUNK                                                                      \
  "ldrd %[x01], %[x23], [%[x]], #8\n\t"                                                 \
  "ldmia %[w]!, {%[w0], %[w1], %[w2], %[w3]}\n\t"                                       \
  DOT4_ROW("a0", "w0") DOT4_ROW("a1", "w1") DOT4_ROW("a2", "w2") DOT4_ROW("a3", "w3")
#endif
#else
/* Unoptimised builds keep a frame pointer, one register fewer than the LDM form needs: LDRDs into
 * two registers (two per chunk for int8 weights, four for W16). */
#define DOT4_W_DECL uint32_t w0, w1
#define DOT4_W_OPERANDS [w0] "=&r"(w0), [w1] "=&r"(w1)
#if W16
#define DOT4_LDRD_ROW16(a)                                                              \
  "ldrd %[w0], %[w1], [%[w]], #8\n\t" DOT4_ROW16(a, "w0", "w1")
#define DOT4_CHUNK                                                                      \
  "ldrd %[x01], %[x23], [%[x]], #8\n\t"                                                 \
  DOT4_LDRD_ROW16("a0") DOT4_LDRD_ROW16("a1") DOT4_LDRD_ROW16("a2") DOT4_LDRD_ROW16("a3")
#else
#define DOT4_CHUNK                                                                      \
  "ldrd %[x01], %[x23], [%[x]], #8\n\t"                                                 \
  "ldrd %[w0], %[w1], [%[w]], #8\n\t"                                                   \
  DOT4_ROW("a0", "w0") DOT4_ROW("a1", "w1")                                             \
  "ldrd %[w0], %[w1], [%[w]], #8\n\t"                                                   \
  DOT4_ROW("a2", "w0") DOT4_ROW("a3", "w1")
#endif
#endif
#define DOT4_CHUNK2 DOT4_CHUNK DOT4_CHUNK
#define DOT4_CHUNK4 DOT4_CHUNK2 DOT4_CHUNK2
/* acc[r] = W_r . x for the 4 rows of one block (w: its words), over 4 * chunks inputs (x word-aligned:
 * the scratch buffers are). The loop's end is read from memory: the LDM form uses 13 registers. */
#define DOT4_OPERANDS                                                                          \
  : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [w] "+r"(w),       \
    [x01] "=&r"(x01), [x23] "=&r"(x23), DOT4_W_OPERANDS, [t] "=&r"(t)
static INLINE void dot4(const uint32_t *w, const int16_t *x, int chunks, int32_t *acc) {
  int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  uint32_t x01, x23, t;
  DOT4_W_DECL;
  const int16_t *const end = x + 4 * (chunks & ~7);
  /* eight chunks per loop iteration (the end's load, compare and branch once per 128 MACs), then 4, 2, 1 */
  if (x < end) {
    __asm__("1:\n\t" DOT4_CHUNK4 DOT4_CHUNK4
            "ldr %[t], %[end]\n\t"
            "cmp %[x], %[t]\n\t"
            "bne 1b\n\t" DOT4_OPERANDS
            : [end] "m"(end)
            : "cc", "memory");
  }
  if (chunks & 4) __asm__(DOT4_CHUNK4 DOT4_OPERANDS : : "memory");
  if (chunks & 2) __asm__(DOT4_CHUNK2 DOT4_OPERANDS : : "memory");
  if (chunks & 1) __asm__(DOT4_CHUNK DOT4_OPERANDS : : "memory");
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}
#undef DOT4_OPERANDS
#undef DOT4_CHUNK4
#undef DOT4_CHUNK2
#undef DOT4_CHUNK
#undef DOT4_ROW
#undef DOT4_ROW16
#undef DOT4_LDRD_ROW16
#undef DOT4_W_DECL
#undef DOT4_W_OPERANDS
#else
static INLINE int32_t mul_hi32(int32_t a, int32_t b) { return (int32_t)(((int64_t)a * b) >> 32); }
static INLINE int64_t mul_wide(int32_t a, int32_t b) { return (int64_t)a * b; }
/* The bytes of the words in memory: byte k of a word is at offset k (little-endian) or 3 - k. */
static INLINE int byte_at(int k) {
  const uint32_t one = 1;
  return *(const unsigned char *)&one ? k : 3 - k;
}
#if W16
/* the signed value of a word's low half: a two's-complement conversion (implementation-defined in C99,
 * checked here; an exact (v & 0xFFFF) - ((v & 0x8000) << 1) compiles to twice the instructions) */
typedef char twos_complement_required[(int16_t)(uint16_t)0x8000u == -32768 ? 1 : -1];
static INLINE int32_t half_lo(uint32_t v) { return (int16_t)(uint16_t)v; }
#define CHUNK_WORDS 8
#define ROW_MACS(acc, r)                                                                         \
  acc += half_lo(w[2 * (r)]) * x0 + half_lo(w[2 * (r)] >> 16) * x1 + half_lo(w[2 * (r) + 1]) * x2 + \
         half_lo(w[2 * (r) + 1] >> 16) * x3
#else
#define CHUNK_WORDS 4
#define ROW_MACS(acc, r) \
  acc += b[4 * (r) + o0] * x0 + b[4 * (r) + o2] * x1 + b[4 * (r) + o1] * x2 + b[4 * (r) + o3] * x3
#endif
static INLINE void dot4(const uint32_t *w, const int16_t *x, int chunks, int32_t *acc) {
#if !W16
  const int o0 = byte_at(0), o1 = byte_at(1), o2 = byte_at(2), o3 = byte_at(3);
#endif
  int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  const int16_t *const end = x + 4 * chunks;
  for (; x < end; x += 4, w += CHUNK_WORDS) {
    const int8_t *const b = (const int8_t *)(const void *)w; /* the int8 layout's bytes */
    const int32_t x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
    (void)b;
    ROW_MACS(a0, 0);
    ROW_MACS(a1, 1);
    ROW_MACS(a2, 2);
    ROW_MACS(a3, 3);
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}
#undef ROW_MACS
#undef CHUNK_WORDS
#endif

/* Plain row-major dot product (the encoder: its input is the caller's act_t x). */
static int32_t dot(const int8_t *w, const act_t *x, int n) {  /* the encoder's row */
  int32_t acc = 0;
  int j;
  for (j = 0; j < n; ++j) acc += (int32_t)w[j] * (int32_t)x[j];
  return acc;
}

typedef char sig_table_spans_21_bits[(SIG_ENTRIES - 1) << 12 == 1L << 21 ? 1 : -1];
static INLINE int32_t sig_q15(int32_t u) {  /* sigmoid of Q16 -> Q15; |error| <= 8e-5 */
  int32_t t, i;
#if defined(SAT_PATH)
  /* SIG_TABLE's first two entries are equal (0), and its last two (32768; tests/export/c/test_fixed.py):
     saturating u to the table's range [-2^20, 2^20) with one SSAT gives the value of the two tests */
  t = __ssat(u, 21) + (16 << 16);
#else
  if (u <= -(16 << 16)) return SIG_TABLE[0];
  if (u >= ((SIG_ENTRIES - 1) << 12) - (16 << 16)) return SIG_TABLE[SIG_ENTRIES - 1];
  t = u + (16 << 16);
#endif
  i = t >> 12;
  return SIG_TABLE[i] + (((SIG_TABLE[i + 1] - SIG_TABLE[i]) * (t & 4095) + 2048) >> 12);
}

#if MLP_ACT_GELU || REC_ACT == REC_ACT_GELU
static INLINE int32_t gelu_q16(int32_t x) {  /* tanh-form GELU in Q16 by table; |error| <= 4e-4 */
  int32_t t, i;
  if (x >= GELU_LIMIT) return x;
  if (x <= -GELU_LIMIT) return 0;
  t = x + GELU_LIMIT;
  i = t >> 12;  /* table steps are below 4,700 (slope < 1.13): the product stays under 2^25 */
  return GELU_TABLE[i] + (((GELU_TABLE[i + 1] - GELU_TABLE[i]) * (t & 4095) + 2048) >> 12);
}
#endif

static int64_t rdiv(int64_t a, int64_t b) { return a >= 0 ? (a + b / 2) / b : -((-a + b / 2) / b); }

static uint32_t isqrt62(uint64_t v) {  /* floor(sqrt(v)) for v < 2^62: the result's 31 bits, high first */
  uint32_t res = 0, bit = (uint32_t)1 << 30;
  for (; bit; bit >>= 1) {
    const uint32_t t = res | bit;
    if ((uint64_t)t * t <= v) res = t;
  }
  return res;
}

/* out[c] = sat(gamma_c * (w_c - mean) / sqrt(var + eps) + beta_c), into out (int32, may be w) or outq
 * (int16: the sites whose output is a matmul input, saturated to [-QMAX - 1, QMAX]); the one not written is 0 (the
 * tests fold away: the callers below are inlined with constant pointers). The inputs are wide values
 * (-2^24 <= w_c < 2^24), so |w_c - mean| < 2^25. One pass gives sum w and sum w^2: the variance
 * sum (w - mean)^2 = sum w^2 - mean * (2 sum w - D mean) is exact in int64 (|w|^2 * D < 2^62). */
static INLINE void layer_norm_into(const int32_t *w, const ln_params *p, int32_t *out, int16_t *outq, int32_t lo,
                                   int32_t hi) {
  int64_t var, sq = 0;
  int32_t mean, inv;
  uint64_t v;
  uint32_t sd;
  int c, k = 0, s;
#if D * (WIDE_MAX + 1) <= INT32_MAX
  int32_t sum = 0;  /* fits: D * 2^24 */
  for (c = 0; c < D; ++c) {
    sum += w[c];
    sq += (int64_t)w[c] * w[c];
  }
  mean = sum >= 0 ? (sum + D / 2) / D : -((-sum + D / 2) / D);
#else
  int64_t sum = 0;
  for (c = 0; c < D; ++c) {
    sum += w[c];
    sq += (int64_t)w[c] * w[c];
  }
  mean = (int32_t)rdiv(sum, D);
#endif
  var = sq - (int64_t)mean * (2 * (int64_t)sum - (int64_t)D * mean);
  var = rdiv(var, D) + p->eps;
  v = (uint64_t)(var < 1 ? 1 : var);
  /* normalise: the fewest k with v * 4^k >= 2^58 */
#if defined(__GNUC__)
  if (v < ((uint64_t)1 << 58)) {
    k = (59 - (63 - __builtin_clzll(v))) / 2;
    v <<= 2 * k;
  }
#else
  while (v < ((uint64_t)1 << 58)) {
    v <<= 2;
    ++k;
  }
#endif
  sd = isqrt62(v);
  inv = (int32_t)((((uint64_t)1 << 56) + sd / 2) / sd);  /* in (2^25, 2^27] */
  s = 40 - k;  /* xhat = (diff * inv + 2^(s-1)) >> s */
  /* LN_ADD32 1: the generator bounded |rq(xhat, gamma_c)| + |beta_c| below 2^31 (int32 sum, no clamp) */
#if LN_ADD32
#define LN_OUT(xhat) clamp32(RQ_FAST((xhat), p->g[c], LN) + p->b[c], lo, hi)
#else
#define LN_OUT(xhat) clamp64((int64_t)RQS((xhat), p->g[c], LN, -INT32_MAX, INT32_MAX) + p->b[c], lo, hi)
#endif
#define LN_STORE(xhat)                       \
  do {                                       \
    const int32_t o_ = LN_OUT(xhat);         \
    if (outq) outq[c] = (int16_t)o_;         \
    else out[c] = o_;                        \
  } while (0)
  if (s + 9 >= 33) {
    /* the 32-bit form (as rq_fast): diff * 2^ld and inv * 2^li fit int32 for ld <= 6, li <= 3 */
    const int l = s >= 33 ? 0 : 33 - s, li = l < 3 ? l : 3, ld = l - li, sh = s + l - 32;
    const int32_t inv2 = inv * ((int32_t)1 << li), round = (int32_t)1 << (sh - 1), up = (int32_t)1 << ld;
    for (c = 0; c < D; ++c) {
      const int32_t hi32 = (int32_t)(((int64_t)((w[c] - mean) * up) * inv2) >> 32);
      LN_STORE((hi32 + round) >> sh);
    }
  } else {
    const int64_t round = (int64_t)1 << (s - 1);
    for (c = 0; c < D; ++c) LN_STORE((int32_t)(((int64_t)(w[c] - mean) * inv + round) >> s));
  }
#undef LN_STORE
#undef LN_OUT
}

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
