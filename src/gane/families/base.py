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
from ..fields import check_options, opt
from ..losses import ADVERSARIAL_LOSSES
from ..nets.attention import SelfAttention, attention_at, attention_side, attention_sides
from ..nets.density import CodeMixture
from ..nets.mlp import VECTOR_NETS
from ..registry import Registry


@dataclass
class Phase:
    """One optimisation step of a training iteration.

    ``modules`` names the family's submodules whose parameters this phase updates
    (one Adam optimizer per phase); ``loss(batch)`` returns the scalar to minimise
    and a dict of detached numbers to log. A phase runs on steps where
    ``step % every == 0``, with learning rate ``--lr`` times ``lr_scale`` (Adam
    ignores a constant weight on a phase's loss, so a phase is weighted this way).
    ``start`` and ``stop`` bound the steps it runs in, [start, stop): a model trained in stages (a
    GAN, then an encoder fitted to its frozen G) declares each stage's window.
    ``optimizer`` names another phase whose Adam this one steps, sharing its moment estimates: a
    lazy regulariser (StyleGAN2's R1 every 16 steps) is a phase of its own that moves D with D's
    optimizer, so the penalty's weight keeps its meaning (an Adam of its own would normalise it away).
    Such a phase steps at its owner's learning rate (its own ``lr_scale`` is not used).
    """

    name: str
    modules: tuple[str, ...]
    loss: Callable[[Batch], tuple[torch.Tensor, dict[str, torch.Tensor]]]
    every: int = 1
    lr_scale: float = 1.0
    start: int = 0
    stop: int | None = None
    optimizer: str | None = None

    @property
    def optimizer_name(self) -> str:
        """The phase whose optimizer this phase steps (its own name unless it shares one)."""
        return self.optimizer or self.name

    def due(self, step: int) -> bool:
        """Whether the phase runs at ``step`` (counted from 0)."""
        return self.start <= step and (self.stop is None or step < self.stop) and (step - self.start) % self.every == 0


@dataclass
class FamilyConfig:
    """Options every family has. Subclasses add their own fields (each becomes a CLI option)."""

    z_dim: int = opt(64, "size of the latent code z", min=1)
    width: float = opt(1.0, "width multiplier of every network (1.0 = 64 base channels / 256 hidden units)", above=0)
    vector_net: str = opt("mlp", "layout of the networks for vector data: mlp (gane's) or pacgan (the 2-D mode-collapse protocol "
                                 "of PacGAN and ALI: G 4 x 400 units with batch norm, D 3 maxout layers of 200; width scales both)",
                          choices=VECTOR_NETS.names)
    attention: int = opt(0, "a self-attention block (SAGAN) in every convolutional G, D and E, after the layer whose feature map "
                            "has this side (e.g. 14 or 7 for 28x28 images; 0 = none)", min=0)


@dataclass
class AdversarialConfig(FamilyConfig):
    """Options every family with a discriminator shares: the loss and its stabilisers."""

    loss: str = opt("ns", "adversarial loss", choices=ADVERSARIAL_LOSSES.names)
    spectral_norm: bool = opt(False, "spectral normalisation in D (Miyato et al. 2018)")
    dropout: float = opt(0.0, "dropout in D", min=0, below=1)
    gp_weight: float = opt(10.0, "weight of the gradient penalty of --loss wgan-gp (Gulrajani et al. 2017)", min=0)
    r1: float = opt(0.0, "R1 penalty gamma: gamma/2 * ||grad D(x)||^2 on real data (Mescheder et al. 2018; 0 = off)", min=0)
    feature_matching: float = opt(0.0, "weight of feature matching ||E f(x) - E f(G(z))||^2 in G's loss (Salimans et al. 2016; 0 = off)", min=0)
    vdb: float = opt(0.0, "variational discriminator bottleneck: the information bound I_c (Peng et al. 2019; 0 = off)", min=0)
    vdb_size: int = opt(32, "size of the VDB's Gaussian code", min=1)
    vdb_step: float = opt(1e-5, "dual ascent step of the VDB's Lagrange multiplier beta", min=0)


