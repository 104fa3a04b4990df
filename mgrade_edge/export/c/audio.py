"""The audio path of a c bundle whose model was trained on filter-bank features: the front end
(our native/mgrade_frontend.cc, copied in, on TFLite Micro's signal library, found through TFLM_DIR
at build time) and <prefix>_audio.c/.h, which feed its features to the step once per hop.

The feature -> input conversion: float bundles take feature / 64 (the log with 6 fractional bits);
integer bundles quantise it with the step's input scale in integer arithmetic,
x = clamp((feature * M + 2^(S-1)) >> S), M / 2^S = 1 / (64 * x_scale).
"""

from __future__ import annotations

from pathlib import Path

from ...frontend.host import HostFrontend
from ...frontend.sources import HEADER, NATIVE_DIR, OUR_SOURCES, SIGNAL_SOURCES
from ...frontend.spec import LOG_SCALE_SHIFT, FrontendSpec
from ...frontend.tables import SMOOTHING_BITS, filterbank_tables
from .. import cgen
from .generator import render

MULTIPLIER_SHIFT = 20
# Front-end memory reserved per bundle: the host's requirement (the largest, pointers are 8 bytes there).
RESERVE_SLACK_BYTES = 64
LIMITS = {"int8_t": (-128, 127), "int16_t": (-32768, 32767)}


def input_multiplier(x_scale: float) -> int:
    """M of the integer conversion, M / 2^MULTIPLIER_SHIFT = 1 / (2^LOG_SCALE_SHIFT * x_scale)."""
    return int(round(2 ** MULTIPLIER_SHIFT / ((1 << LOG_SCALE_SHIFT) * x_scale)))


def conversion_code(io_type: str, x_scale: float | None) -> str:
    if io_type == "float":
        scale = cgen.c_float(1.0 / (1 << LOG_SCALE_SHIFT))
        return f"  for (i = 0; i < {{P}}_CHANNELS; ++i) x[i] = (float)f[i] * {scale};"
    lo, hi = LIMITS[io_type]
    m = input_multiplier(x_scale)
    return (f"  for (i = 0; i < {{P}}_CHANNELS; ++i) {{\n"
            f"    int64_t q = ((int64_t)f[i] * {m}LL + {1 << (MULTIPLIER_SHIFT - 1)}LL) >> {MULTIPLIER_SHIFT};\n"
            f"    x[i] = ({io_type})(q < {lo} ? {lo} : (q > {hi} ? {hi} : q));\n  }}")


def table_code(spec: FrontendSpec) -> str:
    t = filterbank_tables(spec)
    arrays = [("k_window", t.window), ("k_channel_frequency_starts", t.channel_frequency_starts),
              ("k_channel_weight_starts", t.channel_weight_starts), ("k_channel_widths", t.channel_widths),
              ("k_weights", t.weights), ("k_unweights", t.unweights), ("k_gain_lut", t.gain_lut)]
    return "".join(cgen.c_array(name, "int16_t", values, modifiers="static const") for name, values in arrays)


def audio_sources(spec: FrontendSpec, p: str, desc: str, variant: str, io_type: str, x_scale: float | None,
                  fe_memory_bytes: int) -> tuple[dict[str, str], dict]:
    """Files {name: text} and the manifest facts of the audio path."""
    t = filterbank_tables(spec)
    s = t.smoothing
    values = dict(banner=cgen.banner(desc), p=p, P=p.upper(), variant=variant, io_type=io_type, model_desc=desc)
    header = render("audio.h", **values, GUARD=cgen.header_guard(p, "audio_h"), frontend_desc=spec.describe(),
                    sample_rate=spec.sample_rate, hop_samples=spec.hop_samples, window_samples=spec.window_samples,
                    channels=spec.channels, fe_memory_bytes=fe_memory_bytes + RESERVE_SLACK_BYTES)
    convert = conversion_code(io_type, x_scale).replace("{P}", p.upper())
    source = render("audio.c", **values, tables=table_code(spec), fft_size=spec.fft_size,
                    spectrum_start=t.spectrum_start, spectrum_end=t.spectrum_end,
                    noise_reduction=int(spec.noise_reduction), smoothing=f"{s[0]}u", one_minus_smoothing=f"{s[1]}u",
                    alternate_smoothing=f"{s[2]}u", alternate_one_minus_smoothing=f"{s[3]}u",
                    min_signal_remaining=f"{s[4]}u", smoothing_bits=SMOOTHING_BITS, pcan=int(spec.pcan),
                    snr_shift=t.snr_shift, log_scale=t.log_scale, log_correction_bits=t.input_correction_bits,
                    log_bits=LOG_SCALE_SHIFT, convert=convert)
    files = {f"{p}_audio.h": header, f"{p}_audio.c": source}
    for name in (HEADER, *OUR_SOURCES):
        files[name] = (NATIVE_DIR / name).read_text()
    facts = {"frontend_sources": [f"{p}_audio.c", *OUR_SOURCES], "frontend_header": f"{p}_audio.h",
             "needs_signal_library": True, "input_multiplier": None if x_scale is None else input_multiplier(x_scale),
             "input_shift": MULTIPLIER_SHIFT}
    return files, facts


def host_fe_memory_bytes(spec: FrontendSpec) -> int:
    return HostFrontend(spec).memory_bytes



def audio_cmake(p: str) -> str:
    """The CMake block that builds mgrade::audio (templates/CMakeLists.audio.txt)."""
    text = (Path(__file__).parent / "templates" / "CMakeLists.audio.txt").read_text()
    return text.replace("@PREFIX@", p).replace("@SIGNAL_SOURCES@", " ".join(SIGNAL_SOURCES))
