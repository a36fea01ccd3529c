"""Translation models: networks that map an image of domain A to domain B (and back, for two-way ones).

A translator is a :class:`~gane.families.Family` whose data is two domains (``DataInfo.kind ==
"pair"``), so the trainer, presets, checkpoints, resume and ``gane.load`` treat it as they treat every
family: it declares its phases as data, names the networks its moving average follows and draws its
own pictures at each checkpoint. What it does not have is a code to sample from: ``translate(x, to)``
is its interface, and the single-domain calls (sample, encode, decode) say so.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from ..errors import GaneError
from ..families.base import Family, Phase
from ..fields import opt
from ..losses import ADVERSARIAL_LOSSES

DOMAINS = ("A", "B")


@dataclass
class TranslatorConfig:
    """Options every translation model has."""

    width: float = opt(1.0, "width multiplier of every network (1.0 = 64 base channels)", above=0)


@dataclass
class AdversarialTranslatorConfig(TranslatorConfig):
    """Options of the translators that train a discriminator: its loss and stabilisers."""

    loss: str = opt("ns", "adversarial loss", choices=ADVERSARIAL_LOSSES.names)
    spectral_norm: bool = opt(False, "spectral normalisation in D (Miyato et al. 2018)")
    gp_weight: float = opt(10.0, "weight of the gradient penalty of --loss wgan-gp", min=0)
    r1: float = opt(0.0, "R1 penalty gamma on real data (0 = off)", min=0)
    d_layers: int = opt(3, "stride-2 layers of the PatchGAN discriminator (fewer when the side runs out): "
                           "the patch each score judges grows with them", min=1)


class Translator(Family):
    """Base class of the translation models.

    Subclasses set ``translators`` (the network that translates toward each domain it can reach), build
    their networks, and implement ``phases``; ``_translate`` when a translation is more than one
    network's forward (the context encoder keeps the known pixels, UNIT goes through its shared code).
    """

    data_kinds = ("pair",)
    translates = True
    #: the dataset `gane train NAME` uses without --data
    default_data: ClassVar[str] = "edges2digits"
    #: learns from aligned pairs only (pix2pix, SRGAN, the context encoder)
    needs_aligned: ClassVar[bool] = False
    #: domain -> the module translating toward it
    translators: ClassVar[dict[str, str]] = {"B": "G"}
    #: the modules the moving average follows (default: the translators)
    averaged: ClassVar[tuple[str, ...] | None] = None

    def __init__(self, config, info):
        super().__init__(config, info)
        if info.kind != "pair":
            raise GaneError(f"{self.name} translates between two domains; this dataset holds {info.kind} data.")
        if self.needs_aligned and not info.aligned:
            raise GaneError(f"{self.name} learns from aligned pairs (image i of A goes with image i of B), and this dataset's "
                            "domains are unaligned. Use cyclegan or unit for unpaired data, or an aligned dataset "
                            "(aligned:PATH, or a built-in task such as edges2digits).")

    @property
    def two_way(self) -> bool:
        return len(self.translators) == 2

    def domain_shape(self, domain: str) -> tuple[int, ...]:
        return tuple(self.info.shape) if domain == "A" else tuple(self.info.b_shape)

    def directions(self) -> list[str]:
        """The domains this model translates toward."""
        return [d for d in DOMAINS if d in self.translators]

    def _translate(self, x: torch.Tensor, to: str) -> torch.Tensor:
        return getattr(self, self.translators[to])(x)

    @torch.no_grad()
    def translate(self, x: torch.Tensor, to: str = "B") -> torch.Tensor:
        """Images of the other domain (n, C, H, W) in [-1, 1] -> their translations into domain ``to``."""
        if to not in DOMAINS:
            raise GaneError(f"Translate to A or B; got {to!r}.")
        if to not in self.translators:
            raise GaneError(f"{self.name} translates A to B only (it is one-way); --to A needs a two-way model (cyclegan, unit).")
        source = "A" if to == "B" else "B"
        want = self.domain_shape(source)
        if x.ndim != 4 or tuple(x.shape[1:]) != want:
            raise GaneError(f"{self.name} translates images of domain {source} of shape {want} (channels, height, width); "
                            f"got {tuple(x.shape[1:]) if x.ndim == 4 else tuple(x.shape)}.")
        return self._translate(x.to(self.device), to)

    # ----------------------------------------------------------------- what the trainer asks of every model
    def averaged_modules(self) -> nn.ModuleDict:
        names = self.averaged or tuple(dict.fromkeys(self.translators.values()))
        return nn.ModuleDict({n: getattr(self, n) for n in names})

    def snapshot_examples(self, data, device=None) -> dict[str, torch.Tensor]:
        """Eight pairs spread through the split, fixed for the run."""
        batch = data.spread(8, device)
        return {"a": batch.x, "b": batch.b}

    @torch.no_grad()
    def snapshot(self, examples: dict[str, torch.Tensor], seed: int) -> dict:
        """translations.png: sources of A, their translations to B and, for two-way models, the way back
        to A; then the same from B. Aligned data adds the true B under A's translations."""
        from ..pictures import Picture

        a, b = examples["a"], examples["b"]
        ab = self._translate(a, "B")
        rows = [a, ab] + ([b] if self.info.aligned else [])
        if self.two_way:
            ba = self._translate(b, "A")
            rows += [self._translate(ab, "A"), b, ba, self._translate(ba, "B")]
        return {"translations": Picture.rows(rows)}

    # ----------------------------------------------------------------- no code to sample from
    def _not_a_generator(self, what: str) -> GaneError:
        return GaneError(f"{self.name} is a translation model: it maps images of domain A to domain B "
                         f"(`gane translate RUN --images SRC`, or gane.load(RUN).translate(x)), so it cannot {what}: it has "
                         "no code to sample from, encode into or invert into.")

    def code_parts(self):
        raise self._not_a_generator("be given codes")

    @property
    def z_dim(self) -> int:
        raise self._not_a_generator("be given codes")

    def decode(self, z):
        raise self._not_a_generator("decode codes")

    def encode(self, x):
        raise self._not_a_generator("encode images")

    def sample(self, n, generator=None, classes=None):
        raise self._not_a_generator("sample")

    def reconstruct(self, x):
        raise self._not_a_generator("reconstruct images")


