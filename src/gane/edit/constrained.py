"""Constrained editing (iGAN, Zhu et al. 2016), nearest neighbours in code space, and the codes of real images.

Constrained editing: the user paints an edit, a mask M with target values T (colours, or a patch of
another image); starting from z0, the code of the image, gane minimises

    U(G(z)) + lambda1 * ||z - z0||^2 / d - lambda2 * realism(G(z))

where U is the mean squared difference from T inside M, the second term keeps the edit close to the
original image's code (d: the code size), and the third (softplus(-D(G(z))), where the model has a D of
data alone) keeps the result on the generator's manifold of real-looking images.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import GaneError


def codes_of(model, x: torch.Tensor, encoder=None, method: str = "encoder", options=None) -> torch.Tensor:
    """The codes of images ``x``: E(x) (the family's own E, or a fitted ``encoder``), or any inversion
    ``method`` of gane.inversion (optimize, hybrid; multicode finds no single code)."""
    if method == "encoder":
        if encoder is None and not model.has_encoder:
            from ..inversion.encoders import no_encoder_message

            raise GaneError(no_encoder_message(model.name, "--invert encoder", None, "--invert"))
        with torch.no_grad():
            return (encoder or model.encode)(x).flatten(1)  # a code grid (vqgan) flattened, as decode takes it
    if method == "multicode":
        raise GaneError("multicode inversion gives several codes per image, not one to edit: use encoder, optimize or hybrid.")
    from ..inversion import invert

    return invert(model, x, method, options, encoder=encoder).codes


def constrained_edit(model, start: torch.Tensor, mask: torch.Tensor, target: torch.Tensor, steps: int = 200, lr: float = 0.05,
                     code_weight: float = 0.1, realism_weight: float = 0.0, categorical: str = "fixed",
                     watch=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Edit from codes ``start`` (n, code_dim) towards ``target`` (n or 1, *shape) inside ``mask`` (n or 1,
    1 or C, H, W; 1 = edited, a fraction = a softer pull). ``watch(step, steps, images)`` sees G's images
    before every step and after the last (a live view; it may raise to stop). Returns (edited images, their codes)."""
    from ..inversion.core import CodeVariable, learning_rate_scale

    if steps < 1 or not lr > 0 or code_weight < 0 or realism_weight < 0:
        raise GaneError("Constrained editing needs steps >= 1, a positive lr and non-negative weights.")
    if realism_weight > 0:
        model.critic_realism(model.decode(start[:1]))  # a clear error now when D cannot score data alone
    mask = mask.to(start.device).float()
    target = target.to(start.device).float()
    if mask.sum() == 0:
        raise GaneError("The edit mask is empty: mark the region to edit in white.")
    z0 = start.detach()
    code = CodeVariable(model, z0, categorical)
    opt = torch.optim.Adam(code.parameters(), lr=lr)
    area = mask.expand(len(z0), *target.shape[1:]).flatten(1).sum(1).clamp_min(1)
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr * learning_rate_scale(step, steps)
        z = code()
        x = model.decode(z)
        if watch is not None:
            watch(step, steps, x.detach())
        u = (mask * (x - target)).pow(2).flatten(1).sum(1) / area
        loss = u + code_weight * (z - z0).pow(2).mean(1)
        if realism_weight > 0:
            loss = loss + realism_weight * F.softplus(-model.critic_realism(x))
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()
        opt.step()
    with torch.no_grad():
        z = code()
        x = model.decode(z)
    if watch is not None:
        watch(steps, steps, x)
    return x, z


def nearest_neighbors(queries: torch.Tensor, pool: torch.Tensor, k: int = 8, metric: str = "l2",
                      exclude: torch.Tensor | None = None) -> torch.Tensor:
    """Indices (n, k) of the ``k`` codes of ``pool`` nearest each query code, nearest first.
    ``exclude`` (n, pool) marks pool entries never to return for a query (the query itself)."""
    if metric not in ("l2", "cosine"):
        raise GaneError(f"--metric must be l2 or cosine; got {metric!r}.")
    k = min(k, len(pool))
    q, p = queries.double(), pool.double()
    if metric == "cosine":
        d = -(F.normalize(q, dim=1) @ F.normalize(p, dim=1).T)
    else:
        d = torch.cdist(q, p)
    if exclude is not None:
        d = d.masked_fill(exclude.to(d.device), float("inf"))
    return d.topk(k, dim=1, largest=False).indices
