"""One Runner per engine; `open_runner` picks the right one for an artifact directory.

Engines: torch (reference step), onnxruntime, litert (ai-edge-litert), tflm (TFLite Micro
interpreter). Each runner's constructor takes (directory, manifest) and imports its engine lazily.
Which engines run which artifact is the target registry's `Target.engines` (mgrade_edge.export).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from ..errors import UserError
from ..manifest import read_manifest
from ..targets import get_target

ENGINES = {
    "onnxruntime": "ort_runner:OrtRunner",
    "litert": "litert_runner:LiteRTRunner",
    "tflm": "tflm_runner:TFLMRunner",
    "c": "c_runner:CRunner",
}


def open_runner(directory: str | Path, engine: str | None = None, manifest: dict | None = None, **kwargs):
    """A Runner for the artifact in `directory` (engine defaults to the target's own engine). The
    export pipeline passes the manifest it is about to write; everyone else reads it from disk."""

    manifest = manifest if manifest is not None else read_manifest(directory)
    target = get_target(manifest["target"])
    engine = engine or target.engine
    if engine not in ENGINES:
        raise UserError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if engine not in target.engines:
        raise UserError(f"engine {engine} does not run {target.name} artifacts ({directory} holds "
                        f"{manifest['model_file']}); choose one of {', '.join(target.engines)}")
    module, cls = ENGINES[engine].split(":")
    runner_cls = getattr(importlib.import_module(f"{__name__}.{module}"), cls)
    return runner_cls(Path(directory), manifest, **kwargs)