class PairedTranslator(Translator):
    """A one-way model G: A -> B learnt from aligned pairs, with a discriminator only when its ``adv``
    weight is above 0 (pix2pix, SRGAN, the context encoder): D's phase, then G's. Subclasses build G (and
    D when ``adv`` > 0) and give ``d_loss`` and ``g_loss``."""

    needs_aligned = True
    translators = {"B": "G"}

    def phases(self) -> list[Phase]:
        return ([Phase("D", ("D",), self.d_loss)] if self.config.adv > 0 else []) + [Phase("G", ("G",), self.g_loss)]


class HistoryBuffer(nn.Module):
    """A pool of earlier generated images that the discriminator also learns from (Shrivastava et al.
    2017, as CycleGAN uses it with 50 images): until it is full each new image enters it and is returned;
    then each new image, with probability 1/2, swaps places with a random stored one, which is returned
    in its stead. The pool is a buffer of the model, so it is saved and restored with the weights."""

    def __init__(self, size: int, shape: tuple[int, ...]):
        super().__init__()
        self.size = size
        self.register_buffer("images", torch.zeros(size, *shape))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def query(self, x: torch.Tensor) -> torch.Tensor:
        """The images (n, *shape) D judges in place of ``x``: some of them older ones from the pool."""
        if self.size == 0:
            return x
        x = x.detach()
        out = x.clone()
        filled = int(self.count)
        k = min(self.size - filled, len(x))  # the first k fill the pool and come back unchanged
        if k > 0:
            self.images[filled : filled + k] = x[:k]
            self.count += k
        rest = len(x) - k
        if rest > 0:
            swap = torch.rand(rest, device=x.device) < 0.5
            slots = torch.randint(0, self.size, (rest,), device=x.device)
            rows = torch.arange(k, len(x), device=x.device)[swap]
            slots = slots[swap]
            out[rows] = self.images[slots]
            self.images[slots] = x[rows]
        return out
