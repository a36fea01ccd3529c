"""StyleGAN2 in small (Karras et al. 2019, 2020), with the truncation trick and multi-modal truncation
(Mokady et al. 2022, Self-Distilled StyleGAN).

G: a mapping network z -> w and a synthesis network from a learnt constant through modulated,
demodulated convolutions with per-layer noise and skip RGB outputs (nets/style.py). D: residual with
minibatch standard deviation. Objective: the non-saturating GAN loss (``--loss``), with R1 on real
data applied lazily, every ``--r1-every`` steps and weighted by that interval, in a phase of its own
that steps D's optimizer; optional path-length regularisation of G (``--pl-weight``), lazily too.
Style mixing (``--mixing``): with that probability a batch takes its ws from two codes, switching
at a random layer, so that neighbouring layers do not learn to depend on each other.

The latent spaces: z (the prior), w (one mapping output for every layer) and w+ (one w per layer).
``in_space("w")`` and ``in_space("w+")`` give the model as a generator of that space, so inversion,
restoration and encoders work in it unchanged.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from .. import losses
from ..errors import GaneError
from ..fields import opt
from ..losses import ADVERSARIAL_LOSSES
from ..nets.critic import Discriminator
from ..nets.style import StyleBody, StyleGenerator
from . import sharing
from .adversarial import Adversary
from .base import CodePart, Family, FamilyConfig, Phase, register_family


@dataclass
class StyleGANConfig(FamilyConfig):
    w_dim: int = opt(64, "size of the intermediate latent w", min=1)
    mapping_layers: int = opt(4, "layers of the mapping network z -> w (StyleGAN uses 8)", min=1)
    loss: str = opt("ns", "adversarial loss", choices=ADVERSARIAL_LOSSES.names)
    gp_weight: float = opt(10.0, "weight of the gradient penalty of --loss wgan-gp", min=0)
    r1: float = opt(1.0, "R1 penalty gamma: gamma/2 * ||grad D(x)||^2 on real data (0 = off)", min=0)
    r1_every: int = opt(16, "apply R1 every this many steps, weighted by the interval (lazy regularisation; 1 = every step)", min=1)
    pl_weight: float = opt(0.0, "weight of path-length regularisation of G (StyleGAN2 uses 2; 0 = off)", min=0)
    pl_every: int = opt(4, "apply path-length regularisation every this many steps, weighted by the interval", min=1)
    mixing: float = opt(0.9, "probability that a training batch mixes the styles of two codes (0 = off)", min=0, max=1)
    w_avg_decay: float = opt(0.995, "decay of the running mean of w that truncation pulls toward", min=0, below=1)


def mix_styles(ws: torch.Tensor, other: torch.Tensor, start: int, stop: int | None = None) -> torch.Tensor:
    """ws (B, L, w_dim) with layers [start, stop) taken from ``other`` (B, L, w_dim)."""
    out = ws.clone()
    out[:, start:stop] = other[:, start:stop]
    return out


@register_family
class StyleGAN(Family):
    name = "stylegan"
    data_discriminator = "D"
    description = "StyleGAN2 in small: mapping to W, modulated convs, noise, lazy R1, style mixing, truncation; inverts into z, w, w+"
    Config = StyleGANConfig
    data_kinds = ("image",)
    latent_spaces = ("z", "w", "w+")

    def __init__(self, config: StyleGANConfig, info):
        super().__init__(config, info)
        if config.loss == "wgan-gp" and config.r1 > 0:
            raise GaneError("--loss wgan-gp brings its own gradient penalty: pass --r1 0 with it.")
        self.lazy_r1 = config.r1 > 0 and config.r1_every > 1
        self.adv = Adversary(dataclasses.replace(config, r1=0.0) if self.lazy_r1 else config)
        self.G = StyleGenerator(config.z_dim, tuple(info.shape), config.w_dim, config.mapping_layers, config.width)
        self.D = Discriminator(StyleBody(tuple(info.shape), config.width))
        self.register_buffer("pl_mean", torch.zeros(()))

    @property
    def num_ws(self) -> int:
        return self.G.num_ws

    # ----------------------------------------------------------------- training
    def phases(self):
        c = self.config
        phases = [Phase("D", ("D",), self.d_loss)]
        if self.lazy_r1:
            phases.append(Phase("D_r1", ("D",), self.r1_loss, every=c.r1_every, optimizer="D"))
        phases.append(Phase("G", ("G",), self.g_loss))
        if c.pl_weight > 0:
            phases.append(Phase("G_pl", ("G",), self.pl_loss, every=c.pl_every, optimizer="G"))
        return phases

    def training_styles(self, n: int) -> torch.Tensor:
        """ws (n, num_ws, w_dim) for a training batch: with probability --mixing, layers from a random
        one on take a second code's w. Updates the running mean of w."""
        G = self.G
        w = G.mapping(self.prior(n))
        with torch.no_grad():
            G.mapping.w_avg.lerp_(w.detach().mean(0), 1 - self.config.w_avg_decay)
        ws = G.broadcast(w)
        if self.config.mixing > 0 and float(torch.rand(())) < self.config.mixing:
            cut = int(torch.randint(1, self.num_ws, ()))
            ws = mix_styles(ws, G.broadcast(G.mapping(self.prior(n))), cut)
        return ws

    def d_loss(self, batch):
        x = batch.x
        with sharing.recording(self.G):  # G's phase backpropagates through this G(z)
            x_fake = self.G.synthesis(self.training_styles(len(x)))
        sharing.leave(batch, "G", x_fake=x_fake)
        return self.adv.d_loss(self.D, (x,), (x_fake.detach(),))

    def r1_loss(self, batch):
        c = self.config
        r1 = losses.r1_penalty(Adversary._critic(self.D), (batch.x,))
        return 0.5 * c.r1 * c.r1_every * r1, {"r1": r1.detach()}

    def g_loss(self, batch):
        shared = sharing.take(batch, "G")
        x_fake = shared["x_fake"] if shared else self.G.synthesis(self.training_styles(len(batch.x)))
        return self.adv.g_loss(self.D, (x_fake,))

    def pl_loss(self, batch):
        """Path-length regularisation: the norm of J_w^T y for random image-space y should stay at its
        running mean, so that a step in W moves the image by a fixed amount everywhere."""
        n = max(1, len(batch.x) // 2)
        ws = self.training_styles(n)
        images = self.G.synthesis(ws)
        y = torch.randn_like(images) / (images.shape[2] * images.shape[3]) ** 0.5
        (grad,) = torch.autograd.grad((images * y).sum(), ws, create_graph=True)
        lengths = grad.pow(2).sum(2).mean(1).sqrt()  # (n,)
        with torch.no_grad():
            self.pl_mean.lerp_(lengths.mean().detach(), 0.01)
        penalty = (lengths - self.pl_mean).pow(2).mean()
        return self.config.pl_weight * self.config.pl_every * penalty, {"pl_length": lengths.mean().detach()}

    # ----------------------------------------------------------------- styles, truncation, mixing
    def styles(self, z: torch.Tensor) -> torch.Tensor:
        """ws (n, num_ws, w_dim) of codes z (n, z_dim)."""
        return self.G.broadcast(self.G.mapping(z))

    def truncate(self, ws: torch.Tensor, psi: float, centres: torch.Tensor | None = None) -> torch.Tensor:
        """The truncation trick: each w moved to anchor + psi (w - anchor), the anchor being the mean w,
        or with ``centres`` (K, w_dim) the centre nearest the code's w (multi-modal truncation, by
        Euclidean distance in W of the first layer's w). psi = 1 is the identity, psi = 0 the anchor."""
        if centres is None:
            anchor = self.G.mapping.w_avg.to(ws)[None, None]
        else:
            nearest = torch.cdist(ws[:, 0], centres.to(ws)).argmin(1)
            anchor = centres.to(ws)[nearest][:, None]
        return torch.lerp(anchor.expand_as(ws), ws, psi)  # exact at psi = 0 and 1

    @torch.no_grad()
    def cluster_centres(self, k: int, n: int = 10000, seed: int = 0) -> torch.Tensor:
        """K centres of W: k-means (scikit-learn) over the w of ``n`` codes from the prior. (k, w_dim)."""
        from sklearn.cluster import KMeans

        if not 1 <= k <= n:
            raise GaneError(f"--truncation-clusters takes a number of clusters from 1 to {n}; got {k}.")
        z = self.prior(n, torch.Generator().manual_seed(seed))
        w = torch.cat([self.G.mapping(chunk) for chunk in z.split(1024)]).cpu().double().numpy()
        km = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(w)
        return torch.as_tensor(km.cluster_centers_, dtype=torch.float32, device=self.device)

    @torch.no_grad()
    def draw(self, z: torch.Tensor, psi: float = 1.0, centres: torch.Tensor | None = None,
             mix_z: torch.Tensor | None = None, mix_layers: tuple[int, int | None] | None = None) -> torch.Tensor:
        """Images of codes z (n, z_dim): with layers ``mix_layers`` [a, b) styled by ``mix_z`` instead, then
        truncated by ``psi`` toward the mean w or the nearest of ``centres``."""
        ws = self.styles(z)
        if mix_z is not None:
            a, b = mix_layers if mix_layers is not None else (self.num_ws // 2, None)
            self.check_layers(a, b)
            ws = mix_styles(ws, self.styles(mix_z), a, b)
        if psi != 1.0 or centres is not None:
            ws = self.truncate(ws, psi, centres)
        return self.G.synthesis(ws)

    def check_layers(self, a: int, b: int | None) -> None:
        top = self.num_ws
        if not (0 <= a < top and (b is None or a < b <= top)):
            raise GaneError(f"This generator has style layers 0 to {top - 1}; --mix-layers takes A:B with 0 <= A < B <= {top} "
                            f"(B exclusive, empty for the end); got {a}:{'' if b is None else b}.")

    # ----------------------------------------------------------------- the latent spaces
    def in_space(self, space: str):
        if space == "z":
            return self
        if space not in self.latent_spaces:
            return super().in_space(space)
        return StyleSpace(self, space)


class StyleSpace:
    """A StyleGAN model seen as a generator of W (``space="w"``: one w, shared by every layer) or W+
    (``"w+"``: one w per layer, flattened): the code is the w, ``decode`` runs the synthesis network,
    and ``prior`` maps prior codes z through the mapping network. Everything else is the model's."""

    def __init__(self, model: StyleGAN, space: str):
        self.model, self.space = model, space

    def __getattr__(self, name):  # the model's attributes, for what a space does not change
        return getattr(self.model, name)

    def code_parts(self) -> list[CodePart]:
        size = self.model.config.w_dim * (self.model.num_ws if self.space == "w+" else 1)
        return [CodePart(self.space, size, "latent")]

    code_dim = Family.code_dim
    code_slices = Family.code_slices
    set_code_part = Family.set_code_part
    num_classes = Family.num_classes
    has_encoder = False
    encode = Family.encode
    name = property(lambda self: self.model.name)

    def _ws(self, code: torch.Tensor) -> torch.Tensor:
        G = self.model.G
        ws = G.broadcast(code) if self.space == "w" else code.view(len(code), G.num_ws, -1)
        return ws.reshape(len(code), -1)  # the synthesis network's flat W+ code

    def _from_z(self, z: torch.Tensor) -> torch.Tensor:
        w = self.model.G.mapping(z)
        return w if self.space == "w" else self.model.G.broadcast(w).reshape(len(z), -1)

    def prior(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        """n codes of this space: the w of n prior codes z. (n, code_dim)."""
        with torch.no_grad():
            return self._from_z(self.model.prior(n, generator, device))

    sample_codes = prior

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        return self.model.G.synthesis(self._ws(code))

    @property
    def generator_layers(self) -> int:
        return self.model.G.synthesis.num_layers

    def decode_features(self, code: torch.Tensor, layer: int) -> torch.Tensor:
        return self.model.G.synthesis.features(self._ws(code), layer)

    def decode_from(self, h: torch.Tensor, layer: int, code: torch.Tensor | None = None) -> torch.Tensor:
        return self.model.G.synthesis.from_features(h, layer, self._ws(code) if code is not None else None)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, classes=None) -> torch.Tensor:
        return self.decode(self.prior(n, generator))


def parse_layers(text: str | None) -> tuple[int, int | None] | None:
    """"A:B" (B may be empty, for the last layer) -> (A, B); None stays None."""
    if text is None:
        return None
    a, sep, b = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return int(a), (int(b) if b.strip() else None)
    except ValueError:
        raise GaneError(f"--mix-layers takes A:B, the style layers [A, B) to mix in (e.g. 0:2, or 3: for 3 to the end); got {text!r}.") from None


def styled_samples(model, n: int, seed: int, psi: float = 1.0, clusters: int | None = None, mix_from: int | None = None,
                   mix_layers: str | None = None, classes=None, sweep=None, centres: torch.Tensor | None = None) -> tuple[torch.Tensor, str]:
    """``gane sample`` of a style-based model with truncation and style mixing: n images from the codes
    of ``seed`` (the same codes plain sampling draws), and a phrase saying what was done. ``centres``:
    ``model.cluster_centres(clusters)`` when the caller holds them already (k-means takes a while)."""
    if "w" not in model.latent_spaces:
        raise GaneError(f"--truncation, --truncation-clusters, --mix-from and --mix-layers act on a style space W, which the "
                        f"{model.name!r} family's generator does not have. Train stylegan for them, or drop them.")
    if classes is not None or sweep is not None:
        raise GaneError("--class and --sweep do not combine with truncation or style mixing: this stylegan is not "
                        "class-conditional and has one code part, z. Drop them.")
    if mix_layers is not None and mix_from is None:
        raise GaneError("--mix-layers says which layers take the styles of --mix-from SEED's codes: pass --mix-from too.")
    if clusters is not None and psi == 1.0:
        raise GaneError("--truncation-clusters K sets where truncation pulls toward; the pull is --truncation PSI, which is 1 "
                        "(no truncation) unless you pass a value below 1, e.g. --truncation 0.7.")
    layers = parse_layers(mix_layers)
    if layers is not None:
        model.check_layers(*layers)
    z = model.sample_codes(n, torch.Generator().manual_seed(seed))
    mix_z = model.sample_codes(n, torch.Generator().manual_seed(mix_from)) if mix_from is not None else None
    if clusters is not None and centres is None:
        centres = model.cluster_centres(clusters)
    images = model.draw(z, psi, centres, mix_z, layers)
    what = []
    if psi != 1.0 or centres is not None:
        what.append(f"truncation {psi:g} toward {'the nearest of %d cluster centres' % len(centres) if centres is not None else 'the mean w'}")
    if mix_z is not None:
        a, b = layers if layers is not None else (model.num_ws // 2, None)
        what.append(f"style layers {a} to {(b or model.num_ws) - 1} from seed {mix_from}")
    return images, "; ".join(what)
