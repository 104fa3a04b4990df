"""The audio front end: what turns microphone samples into the vectors one model step consumes.

Three kinds (`--features`):
- raw: one sample per step (the per-sample models), float input = sample / 32768;
- frames: K samples per step as a K-vector (K = the hop), float input = sample / 32768;
- filterbank: TensorFlow Lite Micro's audio front end (window, FFT, mel filter bank, noise reduction,
  PCAN, log) from its signal library, one log filter-bank vector per hop.

The filter bank is computed by the same C++ sources on the host (a shared library built from
`native/mgrade_frontend.cc` and TFLite Micro's `signal/src`, see host.py) and on the device (the
same files compiled into the bundle), so training features and device features are the same
integers. The tables it needs (window, filter weights, PCAN gain curve) are computed once in
tables.py and baked into both.
"""

from .spec import FEATURE_KINDS, FrontendSpec

__all__ = ["FEATURE_KINDS", "FrontendSpec"]
