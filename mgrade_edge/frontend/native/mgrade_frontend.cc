// mgrade-edge audio front end on TensorFlow Lite Micro's signal library: the microfrontend's
// sequence (window, auto-scaled int16 FFT, energy, mel filter bank, square root, spectral
// subtraction, PCAN, log) over a sliding window advanced by one hop per output vector.
#include "mgrade_frontend.h"

#include <string.h>

#include "signal/src/complex.h"
#include "signal/src/energy.h"
#include "signal/src/fft_auto_scale.h"
#include "signal/src/filter_bank.h"
#include "signal/src/filter_bank_log.h"
#include "signal/src/filter_bank_spectral_subtraction.h"
#include "signal/src/filter_bank_square_root.h"
#include "signal/src/pcan_argc_fixed.h"
#include "signal/src/rfft.h"
#include "signal/src/window.h"

namespace {

constexpr int kWindowShift = 12;  // the window has 12 fractional bits

size_t align8(size_t n) { return (n + 7u) & ~static_cast<size_t>(7u); }

struct Layout {  // byte offsets of each buffer inside the caller's memory
  size_t samples, noise, scratch16, spectrum, energy, channels, magnitudes, fft, total, state;
};

Layout layout_of(const mgrade_fe_config *c) {
  Layout l;
  size_t at = 0;
  l.channels = at;  // 8-byte members first
  at += align8(sizeof(uint64_t) * (c->num_channels + 1));
  l.samples = at;
  at += align8(sizeof(int16_t) * c->window_samples);
  l.noise = at;
  at += align8(sizeof(uint32_t) * c->num_channels);
  l.state = align8(sizeof(int16_t) * c->window_samples) + align8(sizeof(uint32_t) * c->num_channels);
  l.scratch16 = at;
  at += align8(sizeof(int16_t) * c->fft_size);
  l.spectrum = at;
  at += align8(sizeof(int16_t) * (c->fft_size + 2));
  l.energy = at;
  at += align8(sizeof(uint32_t) * (c->fft_size / 2 + 1));
  l.magnitudes = at;
  at += align8(sizeof(uint32_t) * c->num_channels);
  l.fft = at;
  at += align8(tflm_signal::RfftInt16GetNeededMemory(c->fft_size));
  l.total = at;
  return l;
}

}  // namespace

// Not inlined, so that a trace can time one hop's front end alone (board-test --cycles).
#if defined(__GNUC__)
__attribute__((noinline))
#endif
extern "C" void mgrade_fe_compute(mgrade_fe *fe, int16_t *features) {
  const mgrade_fe_config *c = fe->config;
  const int n = c->window_samples;
  tflm_signal::ApplyWindow(fe->samples, c->window, n, kWindowShift, fe->scratch16);
  memset(fe->scratch16 + n, 0, sizeof(int16_t) * (c->fft_size - n));
  const int scale_bits = tflite::tflm_signal::FftAutoScale(fe->scratch16, n, fe->scratch16);
  auto *spectrum = reinterpret_cast<Complex<int16_t> *>(fe->spectrum);
  tflm_signal::RfftInt16Apply(fe->fft, fe->scratch16, spectrum);
  tflite::tflm_signal::SpectrumToEnergy(spectrum, c->spectrum_start, c->spectrum_end, fe->energy);

  tflite::tflm_signal::FilterbankConfig bank;
  bank.num_channels = c->num_channels;
  bank.channel_frequency_starts = c->channel_frequency_starts;
  bank.channel_weight_starts = c->channel_weight_starts;
  bank.channel_widths = c->channel_widths;
  bank.weights = c->weights;
  bank.unweights = c->unweights;
  bank.output_scale = 1;
  bank.input_correction_bits = 0;
  tflite::tflm_signal::FilterbankAccumulateChannels(&bank, fe->energy, fe->channels);
  // Element 0 is the filter bank's scratch channel: the outputs are elements 1..num_channels.
  tflite::tflm_signal::FilterbankSqrt(fe->channels + 1, c->num_channels, scale_bits, fe->magnitudes);

  if (c->noise_reduction) {
    tflite::tflm_signal::SpectralSubtractionConfig ss;
    ss.num_channels = c->num_channels;
    ss.smoothing = c->smoothing;
    ss.one_minus_smoothing = c->one_minus_smoothing;
    ss.alternate_smoothing = c->alternate_smoothing;
    ss.alternate_one_minus_smoothing = c->alternate_one_minus_smoothing;
    ss.min_signal_remaining = c->min_signal_remaining;
    ss.smoothing_bits = static_cast<uint32_t>(c->smoothing_bits);
    ss.spectral_subtraction_bits = 14;
    ss.clamping = false;
    tflite::tflm_signal::FilterbankSpectralSubtraction(&ss, fe->magnitudes, fe->magnitudes, fe->noise_estimate);
    if (c->pcan) {
      tflite::tflm_signal::ApplyPcanAutoGainControlFixed(c->gain_lut, c->snr_shift, fe->noise_estimate,
                                                         fe->magnitudes, c->num_channels);
    }
  }
  tflite::tflm_signal::FilterbankLog(fe->magnitudes, c->num_channels, c->log_scale,
                                     static_cast<uint32_t>(c->log_correction_bits), features);
}

extern "C" size_t mgrade_fe_memory_bytes(const mgrade_fe_config *config) { return layout_of(config).total; }

extern "C" size_t mgrade_fe_state_bytes(const mgrade_fe_config *config) { return layout_of(config).state; }

extern "C" int mgrade_fe_init(mgrade_fe *fe, const mgrade_fe_config *config, void *memory, size_t bytes) {
  const Layout l = layout_of(config);
  if (memory == nullptr || bytes < l.total) return -1;
  auto *base = static_cast<uint8_t *>(memory);
  memset(base, 0, l.total);
  fe->config = config;
  fe->samples = reinterpret_cast<int16_t *>(base + l.samples);
  fe->filled = 0;
  fe->noise_estimate = reinterpret_cast<uint32_t *>(base + l.noise);
  fe->scratch16 = reinterpret_cast<int16_t *>(base + l.scratch16);
  fe->spectrum = reinterpret_cast<int16_t *>(base + l.spectrum);
  fe->energy = reinterpret_cast<uint32_t *>(base + l.energy);
  fe->channels = reinterpret_cast<uint64_t *>(base + l.channels);
  fe->magnitudes = reinterpret_cast<uint32_t *>(base + l.magnitudes);
  const size_t fft_bytes = tflm_signal::RfftInt16GetNeededMemory(config->fft_size);
  fe->fft = tflm_signal::RfftInt16Init(config->fft_size, base + l.fft, fft_bytes);
  return fe->fft == nullptr ? -1 : 0;
}

extern "C" int32_t mgrade_fe_feed(mgrade_fe *fe, const int16_t *samples, int32_t n, int16_t *features, int *ready) {
  const mgrade_fe_config *c = fe->config;
  *ready = 0;
  const int32_t take = n < c->window_samples - fe->filled ? n : c->window_samples - fe->filled;
  memcpy(fe->samples + fe->filled, samples, sizeof(int16_t) * take);
  fe->filled += take;
  if (fe->filled == c->window_samples) {
    mgrade_fe_compute(fe, features);
    *ready = 1;
    // Slide by one hop: the window's tail becomes the next window's head.
    const int32_t keep = c->window_samples - c->hop_samples;
    memmove(fe->samples, fe->samples + c->hop_samples, sizeof(int16_t) * keep);
    fe->filled = keep;
  }
  return take;
}
