"""Training loop (spec section 6 recipe): AdamW, positions at 5x the learning rate, warm-up + cosine
decay, gradient clipping, positions clamped after every optimiser step, per-epoch validation."""

from __future__ import annotations

import contextlib
import math
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from .config import MGRADEConfig
from .data import IGNORE, TaskData
from .distributed import SINGLE, Distributed
from .errors import UserError
from .jsonutil import json_safe
from .metrics import headline, task_metrics
from .model import MGRADE, count_parameters

POSITION_LR_FACTOR = 5.0
WARMUP_FRACTION = 0.05
GRAD_CLIP = 1.0


@dataclass(frozen=True)
class TrainOptions:
    epochs: int = 40
    lr: float = 3e-3
    batch_size: int = 32
    weight_decay: float = 0.01
    seed: int = 0
    progress: bool = True
    # Initialisation variants for long raw-audio sequences (0 = the model's own initialisation).
    chrono_tau_max: float = 0.0
    encoder_gain: float = 1.0
    checkpoint_every: int = 0  # epochs between resumable training states (0: only when interrupted)
    patience: int = 0  # stop after this many epochs without a better validation score, keep the best (0: off)
    device: str = "cpu"  # where training runs (resolve_device); the checkpoint is always written from the CPU
    precision: str = "fp32"  # fp32 | bf16: torch.autocast around the forward pass (the scan stays float32)

    def identity(self) -> dict:
        """What a resumed run must share with the run it continues (everything but progress, cadence and
        where it runs)."""
        return {k: v for k, v in asdict(self).items() if k not in ("progress", "checkpoint_every", "device")}


DEVICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(name: str) -> str:
    """auto: CUDA when present, else Apple's MPS, else the CPU; an explicit device must exist."""
    cuda, mps = torch.cuda.is_available(), torch.backends.mps.is_available()
    if name == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if name not in DEVICES:
        raise UserError(f"--device {name!r}: choose one of {', '.join(DEVICES)}")
    if (name == "cuda" and not cuda) or (name == "mps" and not mps):
        raise UserError(f"--device {name}: torch sees no {name.upper()} device here; use --device cpu or auto")
    return name


TRAIN_STATE_FORMAT = "mgrade-edge-train-state"


class Interrupted(BaseException):
    """Training stopped at a step boundary by SIGINT/SIGTERM/SIGHUP after its state was saved."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def deferred_interrupts():
    """SIGINT, SIGTERM and SIGHUP only set a flag while training runs, so the loop stops between two optimiser
    steps (where the state is consistent) instead of inside one. Yields a list holding the signal number."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {s: signal.signal(s, lambda signum, frame: received.append(signum)) for s in signals}
    try:
        yield received
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def initialise(model: MGRADE, chrono_tau_max: float = 0.0, encoder_gain: float = 1.0) -> None:
    """Optional initialisations, applied in place before training.

    chrono_tau_max > 1: every minGRU's z-gate bias is set so that at zero input its time constants are
    log-uniform in [1, chrono_tau_max] steps (sigmoid(b) = 1/tau, so b = -log(tau - 1)); a model that
    must integrate over thousands of raw-audio samples otherwise starts with time constants near 2.
    encoder_gain: multiplies the encoder's initial weights, the same as scaling the input at the start
    (raw clips have an RMS near 0.07, so the gates' quadratic, energy-like term starts tiny).
    """
    d = model.cfg.d_model
    with torch.no_grad():
        model.encoder.weight.mul_(encoder_gain)
        if chrono_tau_max > 1.0:
            for layer in model.layers:
                log_tau = torch.empty(d).uniform_(0.0, math.log(chrono_tau_max))
                tau = torch.exp(log_tau).clamp(min=1.01)
                layer.gru.to_gates.bias[:d] = -torch.log(tau - 1.0)  # rows [:d] of to_gates are the z gate


