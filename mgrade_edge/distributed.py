"""Data-parallel training with PyTorch's own DistributedDataParallel, started by torchrun:

    torchrun --nproc-per-node 2 -m mgrade_edge train --task digits --out model.pt

torchrun sets RANK, WORLD_SIZE, LOCAL_RANK and the rendezvous (MASTER_ADDR/MASTER_PORT, or --rdzv-*
for several nodes); this module only reads them. Every process holds the whole data set and draws the
same shuffled order (same seed); each takes its share of every global batch, DDP averages the
gradients, and the per-process losses are weighted so that the gradient is the one of the global
batch's mean loss, as one process would compute it. gloo on the CPU, NCCL on CUDA. Rank 0 alone
prints, logs and writes files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as torch_dist

from .errors import UserError


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    world: int = 1

    @property
    def writer(self) -> bool:
        """Whether this process prints, logs and writes files (rank 0)."""
        return self.rank == 0

    def share(self, batch: torch.Tensor) -> torch.Tensor:
        """This process's contiguous share of a global batch of indices (shares differ by at most one)."""
        return batch.tensor_split(self.world)[self.rank]

    def all_sum(self, value: float, device: str) -> float:
        if self.world == 1:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=device)
        torch_dist.all_reduce(t)
        return float(t.item())


SINGLE = Distributed()


def from_environment(device: str) -> Distributed:
    """The process group torchrun describes in the environment, joined; a single process without it."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return SINGLE
    rank = int(os.environ.get("RANK", "0"))
    if device == "mps":
        raise UserError("multi-process training runs on the CPU (gloo) or CUDA (NCCL), not MPS; pass --device cpu")
    backend = "nccl" if device == "cuda" else "gloo"
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(backend)
    if device == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return Distributed(rank, world)


def shutdown(d: Distributed) -> None:
    if d.world > 1 and torch_dist.is_initialized():
        torch_dist.destroy_process_group()
