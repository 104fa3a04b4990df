"""The c target: generated C99 streamed for thousands of steps against the torch step, warning-clean
builds with gcc and arm-none-eabi-gcc, golden program, ring trimming, byte-identical re-export."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
import torch

from mgrade_edge.errors import ExportError
from mgrade_edge.export.c.generator import trimmed_rows
from mgrade_edge.manifest import read_manifest
from mgrade_edge.runtime import open_runner
from mgrade_edge.runtime.base import run_stream
from mgrade_edge.runtime.torch_runner import TorchRunner
from mgrade_edge.streaming import to_streaming
from tests.helpers import NAMED_CONFIGS, make_model, random_sequences

STRICT = ("-Wall", "-Wextra", "-Werror", "-std=c99", "-pedantic", "-O2")
STEPS = 2000


def _supported(name: str) -> bool:
    from mgrade_edge.export.c.generator import check_supported

    try:
        check_supported(NAMED_CONFIGS[name])
        return True
    except ExportError:
        return False


SUPPORTED = [n for n in sorted(NAMED_CONFIGS) if _supported(n)]


def test_unsupported_variants_are_refused_in_one_line(tmp_path):
    from mgrade_edge.export.artifact import ExportOptions
    from mgrade_edge.export.c.export import export_c

    unsupported = [n for n in sorted(NAMED_CONFIGS) if not _supported(n)]
    if not unsupported:
        pytest.skip("every named config is supported")
    with pytest.raises(ExportError, match="target c does not implement"):
        export_c(to_streaming(make_model(unsupported[0])), ExportOptions("c-float32", "internal", None, "m"), tmp_path)


@pytest.mark.parametrize("name", SUPPORTED)
def test_float_c_streams_like_the_torch_step(c_bundle, name):
    out = c_bundle(name)
    stream = random_sequences(NAMED_CONFIGS[name], 1, STEPS, seed=3)[0]
    ref = run_stream(TorchRunner(to_streaming(make_model(name))), stream)
    got = run_stream(open_runner(out), stream)
    err = np.abs(got - ref).max(axis=1)
    assert err.max() <= 1e-4, f"first step over 1e-4: {int(np.argmax(err > 1e-4))}"


def test_rings_are_trimmed_to_the_last_nonzero_lag_exactly(tmp_path):
    """odd with every kernel zero beyond lag 5 (layer 0, one channel reaching it) and lag 0 (layer 1)."""
    from mgrade_edge.export.artifact import ExportOptions
    from mgrade_edge.export.c.export import export_c
    from mgrade_edge.runtime.c_runner import CRunner

    step = to_streaming(make_model("odd"))
    gamma = step.cfg.kernel_size
    with torch.no_grad():
        step.layers[0].kernel[: gamma - 1 - 5] = 0.0
        step.layers[0].kernel[gamma - 1 - 5, 1:] = 0.0
        step.layers[0].kernel[gamma - 1 - 5, 3] = 0.7
        step.layers[1].kernel[: gamma - 1] = 0.0
    result = export_c(step, ExportOptions("c-float32", "internal", None, "odd"), tmp_path)
    facts = result.details["c"]
    assert facts["rows"] == [5, 0, 36]
    assert facts["ring_values"] == (5 + 0 + 36) * 13
    runner = CRunner(tmp_path, {"details": result.details, "tensors": [t.to_dict() for t in result.tensors]})
    stream = random_sequences(NAMED_CONFIGS["odd"], 1, 2000, seed=4)[0]
    ref = run_stream(TorchRunner(step), stream)
    assert np.abs(run_stream(runner, stream) - ref).max() <= 1e-4


@pytest.mark.parametrize("name", ["odd", "all_options"])
def test_reported_state_bytes_are_the_structs_size(c_bundle, name):
    out = c_bundle(name)
    assert read_manifest(out)["details"]["c"]["state_bytes"] == open_runner(out).state_bytes


def test_trimmed_rows_counts_lags_not_rows():
    kernel = np.zeros((6, 2))
    kernel[5] = 1.0  # lag 0 only
    assert trimmed_rows(kernel) == 0
    kernel[1, 1] = 0.5  # lag 4 in channel 1
    assert trimmed_rows(kernel) == 4


@pytest.mark.parametrize("cc, flags", [("gcc", ()), ("arm-none-eabi-gcc", ("-mcpu=cortex-m4", "-mthumb",
                                                                         "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"))])
@pytest.mark.parametrize("name", ["odd", "all_options"])
def test_sources_compile_warning_free(c_bundle, tmp_path, cc, flags, name):
    if shutil.which(cc) is None:
        pytest.skip(f"{cc} not installed")
    out = c_bundle(name)
    for src in ("mgrade_" + name + ".c", "main.c"):
        proc = subprocess.run([cc, *STRICT, *flags, "-c", str(out / src), "-o", str(tmp_path / (src + ".o"))],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr


def test_golden_program_passes_and_reruns_identically(c_bundle, tmp_path):
    out = c_bundle("all_options")
    exe = tmp_path / "golden"
    subprocess.run(["gcc", *STRICT, str(out / "main.c"), str(out / "mgrade_all_options.c"), "-lm", "-o", str(exe)],
                   check=True)
    proc = subprocess.run([str(exe)], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("PASS") and "rerun identical" in proc.stdout, proc.stdout


def test_reexport_is_byte_identical(c_bundle, tmp_path):
    first = c_bundle("tiny")
    from mgrade_edge.pipeline import export_checkpoint

    ckpt = first.parent / "tiny.pt"
    export_checkpoint(ckpt, "c-float32", tmp_path / "again", validate=False)
    for f in ("mgrade_tiny.c", "mgrade_tiny.h", "main.c", "README.md"):
        assert (first / f).read_bytes() == (tmp_path / "again" / f).read_bytes(), f


def test_external_state_is_refused(c_bundle, tmp_path):
    from mgrade_edge.pipeline import export_checkpoint

    with pytest.raises(ExportError, match="internal"):
        export_checkpoint(c_bundle("tiny").parent / "tiny.pt", "c-float32", tmp_path / "x",
                          state="external", validate=False)
    assert not (tmp_path / "x").exists()
