"""eSpeak NG through ctypes, from the optional `espeakng-loader` wheel (library and voice data bundled).

libespeak-ng is GPL-3, so it is an optional extra (`pip install 'mgrade-edge[keywords]'`); only the
keywords task loads it, and a missing package is a one-line error naming the extra.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

from ..errors import UserError

AUDIO_OUTPUT_SYNCHRONOUS = 2
ESPEAK_RATE, ESPEAK_PITCH = 1, 3  # espeak_PARAMETER
ESPEAK_CHARS_AUTO = 0
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class EspeakMissing(UserError):
    pass


class Espeak:
    """One in-process synthesiser (the library keeps global state: create one per process)."""

    def __init__(self):
        try:
            import espeakng_loader
        except ImportError:
            raise EspeakMissing("the keywords task needs eSpeak NG: pip install 'mgrade-edge[keywords]' "
                                "(installs espeakng-loader==0.2.4, GPL-3)") from None
        self.data_path = Path(espeakng_loader.get_data_path())
        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self.lib.espeak_Initialize.restype = ctypes.c_int
        self.sample_rate = self.lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0,
                                                      str(self.data_path).encode(), 0)
        if self.sample_rate <= 0:
            raise UserError(f"eSpeak NG failed to initialise from {self.data_path}; reinstall espeakng-loader==0.2.4")
        self._chunks: list[np.ndarray] = []

        def collect(wav, n, events):
            if n > 0:
                self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
            return 0  # 0 = continue synthesis

        self._callback = _SYNTH_CALLBACK(collect)  # keep a reference: the library calls it later
        self.lib.espeak_SetSynthCallback(self._callback)
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]

    def variants(self) -> list[str]:
        return sorted(p.name for p in (self.data_path / "voices" / "!v").iterdir() if p.is_file())

    def synth(self, text: str, voice: str, rate: int, pitch: int) -> np.ndarray:
        """int16 samples at self.sample_rate (22,050 Hz) of `text` spoken by `voice` (e.g. 'en-us+m3')."""
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise UserError(f"eSpeak NG has no voice {voice!r}")
        self.lib.espeak_SetParameter(ESPEAK_RATE, int(rate), 0)
        self.lib.espeak_SetParameter(ESPEAK_PITCH, int(pitch), 0)
        self._chunks = []
        data = text.encode() + b"\0"
        self.lib.espeak_Synth(data, len(data), 0, 0, 0, ESPEAK_CHARS_AUTO, None, None)
        return np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
