"""Mode collapse: how many of a dataset's known modes the samples reach.

2-D mixtures (ring8, grid25) use PacGAN's measures (Lin et al. 2018, after VEEGAN): a sample is
high quality when it lies within 3 standard deviations of its nearest mode's centre; a mode is
covered when at least one high-quality sample is nearest to it (``min_per_mode``); the reverse KL
is KL(q || p) between the histogram q of high-quality samples over the modes and the data's
uniform p.
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from .core import MetricContext, register_metric


def mode_histogram_kl(counts: torch.Tensor) -> float:
    """KL(q || uniform) for the histogram ``counts`` over all modes (inf when no sample counts)."""
    total = counts.sum()
    if total == 0:
        return math.inf
    q = counts.double() / total
    nz = q > 0
    return float((q[nz] * (q[nz] * len(counts)).log()).sum())


@torch.no_grad()
def mixture_modes(samples: torch.Tensor, centres: torch.Tensor, std: float, min_per_mode: int = 1) -> dict[str, float]:
    """Modes covered, the high-quality fraction and the reverse KL of 2-D samples (n, 2)."""
    dist, nearest = torch.cdist(samples.double(), centres.double()).min(1)
    good = dist < 3 * std
    per_mode = torch.bincount(nearest[good], minlength=len(centres))
    return {"modes": int((per_mode >= min_per_mode).sum()), "modes_of": len(centres),
            "high_quality": float(good.double().mean()), "reverse_kl": mode_histogram_kl(per_mode)}


def _mixture_counter(name: str) -> Callable[[torch.Tensor], dict]:
    from ..data.sources import MIXTURES

    means_fn, std = MIXTURES[name]
    centres = torch.tensor(means_fn(), dtype=torch.float64)
    return lambda samples: mixture_modes(samples, centres, std)


def mode_counter(dataset: str) -> Callable[[torch.Tensor], dict] | None:
    """The mode counter of ``dataset`` (samples -> numbers), or None when its modes are not known."""
    from ..data.sources import MIXTURES

    if dataset in MIXTURES:
        return _mixture_counter(dataset)
    return None


@register_metric("modes", "modes covered, high-quality fraction and reverse KL to uniform over the modes (PacGAN's measures; "
                 "ring8 and grid25)", needs=("modes",))
def _modes(ctx: MetricContext):
    return mode_counter(ctx.dataset)(ctx.samples())
