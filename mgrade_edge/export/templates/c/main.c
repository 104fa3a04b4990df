$banner
/* Golden test: streams $golden_steps recorded inputs through ${p}_step$golden_variant from a reset
 * state and compares every output with the one recorded at export time ($golden_rule).
 * Then resets and streams again: the second pass must reproduce the first bit for bit.
 * Prints PASS/FAIL, the worst error and an FNV-1a hash of all outputs; returns 0 on PASS. */
#include <stdio.h>

#include "${p}.h"

$golden_data

static ${p}_state g_state;

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
    ${p}_step$golden_variant(&g_state, &kGoldenInput[t * ${P}_D_IN], y);
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
  unsigned long second = run(&worst2, &worst_at2);
  int pass = worst <= GOLDEN_TOLERANCE && first == second;
  printf("%s: %d steps, worst error %g at step %d (tolerance %g), output hash %08lx, rerun %s; "
         "state %lu bytes, scratch %lu bytes\n",
         pass ? "PASS" : "FAIL", GOLDEN_STEPS, worst, worst_at, (double)GOLDEN_TOLERANCE, first,
         first == second ? "identical" : "DIFFERENT", ${p}_state_bytes(), ${p}_scratch_bytes());
  return pass ? 0 : 1;
}
