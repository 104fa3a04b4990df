"""evaluate-stream: which detectors a list of paths names, one stream for all of them, the report."""

from __future__ import annotations

from pathlib import Path

from ..atomic import atomic_write
from ..errors import UserError
from ..manifest import read_manifest
from .detectors import MLPERF_WAKEWORD, bundle_scores, checkpoint_scores, mlperf_scores
from .report import evaluate, plot_report
from .stream import StreamSpec, load_stream


def detector_kind(path: Path) -> str:
    if path.is_dir():
        if not (path / "manifest.json").is_file():
            raise UserError(f"{path} is a directory without manifest.json; pass a checkpoint (.pt), an exported "
                            "bundle or a .tflite")
        return "bundle"
    if not path.is_file():
        raise UserError(f"{path} does not exist; pass a checkpoint (.pt), an exported bundle or a .tflite")
    return "tflite" if path.suffix == ".tflite" else "checkpoint"


def stream_wakeword(paths: list[Path], requested: str | None) -> tuple[str, int]:
    """The wakeword and voice-split seed the stream must use: the checkpoints' own, else the option's."""
    from ..checkpoint import load_checkpoint

    word, seed = requested, 0
    for p in paths:
        if detector_kind(p) != "checkpoint":
            continue
        meta = load_checkpoint(p).metadata
        own = (meta.get("task_options") or {}).get("wakeword", "marvin")
        if word is not None and own != word:
            raise UserError(f"{p} spots {own!r}, not {word!r}: score detectors of one wakeword together")
        word, seed = own, int(meta.get("seed", 0))
    return word or MLPERF_WAKEWORD, seed


def run_evaluate_stream(paths: list[Path], minutes: float, wakewords: int, seed: int, threshold: float,
                        wakeword: str | None, plot: Path | None, plot_seconds: float,
                        smooth_ms: float = 0.0) -> tuple[dict, object, list]:
    if not 0.0 < threshold < 1.0:
        raise UserError(f"--threshold {threshold} must lie in (0, 1): it is a probability")
    word, voice_seed = stream_wakeword(paths, wakeword)
    stream = load_stream(StreamSpec(wakeword=word, minutes=minutes, wakewords=wakewords, seed=seed,
                                    voice_seed=voice_seed))
    detectors = []
    for p in paths:
        kind = detector_kind(p)
        if kind == "checkpoint":
            detectors.append(checkpoint_scores(p, stream.audio))
        elif kind == "bundle":
            detectors.append(bundle_scores(p, read_manifest(p), stream.audio))
        else:
            if word != MLPERF_WAKEWORD:
                raise UserError(f"{p} (MLPerf's reference) spots 'marvin', the stream holds {word!r}")
            detectors.append(mlperf_scores(p, stream.audio))
    if not 0.0 <= smooth_ms <= 2000.0:
        raise UserError(f"--smooth-ms {smooth_ms} must be in [0, 2000]")
    report = evaluate(stream, detectors, threshold, smooth_ms)
    if plot is not None:
        atomic_write(plot, lambda tmp: plot_report(report, stream, detectors, tmp, plot_seconds))
    return report, stream, detectors
