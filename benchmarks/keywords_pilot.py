"""Does a small mGRADE learn the synthesised keywords from raw 8 kHz audio at all? A short pilot run.

    PYTHONPATH=. python benchmarks/keywords_pilot.py [--d 32] [--layers 2] [--gamma 64] [--taps 8]
        [--lr 3e-3] [--batch 16] [--steps 400] [--threads 1] [--no-ln]
        [--chrono TAU_MAX] [--gain G] [--decoder-lr-factor F]

Trains on the keywords training split (8,000 clips, voice split, seed 0; generated into the cache on
the first run) with AdamW and gradient clipping as `train` does, but without its schedule, samples
batches with replacement and prints the smoothed loss and batch accuracy every 20 optimiser steps,
then the accuracy on the 350 validation clips (held-out voices). Chance is ln 35 = 3.555 and 1/35 =
2.86 %. It answers whether the loss moves within a budget of optimiser steps before an hour-long run
of `make keywords-example` is spent on a recipe.

Initialisation and optimiser variants that were tried (none left chance within the few hundred
steps of a pilot; `make keywords-example`, with --init-chrono 1000 and --init-encoder-gain 10, did
within its first epoch of 500 steps): --chrono is train's --init-chrono (mgrade_edge.train.initialise:
z-gate time constants log-uniform in [1, TAU_MAX] steps); --gain multiplies the audio (the same as scaling the
encoder's initial weights: raw clips have an RMS near 0.07); --decoder-lr-factor gives the decoder
a larger learning rate.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d", type=int, default=32)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--gamma", type=int, default=64)
    parser.add_argument("--taps", type=int, default=8)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-ln", action="store_true", help="without conv_ln and rec_ln")
    parser.add_argument("--chrono", type=float, default=0.0, metavar="TAU_MAX",
                        help="z-gate biases for time constants log-uniform in [1, TAU_MAX] steps")
    parser.add_argument("--gain", type=float, default=1.0, help="multiply the audio by this")
    parser.add_argument("--decoder-lr-factor", type=float, default=1.0)
    args = parser.parse_args(argv)

    import torch
    import torch.nn.functional as F

    from mgrade_edge.config import MGRADEConfig
    from mgrade_edge.model import MGRADE
    from mgrade_edge.tasks.keywords import KeywordsSpec, load_keywords
    from mgrade_edge.train import initialise

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    data = load_keywords(KeywordsSpec(train_clips=8000, val_clips=350, test_clips=1050))
    x, y = torch.from_numpy(data["train_x"]), torch.from_numpy(data["train_y"]).long()
    vx, vy = torch.from_numpy(data["val_x"]), torch.from_numpy(data["val_y"]).long()
    x, vx = (t.unsqueeze(-1) if t.ndim == 2 else t for t in (x, vx))
    ln = not args.no_ln
    cfg = MGRADEConfig(d_in=1, d_model=args.d, n_layers=args.layers, kernel_size=args.gamma, n_taps=args.taps,
                       n_classes=35, conv_ln=ln, rec_ln=ln)
    model = MGRADE(cfg)
    initialise(model, chrono_tau_max=args.chrono)  # train's --init-chrono
    x, vx = x * args.gain, vx * args.gain
    decoder = list(model.decoder.parameters())
    others = [p for p in model.parameters() if all(p is not q for q in decoder)]
    optimizer = torch.optim.AdamW([{"params": others, "lr": args.lr},
                                   {"params": decoder, "lr": args.lr * args.decoder_lr_factor}], weight_decay=0.01)
    rng = np.random.default_rng(0)
    start, loss_avg, acc_avg = time.perf_counter(), None, 0.0
    print(f"T = {x.shape[1]:,}, {len(x):,} training clips, d={args.d} L={args.layers} Γ={args.gamma} "
          f"M={args.taps} lr={args.lr} batch={args.batch} LN={'on' if ln else 'off'} chrono={args.chrono} "
          f"gain={args.gain} decoder lr x{args.decoder_lr_factor}", flush=True)
    for step in range(args.steps):
        idx = torch.from_numpy(rng.integers(0, len(x), args.batch))
        logits = model.readout(model(x[idx]))
        loss = F.cross_entropy(logits, y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        model.clamp_positions()
        loss_avg = loss.item() if loss_avg is None else 0.9 * loss_avg + 0.1 * loss.item()
        acc_avg = 0.9 * acc_avg + 0.1 * (logits.argmax(1) == y[idx]).float().mean().item()
        if step % 20 == 0 or step == args.steps - 1:
            print(f"step {step:4d}  loss {loss_avg:.3f}  batch accuracy {acc_avg:.3f}  "
                  f"{time.perf_counter() - start:6.0f} s", flush=True)
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model.readout(model(vx[i:i + 64])).argmax(1) for i in range(0, len(vx), 64)])
    print(f"validation accuracy {(pred == vy).float().mean().item():.4f} (held-out voices), "
          f"{time.perf_counter() - start:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
