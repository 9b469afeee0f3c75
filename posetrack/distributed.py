"""One process or many: the torchrun context that ``posetrack batch`` and ``posetrack train`` share.

torchrun sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` (and the rendezvous address) for every process, on one
node or several. ``join`` makes this process a member of the group (NCCL when it drives a GPU, gloo on the CPU)
and says which rank it is and which device it uses (``cuda:LOCAL_RANK`` on GPUs); without those variables it is one
process and nothing here does anything, so callers need no second code path. torch is imported only under torchrun.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from .devices import resolve_device
from .errors import PosetrackError


@dataclass
class Ranks:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: str = "cpu"

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, items: list) -> list:
        """This rank's share: round robin, so items sorted by name spread evenly."""
        return items[self.rank::self.world_size]


def join(device: str = "auto") -> Ranks:
    """Join torchrun's process group (when there is one) and resolve ``device`` for this rank."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Ranks(device=resolve_device(device))
    import torch
    import torch.distributed as dist

    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    ranks = Ranks(rank, world, local_rank, resolve_device(device, local_rank))
    use_cuda = ranks.device.startswith("cuda")
    if use_cuda:
        torch.cuda.set_device(torch.device(ranks.device))
    if not dist.is_initialized():
        backend = "nccl" if use_cuda else "gloo"
        try:
            dist.init_process_group(backend, rank=rank, world_size=world)
        except (RuntimeError, ValueError) as err:
            raise PosetrackError(f"could not join the {backend} process group as rank {rank} of {world} "
                                 f"({str(err).splitlines()[0]}); start several processes with "
                                 "torchrun --nproc-per-node N -m posetrack ...") from None
    return ranks


def gather(ranks: Ranks, obj) -> list:
    """Every rank's ``obj``, in rank order, on every rank."""
    if not ranks.distributed:
        return [obj]
    import torch.distributed as dist

    out = [None] * ranks.world_size
    dist.all_gather_object(out, obj)
    return out


def barrier(ranks: Ranks) -> None:
    if ranks.distributed:
        import torch.distributed as dist

        dist.barrier()


def all_sum(value, ranks: Ranks):
    """A tensor summed over all ranks (a copy; the input is left alone)."""
    if not ranks.distributed:
        return value
    import torch.distributed as dist

    value = value.clone()
    dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return value


def leave(ranks: Ranks) -> None:
    if ranks.distributed:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
