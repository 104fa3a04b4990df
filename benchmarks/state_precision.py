"""Which step input's rounding costs a quantised export its accuracy, found before any export.

    PYTHONPATH=. python benchmarks/state_precision.py examples/keywords.pt [--clips 256] [--bits 8,16]

Streams the float32 step over the first N test sequences (one batched call per timestep) while
rounding one step input (x, a delay line or an h) to a uniform grid of 2^bits levels over its
calibrated range (the export's default calibration, `quantize.calibration_set`), before every step:
the values an int8 or int16 tensor of that range can hold. Everything else stays float, so each row
isolates one tensor; "all" rounds every input. Prints accuracy and top-1 agreement with the float step.

Why: an int8 h cannot follow a slow minGRU. With time constants of hundreds of steps, h moves by a
small fraction of one int8 step per timestep, so each update rounds away, and the state stops
following its input. The study first prints, for each h, the fraction of its changes over the
calibration below half an int8 step (keywords: 89.8 % and 93.3 %; digits 25.2 % and 50.7 %), then
the accuracy table, which names the tensor that needs the wider type.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def grid_step(lo: float, hi: float, bits: int) -> float:
    """The step of 2^bits levels spanning [min(lo, 0), max(hi, 0)]."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    return (hi - lo) / (2**bits - 1) if hi > lo else 1.0


def round_to_grid(values: torch.Tensor, lo: float, hi: float, bits: int) -> torch.Tensor:
    """`values` on 2^bits levels spanning [min(lo, 0), max(hi, 0)] with 0 on the grid (as TFLite's
    asymmetric quantisation places them), saturated at both ends. A model of the grid a converter
    would choose, for any bit width; qio.QParams stores values on the grid an export did choose."""
    levels = 2**bits - 1
    scale = grid_step(lo, hi, bits)
    zero = round(-min(lo, 0.0) / scale)
    q = torch.clamp(torch.round(values / scale) + zero, 0, levels)
    return (q - zero) * scale


@torch.no_grad()
def stream_readouts(step, sequences: np.ndarray, rounded: dict[str, tuple[float, float, int]],
                    readout: str) -> np.ndarray:
    """Sequence logits [N, C] of the float step, rounding the named step inputs (name -> lo, hi, bits)."""
    names = step.signature.input_names
    seqs = torch.as_tensor(sequences, dtype=torch.float32)
    state = step.initial_state(len(seqs), torch.float32)
    total, last = None, None
    for t in range(seqs.shape[1]):
        inputs = [seqs[:, t], *state]
        inputs = [round_to_grid(v, *rounded[n]) if n in rounded else v for n, v in zip(names, inputs)]
        last, *state = step(*inputs)
        total = last.double() if total is None else total + last.double()
    return (total / seqs.shape[1] if readout == "mean" else last.double()).numpy()


def small_updates(calibration, ranges: dict, bits: int = 8) -> dict[str, dict]:
    """For each h over the calibration streams: the fraction of its per-step changes (nonzero ones,
    per channel) smaller than half a step of the `bits` grid, which rounding to that grid loses, and
    the median change in grid steps."""
    hs = [n for n in calibration.input_names if n.startswith("h_")]
    changes = {n: [] for n in hs}
    samples = calibration.samples()
    for stream in calibration.streams:
        previous = next(samples)
        for _ in range(len(stream) - 1):
            sample = next(samples)
            for n in hs:
                changes[n].append(np.abs(sample[n] - previous[n]).ravel() / grid_step(*ranges[n], bits))
            previous = sample
    out = {}
    for n in hs:
        moved = np.concatenate(changes[n])
        moved = moved[moved > 0]
        out[n] = {"below_half_step": float(np.mean(moved < 0.5)), "median_steps": float(np.median(moved))}
    return out


def study(checkpoint: str, clips: int, bits: tuple[int, ...], log=print) -> list[dict]:
    from mgrade_edge.checkpoint import load_checkpoint
    from mgrade_edge.data import require_task_data
    from mgrade_edge.quantize import calibration_set
    from mgrade_edge.streaming import to_streaming

    ckpt = load_checkpoint(checkpoint)
    step = to_streaming(ckpt.model).eval()
    data = require_task_data(ckpt, "study", "train it with `mgrade-edge train`")
    if data.kind != "sequence":
        raise SystemExit(f"{checkpoint}: a sequence classification task is needed, not {data.kind}")
    calibration = calibration_set(step, data.train_x)
    ranges = calibration.ranges()
    for n, u in small_updates(calibration, ranges).items():
        log(f"  {n} over the calibration: {u['below_half_step']:.1%} of its changes below half an int8 step "
            f"(median change {u['median_steps']:.3g} steps; range [{ranges[n][0]:.3g}, {ranges[n][1]:.3g}])")
    x, y = data.test_x[:clips], data.test_y[:clips]
    names = step.signature.input_names
    cases = [("float", {})]
    for b in bits:
        cases.append((f"all int{b}", {n: (*ranges[n], b) for n in names}))
        cases += [(f"{n} int{b}", {n: (*ranges[n], b)}) for n in names]
    rows, reference = [], None
    for label, rounded in cases:
        start = time.perf_counter()
        decisions = stream_readouts(step, x, rounded, ckpt.config.readout).argmax(-1)
        reference = decisions if reference is None else reference
        rows.append({"case": label, "accuracy": float((decisions == y).mean()),
                     "agreement": float((decisions == reference).mean())})
        log(f"  {label}: accuracy {rows[-1]['accuracy']:.2%} ({time.perf_counter() - start:.0f} s)")
    return rows


def table(rows: list[dict], clips: int) -> str:
    lines = [f"Float step with one input rounded, {clips} test sequences", "",
             "| rounded | accuracy | agreement with float |", "|---|---|---|"]
    lines += [f"| {r['case']} | {r['accuracy']:.2%} | {r['agreement']:.2%} |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--clips", type=int, default=256)
    parser.add_argument("--bits", default="8,16")
    args = parser.parse_args()
    torch.set_num_threads(1)
    bits = tuple(int(b) for b in args.bits.split(","))
    print(table(study(args.checkpoint, args.clips, bits), args.clips))


if __name__ == "__main__":
    main()
