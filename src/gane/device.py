"""Which device a command runs on: ``auto`` picks the CUDA GPU when there is one, else the CPU."""
from __future__ import annotations

import torch

from .errors import GaneError

DEVICE_HELP = "auto (a CUDA GPU when there is one, else the CPU), cpu, cuda, cuda:N or mps"


def resolve_device(name: str | torch.device, local_rank: int = 0, world: int = 1) -> torch.device:
    """The torch device named by ``name``; with several processes (``world`` > 1) each takes the GPU of its rank."""
    if isinstance(name, torch.device):
        name = str(name)
    if name == "auto":
        return torch.device("cuda", local_rank) if torch.cuda.is_available() else torch.device("cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError):
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda", "mps"):
        raise GaneError(f"Unknown device {name!r}. Use {DEVICE_HELP}.")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise GaneError(f"--device {name} was asked for, but this machine has no CUDA GPU. Use --device cpu (or auto).")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise GaneError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA GPU(s), numbered from 0.")
        if world > 1:
            dev = torch.device("cuda", local_rank)
    if dev.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise GaneError(f"--device {name} was asked for, but this machine has no Apple GPU (MPS). Use --device cpu (or auto).")
    return dev
