/* mgrade-edge board-test: the audio path of ${p} on a recorded segment of ${samples} samples.
 * Pass 1 feeds the samples one hop at a time, timing the front end (mgrade_fe_feed) and the network
 * (${p}_audio_step) apart, and compares every hop's outputs with the host's (${rule}).
 * Pass 2 pushes the same samples through ${p}_push_audio in odd-sized chunks: the outputs must hash
 * the same. Pass 3 paints the stack below main and streams the segment once more: the whole path's
 * stack high-water. Prints PASS/FAIL; returns 0 on PASS. */
#include <stdint.h>
#include <stdio.h>

#include "${p}_audio.h"

#ifdef MGRADE_SYSTICK
extern uint32_t mgrade_systick_now(void);
#define NOW() mgrade_systick_now()
#else
#define NOW() 0UL
#endif
#ifndef MGRADE_STACK_PAINT_BYTES
#define MGRADE_STACK_PAINT_BYTES 16384
#endif
#define STACK_PAINT_WORDS (MGRADE_STACK_PAINT_BYTES / 4)
#define STACK_PATTERN 0xA5C3E10FUL
#ifdef __GNUC__
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif
#if defined(__GNUC__) && (defined(__arm__) || defined(__aarch64__))
#define READ_SP(var) __asm__ volatile("mov %0, sp" : "=r"(var))
#elif defined(__GNUC__) && defined(__x86_64__)
#define READ_SP(var) __asm__ volatile("mov %%rsp, %0" : "=r"(var))
#else
#define READ_SP(var) (var) = (uintptr_t)&var - 64
#endif

#define SAMPLES ${samples}
#define HOPS ${hops}
#define CHUNK 97 /* pass 2: deliberately not a divisor of the hop */
static const int16_t kAudio[SAMPLES] = {
${audio}
};
static const ${io_type} kExpected[HOPS * ${P}_N_CLASSES] = {
${expected}
};
#define TOLERANCE ${tolerance}

static ${p}_audio g_audio;

static unsigned long fnv1a(unsigned long hash, const unsigned char *bytes, unsigned long n) {
  unsigned long i;
  for (i = 0; i < n; ++i) hash = ((hash ^ bytes[i]) * 16777619UL) & 0xffffffffUL;
  return hash;
}

struct pass2 {
  unsigned long hash;
};

static void on_hop(void *user, const ${io_type} *y, uint32_t hop) {
  struct pass2 *p = (struct pass2 *)user;
  (void)hop;
  p->hash = fnv1a(p->hash, (const unsigned char *)y, sizeof(${io_type}) * ${P}_N_CLASSES);
}

static NOINLINE long stack_high_water(void) {
  uintptr_t sp;
  volatile uint32_t *bottom;
  long i, at;
  READ_SP(sp);
  bottom = (volatile uint32_t *)((sp & ~(uintptr_t)3) - MGRADE_STACK_PAINT_BYTES);
  for (i = 0; i < STACK_PAINT_WORDS; ++i) bottom[i] = (uint32_t)STACK_PATTERN;
  ${p}_audio_init(&g_audio);
  for (at = 0; at < SAMPLES; at += ${P}_HOP_SAMPLES) {
    long n = SAMPLES - at < ${P}_HOP_SAMPLES ? SAMPLES - at : ${P}_HOP_SAMPLES;
    ${p}_push_audio(&g_audio, kAudio + at, (int32_t)n, 0, 0);
  }
  for (i = 0; i < STACK_PAINT_WORDS && bottom[i] == (uint32_t)STACK_PATTERN; ++i) {
  }
  return i == 0 ? -1 : (long)(STACK_PAINT_WORDS - i) * 4;
}

int main(void) {
  unsigned long hash = 2166136261UL, fe_ticks = 0, net_ticks = 0;
  struct pass2 second = {2166136261UL};
  double worst = 0.0;
  int hops = 0, worst_at = -1, c, pass;
  long at = 0, stack;
  if (${p}_audio_init(&g_audio) != 0) {
    printf("FAIL: the front end needs %lu bytes, the struct reserves %d\n", ${p}_fe_memory_bytes(),
           ${P}_FE_MEMORY_BYTES);
    return 1;
  }
  while (at < SAMPLES) {
    int ready = 0;
    unsigned long t0 = (unsigned long)NOW();
    long n = SAMPLES - at < ${P}_HOP_SAMPLES ? SAMPLES - at : ${P}_HOP_SAMPLES;
    at += mgrade_fe_feed(&g_audio.fe, kAudio + at, (int32_t)n, g_audio.features, &ready);
    fe_ticks += (unsigned long)NOW() - t0;
    if (!ready) continue;
    t0 = (unsigned long)NOW();
    ${p}_audio_step(&g_audio);
    net_ticks += (unsigned long)NOW() - t0;
    for (c = 0; c < ${P}_N_CLASSES && hops < HOPS; ++c) {
      double err = (double)g_audio.y[c] - (double)kExpected[hops * ${P}_N_CLASSES + c];
      if (err < 0) err = -err;
      if (err > worst) {
        worst = err;
        worst_at = hops;
      }
    }
    hash = fnv1a(hash, (const unsigned char *)g_audio.y, sizeof(g_audio.y));
    hops += 1;
  }
  ${p}_audio_init(&g_audio);
  for (at = 0; at < SAMPLES; at += CHUNK) {
    long n = SAMPLES - at < CHUNK ? SAMPLES - at : CHUNK;
    ${p}_push_audio(&g_audio, kAudio + at, (int32_t)n, on_hop, &second);
  }
  pass = hops == HOPS && worst <= TOLERANCE && second.hash == hash;
  printf("%s: %d hops (expected %d), worst error %g at hop %d (tolerance %g), output hash %08lx, chunked rerun %s\n",
         pass ? "PASS" : "FAIL", hops, HOPS, worst, worst_at, (double)TOLERANCE, hash,
         second.hash == hash ? "identical" : "DIFFERENT");
#ifdef MGRADE_SYSTICK
  printf("ticks front end %lu network %lu for %d hops\n", fe_ticks, net_ticks, hops);
#else
  (void)fe_ticks;
  (void)net_ticks;
#endif
  printf("memory: audio struct %lu bytes, front end %lu bytes (%lu kept between hops)\n",
         (unsigned long)sizeof(g_audio), ${p}_fe_memory_bytes(), ${p}_fe_state_bytes());
  stack = stack_high_water();
  if (stack < 0)
    printf("stack: more than the %d painted bytes\n", MGRADE_STACK_PAINT_BYTES);
  else
    printf("stack: %ld bytes high-water over %d hops (%d bytes painted)\n", stack, hops, MGRADE_STACK_PAINT_BYTES);
  return pass ? 0 : 1;
}
