$banner
/* Golden test: streams $golden_steps recorded inputs through ${p}_step$golden_variant from a reset
 * state and compares every output with the one recorded at export time ($golden_rule).
 * Then resets and streams again: the second pass must reproduce the first bit for bit, and a third
 * time through ${p}_step_block$golden_variant, MGRADE_BLOCK_STEPS steps a call: the same outputs again.
 * Prints PASS/FAIL, the worst error and an FNV-1a hash of all outputs; returns 0 on PASS.
 *
 * Then measures the step's stack by painting: a region below the stack pointer is filled with a
 * pattern, argv[1] steps (default $golden_steps, cycling through the recorded inputs) run from a
 * reset state, and the words the step calls overwrote, counted from the bottom, are its stack
 * high-water (frame padding that is reserved but never written is not counted). The step's RAM is
 * g_state + its static scratch + g_io_x/g_io_y + that stack (mgrade-edge board-test reads the
 * symbol sizes from the linked program). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "${p}.h"

#ifdef MGRADE_SYSTICK
/* Board builds (mgrade-edge's board startup code) count SysTick ticks around the first pass. */
extern uint32_t mgrade_systick_now(void);
#define NOW() mgrade_systick_now()
#else
#define NOW() 0UL
#endif

#ifndef MGRADE_STACK_PAINT_BYTES
#define MGRADE_STACK_PAINT_BYTES 16384 /* below the 32 KB stack of the board linker scripts */
#endif
#define STACK_PAINT_WORDS (MGRADE_STACK_PAINT_BYTES / 4)
#define STACK_PATTERN 0xA5C3E10FUL
#ifndef MGRADE_BLOCK_STEPS
#define MGRADE_BLOCK_STEPS 16
#endif

#ifdef __GNUC__
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

$golden_data

static ${p}_state g_state;
/* The step's I/O buffers (what a firmware fills and reads; input_buffer()/output_buffer() would let
 * them live in the scratch instead). */
static $out_type g_io_x[${P}_D_IN], g_io_y[${P}_N_CLASSES];
static unsigned long g_step_ticks;  /* SysTick ticks inside the step calls of the first pass */
static $out_type g_block_y[MGRADE_BLOCK_STEPS * ${P}_N_CLASSES];  /* the block pass's outputs */
static unsigned long g_block_ticks;  /* SysTick ticks inside its step_block calls */

static unsigned long fnv1a(unsigned long hash, const unsigned char *bytes, unsigned long n) {
  unsigned long i;
  for (i = 0; i < n; ++i) hash = ((hash ^ bytes[i]) * 16777619UL) & 0xffffffffUL;
  return hash;
}

static void load_input(long t) {
  int i;
  for (i = 0; i < ${P}_D_IN; ++i) g_io_x[i] = kGoldenInput[(t % GOLDEN_STEPS) * ${P}_D_IN + i];
}

static unsigned long run(double *worst, int *worst_at) {
  unsigned long hash = 2166136261UL;
  int t, c;
  ${p}_reset(&g_state);
  for (t = 0; t < GOLDEN_STEPS; ++t) {
    unsigned long t0;
    load_input(t);
    t0 = (unsigned long)NOW();
    ${p}_step$golden_variant(&g_state, g_io_x, g_io_y);
    g_step_ticks += (unsigned long)NOW() - t0;
    for (c = 0; c < ${P}_N_CLASSES; ++c) {
      double err = (double)g_io_y[c] - (double)kGoldenOutput[t * ${P}_N_CLASSES + c];
      if (err < 0) err = -err;
      if (err > *worst) {
        *worst = err;
        *worst_at = t;
      }
    }
    hash = fnv1a(hash, (const unsigned char *)g_io_y, (unsigned long)sizeof(g_io_y));
  }
  return hash;
}

/* The golden inputs through step_block, MGRADE_BLOCK_STEPS at a time (the last block may be shorter):
 * the hash of the outputs, to compare with the step by step pass's. */