def task_loss(kind: str, model: MGRADE, per_step: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if kind == "sequence":
        return F.cross_entropy(model.readout(per_step), y)
    if kind == "step_class":
        return F.cross_entropy(per_step.flatten(0, 1), y.flatten(), ignore_index=IGNORE)
    return F.mse_loss(per_step, y)


@torch.no_grad()
def predict(model: MGRADE, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Per-step outputs [N, T, C] of the parallel model (on the model's device)."""
    model.eval()
    device = next(model.parameters()).device
    outs = [model(torch.from_numpy(x[i:i + batch_size]).to(device)).cpu().numpy()
            for i in range(0, len(x), batch_size)]
    return np.concatenate(outs)


def loss_terms(kind: str, y: torch.Tensor) -> float:
    """How many terms task_loss averages over for targets y: sequences, scored steps, or values."""
    if kind == "sequence":
        return float(len(y))
    if kind == "step_class":
        return float((y != IGNORE).sum().item())
    return float(y.numel())


def evaluate(model: MGRADE, kind: str, x: np.ndarray, y: np.ndarray) -> dict:
    return task_metrics(kind, predict(model, x), y, model.cfg.readout)


def _lr_lambda(total_steps: int):
    warmup = max(1, int(WARMUP_FRACTION * total_steps))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total_steps - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


def train_model(task: TaskData, cfg: MGRADEConfig, opts: TrainOptions, resume: dict | None = None,
                save_state: Callable[[dict], None] | None = None,
                on_epoch: Callable[[dict], None] | None = None,
                dist: Distributed = SINGLE) -> tuple[MGRADE, dict]:
    """Train on task.train, select nothing on test; returns the model and checkpoint metadata.

    `save_state(state)` receives a resumable training state (model, optimiser, scheduler, position in the
    epoch, RNG states, history) every `opts.checkpoint_every` epochs and when a signal stops the run between
    two steps (then Interrupted is raised); `resume` is such a state: the run continues where it stopped and
    ends with the same weights as an uninterrupted one (CPU). `on_epoch(row)`: after every epoch, its loss,
    validation metrics, learning rate, seconds and samples per second (the metrics log). With
    `opts.patience`, training stops after that many epochs without a better validation score and the
    model returned is the best epoch's. `dist`: one process of a torchrun group (distributed.py): it trains
    its share of every batch through DistributedDataParallel; only the writer saves states and reports."""
    torch.manual_seed(opts.seed)
    rng = np.random.default_rng(opts.seed)
    model = MGRADE(cfg)
    initialise(model, opts.chrono_tau_max, opts.encoder_gain)
    model.to(opts.device)  # after the CPU initialisation: the same initial weights on every device
    positions = model.delay_parameters()
    position_ids = {id(p) for p in positions}
    others = [p for p in model.parameters() if id(p) not in position_ids]
    optimizer = torch.optim.AdamW([
        {"params": others, "lr": opts.lr, "weight_decay": opts.weight_decay},
        {"params": positions, "lr": opts.lr * POSITION_LR_FACTOR, "weight_decay": 0.0},
    ])
    n = len(task.train_x)
    steps_per_epoch = math.ceil(n / opts.batch_size)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(opts.epochs * steps_per_epoch))
    train_x, train_y = torch.from_numpy(task.train_x).to(opts.device), torch.from_numpy(task.train_y).to(opts.device)
    forward = DistributedDataParallel(model) if dist.world > 1 else model
    if dist.world > 1:
        save_state = save_state if dist.writer else None
        on_epoch = on_epoch if dist.writer else None
    metric = headline(task.kind)
    history, first_epoch, first_step, order, total, earlier = [], 1, 0, None, 0.0, 0.0
    best = {"score": -math.inf, "epoch": 0, "model": None, "since": 0}  # the best validation epoch so far
    if resume is not None:
        check_resume(resume, task, cfg, opts)
        model.load_state_dict(resume["model"])
        optimizer.load_state_dict(resume["optimizer"])
        scheduler.load_state_dict(resume["scheduler"])
        torch.set_rng_state(resume["torch_rng"])
        rng.bit_generator.state = resume["numpy_rng"]
        history, first_epoch, first_step = list(resume["history"]), resume["epoch"], resume["step"]
        order, total, earlier = resume["order"], resume["loss_sum"], resume["seconds"]
        order = None if order is None else order.to(opts.device)
        best = resume["best"]
    start = time.perf_counter()

    def state(epoch: int, step: int, epoch_order, loss_sum: float) -> dict:
        return {"format": TRAIN_STATE_FORMAT, "task": task.name, "config": cfg.to_dict(),
                "options": opts.identity(), "epoch": epoch, "step": step, "order": epoch_order,
                "loss_sum": loss_sum, "history": json_safe(history), "model": model.state_dict(),
                "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "torch_rng": torch.get_rng_state(), "numpy_rng": rng.bit_generator.state,
                "seconds": earlier + time.perf_counter() - start, "best": best}

    with deferred_interrupts() as received:
        for epoch in range(first_epoch, opts.epochs + 1):
            if opts.patience and best["since"] >= opts.patience:
                break  # a resumed run that had already stopped early
            model.train()
            epoch_start = time.perf_counter()
            if order is None:
                order, total, first_step = torch.from_numpy(rng.permutation(n)).to(opts.device), 0.0, 0
            for i in range(first_step, steps_per_epoch):
                if received:  # stop between two steps, the state saved
                    if save_state is not None:
                        save_state(state(epoch, i, order, total))
                    raise Interrupted(received[0])
                idx = order[i * opts.batch_size:(i + 1) * opts.batch_size]
                mine = dist.share(idx)
                empty = len(mine) == 0  # a last batch smaller than the group: this process adds a zero gradient
                mine = idx[:1] if empty else mine
                with torch.autocast(device_type=torch.device(opts.device).type, dtype=torch.bfloat16,
                                    enabled=opts.precision == "bf16"):
                    loss = task_loss(task.kind, model, forward(train_x[mine]), train_y[mine]) * (0.0 if empty else 1.0)
                optimizer.zero_grad(set_to_none=True)
                # DDP averages the processes' gradients: weighting each share's mean loss by its share of the
                # batch's terms makes that average the gradient of the whole batch's mean loss
                if dist.world > 1 and not empty:
                    loss = loss * (dist.world * loss_terms(task.kind, train_y[mine])
                                   / loss_terms(task.kind, train_y[idx]))
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
                optimizer.step()
                scheduler.step()
                model.clamp_positions()
                total += loss.item() * len(idx) / dist.world  # the group's sum is the batch's mean loss x its size
            total = dist.all_sum(total, opts.device)
            val = evaluate(model, task.kind, task.val_x, task.val_y)
            history.append({"epoch": epoch, "loss": total / n, **{f"val_{k}": v for k, v in val.items()}})
            order = None
            if val[metric] > best["score"]:
                best = {"score": float(val[metric]), "epoch": epoch, "since": 0,
                        "model": {k: v.clone() for k, v in model.state_dict().items()} if opts.patience else None}
            else:
                best["since"] += 1
            seconds = time.perf_counter() - epoch_start
            if on_epoch is not None:
                on_epoch({**json_safe(history[-1]), "lr": scheduler.get_last_lr()[0], "seconds": round(seconds, 3),
                          "samples_per_s": round(n / seconds, 1) if seconds > 0 else None})
            if opts.progress and dist.writer:
                _progress(epoch, opts.epochs, total / n, metric, val[metric], earlier + time.perf_counter() - start,
                          n / seconds if seconds > 0 else 0.0)
            if save_state is not None and opts.checkpoint_every and epoch % opts.checkpoint_every == 0:
                save_state(state(epoch + 1, 0, None, 0.0))
            if opts.patience and best["since"] >= opts.patience:
                break
    if opts.patience and best["model"] is not None:
        model.load_state_dict(best["model"])  # early stopping keeps the best validation epoch
    train_seconds = earlier + time.perf_counter() - start
    test = evaluate(model, task.kind, task.test_x, task.test_y)
    metadata = {
        "task": task.name,
        "task_kind": task.kind,
        "seed": opts.seed,
        "epochs": opts.epochs,
        "lr": opts.lr,
        "batch_size": opts.batch_size,
        **({"init_chrono_tau_max": opts.chrono_tau_max} if opts.chrono_tau_max else {}),
        **({"init_encoder_gain": opts.encoder_gain} if opts.encoder_gain != 1.0 else {}),
        "train_seconds": round(train_seconds, 2),
        **({"patience": opts.patience, "best_epoch": best["epoch"], "epochs_run": len(history)}
           if opts.patience else {}),
        "device": opts.device,
        **({"precision": opts.precision} if opts.precision != "fp32" else {}),
        "params": count_parameters(model),
        **{f"test_{k}": v for k, v in test.items()},
        "val_history": history,
    }
    return model.cpu().eval(), metadata


def _progress(epoch: int, epochs: int, loss: float, metric: str, value: float, elapsed: float,
              samples_per_s: float) -> None:
    width = 24
    filled = int(width * epoch / epochs)
    bar = "#" * filled + "-" * (width - filled)
    eta = elapsed / epoch * (epochs - epoch)
    sys.stderr.write(f"\r[{bar}] epoch {epoch}/{epochs}  loss {loss:.4f}  val {metric} {value:.4f}  "
                     f"{samples_per_s:,.0f} samples/s  {elapsed:5.1f}s (eta {eta:4.0f}s)")
    if epoch == epochs:
        sys.stderr.write("\n")
    sys.stderr.flush()


def check_resume(resume: dict, task: TaskData, cfg: MGRADEConfig, opts: TrainOptions) -> None:
    """A training state continues only the run that wrote it: same task, config and options."""
    if resume.get("format") != TRAIN_STATE_FORMAT:
        raise UserError("--resume takes a training state (the .state.pt a run writes), not a model checkpoint")
    for what, theirs, ours in (("task", resume["task"], task.name), ("config", resume["config"], cfg.to_dict()),
                               ("options", resume["options"], opts.identity())):
        if theirs != ours:
            keys = sorted(k for k in set(theirs) | set(ours) if theirs.get(k) != ours.get(k)) if isinstance(
                ours, dict) else []
            raise UserError(f"--resume: the state was written with another {what}"
                            + (f" ({', '.join(keys[:4])} differ)" if keys else f" ({theirs!r})")
                            + "; pass the same options as the interrupted run")


def save_train_state(path: Path, state: dict) -> None:
    """Write a training state atomically (a temporary file in the same folder, then rename)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_train_state(path: Path) -> dict:
    """A training state, loaded weights-only (tensors, numbers, strings: nothing that runs code)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"--resume {path} does not exist; pass the .state.pt an interrupted run wrote")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch's unpickler errors vary: name the file and the fix in one line
        raise UserError(f"--resume {path} is not a training state mgrade-edge wrote ({str(exc).splitlines()[0][:80]})"
                        ) from None
    if not isinstance(state, dict) or state.get("format") != TRAIN_STATE_FORMAT:
        raise UserError(f"--resume {path} is not a training state (a model checkpoint? resume takes OUT.state.pt)")
    return state
