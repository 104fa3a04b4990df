/* mgrade-edge audio front end: int16 audio in, one int16 log filter-bank vector per hop out.
 *
 * The same file is compiled for the host (Python trains on its features) and into the device
 * bundle, on top of TensorFlow Lite Micro's signal library (signal/src), so both produce the same
 * integers. All memory comes from the caller: mgrade_fe_memory_bytes() says how much. */
#ifndef MGRADE_FRONTEND_H_
#define MGRADE_FRONTEND_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t window_samples, hop_samples, fft_size, num_channels;
  int32_t spectrum_start, spectrum_end;      /* energy is computed for bins [start, end) */
  const int16_t *window;                     /* [window_samples], 12 fractional bits */
  const int16_t *channel_frequency_starts;   /* [num_channels + 1] */
  const int16_t *channel_weight_starts;      /* [num_channels + 1] */
  const int16_t *channel_widths;             /* [num_channels + 1] */
  const int16_t *weights, *unweights;        /* 12 fractional bits */
  int32_t noise_reduction;                   /* spectral subtraction on/off */
  uint32_t smoothing, one_minus_smoothing, alternate_smoothing, alternate_one_minus_smoothing;
  uint32_t min_signal_remaining;             /* all four with 14 fractional bits */
  int32_t smoothing_bits;
  int32_t pcan;                              /* per-channel automatic gain control on/off */
  const int16_t *gain_lut;                   /* [125] */
  int32_t snr_shift;
  int32_t log_scale, log_correction_bits;
} mgrade_fe_config;

typedef struct {
  const mgrade_fe_config *config;
  int16_t *samples;         /* the current window, filled up to `filled` */
  int32_t filled;
  uint32_t *noise_estimate; /* the only state besides the samples */
  int16_t *scratch16;       /* [fft_size]: windowed and scaled frame */
  int16_t *spectrum;        /* [fft_size + 2]: interleaved complex bins */
  uint32_t *energy;         /* [fft_size / 2 + 1] */
  uint64_t *channels;       /* [num_channels + 1] */
  uint32_t *magnitudes;     /* [num_channels] */
  void *fft;
} mgrade_fe;

/* Bytes of memory mgrade_fe_init needs for this configuration (state and scratch together). */
size_t mgrade_fe_memory_bytes(const mgrade_fe_config *config);
/* Bytes of it that must persist between hops (the window and the noise estimate). */
size_t mgrade_fe_state_bytes(const mgrade_fe_config *config);
/* 0 on success, -1 when `bytes` is too small. Starts from silence (an empty window, zero noise). */
int mgrade_fe_init(mgrade_fe *fe, const mgrade_fe_config *config, void *memory, size_t bytes);
/* One hop's features from the current (full) window; mgrade_fe_feed calls it. */
void mgrade_fe_compute(mgrade_fe *fe, int16_t *features);
/* Consumes samples until a hop completes or `n` run out; returns how many it consumed and sets
 * *ready to 1 when `features` ([num_channels]) holds a new vector. */
int32_t mgrade_fe_feed(mgrade_fe *fe, const int16_t *samples, int32_t n, int16_t *features, int *ready);

#ifdef __cplusplus
}
#endif

#endif  /* MGRADE_FRONTEND_H_ */