@dataclass
class CodeMixtureOption:
    """For families with an encoder whose code is one Gaussian part z: sample from the codes' own density."""

    code_mixture: int = opt(0, "sample G(z) with z from a mixture of this many Gaussians fitted to the encoder's codes of "
                               "the training data at every checkpoint (Ghosh et al. 2020); 0 = from the prior p(z)", min=0)


@dataclass(frozen=True)
class CodePart:
    """One named slice of a family's latent code: ``kind`` is normal, uniform (on [-1, 1]), categorical (a one-hot)
    or latent (a point of a learnt space such as StyleGAN's W: free, with no density of its own)."""

    name: str
    size: int
    kind: str = "normal"


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
    #: the discriminator that can judge data on its own (inversion reads its features and realism score);
    #: None where the family has none, or its D judges codes only (aae)
    data_discriminator: ClassVar[str | None] = None
    #: the kinds of data (DataInfo.kind) the family trains on; two-domain "pair" data is for translation models
    data_kinds: ClassVar[tuple[str, ...]] = ("image", "vector")
    #: a translation model (gane.translate): maps images between two domains and has no code to sample
    translates: ClassVar[bool] = False
    #: the latent spaces ``in_space`` gives a generator of: z (the code) for every family; a style-based
    #: generator adds w (the mapping network's output) and w+ (one w per layer)
    latent_spaces: ClassVar[tuple[str, ...]] = ("z",)

    def __init__(self, config: Any, info: DataInfo):
        super().__init__()
        if getattr(config, "attention", 0) and attention_side() != config.attention:
            raise ValueError("a family with --attention is built by build_family, which builds its networks with the block")
        self.config = config
        self.info = info
        k = getattr(config, "code_mixture", 0)
        #: the density sample() draws codes from instead of the prior (--code-mixture); the trainer refits it
        self.code_density = CodeMixture(config.z_dim, k) if k else None

    # ----------------------------------------------------------------- training
    def phases(self) -> list[Phase]:
        raise NotImplementedError

    # ----------------------------------------------------------------- the model interface
    @property
    def z_dim(self) -> int:
        """Size of the noise part z of the code."""
        return self.config.z_dim

    #: number of classes a class-conditional family generates (0 = not conditional); set in __init__
    classes: int = 0

    def code_parts(self) -> list[CodePart]:
        """The parts of the code decode() takes, in order: z, then a one-hot "class" part when the
        family is class-conditional (``classes`` > 0). InfoGAN adds its codes c1, c2, ..."""
        return [CodePart("z", self.z_dim)] + ([CodePart("class", self.classes, "categorical")] if self.classes else [])

    @property
    def code_dim(self) -> int:
        """Size of the whole code that decode() takes and encode() returns."""
        return sum(p.size for p in self.code_parts())

    def code_slices(self) -> dict[str, slice]:
        out, start = {}, 0
        for p in self.code_parts():
            out[p.name] = slice(start, start + p.size)
            start += p.size
        return out

    def set_code_part(self, code: torch.Tensor, name: str, value) -> torch.Tensor:
        """A copy of ``code`` (n, code_dim) with one part set: a category index (int or (n,) tensor)
        for a categorical part, a number or (n, size) tensor otherwise."""
        parts = {p.name: p for p in self.code_parts()}
        if name not in parts:
            raise GaneError(f"The {self.name!r} family's code has no part {name!r}; its parts are {', '.join(parts)}.")
        part, sl = parts[name], self.code_slices()[name]
        code = code.clone()
        if part.kind == "categorical":
            idx = torch.as_tensor(value, device=code.device).long().expand(code.shape[0])
            if int(idx.min()) < 0 or int(idx.max()) >= part.size:
                raise GaneError(f"{name} is a category from 0 to {part.size - 1}; got {value}.")
            code[:, sl] = torch.nn.functional.one_hot(idx, part.size).to(code.dtype)
        else:
            code[:, sl] = torch.as_tensor(value, dtype=code.dtype, device=code.device)
        return code

    def code_class(self, code: torch.Tensor) -> torch.Tensor:
        """The class (n,) a class-conditional code carries."""
        return code[:, self.code_slices()["class"]].argmax(1)

    def labels_needed(self, why: str) -> int:
        """The number of classes of the data, or a clear error when the data has no labels."""
        if self.info.num_classes is None:
            raise GaneError(f"{why} needs labelled data, and this dataset has no labels. Use a labelled dataset "
                            "(mnist-5k, fashion-mnist, a folder: with one subfolder per class, an npz: with y) or drop the option.")
        return self.info.num_classes

    @property
    def num_classes(self) -> int | None:
        """Number of classes when the family generates class-conditionally (a code part "class"), else None."""
        return next((p.size for p in self.code_parts() if p.name == "class"), None)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def prior(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        """n codes from p(z): each part from its distribution (standard normal, uniform on [-1, 1],
        or a uniformly drawn one-hot). (n, code_dim)."""
        device = device or self.device
        where = "cpu" if generator is not None else device  # a seeded generator lives on the CPU
        chunks = []
        for p in self.code_parts():
            if p.kind == "normal":
                chunks.append(torch.randn(n, p.size, generator=generator, device=where))
            elif p.kind == "uniform":
                chunks.append(torch.rand(n, p.size, generator=generator, device=where) * 2 - 1)
            else:
                idx = torch.randint(0, p.size, (n,), generator=generator, device=where)
                chunks.append(torch.nn.functional.one_hot(idx, p.size).float())
        code = chunks[0] if len(chunks) == 1 else torch.cat(chunks, 1)
        return code.to(device)

    def sample_codes(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        """The codes sample() decodes: from the mixture fitted to the encoder's codes when the family
        keeps one (``--code-mixture``) and it has been fitted, else from the prior. (n, code_dim)."""
        density = self.code_density
        if density is None or not bool(density.fitted):
            return self.prior(n, generator, device)
        device = device or self.device
        where = "cpu" if generator is not None else device
        eps = torch.randn(n, self.z_dim, generator=generator, device=where).to(device)
        uniform = torch.rand(n, generator=generator, device=where).to(device)
        return density.sample(eps, uniform)

    @torch.no_grad()
    def fit_code_density(self, x_batches) -> None:
        """Refit the code mixture (``--code-mixture``) to the codes of these data batches; no-op without one.
        Call it in eval mode with the weights sample() will use."""
        if self.code_density is not None:
            self.code_density.fit(torch.cat([self.encode(x) for x in x_batches]))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes (n, z_dim) -> data (n, *shape). Keeps the graph, so codes can be optimised through it."""
        return getattr(self, self.generator_module)(z)

    def in_space(self, space: str):
        """The model as a generator of the latent space ``space`` (one of ``latent_spaces``): an object
        with this interface (code_parts, prior, decode, decode_features, ...) whose code is a point of
        that space, for inversion, restoration and encoders. "z" is the model itself."""
        if space == "z":
            return self
        styled = [n for n, f in FAMILIES.items() if len(f.latent_spaces) > 1]
        raise GaneError(f"The {self.name!r} family's generator has one latent space, z, so it cannot be inverted into {space!r}. "
                        f"Use --space z, or a family with a style space ({', '.join(styled)}).")

    # ----------------------------------------------------------------- the generator opened at a layer
    @property
    def generator_layers(self) -> int:
        """Stages of G: layer 0 is the code, layer ``generator_layers`` the output (nets/staged.py)."""
        return getattr(self, self.generator_module).num_layers

    def decode_features(self, code: torch.Tensor, layer: int) -> torch.Tensor:
        """G's activation after stage ``layer`` for ``code`` (n, code_dim). Keeps the graph."""
        return getattr(self, self.generator_module).features(code, layer)

    def decode_from(self, h: torch.Tensor, layer: int, code: torch.Tensor | None = None) -> torch.Tensor:
        """The rest of G from its activation ``h`` after stage ``layer``; ``code`` gives the class part
        to the layers of a class-conditional G that read it (BigBiGAN's conditional batch norm)."""
        return getattr(self, self.generator_module).from_features(h, layer, code)

    # ----------------------------------------------------------------- the discriminator on data alone
    def critic(self) -> nn.Module:
        """The discriminator that judges data on its own (``data_discriminator``), or a clear error."""
        if self.data_discriminator is None:
            what = f"The {self.name!r} family's discriminator judges codes, not data" if hasattr(self, "D") else \
                f"The {self.name!r} family has no discriminator"
            raise GaneError(f"{what}, so there are no discriminator features or realism score to use. For features, use the "
                            "domain classifier's (--features domain); drop a realism term (--realism-weight 0); or use a family "
                            "with a discriminator of data (gan, bigan, vaegan, ...).")
        return getattr(self, self.data_discriminator)

    def critic_features(self, x: torch.Tensor) -> torch.Tensor:
        """The discriminator's features of data alone (n, F). Keeps the graph."""
        return self.critic().data_features(x).flatten(1)

    def critic_realism(self, x: torch.Tensor) -> torch.Tensor:
        """The discriminator's score of data alone (n,), higher = more real; a clear error where it needs more than x."""
        score = self.critic().realism(x)
        if score is None:
            raise GaneError(f"The {self.name!r} family's discriminator judges data together with a code or class, so it "
                            "gives no score of data alone: drop the realism term (--realism-weight 0). Its features of "
                            "data can still be used (gane invert --features discriminator).")
        return score.reshape(-1)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Data (n, *shape) -> codes (n, z_dim). Only for families with an encoder."""
        raise GaneError(
            f"The {self.name!r} family has no encoder, so it cannot encode or reconstruct. "
            f"Families with an encoder: {', '.join(n for n, f in FAMILIES.items() if f.has_encoder)}."
        )

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, classes=None) -> torch.Tensor:
        """n samples G(z), z ~ p(z) (or the fitted code mixture, see ``sample_codes``). (n, *shape).
        ``classes`` (an int or (n,) labels) fixes the class of a class-conditional family."""
        code = self.sample_codes(n, generator)
        if classes is not None:
            if self.num_classes is None:
                raise GaneError(
                    f"This {self.name!r} model is not class-conditional, so it cannot sample a given class. "
                    "Class-conditional models: acgan, and gan, bigan or bigbigan trained with --conditional "
                    "(InfoGAN's categorical code is learnt without labels: sweep it with `gane sample RUN --sweep c1`)."
                )
            code = self.set_code_part(code, "class", classes)
        return self.decode(code)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """G(E(x)) (n, *shape)."""
        return self.decode(self.encode(x))

    def averaged_modules(self) -> nn.ModuleDict:
        """The networks that sample, encode and reconstruct run (G, and E when there is one):
        what ``--ema`` keeps a moving average of. The dict holds the model's own modules."""
        names = (self.generator_module,) + ((self.encoder_module,) if self.has_encoder else ())
        return nn.ModuleDict({n: getattr(self, n) for n in names})

    @classmethod
    def derived_options(cls, given: dict) -> dict:
        """Options a family derives from the ones given, before presets and defaults fill the rest:
        {"data": ..., "out": ..., "model": {...}, "train": {...}}, each optional (what is given wins over
        "data" and "out"). vqgan-prior reads its data, run folder and stage-1 architecture from --from RUN."""
        return {}

    def attach(self, run_dir, load) -> None:
        """Called by ``gane.load`` with the run folder and the loader: for what a model uses that lives
        beside its checkpoints (a vqgan run's prior in RUN/prior). Nothing by default."""

    def sampling_note(self) -> str:
        """What ``gane sample`` should say about where this model's codes come from ("" = nothing)."""
        return ""

    def prepare(self, data) -> None:
        """Called once before a new run's first step (never on resume: the checkpoint holds what it made)
        with the training data, for what a model derives from its data before training, such as the
        fixed feature network of a content loss. Nothing by default."""

    # ----------------------------------------------------------------- pictures at checkpoints
    def snapshot_examples(self, data, device=None) -> dict[str, torch.Tensor]:
        """Fixed real data the checkpoint pictures use, taken once per run: 32 examples spread through
        the split to reconstruct (families with an encoder), and real points to draw 2-D samples over."""
        out = {}
        if self.has_encoder:
            out["real"] = data.spread(32, device).x
        if self.info.kind == "vector":
            out["backdrop"] = data.take(2000).x
        return out

    @torch.no_grad()
    def snapshot(self, examples: dict[str, torch.Tensor], seed: int) -> dict[str, "Picture"]:
        """The pictures written at each checkpoint, by file name: 64 samples from the same random
        numbers every time (mapped through the current code density), and reconstructions of the
        fixed examples. Called in eval mode with the weights sample() uses."""
        from ..pictures import Picture

        codes = self.sample_codes(64, generator=torch.Generator().manual_seed(seed), device=self.device)
        pictures = {"samples": Picture.samples(self.decode(codes), examples.get("backdrop"))}
        if "real" in examples:
            real = examples["real"]
            pictures["reconstructions"] = Picture.reconstructions(real, self.reconstruct(real))
        return pictures

    # ----------------------------------------------------------------- config
    def config_dict(self) -> dict:
        return dataclasses.asdict(self.config)


FAMILIES: Registry[type[Family]] = Registry("family", "families")


def generative_families(kind: str | None = None) -> list[str]:
    """The registered families that generate from a code (every one but the translation models); with
    ``kind`` ("image" or "vector"), those that train on that kind of data."""
    return [name for name, cls in FAMILIES.items() if not cls.translates and (kind is None or kind in cls.data_kinds)]


def register_family(cls: type[Family]) -> type[Family]:
    """Class decorator: makes the family available by its ``name``."""
    FAMILIES.register(cls.name)(cls)
    return cls


def build_family(name: str, options: dict | None, info: DataInfo) -> Family:
    """Build a family from its name, a dict of its options and the data it will see."""
    cls = FAMILIES.get(name)
    if info.kind not in cls.data_kinds:
        takes = [n for n, c in FAMILIES.items() if info.kind in c.data_kinds]
        what = "two domains (a translation task)" if info.kind == "pair" else f"{info.kind} data"
        raise GaneError(f"The {name!r} family trains on {' or '.join(cls.data_kinds)} data, and this dataset holds {what}. "
                        + (f"Train {', '.join(takes)} on it, or " if takes else "")
                        + (f"give {name} a two-domain dataset (edges2digits, digits2styled, aligned:PATH, ...; gane list shows them)."
                           if cls.translates else "give this family a single-domain dataset (gane list shows them)."))
    cfg = make_config(cls.Config, options or {}, what=f"the {name!r} family")
    side = getattr(cfg, "attention", 0)
    if side:
        check_attention_side(side, info)
    with attention_at(side):
        model = cls(cfg, info)
    if side and not any(isinstance(m, SelfAttention) for m in model.modules()):  # never a silent no-op
        raise GaneError(f"--attention {side}: the {name!r} family's networks for these images have no feature map of side {side} "
                        f"(with its options as given). Pick another side, or drop --attention.")
    return model


def check_attention_side(side: int, info: DataInfo) -> None:
    """A clear error unless every convolutional network of ``info``'s images has a feature map of this side."""
    from ..nets.conv import layout

    if info.kind != "image":
        raise GaneError(f"--attention {side} puts self-attention in convolutional networks, and this data holds {info.kind}s "
                        f"of shape {tuple(info.shape)}. Drop --attention.")
    sides = attention_sides(*layout(info.shape[-1]))
    if side not in sides:
        raise GaneError(f"--attention {side}: the networks for {info.shape[-1]}x{info.shape[-1]} images have feature maps of side "
                        f"{' and '.join(map(str, sides))} between the code and the image. Pass one of those.")


def make_config(config_cls: type, options: dict, what: str):
    """A dataclass config from a dict. Every value is checked against its field's declaration
    (``fields.opt``): an unknown option or a value that is not allowed is a clear error naming the flag."""
    return config_cls(**check_options(config_cls, options, what))
