"""Which files make the front end: ours, and the parts of TFLite Micro's signal library it calls."""

from __future__ import annotations

from pathlib import Path

NATIVE_DIR = Path(__file__).parent / "native"
OUR_SOURCES = ("mgrade_frontend.cc",)
HEADER = "mgrade_frontend.h"
# signal/src files, relative to the TFLite Micro tree root.
SIGNAL_SOURCES = tuple(f"signal/src/{name}" for name in (
    "window.cc", "fft_auto_scale.cc", "max_abs.cc", "msb_32.cc", "msb_64.cc", "rfft_int16.cc",
    "kiss_fft_wrappers/kiss_fft_int16.cc", "energy.cc", "filter_bank.cc", "filter_bank_square_root.cc",
    "square_root_32.cc", "square_root_64.cc", "filter_bank_spectral_subtraction.cc", "pcan_argc_fixed.cc",
    "filter_bank_log.cc", "log.cc"))


def signal_sources(tflm_root: Path) -> list[Path]:
    return [tflm_root / s for s in SIGNAL_SOURCES]


def include_dirs(tflm_root: Path) -> list[Path]:
    return [NATIVE_DIR, tflm_root, tflm_root / "third_party" / "kissfft"]


def missing_signal_sources(tflm_root: Path) -> list[str]:
    return [s for s in SIGNAL_SOURCES if not (tflm_root / s).is_file()]
