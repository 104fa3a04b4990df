$banner
/* Golden test: streams $golden_steps recorded inputs through ${p}_step$golden_variant from a reset
 * state and compares every output with the one recorded at export time ($golden_rule).
 * Then resets and streams again: the second pass must reproduce the first bit for bit.
 * Prints PASS/FAIL, the worst error and an FNV-1a hash of all outputs; returns 0 on PASS. */
#include <stdio.h>

#include "${p}.h"

#ifdef MGRADE_SYSTICK
/* Board builds (mgrade-edge's board startup code) count SysTick ticks around the first pass. */
#include <stdint.h>
extern uint32_t mgrade_systick_now(void);
#define NOW() mgrade_systick_now()
#else
#define NOW() 0UL
#endif

$golden_data

static ${p}_state g_state;
static unsigned long g_step_ticks;  /* SysTick ticks inside the step calls of the first pass */

static unsigned long fnv1a(unsigned long hash, const unsigned char *bytes, unsigned long n) {
  unsigned long i;
  for (i = 0; i < n; ++i) hash = ((hash ^ bytes[i]) * 16777619UL) & 0xffffffffUL;
  return hash;
}

static unsigned long run(double *worst, int *worst_at) {
  unsigned long hash = 2166136261UL;
  int t, c;
  $out_type y[${P}_N_CLASSES];
  ${p}_reset(&g_state);
  for (t = 0; t < GOLDEN_STEPS; ++t) {
    unsigned long t0 = (unsigned long)NOW();
    ${p}_step$golden_variant(&g_state, &kGoldenInput[t * ${P}_D_IN], y);
    g_step_ticks += (unsigned long)NOW() - t0;
    for (c = 0; c < ${P}_N_CLASSES; ++c) {
      double err = (double)y[c] - (double)kGoldenOutput[t * ${P}_N_CLASSES + c];
      if (err < 0) err = -err;
      if (err > *worst) {
        *worst = err;
        *worst_at = t;
      }
    }
    hash = fnv1a(hash, (const unsigned char *)y, (unsigned long)sizeof(y));
  }
  return hash;
}

int main(void) {
  double worst = 0.0, worst2 = 0.0;
  int worst_at = -1, worst_at2 = -1;
  unsigned long first = run(&worst, &worst_at);
  unsigned long ticks = g_step_ticks;
  unsigned long second = run(&worst2, &worst_at2);
  int pass = worst <= GOLDEN_TOLERANCE && first == second;
  printf("%s: %d steps, worst error %g at step %d (tolerance %g), output hash %08lx, rerun %s; "
         "state %lu bytes, scratch %lu bytes\n",
         pass ? "PASS" : "FAIL", GOLDEN_STEPS, worst, worst_at, (double)GOLDEN_TOLERANCE, first,
         first == second ? "identical" : "DIFFERENT", ${p}_state_bytes(), ${p}_scratch_bytes());
#ifdef MGRADE_SYSTICK
  printf("ticks %lu for %d steps (inside the step calls)\n", ticks, GOLDEN_STEPS);
#else
  (void)ticks;
#endif
  return pass ? 0 : 1;
}
