"""The constant tables of the filter-bank front end, computed once and baked into host and device.

They follow the arithmetic of TensorFlow's audio microfrontend (window_util, filterbank_util,
noise_reduction_util, pcan_gain_control_util): a Hann window with 12 fractional bits; a mel filter
bank of triangular filters whose weights and "unweights" (1 - weight) have 12 fractional bits, laid
out in 4-wide padded blocks; spectral-subtraction smoothing with 14 fractional bits; and the PCAN
gain curve as a piecewise quadratic look-up table of 125 entries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .spec import LOG_SCALE_SHIFT, FrontendSpec

WINDOW_BITS = 12
FILTERBANK_BITS = 12
BLOCK = 4  # filter widths are padded to multiples of 4 weights
INDEX_ALIGNMENT = 2  # and start on even spectrum bins
SPECTRAL_SUBTRACTION_BITS = 14
SMOOTHING_BITS = 10
EVEN_SMOOTHING, ODD_SMOOTHING, MIN_SIGNAL_REMAINING = 0.025, 0.06, 0.05
PCAN_STRENGTH, PCAN_OFFSET, PCAN_GAIN_BITS = 0.95, 80.0, 21
PCAN_SNR_BITS = 12  # kPcanSnrBits of signal/src/pcan_argc_fixed.h
WIDE_DYNAMIC_BITS = 32
GAIN_LUT_SIZE = 4 * WIDE_DYNAMIC_BITS - 3


@dataclass(frozen=True)
class FilterbankTables:
    window: np.ndarray  # int16 [window_samples]
    channel_frequency_starts: np.ndarray  # int16 [channels + 1]
    channel_weight_starts: np.ndarray  # int16 [channels + 1]
    channel_widths: np.ndarray  # int16 [channels + 1]
    weights: np.ndarray  # int16 [n]
    unweights: np.ndarray  # int16 [n]
    spectrum_start: int
    spectrum_end: int
    input_correction_bits: int  # MSB(fft_size) - 1 - FILTERBANK_BITS / 2
    smoothing: tuple[int, int, int, int, int]  # even, 1 - even, odd, 1 - odd, min remaining
    gain_lut: np.ndarray  # int16 [GAIN_LUT_SIZE]
    snr_shift: int
    log_scale: int


def hann_window(size: int) -> np.ndarray:
    i = np.arange(size, dtype=np.float64)
    w = 0.5 - 0.5 * np.cos(2 * np.pi / size * (i + 0.5))
    return np.floor(w * (1 << WINDOW_BITS) + 0.5).astype(np.int16)


def mel(hz):
    return 1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0)


def filterbank_layout(spec: FrontendSpec) -> dict:
    """Channel starts, widths and quantised weights (channels + 1 filters: element 0 is scratch)."""
    n = spec.channels + 1
    spectrum_size = spec.fft_size // 2 + 1
    mel_low, mel_high = float(mel(spec.lower_hz)), float(mel(spec.band_top))
    centers = mel_low + (mel_high - mel_low) / n * np.arange(1, n + 1)
    hz_per_bin = 0.5 * spec.sample_rate / (spectrum_size - 1)
    start_index = int(1.5 + spec.lower_hz / hz_per_bin)
    freq_starts, weight_starts, widths = np.zeros(n, np.int16), np.zeros(n, np.int16), np.zeros(n, np.int16)
    actual_starts, actual_widths = [], []
    chan_start, weight_index, zeros_added = start_index, 0, False
    for c in range(n):
        f = chan_start
        while mel(f * hz_per_bin) <= centers[c]:
            f += 1
        width = f - chan_start
        actual_starts.append(chan_start)
        actual_widths.append(width)
        if width == 0:  # an empty filter points at a block of zero weights placed first
            freq_starts[c], weight_starts[c], widths[c] = 0, 0, BLOCK
            if not zeros_added:
                zeros_added = True
                weight_starts[:c] += BLOCK
                weight_index += BLOCK
        else:
            aligned = chan_start // INDEX_ALIGNMENT * INDEX_ALIGNMENT
            padded = ((chan_start - aligned + width - 1) // BLOCK + 1) * BLOCK
            freq_starts[c], weight_starts[c], widths[c] = aligned, weight_index, padded
            weight_index += padded
        chan_start = f
    weights, unweights = np.zeros(weight_index, np.int16), np.zeros(weight_index, np.int16)
    end_index = 0
    for c in range(n):
        below = mel_low if c == 0 else centers[c - 1]
        for j in range(actual_widths[c]):
            f = actual_starts[c] + j
            w = (centers[c] - mel(f * hz_per_bin)) / (centers[c] - below)
            k = weight_starts[c] + actual_starts[c] - freq_starts[c] + j
            weights[k] = math.floor(w * (1 << FILTERBANK_BITS) + 0.5)
            unweights[k] = math.floor((1.0 - w) * (1 << FILTERBANK_BITS) + 0.5)
        end_index = max(end_index, actual_starts[c] + actual_widths[c])
    if end_index >= spectrum_size or int(freq_starts.max()) + int(widths.max()) > spectrum_size:
        raise ValueError(f"filter bank reaches bin {end_index}, beyond the {spectrum_size}-bin spectrum")
    return dict(channel_frequency_starts=freq_starts, channel_weight_starts=weight_starts, channel_widths=widths,
                weights=weights, unweights=unweights, spectrum_start=start_index, spectrum_end=end_index)


def pcan_gain(x: int, input_bits: int) -> int:
    g = (1 << PCAN_GAIN_BITS) * (x / (1 << input_bits) + PCAN_OFFSET) ** -PCAN_STRENGTH
    return 32767 if g > 32767 else int(g + 0.5)


def pcan_gain_lut(input_bits: int) -> np.ndarray:
    """The piecewise quadratic gain table that signal/src WideDynamicFunction reads."""
    lut = np.zeros(GAIN_LUT_SIZE, np.int64)
    lut[0], lut[1] = pcan_gain(0, input_bits), pcan_gain(1, input_bits)
    for interval in range(2, WIDE_DYNAMIC_BITS + 1):
        x0 = 1 << (interval - 1)
        x1 = x0 + (x0 >> 1)
        x2 = x0 + (x0 - 1) if interval == WIDE_DYNAMIC_BITS else 2 * x0
        y0, y1, y2 = (pcan_gain(x, input_bits) for x in (x0, x1, x2))
        a1 = 4 * (y1 - y0) - (y2 - y0)
        a2 = (y2 - y0) - a1
        base = 4 * interval - 6
        lut[base:base + 3] = y0, a1, a2
    return lut.astype(np.int16)


def filterbank_tables(spec: FrontendSpec) -> FilterbankTables:
    layout = filterbank_layout(spec)
    correction = (spec.fft_size.bit_length()) - 1 - FILTERBANK_BITS // 2
    one = 1 << SPECTRAL_SUBTRACTION_BITS
    even, odd = int(EVEN_SMOOTHING * one), int(ODD_SMOOTHING * one)
    smoothing = (even, one - even, odd, one - odd, int(MIN_SIGNAL_REMAINING * one))
    return FilterbankTables(window=hann_window(spec.window_samples), **layout, input_correction_bits=correction,
                            smoothing=smoothing, gain_lut=pcan_gain_lut(SMOOTHING_BITS - correction),
                            snr_shift=PCAN_GAIN_BITS - correction - PCAN_SNR_BITS,
                            log_scale=1 << LOG_SCALE_SHIFT)
