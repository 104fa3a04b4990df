$banner
/* The audio path of ${p}_audio.h: constant front-end tables, the feature -> step-input
 * conversion and the per-hop driver. */
#include "${p}_audio.h"

#include <stddef.h>

$tables
static const mgrade_fe_config k_fe_config = {
    ${P}_WINDOW_SAMPLES, ${P}_HOP_SAMPLES, $fft_size, ${P}_CHANNELS, $spectrum_start, $spectrum_end,
    k_window, k_channel_frequency_starts, k_channel_weight_starts, k_channel_widths, k_weights, k_unweights,
    $noise_reduction, $smoothing, $one_minus_smoothing, $alternate_smoothing, $alternate_one_minus_smoothing,
    $min_signal_remaining, $smoothing_bits, $pcan, k_gain_lut, $snr_shift, $log_scale, $log_correction_bits,
};

unsigned long ${p}_fe_memory_bytes(void) { return (unsigned long)mgrade_fe_memory_bytes(&k_fe_config); }
unsigned long ${p}_fe_state_bytes(void) { return (unsigned long)mgrade_fe_state_bytes(&k_fe_config); }

int ${p}_audio_init(${p}_audio *a) {
  int i;
  for (i = 0; i < ${P}_CHANNELS; ++i) a->features[i] = 0;
  ${p}_reset(&a->step);
  a->hops = 0;
  return mgrade_fe_init(&a->fe, &k_fe_config, a->fe_memory, sizeof(a->fe_memory));
}

/* Feature (log filter bank, $log_bits fractional bits) -> the step's input. */
static void features_to_input(const int16_t *f, $io_type *x) {
  int i;
$convert
}

void ${p}_audio_step(${p}_audio *a) {
  features_to_input(a->features, a->x);
  ${p}_step$variant(&a->step, a->x, a->y);
  a->hops += 1;
}

int32_t ${p}_audio_feed(${p}_audio *a, const int16_t *samples, int32_t n, int *ready) {
  int32_t used = mgrade_fe_feed(&a->fe, samples, n, a->features, ready);
  if (*ready) ${p}_audio_step(a);
  return used;
}

uint32_t ${p}_push_audio(${p}_audio *a, const int16_t *samples, int32_t n, ${p}_on_hop on_hop, void *user) {
  uint32_t hops = 0;
  while (n > 0) {
    int ready;
    int32_t used = ${p}_audio_feed(a, samples, n, &ready);
    samples += used;
    n -= used;
    if (ready) {
      hops += 1;
      if (on_hop != NULL) on_hop(user, a->y, a->hops - 1);
    }
  }
  return hops;
}

const $io_type *${p}_audio_output(const ${p}_audio *a) { return a->y; }

unsigned long ${p}_audio_bytes(void) { return (unsigned long)sizeof(${p}_audio); }

int ${p}_audio_decision(const ${p}_audio *a) {
  int best = 0, c;
  for (c = 1; c < ${P}_N_CLASSES; ++c)
    if (a->y[c] > a->y[best]) best = c;
  return best;
}
