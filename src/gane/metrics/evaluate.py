"""Judging a trained model by a domain classifier: the numbers of `gane quickstart` and benchmarks/families.py."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import losses
from ..data import Batch
from .classifier import DomainClassifier


def reconstruction_mse(x: torch.Tensor, x_hat: torch.Tensor) -> float:
    """Mean squared error of reconstructions over every element (pixels in [-1, 1])."""
    return float(losses.mse(x_hat, x))


@dataclass
class ClassifierEvaluation:
    """What a domain classifier says of a model's samples and (with an encoder) reconstructions."""

    confidence: float  # fraction of the samples classified with probability > 0.9
    confidence_prior: float | None  # the same for z ~ p(z), when sample() draws from a fitted code mixture instead
    agreement: float | None  # fraction of test images whose reconstruction G(E(x)) keeps the image's class
    mse: float | None  # mean squared error of those reconstructions
    samples: torch.Tensor  # (n, *shape), the samples judged
    reconstructions: torch.Tensor | None  # (len(test), *shape), G(E(x)) of the test images

    def numbers(self) -> dict[str, float]:
        """The measures that apply to this model, by name."""
        names = ("confidence", "confidence_prior", "agreement", "mse")
        return {k: getattr(self, k) for k in names if getattr(self, k) is not None}


@torch.no_grad()
def evaluate_with_classifier(model, classifier: DomainClassifier, test: Batch, n: int = 1000, seed: int = 0) -> ClassifierEvaluation:
    """n samples drawn with ``seed``, judged by ``classifier``; reconstructions of the labelled
    ``test`` batch when the model has an encoder. When sample() draws from a fitted code mixture
    (``--code-mixture``) the same seed's codes from the prior p(z) are judged too."""
    samples = model.sample(n, generator=torch.Generator().manual_seed(seed))
    prior = None
    if model.code_density is not None:
        prior = classifier.confident_rate(model.decode(model.prior(n, generator=torch.Generator().manual_seed(seed))))
    agreement = mse = recon = None
    if model.has_encoder:
        recon = model.reconstruct(test.x)
        agreement, mse = classifier.agreement(recon, test.y), reconstruction_mse(test.x, recon)
    return ClassifierEvaluation(classifier.confident_rate(samples), prior, agreement, mse, samples, recon)
