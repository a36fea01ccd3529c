"""Interpolation between codes (linear and spherical), for any model with ``decode``."""
from __future__ import annotations

import torch

from ..errors import GaneError


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation of (B, D) codes at fractions t (T,) -> (B, T, D).

    Follows the great circle between the directions of z0 and z1 while
    interpolating their norms linearly; falls back to linear for parallel codes.
    """
    n0, n1 = z0.norm(dim=1, keepdim=True), z1.norm(dim=1, keepdim=True)
    u0, u1 = z0 / n0.clamp_min(1e-12), z1 / n1.clamp_min(1e-12)
    omega = torch.acos((u0 * u1).sum(1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))  # (B, 1)
    t = t.view(1, -1, 1)
    so = torch.sin(omega).unsqueeze(1)
    om = omega.unsqueeze(1)
    direction = (torch.sin((1 - t) * om) * u0.unsqueeze(1) + torch.sin(t * om) * u1.unsqueeze(1)) / so
    norm = (1 - t) * n0.unsqueeze(1) + t * n1.unsqueeze(1)
    lin = (1 - t) * z0.unsqueeze(1) + t * z1.unsqueeze(1)
    parallel = (so.abs() < 1e-6).expand_as(lin)
    return torch.where(parallel, lin, direction * norm)


def lerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Linear interpolation of (B, D) codes at fractions t (T,) -> (B, T, D)."""
    t = t.view(1, -1, 1)
    return (1 - t) * z0.unsqueeze(1) + t * z1.unsqueeze(1)


def code_path(model, z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor, mode: str = "linear") -> torch.Tensor:
    """Codes (B, T, D) from each z0 to each z1 at fractions t. Spherical paths bend only the Gaussian
    parts of the code (their great circle is where the prior's mass lies); one-hot and uniform parts
    always move in a straight line, so a one-hot part stays a mixture that sums to one."""
    if mode not in ("linear", "spherical"):
        raise GaneError(f"The interpolation mode must be linear or spherical; got {mode!r}.")
    path = lerp(z0, z1, t)
    if mode == "spherical":
        slices = model.code_slices() if hasattr(model, "code_slices") else {"z": slice(0, z0.shape[1])}
        parts = model.code_parts() if hasattr(model, "code_parts") else []
        normal = [slices[p.name] for p in parts if p.kind == "normal"] if parts else [slices["z"]]
        idx = torch.cat([torch.arange(z0.shape[1])[s] for s in normal]).to(z0.device)
        path[:, :, idx] = slerp(z0[:, idx], z1[:, idx], t)
    return path


@torch.no_grad()
def interpolate(model, z0: torch.Tensor, z1: torch.Tensor, steps: int = 10, mode: str = "linear") -> torch.Tensor:
    """Decode ``steps`` points from each z0 to each z1: (B, steps, *data shape)."""
    t = torch.linspace(0, 1, steps, device=z0.device)
    path = code_path(model, z0, z1, t, mode)  # (B, T, D)
    x = model.decode(path.reshape(-1, path.shape[-1]))
    return x.reshape(z0.shape[0], steps, *x.shape[1:])
