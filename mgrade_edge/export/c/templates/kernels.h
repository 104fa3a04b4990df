/* ---- integer kernels of the step: requantise, saturate, dot products, tables, LayerNorm ------------
 * Mirrored bit for bit by mgrade_edge/export/c/fixed.py, and tested kernel by kernel against it
 * (tests/export/c/test_kernels.py compiles this file alone, with tests/export/c/kernels_test.c).
 * The includer defines first: act_t; the types mult {m, round, n, pre, shift} and ln_params {g, b, eps};
 * D, QMAX, WIDE_MAX, W16, SIG_ENTRIES, SIG_TABLE[], GELU_LIMIT, GELU_TABLE[] (with MLP_ACT_GELU or
 * REC_ACT == REC_ACT_GELU), and for LayerNorm the call-site switches RQ32_LN, IDENT_LN, SH1_LN, LN_ADD32. */

/* rq() needs an arithmetic right shift of negative values (gcc, clang and arm-none-eabi-gcc do). */
typedef char arithmetic_shift_required[((-8) >> 1) == -4 ? 1 : -1];

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
#if (defined(MGRADE_USE_DSP) || defined(MGRADE_USE_MVE)) && defined(__ARM_FEATURE_DSP) && !defined(__ARM_BIG_ENDIAN)
#define DSP_PATH 1
#endif
/* Helium (-DMGRADE_USE_MVE on a core with integer MVE, e.g. Cortex-M55): the dense dot products,
 * LayerNorm and the lane helpers (rescale, clamp, sigmoid, g_h) here; the delay block, the minGRU
 * update and the dense layers' epilogues in int_step.c, in vector instructions; the DSP path's other
 * helpers stay. */
#if defined(MGRADE_USE_MVE) && defined(DSP_PATH) && defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#define MVE_PATH 1
#endif
/* slot_t: the matmul inputs' slots (g_slots in int_step.c). int16 for SMLAD's pairs and the portable
 * loop; int8 on Helium where the act values are int8 (QMAX 127): with int8 weights VMLADAVA.S8
 * multiplies 16 of them a time, twice VMLADAVA.S16's 8 (W16 weights meet them widened by VLDRB.S16),
 * and the slots take half the bytes. The generator gives a column's slot bytes for both
 * (COLUMN_BYTES_INT16, COLUMN_BYTES_INT8: word-aligned). */
#if defined(MVE_PATH) && QMAX == 127
#define SLOT_INT8 1
typedef int8_t slot_t;
#else
#define SLOT_INT8 0
typedef int16_t slot_t;
#endif
#if !defined(COLUMN_BYTES) && defined(COLUMN_BYTES_INT16)
#if SLOT_INT8
#define COLUMN_BYTES COLUMN_BYTES_INT8
#else
#define COLUMN_BYTES COLUMN_BYTES_INT16
#endif
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
#if defined(MVE_PATH)
#include <arm_mve.h>
#if SLOT_INT8 && !W16
/* int8 inputs: four chunks (16 inputs) per row and iteration, the row's 16 weights gathered into int8
 * lanes in column order (one VLDRB gather: the layout keeps a row's columns 0, 2, 1, 3 in bytes 0..3 of
 * each chunk), the 16 inputs loaded as they are, and one VMLADAVA.S8 (16 MACs into the row's int32
 * sum); the last 1-3 chunks with the lanes past them predicated off. Exact, as the portable loop. */
