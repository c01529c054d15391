"""Process-group set-up for ``torchrun``: one process per device, gloo on CPU and NCCL on CUDA."""

from __future__ import annotations

from datetime import timedelta

import torch
import torch.distributed as dist

from vdeblur.launch import DistContext, launch_context


def launched_by_torchrun() -> bool:
    """True when the environment variables of torchrun (or another launcher) describe a process group."""
    return launch_context().enabled


def init_distributed(device: torch.device) -> DistContext:
    """Join the process group torchrun described (no-op for a single process).

    Returns:
        This process's rank, the world size and its local rank.
    """
    if not launched_by_torchrun():
        return DistContext()
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, timeout=timedelta(minutes=30))
    return DistContext(dist.get_rank(), dist.get_world_size(), launch_context().local_rank)


def shutdown_distributed() -> None:
    """Leave the process group, if one was joined."""
    if dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(values: torch.Tensor, context: DistContext) -> torch.Tensor:
    """Sum a small tensor over all processes (identity for a single process)."""
    if context.enabled:
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def barrier(context: DistContext) -> None:
    """Wait for every process (no-op for a single process)."""
    if context.enabled:
        dist.barrier()
