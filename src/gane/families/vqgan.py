"""VQGAN in small (Esser et al. 2021) and its autoregressive prior.

Stage 1, ``vqgan``: E maps an image to a grid of vectors, each quantized to its nearest code of a
learnt codebook (``nets/vq.py``), and G decodes the grid. Loss:
    |x - G(q(E(x)))|_1 + perceptual * d_F + quantization loss + lambda * adv * L_GAN(G),
where d_F is the distance in the features of the domain classifier of the training data (VQGAN uses
LPIPS, whose VGG weights cannot be downloaded here; the classifier is trained once, fixed, and saved
with the run), L_GAN is a PatchGAN's (hinge by default), switched on after ``--adv-start`` steps,
and lambda = ||grad_L rec|| / ||grad_L L_GAN|| at G's last layer L: the adaptive weight that keeps
the adversarial gradient at the scale of the reconstruction's.

``encode`` returns the code grid (n, z_dim, h, w), the quantized vectors: a spatial, explicit code,
not one vector per image. ``decode`` takes a grid (or the same values flattened, as inversion and
editing hand them over); codes optimised by inversion are free vectors, not snapped to the codebook.

Stage 2, ``vqgan-prior``: a small GPT over the codes of the frozen stage-1 model's encodings of its
training data, one code at a time in raster order, class-conditional when the data has labels
(``gane train vqgan-prior --from RUN``, trained into RUN/prior). Sampling a vqgan run draws its codes
from that prior when one is there; else each code independently from the codebook's usage, and
``gane sample`` says so.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import GaneError
from ..fields import opt
from ..losses import ADVERSARIAL_LOSSES
from ..nets.vq import CodeTransformer, VectorQuantizer, VQDecoder, VQEncoder
from .adversarial import Adversary
from .base import CodePart, Family, FamilyConfig, Phase, register_family

log = logging.getLogger("gane")


@dataclass
class VQGANConfig(FamilyConfig):
    z_dim: int = opt(16, "size of each vector of the code grid (the codebook's dimension)", min=1)
    codebook_size: int = opt(128, "number of codes in the codebook", min=2)
    halvings: int = opt(2, "the code grid's side is the image's halved this many times (28x28 images, 2: a 7x7 grid)", min=0)
    quantizer: str = opt("ema", "how codes learn: ema (moving averages of their vectors, dead codes restarted) or loss (the codebook loss)",
                         choices=("ema", "loss"))
    beta: float = opt(0.25, "weight of the commitment loss that pulls E's vectors to their codes", min=0)
    perceptual: float = opt(0.1, "weight of the distance in the domain classifier's features (LPIPS's stand-in; 0 = off)", min=0)
    adv: float = opt(0.5, "weight of the adversarial term, times the adaptive weight (0 = no discriminator)", min=0)
    adv_start: int = opt(1000, "step at which the discriminator and the adversarial term start (a warm-up of reconstruction)", min=0)
    loss: str = opt("hinge", "adversarial loss", choices=ADVERSARIAL_LOSSES.names)
    gp_weight: float = opt(10.0, "weight of the gradient penalty of --loss wgan-gp", min=0)
    r1: float = opt(0.0, "R1 penalty gamma on real data (0 = off)", min=0)
    d_layers: int = opt(2, "stride-2 layers of the PatchGAN discriminator", min=1)


def grid_shape(config, info) -> tuple[int, int, int]:
    """(z_dim, h, w) of the code grid of images ``info.shape``, or a clear error."""
    _, h, w = info.shape
    k = 2 ** config.halvings
    if h % k or w % k:
        raise GaneError(f"--halvings {config.halvings} halves the image side {config.halvings} times, and {h}x{w} is not a multiple "
                        f"of {k}. Pass a smaller --halvings (28x28 images: at most 2).")
    return config.z_dim, h // k, w // k


class CodeGrid:
    """What both stages share: the code parts of a grid, and decoding from a grid or its flattened values."""

    def code_parts(self) -> list[CodePart]:
        c, h, w = self.grid
        return [CodePart("grid", c * h * w, "latent")]

    def as_grid(self, code: torch.Tensor) -> torch.Tensor:
        return code.reshape(len(code), *self.grid)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        """Code grids (n, z_dim, h, w), or the same values flattened (n, z_dim * h * w) -> images."""
        return self.G(self.as_grid(code))

    def decode_features(self, code: torch.Tensor, layer: int) -> torch.Tensor:
        return self.G.features(self.as_grid(code), layer)

    def decode_indices(self, indices: torch.Tensor) -> torch.Tensor:
        """Grids of code indices (n, h, w) -> images."""
        return self.G(self.Q.lookup(indices))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images -> their code grids (n, z_dim, h, w): the codebook vectors E's vectors quantize to."""
        return self.Q.lookup(self.Q.nearest(self.E(x)))

    def code_indices(self, x: torch.Tensor) -> torch.Tensor:
        """Images -> the index of each code of their grids (n, h, w)."""
        return self.Q.nearest(self.E(x))

    def drawn_indices(self, transformer, num_classes: int, top_k: int, n: int, classes=None,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        """n grids of indices (n, h, w) drawn by a code transformer, of the classes given (or drawn) when it is conditional."""
        labels = sample_classes(n, num_classes, classes, generator, self.name)
        seq = transformer.generate(n, labels.to(self.device) if labels is not None else None, top_k, 1.0, generator)
        return seq.view(n, *self.grid[1:])

    def unigram(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n grids of indices, each code drawn independently from the codebook's running usage. (n, h, w)."""
        _, h, w = self.grid
        idx = torch.multinomial(self.Q.usage.float().cpu().clamp_min(0), n * h * w, replacement=True, generator=generator)
        return idx.view(n, h, w).to(self.device)


@register_family
class VQGAN(CodeGrid, Family):
    name = "vqgan"
    description = "VQGAN: a code grid quantized to a learnt codebook, perceptual + PatchGAN loss with adaptive weight; its prior: vqgan-prior"
    Config = VQGANConfig
    has_encoder = True
    data_kinds = ("image",)

    def __init__(self, config: VQGANConfig, info):
        super().__init__(config, info)
        c = info.shape[0]
        self.grid = grid_shape(config, info)
        side = info.shape[1]
        self.E = VQEncoder(c, config.z_dim, config.halvings, config.width, side)
        self.Q = VectorQuantizer(config.codebook_size, config.z_dim, config.beta, ema=config.quantizer == "ema")
        self.G = VQDecoder(c, config.z_dim, config.halvings, config.width, side)
        if config.adv > 0:
            from ..nets.translate import PatchDiscriminator

            if config.loss == "wgan-gp" and config.r1 > 0:
                raise GaneError("--loss wgan-gp brings its own gradient penalty: pass --r1 0 with it.")
            self.D = PatchDiscriminator(c, info.shape[1], config.width, config.d_layers, "none")
            self.adversary = Adversary(config)
        if config.perceptual > 0:
            from ..metrics.classifier import SmallConvNet

            if info.num_classes is None:
                raise GaneError("The perceptual term reads the domain classifier of the training data, which needs labels; this "
                                "dataset has none. Pass --perceptual 0 (reconstruction and adversarial terms only).")
            self.F = SmallConvNet(c, info.shape[1], info.num_classes).eval().requires_grad_(False)
        self.code_prior: CodeTransformer | None = None  # attached from RUN/prior by attach()
        self.prior_note = ""

    # ----------------------------------------------------------------- training
    def prepare(self, data) -> None:
        if self.config.perceptual == 0:
            return
        from ..data import DATASETS
        from ..metrics.classifier import domain_classifier, fit_classifier

        name = getattr(data, "name", "")
        clf = domain_classifier(name, verbose=False) if name in DATASETS else None
        if clf is None or tuple(clf.shape) != tuple(self.info.shape):  # files, folders or resized images: fitted to this data
            clf = fit_classifier(data, data, name or "the training data")
        self.F.load_state_dict(clf.net.state_dict())

    def train(self, mode: bool = True):
        super().train(mode)
        if hasattr(self, "F"):
            self.F.eval()  # a fixed feature network: its batch norm keeps its statistics
        return self

    def phases(self):
        c = self.config
        ae = ("E", "G") + (("Q",) if c.quantizer == "loss" else ())  # EMA codes are buffers, updated in the forward pass
        if c.adv == 0:
            return [Phase("AE", ae, self.ae_loss)]
        return [Phase("AE", ae, self.ae_loss, stop=c.adv_start),
                Phase("D", ("D",), self.d_loss, start=c.adv_start),
                Phase("AE_adv", ae, self.ae_adv_loss, start=c.adv_start, optimizer="AE")]

    def _reconstruction(self, x):
        z_q, _, q_loss, stats = self.Q(self.E(x))
        x_hat = self.G(z_q)
        rec = (x_hat - x).abs().mean()
        loss, logs = rec + q_loss, {"l1": rec.detach(), "vq": q_loss.detach(), **stats}
        if self.config.perceptual > 0:
            target = self.F.embed(x).detach()
            perceptual = (self.F.embed(x_hat) - target).pow(2).mean() / target.pow(2).mean().clamp_min(1e-8)
            loss = loss + self.config.perceptual * perceptual
            logs["perceptual"] = perceptual.detach()
        return x_hat, loss, logs

    def ae_loss(self, batch):
        _, loss, logs = self._reconstruction(batch.x)
        return loss, logs

    def ae_adv_loss(self, batch):
        x_hat, rec_loss, logs = self._reconstruction(batch.x)
        adv, _ = self.adversary.g_loss(self.D, (x_hat,))
        weight = self.adaptive_weight(rec_loss, adv)
        logs.update(adv=adv.detach(), adaptive_weight=weight)
        return rec_loss + self.config.adv * weight * adv, logs

    def adaptive_weight(self, rec_loss: torch.Tensor, adv_loss: torch.Tensor) -> torch.Tensor:
        """||d rec / d W_L|| / (||d adv / d W_L|| + 1e-4) at G's last layer W_L, clamped to [0, 1e4], held constant."""
        last = self.G.last.weight
        g_rec = torch.autograd.grad(rec_loss, last, retain_graph=True)[0]
        g_adv = torch.autograd.grad(adv_loss, last, retain_graph=True)[0]
        return (g_rec.norm() / (g_adv.norm() + 1e-4)).clamp(0, 1e4).detach()

    def d_loss(self, batch):
        with torch.no_grad():
            x_hat = self.G(self.Q(self.E(batch.x))[0])
        return self.adversary.d_loss(self.D, (batch.x,), (x_hat,))

    # ----------------------------------------------------------------- sampling: the prior when there is one
    def attach(self, run_dir: Path, load) -> None:
        """Use the prior trained into RUN/prior (``gane train vqgan-prior --from RUN``) when it was trained
        over these weights; a note says why not otherwise."""
        prior_dir = Path(run_dir) / "prior"
        if not any((prior_dir / "checkpoints").glob("step-*/model.safetensors")):
            self.prior_note = (f"this vqgan run has no prior: each code is drawn independently from the codebook's usage. "
                               f"Train one with `gane train vqgan-prior --from {run_dir}` for samples with structure.")
            return
        prior = load(prior_dir, device=self.device)
        if not torch.equal(prior.Q.codebook.to(self.device), self.Q.codebook) or not prior.grid == self.grid:
            self.prior_note = (f"the prior in {prior_dir} was trained over other weights of this run (an earlier checkpoint), "
                               "so it is not used: codes are drawn independently. Train it again with "
                               f"`gane train vqgan-prior --from {run_dir} --out {prior_dir}-new`, or sample the prior run itself.")
            return
        self.code_prior, self.prior_classes = prior.T, prior.classes
        self.prior_note = f"codes drawn by the prior in {prior_dir} (top-k {prior.config.top_k})"
        self.prior_top_k = prior.config.top_k

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, classes=None) -> torch.Tensor:
        if self.code_prior is not None:
            return self.decode_indices(self.drawn_indices(self.code_prior, self.prior_classes, self.prior_top_k, n, classes, generator))
        if classes is not None:
            raise GaneError("This vqgan run has no class-conditional prior, so it cannot sample a given class. Train "
                            "`gane train vqgan-prior --from RUN` on labelled data, then sample with --class.")
        return self.decode_indices(self.unigram(n, generator))

    def prior(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        """n code grids, flattened (n, code_dim): codes drawn independently from the codebook's usage."""
        with torch.no_grad():
            return self.Q.lookup(self.unigram(n, generator)).flatten(1).to(device or self.device)

    def sampling_note(self) -> str:
        return self.prior_note


def sample_classes(n: int, num_classes: int, classes, generator, name: str) -> torch.Tensor | None:
    """The class of each of n samples: ``classes`` (an int or (n,)), else drawn uniformly; None without classes."""
    if not num_classes:
        if classes is not None:
            raise GaneError(f"This {name} prior is not class-conditional (its data had no labels), so it cannot sample a given class.")
        return None
    if classes is None:
        return torch.randint(0, num_classes, (n,), generator=generator)
    labels = torch.as_tensor(classes).long().expand(n)
    if int(labels.min()) < 0 or int(labels.max()) >= num_classes:
        raise GaneError(f"--class is a class from 0 to {num_classes - 1}; got {classes}.")
    return labels


@dataclass
class VQGANPriorConfig(FamilyConfig):
    from_run: str = opt("", "the vqgan run whose codes the prior learns (its latest checkpoint; required)", alias="--from")
    layers: int = opt(4, "transformer layers", min=1)
    heads: int = opt(4, "attention heads per layer", min=1)
    dim: int = opt(128, "width of the transformer (a multiple of --heads)", min=8)
    top_k: int = opt(32, "sampling keeps the k likeliest codes at each position (0 = all)", min=0)
    conditional: bool = opt(True, "condition on the class when the data has labels")
    # The stage-1 model's architecture, copied from the vqgan run by derived_options (never given by hand).
    z_dim: int = opt(16, "(from the vqgan run) size of each code vector", min=1)
    codebook_size: int = opt(128, "(from the vqgan run) number of codes", min=2)
    halvings: int = opt(2, "(from the vqgan run) halvings from the image to the code grid", min=0)
    quantizer: str = opt("ema", "(from the vqgan run) how its codes learnt", choices=("ema", "loss"))


#: options of the prior that describe the vqgan run it is trained over
STAGE1 = ("z_dim", "codebook_size", "halvings", "quantizer", "width")


@register_family
class VQGANPrior(CodeGrid, Family):
    name = "vqgan-prior"
    description = "the autoregressive transformer prior over a vqgan run's code grid (gane train vqgan-prior --from RUN)"
    Config = VQGANPriorConfig
    has_encoder = True  # the frozen stage-1 encoder
    data_kinds = ("image",)

    def __init__(self, config: VQGANPriorConfig, info):
        super().__init__(config, info)
        if config.dim % config.heads:
            raise GaneError(f"--dim {config.dim} must be a multiple of --heads {config.heads}.")
        c = info.shape[0]
        self.grid = grid_shape(config, info)
        self.classes = (info.num_classes or 0) if config.conditional else 0
        self.E = VQEncoder(c, config.z_dim, config.halvings, config.width, info.shape[1]).requires_grad_(False)
        self.Q = VectorQuantizer(config.codebook_size, config.z_dim, ema=config.quantizer == "ema")
        self.G = VQDecoder(c, config.z_dim, config.halvings, config.width, info.shape[1]).requires_grad_(False)
        self.T = CodeTransformer(config.codebook_size, self.grid[1] * self.grid[2], config.dim, config.layers, config.heads, self.classes)

    @classmethod
    def derived_options(cls, given: dict) -> dict:
        """The data, the run folder (RUN/prior) and the stage-1 architecture, read from the --from run."""
        source = given.get("from_run")
        if not source:
            return {}
        saved = stage1_config(Path(source))
        clash = [k for k in STAGE1 if k in given and given[k] != saved["model"].get(k)]
        if clash:
            raise GaneError(f"{', '.join('--' + k.replace('_', '-') for k in clash)} describe the vqgan run the prior is trained "
                            f"over, and {source} has " + ", ".join(f"{k}={saved['model'].get(k)}" for k in clash) + ". Drop them.")
        train = saved["train"]
        return {"data": train["data"], "out": str(Path(source) / "prior"),
                "train": {k: train[k] for k in ("image_size", "data_root") if train.get(k) is not None},
                "model": {k: saved["model"][k] for k in STAGE1}}

    def prepare(self, data) -> None:
        """Copy the stage-1 weights (E, codebook, G; E and G averaged where the run kept averages) from the
        --from run's latest checkpoint."""
        from ..api import load  # the run loader, used at training time only

        if not self.config.from_run:
            raise GaneError("vqgan-prior learns the codes of a trained vqgan run: pass --from RUN (e.g. --from runs/vqgan-mnist-5k).")

        stage1 = load(self.config.from_run, device=self.device)
        if stage1.name != "vqgan" or tuple(stage1.info.shape) != tuple(self.info.shape):
            raise GaneError(f"{self.config.from_run} is not a vqgan run of this data's images; pass a vqgan run to --from.")
        for name in ("E", "Q", "G"):
            getattr(self, name).load_state_dict(getattr(stage1, name).state_dict())

    def train(self, mode: bool = True):
        super().train(mode)
        for name in ("E", "Q", "G"):  # the stage-1 model is frozen: no batch statistics or codebook updates
            getattr(self, name).eval()
        return self

    def phases(self):
        return [Phase("T", ("T",), self.nll)]

    def nll(self, batch):
        with torch.no_grad():
            codes = self.code_indices(batch.x).flatten(1)  # (B, h * w) in raster order
        labels = batch.y if self.classes and batch.y is not None else None
        logits = self.T(codes, labels)
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1).float(), codes.flatten())
        return loss, {"bits_per_code": loss.detach() / 0.6931471805599453}

    def averaged_modules(self):
        from torch import nn

        return nn.ModuleDict({"T": self.T})

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, classes=None) -> torch.Tensor:
        return self.decode_indices(self.drawn_indices(self.T, self.classes, self.config.top_k, n, classes, generator))

    @property
    def num_classes(self):
        return self.classes or None

    def prior(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        """n code grids drawn by the transformer, flattened (n, code_dim)."""
        indices = self.drawn_indices(self.T, self.classes, self.config.top_k, n, None, generator)
        return self.Q.lookup(indices).flatten(1).to(device or self.device)

    def snapshot(self, examples, seed: int):
        from ..pictures import Picture

        return {"samples": Picture.samples(self.sample(64, torch.Generator().manual_seed(seed)))}


def stage1_config(run: Path) -> dict:
    """The config.json of a vqgan run's latest checkpoint, or a clear error."""
    done = sorted((run / "checkpoints").glob("step-*/config.json"), key=lambda p: int(p.parent.name.split("-")[1])) if run.is_dir() else []
    ckpt = done[-1].parent if done else None
    if ckpt is None:
        raise GaneError(f"--from {run}: no trained run there (looked for {run / 'checkpoints'}/step-*). Train one first: "
                        "`gane train vqgan --data mnist-5k`.")
    saved = json.loads((ckpt / "config.json").read_text())
    if saved.get("family") != "vqgan":
        raise GaneError(f"--from {run} is a {saved.get('family')!r} run; the prior learns the codes of a vqgan run.")
    return saved