static INLINE void dot4(const uint32_t *w, const slot_t *x, int chunks, int32_t *acc) {
  static const uint8_t row0[16] = {0, 2, 1, 3, 16, 18, 17, 19, 32, 34, 33, 35, 48, 50, 49, 51};
  const uint8x16_t o0 = vld1q_u8(row0), o1 = vaddq_n_u8(o0, 4), o2 = vaddq_n_u8(o0, 8), o3 = vaddq_n_u8(o0, 12);
  const int8_t *p = (const int8_t *)(const void *)w;
  int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  int k;
  for (k = 0; k + 4 <= chunks; k += 4, x += 16, p += 64) {
    const int8x16_t xv = vld1q_s8(x);
    a0 = vmladavaq_s8(a0, vldrbq_gather_offset_s8(p, o0), xv);
    a1 = vmladavaq_s8(a1, vldrbq_gather_offset_s8(p, o1), xv);
    a2 = vmladavaq_s8(a2, vldrbq_gather_offset_s8(p, o2), xv);
    a3 = vmladavaq_s8(a3, vldrbq_gather_offset_s8(p, o3), xv);
  }
  if (k < chunks) {
    const mve_pred16_t tail = vctp8q(4 * (chunks - k));
    const int8x16_t xv = vldrbq_z_s8(x, tail);
    a0 = vmladavaq_p_s8(a0, vldrbq_gather_offset_z_s8(p, o0, tail), xv, tail);
    a1 = vmladavaq_p_s8(a1, vldrbq_gather_offset_z_s8(p, o1, tail), xv, tail);
    a2 = vmladavaq_p_s8(a2, vldrbq_gather_offset_z_s8(p, o2, tail), xv, tail);
    a3 = vmladavaq_p_s8(a3, vldrbq_gather_offset_z_s8(p, o3, tail), xv, tail);
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}
#else
/* Two chunks (8 inputs) per row and iteration: the row's 8 weights of both chunks gathered into int16
 * lanes in column order (VLDRB.S16 / VLDRH gather: the int8 layout keeps a row's columns 0, 2, 1, 3 in
 * bytes 0..3, W16 in order), the 8 inputs loaded as they are, and one VMLADAVA (8 MACs into the row's
 * int32 sum); an odd last chunk with the upper 4 lanes predicated off. Integer sums are exact, so it
 * returns what the portable loop returns. */
#if W16
#define MVE_ROW_OFFSETS {0, 1, 2, 3, 16, 17, 18, 19} /* halfwords: a chunk is 4 rows x 4 int16 */
typedef int16_t mve_w_t;
#define MVE_GATHER(p, o) vldrhq_gather_shifted_offset_s16((p), (o))
#define MVE_GATHER_Z(p, o, m) vldrhq_gather_shifted_offset_z_s16((p), (o), (m))
#else
#define MVE_ROW_OFFSETS {0, 2, 1, 3, 16, 18, 17, 19} /* bytes: a chunk is 4 rows x 4 int8 (0, 2, 1, 3) */
typedef int8_t mve_w_t;
#define MVE_GATHER(p, o) vldrbq_gather_offset_s16((p), (o))
#define MVE_GATHER_Z(p, o, m) vldrbq_gather_offset_z_s16((p), (o), (m))
#endif
#if SLOT_INT8 /* W16 weights, int8 inputs widened as they load */
#define MVE_X(x) vldrbq_s16(x)
#define MVE_X_Z(x, m) vldrbq_z_s16((x), (m))
#else
#define MVE_X(x) vld1q_s16(x)
#define MVE_X_Z(x, m) vldrhq_z_s16((x), (m))
#endif
#define MVE_STRIDE 32 /* elements (halfwords or bytes) per 2 chunks */
#define MVE_ROW_STEP 4 /* a row's 4 weights of a chunk follow the previous row's (elements, either layout) */
static INLINE void dot4(const uint32_t *w, const slot_t *x, int chunks, int32_t *acc) {
  static const uint16_t row0[8] = MVE_ROW_OFFSETS;
  const uint16x8_t o0 = vld1q_u16(row0), o1 = vaddq_n_u16(o0, MVE_ROW_STEP), o2 = vaddq_n_u16(o0, 2 * MVE_ROW_STEP),
                   o3 = vaddq_n_u16(o0, 3 * MVE_ROW_STEP);
  const mve_w_t *p = (const mve_w_t *)(const void *)w;
  int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  int k;
  for (k = 0; k + 2 <= chunks; k += 2, x += 8, p += MVE_STRIDE) {
    const int16x8_t xv = MVE_X(x);
    a0 = vmladavaq_s16(a0, MVE_GATHER(p, o0), xv);
    a1 = vmladavaq_s16(a1, MVE_GATHER(p, o1), xv);
    a2 = vmladavaq_s16(a2, MVE_GATHER(p, o2), xv);
    a3 = vmladavaq_s16(a3, MVE_GATHER(p, o3), xv);
  }
  if (k < chunks) {
    const mve_pred16_t half = vctp16q(4);
    const int16x8_t xv = MVE_X_Z(x, half);
    a0 = vmladavaq_p_s16(a0, MVE_GATHER_Z(p, o0, half), xv, half);
    a1 = vmladavaq_p_s16(a1, MVE_GATHER_Z(p, o1, half), xv, half);
    a2 = vmladavaq_p_s16(a2, MVE_GATHER_Z(p, o2, half), xv, half);
    a3 = vmladavaq_p_s16(a3, MVE_GATHER_Z(p, o3, half), xv, half);
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}
#endif /* SLOT_INT8 && !W16 */
/* 4 slots to or from int32 lanes */
#if SLOT_INT8
#define SLOT_LOAD_LANES(q) vldrbq_s32(q)
#define SLOT_STORE_LANES(q, v) vstrbq_s32((q), (v))
#else
#define SLOT_LOAD_LANES(q) vldrhq_s32(q)
#define SLOT_STORE_LANES(q, v) vstrhq_s32((q), (v))
#endif
/* rq_fast of 4 values by the mults at byte offsets o from k, their m, pre and shift gathered from the
 * structs: VMULH is the high word of the product, VRSHL by -shift the rounded shift
 * (v + 2^(shift-1)) >> shift (the 32-bit form's round is 2^(shift-1)); sh1: the site's shifts are all 1
 * (SH1_<site>). */
static INLINE int32x4_t rq_fast_lanes_at(int32x4_t a, const mult *k, uint32x4_t o, int sh1) {
  const int32x4_t hi = vmulhq_s32(vshlq_s32(a, vldrbq_gather_offset_s32(&k->pre, o)), vldrwq_gather_offset_s32(&k->m, o));
  return sh1 ? vrshrq_n_s32(hi, 1) : vrshlq_s32(hi, vnegq_s32(vldrbq_gather_offset_s32(&k->shift, o)));
}
static INLINE int32x4_t rq_fast_lanes(int32x4_t a, const mult *k, int sh1) {  /* 4 consecutive mults */
  static const uint32_t mult_offsets[4] = {0, sizeof(mult), 2 * sizeof(mult), 3 * sizeof(mult)};
  return rq_fast_lanes_at(a, k, vld1q_u32(mult_offsets), sh1);
}
/* rq_fast of 4 values by one mult k (a scalar site's) */
static INLINE int32x4_t rq_fast_lanes1(int32x4_t a, mult k, int sh1) {
  const int32x4_t hi = vmulhq_s32(vshlq_r_s32(a, k.pre), vdupq_n_s32(k.m));
  return sh1 ? vrshrq_n_s32(hi, 1) : vrshlq_n_s32(hi, -k.shift);
}
/* The tables' linear interpolation of 4 values, as sig_q15 and gelu_q16 do it: the entries at t >> 12 and
 * the next by two gathers, table[i] + ((table[i + 1] - table[i]) * (t & 4095) + 2048) >> 12 (t in range) */
static INLINE int32x4_t table_lanes(const int32_t *table, int32x4_t t) {
  const uint32x4_t i = vreinterpretq_u32_s32(vshrq_n_s32(t, 12));
  const int32x4_t t0 = vldrwq_gather_shifted_offset_s32(table, i), t1 = vldrwq_gather_shifted_offset_s32(table + 1, i);
  return vaddq_s32(t0, vshrq_n_s32(vaddq_n_s32(vmulq_s32(vsubq_s32(t1, t0), vandq_s32(t, vdupq_n_s32(4095))), 2048), 12));
}
/* sig_q15 of 4 values (its SAT_PATH form: the index saturated by one saturating shift, then the table) */
static INLINE int32x4_t sig_q15_lanes(int32x4_t u) {
  return table_lanes(SIG_TABLE, vaddq_n_s32(vshrq_n_s32(vqshlq_n_s32(u, 11), 11), 16 << 16));
}
/* clamp32 of 4 values: the step's ranges [-2^(k-1), 2^(k-1) - 1] by a saturating shift left and back
 * (SSAT's value), any other by VMIN/VMAX */
static INLINE int32x4_t clamp_lanes(int32x4_t v, int32_t lo, int32_t hi) {
  if (lo == -QMAX - 1 && hi == QMAX) return vshrq_n_s32(vqshlq_n_s32(v, 32 - QMAX_BITS), 32 - QMAX_BITS);
  if (lo == -WIDE_MAX - 1 && hi == WIDE_MAX) return vshrq_n_s32(vqshlq_n_s32(v, 32 - WIDE_BITS), 32 - WIDE_BITS);
  return vmaxq_s32(vminq_s32(v, vdupq_n_s32(hi)), vdupq_n_s32(lo));
}
/* rq_g_h of 4 values, one mult: the 32-bit form in lanes, the lanes above lim by the scalar int64 form */
static INLINE uint32x4_t rq_g_h_lanes(int32x4_t g, const mult *k, int pre, int32_t lim) {
  int32x4_t r = vmaxq_s32(vrshrq_n_s32(vmulhq_s32(vshlq_r_s32(g, pre), vdupq_n_s32(k->m)), 1), vdupq_n_s32(0));
  if (vcmpgtq_n_s32(g, lim)) {
#define G_H_INT64_LANE(j) \
  if (vgetq_lane_s32(g, j) > lim) r = vsetq_lane_s32(rq_sat(vgetq_lane_s32(g, j), *k, 0, INT32_MAX), r, j)
    G_H_INT64_LANE(0);
    G_H_INT64_LANE(1);
    G_H_INT64_LANE(2);
    G_H_INT64_LANE(3);
#undef G_H_INT64_LANE
  }
  return vreinterpretq_u32_s32(r);
}
#undef MVE_ROW_OFFSETS
#undef MVE_STRIDE
#undef MVE_GATHER
#undef MVE_X
#undef MVE_X_Z
#undef MVE_GATHER_Z
#undef MVE_ROW_STEP
#else
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
static INLINE void dot4(const uint32_t *w, const slot_t *x, int chunks, int32_t *acc) {
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
#if defined(COLUMN_BYTES) && defined(__OPTIMIZE__) && !W16 && COLUMN_BYTES <= 1020
/* dot4 of two columns' inputs (x and the next column's, COLUMN_BYTES on: LDRD's immediate offset
 * reaches 1020). Rows 0-1 of the block, then rows 2-3: each sign-extended weight pair meets both
 * columns' inputs, 15 instructions per 16 MACs instead of 18 (13 registers, as dot4). W16 weights need
 * no sign-extend, and 4 rows x 2 columns do not fit the registers: there the single-column loop
 * (11 per 16, its LDM amortised over 4 rows) is better, and dot4x2 below calls it twice. */
#define HAVE_DOT4X2 1
#define MGRADE_STR_(v) #v
#define MGRADE_STR(v) MGRADE_STR_(v)
#define DOT4X2_ROW(a, b, wr)                                                            \
  "sxtb16 %[t], %[" wr "]\n\t"                                                          \
  "smlad %[" a "], %[t], %[xa01], %[" a "]\n\t"                                         \
  "smlad %[" b "], %[t], %[xb01], %[" b "]\n\t"                                         \
  "sxtb16 %[t], %[" wr "], ror #8\n\t"                                                  \
  "smlad %[" a "], %[t], %[xa23], %[" a "]\n\t"                                         \
  "smlad %[" b "], %[t], %[xb23], %[" b "]\n\t"
/* the next column's 4 inputs first (x itself moves on with the second load) */
#define DOT4X2_CHUNK                                                                    \
  "ldrd %[xb01], %[xb23], [%[x], #" MGRADE_STR(COLUMN_BYTES) "]\n\t"                    \
  "ldrd %[xa01], %[xa23], [%[x]], #8\n\t"                                               \
  "ldrd %[w0], %[w1], [%[w]], #16\n\t"                                                  \
  DOT4X2_ROW("a0", "b0", "w0") DOT4X2_ROW("a1", "b1", "w1")
#define DOT4X2_CHUNK2 DOT4X2_CHUNK DOT4X2_CHUNK
#define DOT4X2_OPERANDS                                                                 \
  : [a0] "+r"(a0), [a1] "+r"(a1), [b0] "+r"(b0), [b1] "+r"(b1), [x] "+r"(xp), [w] "+r"(wp), \
    [xa01] "=&r"(xa01), [xa23] "=&r"(xa23), [xb01] "=&r"(xb01), [xb23] "=&r"(xb23),     \
    [w0] "=&r"(w0), [w1] "=&r"(w1), [t] "=&r"(t)
static INLINE void dot4x2(const uint32_t *w, const slot_t *x, int chunks, int32_t *acca, int32_t *accb) {
  int half;
  for (half = 0; half < 2; ++half) {
    int32_t a0 = 0, a1 = 0, b0 = 0, b1 = 0;
    uint32_t xa01, xa23, xb01, xb23, w0, w1, t;
    const uint32_t *wp = w + 2 * half;
    const int16_t *xp = x, *const end = x + 4 * (chunks & ~3);
    /* four chunks per loop iteration, then 2, 1 */
    if (xp < end) {
      __asm__("1:\n\t" DOT4X2_CHUNK2 DOT4X2_CHUNK2
              "ldr %[t], %[end]\n\t"
              "cmp %[x], %[t]\n\t"
              "bne 1b\n\t" DOT4X2_OPERANDS
              : [end] "m"(end)
              : "cc", "memory");
    }
    if (chunks & 2) __asm__(DOT4X2_CHUNK2 DOT4X2_OPERANDS : : "memory");
    if (chunks & 1) __asm__(DOT4X2_CHUNK DOT4X2_OPERANDS : : "memory");
    acca[2 * half] = a0;
    acca[2 * half + 1] = a1;
    accb[2 * half] = b0;
    accb[2 * half + 1] = b1;
  }
}
#undef DOT4X2_OPERANDS
#undef DOT4X2_CHUNK2
#undef DOT4X2_CHUNK
#undef DOT4X2_ROW
#endif
#undef DOT4_OPERANDS
#undef DOT4_CHUNK4
#undef DOT4_CHUNK2
#undef DOT4_CHUNK
#undef DOT4_ROW
#undef DOT4_ROW16
#undef DOT4_LDRD_ROW16
#undef DOT4_W_DECL
#undef DOT4_W_OPERANDS
#endif /* MVE_PATH */
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
static INLINE void dot4(const uint32_t *w, const slot_t *x, int chunks, int32_t *acc) {
#if !W16
  const int o0 = byte_at(0), o1 = byte_at(1), o2 = byte_at(2), o3 = byte_at(3);
#endif
  int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  const slot_t *const end = x + 4 * chunks;
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
#if defined(COLUMN_BYTES) && !defined(HAVE_DOT4X2)
/* Where no pair kernel is better, dot4 once per column: W16 weights, unoptimised builds, the portable loop
 * (sharing its weight loads between two columns needs 8 accumulators and 8 inputs, which spill on
 * Thumb-2) and Helium (a gather is one instruction: sharing it saved less than the second column's
 * input loads and the spills cost). Both were measured slower than this. */
static INLINE void dot4x2(const uint32_t *w, const slot_t *x, int chunks, int32_t *acca, int32_t *accb) {
  dot4(w, x, chunks, acca);
  dot4(w, x + COLUMN_BYTES / (int)sizeof(slot_t), chunks, accb);
}
#endif

/* Plain row-major dot product (the encoder: its input is the caller's act_t x). */
static int32_t dot(const int8_t *w, const act_t *x, int n) {  /* the encoder's row */
  int32_t acc = 0;
  int j;
  for (j = 0; j < n; ++j) acc += (int32_t)w[j] * (int32_t)x[j];
  return acc;
}

/* sat(rq(g, k), 0, INT32_MAX) for g >= 0 where the generator could not bound g for the 32-bit form (the
 * minGRU's g_h, RQ32_G_H 0): the 32-bit form still holds for each g <= lim (g * 2^pre fits int32,
 * n + pre = 33: shift 1), which is most of them; the others take the int64 form. lim -1: always the
 * int64 form. G_H_PRE(k) and G_H_LIM(pre) give them. */
#define G_H_PRE(k) ((k).n > 2 && (k).n < 33 ? 33 - (k).n : 0)
#define G_H_LIM(pre) ((pre) ? INT32_MAX >> (pre) : -1)
static INLINE int32_t rq_g_h(int32_t g, const mult *k, int pre, int32_t lim) {
  return g <= lim ? clamp32((mul_hi32(g * ((int32_t)1 << pre), k->m) + 1) >> 1, 0, INT32_MAX)
                  : rq_sat(g, *k, 0, INT32_MAX);
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
static INLINE uint32_t isqrt32(uint32_t n) {  /* floor(sqrt(n)): the result's 16 bits, high first */
  uint32_t res = 0, bit = (uint32_t)1 << 15;
  for (; bit; bit >>= 1) {
    const uint32_t t = res | bit;
    if (t * t <= n) res = t;
  }
  return res;
}

static uint32_t isqrt62(uint64_t v) {  /* floor(sqrt(v)) for v < 2^62 */
  const uint32_t hi = (uint32_t)(v >> 32);
  uint32_t res = 0, bit = (uint32_t)1 << 30;
  if (hi >= (uint32_t)1 << 26) {
    /* v >= 2^58 (LayerNorm's normalised variance): the high word's root r0 (2^13 <= r0 < 2^15) puts
       sqrt(v) in [R, R + 2^16), R = r0 2^16. One Newton step from R, e = (v - R^2) / 2R by a 32-bit
       division, never undershoots and overshoots by at most 2^32 / 2R <= 4: a few steps down. */
    const uint32_t r0 = isqrt32(hi), big = r0 << 16;
    const uint32_t e = (uint32_t)((v - (uint64_t)big * big) >> 17) / r0;
    res = big + (e < 0xFFFFu ? e : 0xFFFFu);
    while ((uint64_t)res * res > v) --res;
    return res;
  }
  for (; bit; bit >>= 1) {  /* the result's 31 bits, high first */
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
static INLINE void layer_norm_into(const int32_t *w, const ln_params *p, int32_t *out, slot_t *outq, int32_t lo,
                                   int32_t hi) {
  int64_t var, sq = 0;
  int32_t mean, inv;
  uint64_t v;
  uint32_t sd;
  int c, k = 0, s;
/* Helium: VADDVA / VADDLVA add 4 values to the (32- or 64-bit) sum, VMLALDAVA their squares to sq */
#if defined(MVE_PATH) && D % 4 == 0
#define LN_SUMS(add_across)                             \
  for (c = 0; c < D; c += 4) {                          \
    const int32x4_t v_ = vld1q_s32(w + c);              \
    sum = add_across(sum, v_);                          \
    sq = vmlaldavaq_s32(sq, v_, v_);                    \
  }
#else
#define LN_SUMS(add_across)                             \
  for (c = 0; c < D; ++c) {                             \
    sum += w[c];                                        \
    sq += (int64_t)w[c] * w[c];                         \
  }
#endif
#if D * (WIDE_MAX + 1) <= INT32_MAX
  int32_t sum = 0;  /* fits: D * 2^24 */
  LN_SUMS(vaddvaq_s32)
  mean = sum >= 0 ? (sum + D / 2) / D : -((-sum + D / 2) / D);
#else
  int64_t sum = 0;
  LN_SUMS(vaddlvaq_s32)
  mean = (int32_t)rdiv(sum, D);
#endif
#undef LN_SUMS
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
    if (outq) outq[c] = (slot_t)o_;          \
    else out[c] = o_;                        \
  } while (0)
  if (s + 9 >= 33) {
    /* the 32-bit form (as rq_fast): diff * 2^ld and inv * 2^li fit int32 for ld <= 6, li <= 3 */
    const int l = s >= 33 ? 0 : 33 - s, li = l < 3 ? l : 3, ld = l - li, sh = s + l - 32;
    const int32_t inv2 = inv * ((int32_t)1 << li), round = (int32_t)1 << (sh - 1), up = (int32_t)1 << ld;
    c = 0;
#if defined(MVE_PATH) && RQ32_LN && LN_ADD32 && D % 4 == 0
    /* Helium, 4 channels a time: xhat's multiply-high and rounded shift, then LN_OUT's rq by gamma,
       beta and the clamp, as rq_fast_lanes and clamp_lanes do them (scalar operands where MVE has
       them: few vectors live, no callee-saved q4-q7 to push) */
    {
      const int32x4_t inv2v = vdupq_n_s32(inv2);
      for (; c < D; c += 4) {
        const int32x4_t diff = vshlq_r_s32(vsubq_n_s32(vld1q_s32(w + c), mean), ld);
        const int32x4_t xhat = vrshlq_n_s32(vmulhq_s32(diff, inv2v), -sh);
        const int32x4_t o = clamp_lanes(vaddq_s32(rq_fast_lanes(xhat, p->g + c, SH1_LN), vld1q_s32(p->b + c)), lo, hi);
        if (outq) SLOT_STORE_LANES(outq + c, o);
        else vst1q_s32(out + c, o);
      }
    }
#endif
    for (; c < D; ++c) {
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
