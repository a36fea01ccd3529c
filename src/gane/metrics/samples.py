"""Sample quality and diversity: FD, KID, Inception Score, precision/recall, density/coverage,
Parzen-window log-likelihood and the domain classifier's confidence.

FD, KID and IS are torchmetrics' (``FrechetInceptionDistance``, ``KernelInceptionDistance``,
``InceptionScore``), given features gane computes once per set: torchmetrics' metric objects
accept any feature module, and an identity module over precomputed features lets one pass of
the feature network serve every metric and the real features come from gane's cache.
Precision/recall (Kynkaanniemi et al. 2019, k = 3) and density/coverage (Naeem et al. 2020,
k = 5) have no torchmetrics counterpart and are computed here; tests check them against the
authors' ``prdc`` package.
"""
from __future__ import annotations

import math
import warnings

import torch
from torch import nn

from ..errors import GaneError
from .core import MetricContext, register_metric


class _Given(nn.Module):
    """An identity "feature network" over features computed beforehand (see the module docstring)."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def frechet_distance(real: torch.Tensor, fake: torch.Tensor) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (n, d) (torchmetrics' FID maths)."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    fd = FrechetInceptionDistance(feature=_Given(real.shape[1]))
    fd.update(real.double(), real=True)
    fd.update(fake.double(), real=False)
    return float(fd.compute())


def kernel_distance(real: torch.Tensor, fake: torch.Tensor, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """KID (Binkowski et al. 2018): the unbiased MMD^2 with the cubic polynomial kernel, averaged over
    ``subsets`` random subsets of ``subset_size`` (at most the smaller set's size). (mean, std)."""
    from torchmetrics.image.kid import KernelInceptionDistance

    size = min(subset_size, len(real), len(fake))
    with warnings.catch_warnings():  # it keeps every feature: these are already in memory
        warnings.simplefilter("ignore", UserWarning)
        kid = KernelInceptionDistance(feature=_Given(real.shape[1]), subsets=subsets, subset_size=size)
    kid.update(real.double(), real=True)
    kid.update(fake.double(), real=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        mean, std = kid.compute()
    return float(mean), float(std)


def inception_score(logits: torch.Tensor, splits: int = 10, seed: int = 0) -> tuple[float, float]:
    """IS = exp(E_x KL(p(y|x) || p(y))) over ``splits`` parts (Salimans et al. 2016). (mean, std)."""
    from torchmetrics.image.inception import InceptionScore

    with warnings.catch_warnings():  # it keeps every logit: these are already in memory
        warnings.simplefilter("ignore", UserWarning)
        score = InceptionScore(feature=_Given(logits.shape[1]), splits=splits)
    score.update(logits.double())
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        mean, std = score.compute()
    return float(mean), float(std)


def _kth_neighbour_distance(x: torch.Tensor, k: int, chunk: int = 2048) -> torch.Tensor:
    """Distance from each row of x to its k-th nearest other row (n,)."""
    out = []
    for i in range(0, len(x), chunk):
        d = torch.cdist(x[i : i + chunk].double(), x.double())
        out.append(d.kthvalue(k + 1, dim=1).values)  # the row itself is at distance 0
    return torch.cat(out)


def _within(a: torch.Tensor, b: torch.Tensor, radii: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
    """(len(a), len(b)) booleans: a_i lies within b_j's radius."""
    return torch.cat([torch.cdist(a[i : i + chunk].double(), b.double()) <= radii[None, :] for i in range(0, len(a), chunk)])


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019): the fraction of fakes inside the
    union of k-NN balls of the reals, and of reals inside those of the fakes."""
    real_r, fake_r = _kth_neighbour_distance(real, k), _kth_neighbour_distance(fake, k)
    precision = _within(fake, real, real_r).any(1).double().mean()
    recall = _within(real, fake, fake_r).any(1).double().mean()
    return float(precision), float(recall)


def density_coverage(real: torch.Tensor, fake: torch.Tensor, k: int = 5) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020): how many real k-NN balls hold each fake, on average
    and divided by k; and the fraction of reals whose ball holds at least one fake."""
    real_r = _kth_neighbour_distance(real, k)
    inside = _within(fake, real, real_r)  # (fakes, reals)
    density = inside.double().sum() / (k * len(fake))
    coverage = inside.any(0).double().mean()
    return float(density), float(coverage)


def parzen_log_likelihood(samples: torch.Tensor, x: torch.Tensor, sigma: float, chunk: int = 256) -> torch.Tensor:
    """log p(x) under a Gaussian kernel density on ``samples`` with bandwidth ``sigma``, per row of x."""
    s, d = samples.double(), samples.shape[1]
    norm = math.log(len(samples)) + 0.5 * d * math.log(2 * math.pi * sigma**2)
    out = []
    for i in range(0, len(x), chunk):
        sq = torch.cdist(x[i : i + chunk].double(), s).pow(2)
        out.append(torch.logsumexp(-sq / (2 * sigma**2), dim=1) - norm)
    return torch.cat(out)


def parzen(samples: torch.Tensor, validation: torch.Tensor, test: torch.Tensor, sigmas=None) -> dict[str, float]:
    """Goodfellow et al. 2014's Parzen estimate: the bandwidth that maximises the validation
    log-likelihood (over a grid relative to the samples' spread), then the mean test log-likelihood
    and its standard error."""
    if sigmas is None:
        spread = float(samples.double().std(0).pow(2).mean().sqrt()) if len(samples) > 1 else 0.0
        if not spread > 0:  # every sample the same point: a kernel density on it has no width to choose
            raise GaneError("Parzen needs samples that differ: every sample the model drew is the same point (a collapsed model).")
        sigmas = [spread * 10 ** e for e in torch.linspace(-2.5, 0.5, 25).tolist()]
    scores = [float(parzen_log_likelihood(samples, validation, s).mean()) for s in sigmas]
    best = sigmas[max(range(len(sigmas)), key=scores.__getitem__)]
    ll = parzen_log_likelihood(samples, test, best)
    return {"parzen_ll": float(ll.mean()), "parzen_ll_se": float(ll.std() / math.sqrt(len(ll))), "parzen_sigma": best}


# ------------------------------------------------------------------ registered metrics


@register_metric("fd", "Frechet distance between real and generated features (FID when --features inception)", needs=("features",))
def _fd(ctx: MetricContext):
    return {f"fd{ctx.feature_suffix()}": frechet_distance(ctx.features("real")[0], ctx.features("samples")[0])}


@register_metric("kid", "kernel distance (KID, unbiased MMD^2, cubic kernel; mean and std over 100 subsets)", needs=("features",))
def _kid(ctx: MetricContext):
    mean, std = kernel_distance(ctx.features("real")[0], ctx.features("samples")[0], seed=ctx.seed)
    suffix = ctx.feature_suffix()
    return {f"kid{suffix}": mean, f"kid{suffix}_std": std}


@register_metric("is", "Inception Score from the domain classifier's (or Inception's) class probabilities, 10 splits",
                 needs=("images", "features"))
def _is(ctx: MetricContext):
    logits = ctx.features("samples")[1]
    mean, std = inception_score(logits, seed=ctx.seed)
    suffix = ctx.feature_suffix()
    return {f"is{suffix}": mean, f"is{suffix}_std": std}


def _equal_sets(ctx: MetricContext):
    """The same number of reals and samples (the k-NN radii depend on set size), each taken evenly
    spread through its set."""
    real, fake = ctx.features("real")[0], ctx.features("samples")[0]
    m = min(len(real), len(fake))
    if m <= 5:
        raise GaneError(f"Precision, recall, density and coverage compare k-nearest-neighbour balls (k up to 5) and need more than "
                        f"5 reals and samples; this evaluation has {m}. Raise --n.")
    return real[_spread(len(real), m)], fake[_spread(len(fake), m)]


def _spread(n: int, m: int) -> torch.Tensor:
    return torch.arange(m) * n // m


@register_metric("pr", "improved precision and recall (k = 3) in feature space, equal numbers of reals and samples", needs=("features",))
def _pr(ctx: MetricContext):
    p, r = precision_recall(*_equal_sets(ctx))
    suffix = ctx.feature_suffix()
    return {f"precision{suffix}": p, f"recall{suffix}": r}


@register_metric("dc", "density and coverage (k = 5) in feature space, equal numbers of reals and samples", needs=("features",))
def _dc(ctx: MetricContext):
    d, c = density_coverage(*_equal_sets(ctx))
    suffix = ctx.feature_suffix()
    return {f"density{suffix}": d, f"coverage{suffix}": c}


def _flat01(x: torch.Tensor, image: bool) -> torch.Tensor:
    """Rows of pixels in [0, 1] (the scale of published Parzen figures), or vectors unchanged."""
    x = x.flatten(1).double()
    return (x + 1) / 2 if image else x


@register_metric("parzen", "Parzen-window log-likelihood of the split (nats; image pixels in [0, 1], vectors as they are); bandwidth chosen on "
                 "every other real example, reported on the rest")
def _parzen(ctx: MetricContext):
    image = ctx.info.kind == "image"
    real = _flat01(ctx.real().x, image)  # in split order, which may be sorted by class: every other example is validation
    return parzen(_flat01(ctx.samples(), image), real[0::2], real[1::2])


@register_metric("confidence", "fraction of samples the domain classifier puts in one class with p > 0.9 "
                 "(and, with a code mixture, of samples from the prior)", needs=("images", "labels"))
def _confidence(ctx: MetricContext):
    from .classifier import domain_classifier

    clf = domain_classifier(ctx.dataset, ctx.options)
    out = {"confidence": clf.confident_rate(ctx.samples())}
    model = ctx.model
    if getattr(model, "code_density", None) is not None:
        g = torch.Generator().manual_seed(ctx.seed)
        out["confidence_prior"] = clf.confident_rate(model.decode(model.prior(ctx.n, generator=g)).cpu())
    return out
