"""``torchrun -m posetrack batch``: sequences split across processes with ``torch.distributed``.

torchrun sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` (and the rendezvous address) for every process, on one
node or several. Each process joins the group (NCCL when it drives a GPU, gloo on the CPU), takes every
``WORLD_SIZE``-th sequence starting at its rank, runs them on ``cuda:LOCAL_RANK`` (or the CPU) and writes their
files itself; the per-sequence outcomes are gathered on every rank (``all_gather_object``) so rank 0 prints the
merged summary and runs the evaluation, and every rank returns the same exit code. Without those variables it is
one process and nothing here does anything.
"""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass
class Ranks:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, items: list) -> list:
        """This rank's share: round robin, so sequences sorted by name spread evenly."""
        return items[self.rank::self.world_size]

    def device(self, device: str) -> str:
        """The device this rank uses for ``run.device``: its own GPU ``cuda:LOCAL_RANK`` when on CUDA."""
        import torch

        if device in ("auto", "cuda") and torch.cuda.is_available():
            return f"cuda:{self.local_rank}"
        return "cpu" if device == "auto" else device


def join(device: str = "auto") -> Ranks:
    """Join torchrun's process group (when there is one) and say which rank this is."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Ranks()
    import torch
    import torch.distributed as dist

    ranks = Ranks(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    use_cuda = ranks.device(device).startswith("cuda")
    if use_cuda:
        torch.cuda.set_device(ranks.local_rank)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return ranks


def gather(ranks: Ranks, obj) -> list:
    """Every rank's ``obj``, in rank order, on every rank."""
    if not ranks.distributed:
        return [obj]
    import torch.distributed as dist

    out = [None] * ranks.world_size
    dist.all_gather_object(out, obj)
    return out


def leave(ranks: Ranks) -> None:
    if ranks.distributed:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
