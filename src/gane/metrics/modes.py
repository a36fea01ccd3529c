"""Mode collapse: how many of a dataset's known modes the samples reach.

2-D mixtures (ring8, grid25) use PacGAN's measures (Lin et al. 2018, after VEEGAN): a sample is
high quality when it lies within 3 standard deviations of its nearest mode's centre; a mode is
covered when at least one high-quality sample is nearest to it (``min_per_mode``); the reverse KL
is KL(q || p) between the histogram q of high-quality samples over the modes and the data's
uniform p.

Stacked MNIST (VEEGAN's protocol, Srivastava et al. 2017): each channel of a sample is read by the
digit classifier of the MNIST it was built from; a mode is a triple of digits. Modes hit among
26,000 samples and KL(q || uniform) of their histogram over the 1,000 triples.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
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


@torch.no_grad()
def stacked_modes(samples: torch.Tensor, digit_classifier) -> dict[str, float]:
    """Modes hit and KL to uniform of Stacked MNIST samples (n, 3, H, W), each channel read as a digit."""
    n, c, h, w = samples.shape
    assert c == 3, samples.shape
    digits = digit_classifier.predict(samples.reshape(n * 3, 1, h, w)).reshape(n, 3)
    counts = torch.bincount(100 * digits[:, 0] + 10 * digits[:, 1] + digits[:, 2], minlength=1000)
    return {"modes": int((counts > 0).sum()), "modes_of": 1000, "kl": mode_histogram_kl(counts)}


@dataclass(frozen=True)
class ModeCounter:
    count: Callable[[torch.Tensor], dict]  # samples -> numbers
    samples: int  # how many samples the published protocol judges


STACKED_SOURCES = {"stacked-mnist": "mnist-5k", "stacked-mnist-full": "mnist"}


def mode_counter(dataset: str, options=None) -> ModeCounter | None:
    """How ``dataset``'s modes are counted, or None when they are not known."""
    from ..data.sources import MIXTURES

    if dataset in MIXTURES:
        means_fn, std = MIXTURES[dataset]
        centres = torch.tensor(means_fn(), dtype=torch.float64)
        return ModeCounter(lambda samples: mixture_modes(samples, centres, std), 2500)
    if dataset in STACKED_SOURCES:
        from .classifier import domain_classifier

        return ModeCounter(lambda samples: stacked_modes(samples, domain_classifier(STACKED_SOURCES[dataset], options)), 26_000)
    return None


@register_metric("modes", "modes covered and reverse KL to uniform over the modes: PacGAN's measures on ring8 and grid25 "
                 "(with the high-quality fraction; 2,500 samples), VEEGAN's on stacked-mnist (26,000 samples)", needs=("modes",))
def _modes(ctx: MetricContext):
    counter = mode_counter(ctx.dataset, ctx.options)
    return {**counter.count(ctx.samples(counter.samples)), "modes_samples": counter.samples}
