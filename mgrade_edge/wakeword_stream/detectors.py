"""One wakeword score per hop over a whole stream, run statefully from a fresh start (no resets).

- a checkpoint: its streaming step (the float model in the form the device runs), in torch;
- a c bundle: its C step compiled for the host (the same integers as the board), fed the host front
  end's features;
- MLPerf Tiny's `str_ww_ref_model.tflite`: its own front end settings (40 channels, 64 ms window,
  32 ms hop), a window of its last WINDOW_FRAMES frames classified every hop by LiteRT.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..frontend.host import HostFrontend
from ..frontend.spec import FrontendSpec
from ..runtime import open_runner
from ..runtime.c_audio import AudioRunner
from ..tasks import frontend_spec
from ..tasks.features import stream_features

# MLPerf's reference: 30 frames of 40 channels; the model's input quantisation (scale 0.0037, zero
# point -128) spans [0, 0.94], which the microfrontend's log output (6 fractional bits, about 0-960
# on speech) reaches when divided by 1024: that is the scaling used here.
MLPERF_FRONTEND = FrontendSpec("filterbank", 16000, window_ms=64.0, hop_ms=32.0, channels=40)
MLPERF_WINDOW_FRAMES = 30
MLPERF_FEATURE_SCALE = 1.0 / 1024
MLPERF_WAKEWORD = "marvin"


@dataclass
class HopScores:
    name: str
    frontend: FrontendSpec
    scores: np.ndarray  # [T] wakeword probability per hop
    times_s: np.ndarray  # [T] when each hop's window ends

    @classmethod
    def of(cls, name: str, frontend: FrontendSpec, scores: np.ndarray) -> HopScores:
        t = (frontend.window_samples + frontend.hop_samples * np.arange(len(scores))) / frontend.sample_rate
        return cls(name, frontend, np.asarray(scores, np.float64), t)


def softmax_first(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e[..., 0] / e.sum(axis=-1)


def _features(audio: np.ndarray, frontend: FrontendSpec) -> np.ndarray:
    return stream_features(audio, frontend)


def checkpoint_scores(path: Path, audio: np.ndarray) -> HopScores:
    import torch

    from ..checkpoint import load_checkpoint
    from ..streaming import stream_sequences, to_streaming
    ckpt = load_checkpoint(path)
    front = require_wakeword_frontend(ckpt.metadata.get("task"), frontend_spec(ckpt.metadata.get("task"),
                                                                              ckpt.metadata.get("task_options")), path)
    x = torch.from_numpy(_features(audio, front))[None]
    logits = stream_sequences(to_streaming(ckpt.model), x)[0].numpy()
    return HopScores.of(f"{Path(path).name} (float, torch)", front, softmax_first(logits))


def bundle_scores(directory: Path, manifest: dict, audio: np.ndarray) -> HopScores:
    """A c bundle with an audio path runs it whole (its front end, conversion and step: the board's
    code); other bundles get the host front end's features step by step."""
    if "frontend" not in manifest:
        raise UserError(f"{directory} records no front end: export a wakeword checkpoint again with this version")
    front = FrontendSpec.from_dict(manifest["frontend"])
    if "audio" in (manifest["details"].get("c") or {}):
        logits = AudioRunner(directory, manifest).push(audio)
        return HopScores.of(f"{Path(directory).name} ({manifest['target']} audio path, C on the host)", front,
                            softmax_first(logits))
    runner = open_runner(directory, manifest=manifest)
    runner.reset()
    logits = np.stack([runner.step(x) for x in _features(audio, front)])
    return HopScores.of(f"{Path(directory).name} ({manifest['target']}, {runner.name} engine on the host)", front,
                        softmax_first(logits))


def mlperf_scores(tflite: Path, audio: np.ndarray) -> HopScores:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(str(tflite))
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    if list(inp["shape"]) != [1, MLPERF_WINDOW_FRAMES, 1, MLPERF_FRONTEND.channels]:
        raise UserError(f"{tflite} takes {list(inp['shape'])}, not MLPerf's streaming wakeword input [1, 30, 1, 40]")
    (s_in, z_in), (s_out, z_out) = inp["quantization"], out["quantization"]
    frames = HostFrontend(MLPERF_FRONTEND).push(audio).astype(np.float64) * MLPERF_FEATURE_SCALE
    q = np.clip(np.round(frames / s_in) + z_in, -128, 127).astype(np.int8)
    scores = np.zeros(len(q))
    for t in range(MLPERF_WINDOW_FRAMES - 1, len(q)):
        interpreter.set_tensor(inp["index"], q[t - MLPERF_WINDOW_FRAMES + 1:t + 1].reshape(inp["shape"]))
        interpreter.invoke()
        scores[t] = (interpreter.get_tensor(out["index"]).astype(np.float64)[0, 0] - z_out) * s_out
    return HopScores.of(f"{Path(tflite).name} (MLPerf reference, LiteRT)", MLPERF_FRONTEND, scores)


def require_wakeword_frontend(task, front, path) -> FrontendSpec:
    if task != "wakeword" or front is None:
        raise UserError(f"{path} was trained on task {task!r}, not wakeword: evaluate-stream scores wakeword "
                        "detectors (train one with `mgrade-edge train --task wakeword`)")
    return front
