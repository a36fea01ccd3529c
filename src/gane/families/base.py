"""The family interface: a model composes plain G, D and E networks with pure losses and
declares its training phases as data. The trainer loops over the phases and knows no family.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import torch
from torch import nn

from ..data import Batch, DataInfo
from ..errors import GaneError
from ..fields import opt
from ..losses import ADVERSARIAL_LOSSES
from ..registry import Registry


@dataclass
class Phase:
    """One optimisation step of a training iteration.

    ``modules`` names the family's submodules whose parameters this phase updates
    (one Adam optimizer per phase); ``loss(batch)`` returns the scalar to minimise
    and a dict of detached numbers to log. A phase runs on steps where
    ``step % every == 0``.
    """

    name: str
    modules: tuple[str, ...]
    loss: Callable[[Batch], tuple[torch.Tensor, dict[str, torch.Tensor]]]
    every: int = 1
    lr_scale: float = 1.0


@dataclass
class FamilyConfig:
    """Options every family has. Subclasses add their own fields (each becomes a CLI option)."""

    z_dim: int = opt(64, "size of the latent code z")
    width: float = opt(1.0, "width multiplier of every network (1.0 = 64 base channels / 256 hidden units)")


@dataclass
class AdversarialConfig(FamilyConfig):
    """Options every family with a discriminator shares."""

    loss: str = opt("ns", "adversarial loss", choices=ADVERSARIAL_LOSSES.names)
    spectral_norm: bool = opt(False, "spectral normalisation in D (Miyato et al. 2018)")
    dropout: float = opt(0.0, "dropout in D")


class Family(nn.Module):
    """Base class of every model family.

    Subclasses set ``name``, ``description``, ``Config`` and ``has_encoder``; build
    their networks in ``__init__(config, info)``; and implement ``phases``,
    ``decode`` and (with an encoder) ``encode``.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    Config: ClassVar[type] = FamilyConfig
    has_encoder: ClassVar[bool] = False
    #: the submodule decode() runs
    generator_module: ClassVar[str] = "G"
    #: the submodule encode() runs, in families with an encoder
    encoder_module: ClassVar[str] = "E"

    def __init__(self, config: Any, info: DataInfo):
        super().__init__()
        self.config = config
        self.info = info

    # ----------------------------------------------------------------- training
    def phases(self) -> list[Phase]:
        raise NotImplementedError

    # ----------------------------------------------------------------- the model interface
    @property
    def z_dim(self) -> int:
        return self.config.z_dim

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def prior(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        """n codes from p(z), standard normal unless a family says otherwise. (n, z_dim)."""
        device = device or self.device
        if generator is not None:
            return torch.randn(n, self.z_dim, generator=generator).to(device)
        return torch.randn(n, self.z_dim, device=device)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes (n, z_dim) -> data (n, *shape). Keeps the graph, so codes can be optimised through it."""
        return getattr(self, self.generator_module)(z)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Data (n, *shape) -> codes (n, z_dim). Only for families with an encoder."""
        raise GaneError(
            f"The {self.name!r} family has no encoder, so it cannot encode or reconstruct. "
            f"Families with an encoder: {', '.join(n for n, f in FAMILIES.items() if f.has_encoder)}."
        )

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n samples G(z), z ~ p(z). (n, *shape)."""
        return self.decode(self.prior(n, generator))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """G(E(x)) (n, *shape)."""
        return self.decode(self.encode(x))

    def averaged_modules(self) -> nn.ModuleDict:
        """The networks that sample, encode and reconstruct run (G, and E when there is one):
        what ``--ema`` keeps a moving average of. The dict holds the model's own modules."""
        names = (self.generator_module,) + ((self.encoder_module,) if self.has_encoder else ())
        return nn.ModuleDict({n: getattr(self, n) for n in names})

    # ----------------------------------------------------------------- config
    def config_dict(self) -> dict:
        return dataclasses.asdict(self.config)


FAMILIES: Registry[type[Family]] = Registry("family", "families")


def register_family(cls: type[Family]) -> type[Family]:
    """Class decorator: makes the family available by its ``name``."""
    FAMILIES.register(cls.name)(cls)
    return cls


def build_family(name: str, options: dict | None, info: DataInfo) -> Family:
    """Build a family from its name, a dict of its options and the data it will see."""
    cls = FAMILIES.get(name)
    cfg = make_config(cls.Config, options or {}, what=f"the {name!r} family")
    return cls(cfg, info)


def make_config(config_cls: type, options: dict, what: str):
    """A dataclass config from a dict, with a clear error for unknown or mistyped options."""
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(options) - set(fields))
    if unknown:
        raise GaneError(
            f"Unknown option(s) for {what}: {', '.join(unknown)}. Its options are: {', '.join(sorted(fields))}."
        )
    return config_cls(**options)
