"""Import the authors' JAX fixtures and print the error of every output against theirs.

    python benchmarks/jax_import_errors.py [FIXTURES_DIR]

Default folder: <repo>/../shared/fixtures/jax-reference (or $MGRADE_JAX_FIXTURES). For each configuration:
max abs error of our per-step and sequence logits, float64 (parallel and streaming step) against the
authors' exact float64 outputs (x64_fft64) and their float64 outputs with the float32 FFT (x64), and
float32 against their float32 outputs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import torch

from mgrade_edge.importers.flax import read_param_tree
from mgrade_edge.importers.flax_map import map_authors_model, read_authors_config
from mgrade_edge.model import MGRADE
from mgrade_edge.streaming import stream_sequences, to_streaming

REPO = Path(__file__).resolve().parents[1]
DEFAULT = Path(os.environ.get("MGRADE_JAX_FIXTURES", REPO.parent / "shared" / "fixtures" / "jax-reference"))


def sequence_logits(per_step: np.ndarray, folder: Path) -> np.ndarray:
    lengths = folder / "lengths.npy"
    if lengths.is_file():  # padded dataset: mean over each valid length
        return np.stack([per_step[i, :int(n)].mean(0) for i, n in enumerate(np.load(lengths))])
    return per_step.mean(1)


def errors(folder: Path) -> list[tuple[str, str, float]]:
    mapped = map_authors_model(read_authors_config(folder / "config.json"), read_param_tree(folder / "orbax"))
    rows = []
    for dtype, refs in ((torch.float64, ("x64_fft64", "x64")), (torch.float32, ("f32",))):
        model = MGRADE(mapped.config).to(dtype)
        model.load_state_dict({k: v.to(dtype) for k, v in mapped.state_dict.items()})
        model.eval()
        u = torch.from_numpy(np.load(folder / "input.npy")).to(dtype)
        with torch.no_grad():
            forms = {"parallel": model(u).numpy(), "streaming": stream_sequences(to_streaming(model), u).numpy()}
        for ref in refs:
            for form, per_step in forms.items():
                step_err = np.abs(per_step - np.load(folder / f"out_step_logits_{ref}.npy")).max()
                expected = np.load(folder / f"out_seq_logits_{ref}.npy")
                seq_err = np.abs(sequence_logits(per_step, folder) - expected).max()
                rows.append((f"{str(dtype).removeprefix('torch.')} {form}", ref, float(step_err), float(seq_err)))
    return rows


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    print(f"{'config':<9} {'ours':<18} {'authors':<10} {'step logits':>12} {'seq logits':>12}")
    for name in ("A_small", "C_gsc", "D_extras"):
        if not (root / name).is_dir():
            print(f"{name:<9} (not found under {root})")
            continue
        for ours, ref, step_err, seq_err in errors(root / name):
            print(f"{name:<9} {ours:<18} {ref:<10} {step_err:>12.2e} {seq_err:>12.2e}")


if __name__ == "__main__":
    main()