static unsigned long run_blocks(void) {
  unsigned long hash = 2166136261UL;
  int t;
  ${p}_reset(&g_state);
  for (t = 0; t < GOLDEN_STEPS; t += MGRADE_BLOCK_STEPS) {
    const int n = GOLDEN_STEPS - t < MGRADE_BLOCK_STEPS ? GOLDEN_STEPS - t : MGRADE_BLOCK_STEPS;
    unsigned long t0 = (unsigned long)NOW();
    ${p}_step_block$golden_variant(&g_state, kGoldenInput + (long)t * ${P}_D_IN, n, g_block_y);
    g_block_ticks += (unsigned long)NOW() - t0;
    hash = fnv1a(hash, (const unsigned char *)g_block_y, (unsigned long)n * sizeof(g_io_y));
  }
  return hash;
}

/* The stack pointer of the caller, or (other compilers/CPUs) the address of one of its locals. */
#if defined(__GNUC__) && (defined(__arm__) || defined(__aarch64__))
#define READ_SP(var) __asm__ volatile("mov %0, sp" : "=r"(var))
#elif defined(__GNUC__) && defined(__x86_64__)
#define READ_SP(var) __asm__ volatile("mov %%rsp, %0" : "=r"(var))
#else
#define READ_SP(var) (var) = (uintptr_t)&var - 64
#endif

/* Paints, runs `steps` steps and counts: between painting and counting nothing but the step (and
 * the load_input copy, inlined, and NOW) runs below this function's frame. Returns the bytes
 * written below the stack pointer, or -1 if the deepest painted word was overwritten too. */
static NOINLINE long stack_high_water(long steps) {
  uintptr_t sp;
  volatile uint32_t *bottom;
  long t, i;
  READ_SP(sp);
  bottom = (volatile uint32_t *)((sp & ~(uintptr_t)3) - MGRADE_STACK_PAINT_BYTES);
  for (i = 0; i < STACK_PAINT_WORDS; ++i) bottom[i] = (uint32_t)STACK_PATTERN;
  ${p}_reset(&g_state);
  for (t = 0; t < steps; ++t) {
    load_input(t);
    ${p}_step$golden_variant(&g_state, g_io_x, g_io_y);
  }
  for (i = 0; i < STACK_PAINT_WORDS && bottom[i] == (uint32_t)STACK_PATTERN; ++i) {
  }
  return i == 0 ? -1 : (long)(STACK_PAINT_WORDS - i) * 4;
}

int main(int argc, char **argv) {
  double worst = 0.0, worst2 = 0.0;
  int worst_at = -1, worst_at2 = -1;
  unsigned long first = run(&worst, &worst_at);
  unsigned long ticks = g_step_ticks;
  unsigned long second = run(&worst2, &worst_at2);
  unsigned long blocks = run_blocks();
  long stack_steps = argc > 1 ? atol(argv[1]) : GOLDEN_STEPS, stack;
  int pass = worst <= GOLDEN_TOLERANCE && first == second && blocks == first;
  printf("%s: %d steps, ", pass ? "PASS" : "FAIL", GOLDEN_STEPS);
  if (worst_at < 0)
    printf("worst error 0 (every output equals the golden, tolerance %g)", (double)GOLDEN_TOLERANCE);
  else
    printf("worst error %g at step %d (tolerance %g)", worst, worst_at, (double)GOLDEN_TOLERANCE);
  printf(", output hash %08lx, rerun %s; state %lu bytes, scratch %lu bytes\n", first,
         first == second ? "identical" : "DIFFERENT", ${p}_state_bytes(), ${p}_scratch_bytes());
  printf("block: %d steps in calls of %d, output hash %08lx, %s\n", GOLDEN_STEPS, MGRADE_BLOCK_STEPS, blocks,
         blocks == first ? "identical" : "DIFFERENT");
#ifdef MGRADE_SYSTICK
  printf("ticks %lu for %d steps (inside the step calls)\n", ticks, GOLDEN_STEPS);
  printf("block ticks %lu for %d steps (inside the step_block calls)\n", g_block_ticks, GOLDEN_STEPS);
#else
  (void)ticks;
#endif
  if (stack_steps < 1) stack_steps = 1;
  stack = stack_high_water(stack_steps);
  if (stack < 0)
    printf("stack: more than the %d painted bytes over %ld steps\n", MGRADE_STACK_PAINT_BYTES, stack_steps);
  else
    printf("stack: %ld bytes high-water over %ld steps (%d bytes painted)\n", stack, stack_steps,
           MGRADE_STACK_PAINT_BYTES);
  return pass ? 0 : 1;
}
