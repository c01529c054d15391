"""What a launcher such as torchrun tells a process about its place among several, read from the environment
here and nowhere else: training joins a process group with it, ``vdeblur deblur`` shares out its inputs."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class DistContext:
    """Where this process stands: ``rank`` of ``world_size``; ``local_rank`` picks the GPU on its node."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Only the main process writes logs, checkpoints and progress bars."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        """True when several processes work together."""
        return self.world_size > 1


def launch_context() -> DistContext:
    """This process's place from torchrun's variables (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``); a lone process
    where they are not set."""
    return DistContext(
        int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1")),
        int(os.environ.get("LOCAL_RANK", "0")),
    )
