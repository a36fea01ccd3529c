"""Typed run configuration and named presets.

A run is resolved in three layers: the dataclass defaults, then the preset for
(family, dataset) if one is registered, then what the user passed. The resolved
config is printed and saved as ``config.json`` in the run folder.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from .data import parse_spec
from .errors import GaneError
from .fields import opt
from .families import FAMILIES, make_config
from .nets.conv import side_rule
from .registry import Registry


@dataclass
class TrainConfig:
    """Options of the trainer, shared by every family."""

    data: str = opt("mnist-5k", "dataset name, or folder:PATH / npz:PATH (see `gane list`)")
    steps: int | None = opt(None, "total steps to train to; with --resume, training continues until this step", min=1)
    epochs: float | None = opt(None, "train for this many passes over the data instead of --steps", above=0)
    batch_size: int = opt(64, "images per step, across all processes", min=1)
    lr: float = opt(2e-4, "Adam learning rate", above=0)
    beta1: float = opt(0.5, "Adam beta1", min=0, below=1)
    beta2: float = opt(0.999, "Adam beta2", min=0, below=1)
    seed: int = opt(0, "seed for weights, data order and noise", min=0, max=2**32 - 1)
    device: str = opt("auto", "auto, cpu, cuda, cuda:N or mps")
    out: str | None = opt(None, "run folder (default runs/FAMILY-DATA)")
    resume: bool = opt(False, "continue the run in the run folder from its latest checkpoint")
    ema: float = opt(0.0, "decay of a moving average of G (and E) used for samples and reconstructions (0 = off; e.g. 0.999)",
                     min=0, below=1)
    tick: int = opt(500, "steps between pictures, TensorBoard scalars and checkpoints", min=1)
    log_every: int = opt(20, "steps between progress-bar and log.jsonl updates", min=1)
    keep_checkpoints: int = opt(2, "how many recent checkpoints to keep", min=1)
    time_limit: float | None = opt(None, "stop (saving a checkpoint) after this many seconds", above=0)
    data_root: str | None = opt(None, "folder with dataset files (else $GANE_DATA, else the cache folder)")
    download: bool = opt(False, "let torchvision download a missing dataset (needs internet)")
    image_size: int | None = opt(None, "resize images to this side (default: the data's own side; for a folder, its "
                                       "images' side or the nearest the networks take, at most 64)", check=side_rule)
    workers: int = opt(2, "DataLoader workers for datasets streamed from disk", min=0)
    progress: bool = opt(True, "show a progress bar")


DEFAULT_STEPS = 2000


@dataclass
class Preset:
    """Overrides for one (family, dataset) pair, chosen so the default command gives a good result."""

    model: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)
    note: str = ""
    caveat: str = ""  # where the preset is known not to give a good result: shown in --help and at the start of training

    @property
    def summary(self) -> str:
        """The note, with the known limit when there is one (for --help and `gane list`)."""
        return self.note + (f" (known limit: {self.caveat})" if self.caveat else "")


PRESETS: Registry[Preset] = Registry("preset")


def register_preset(family: str, dataset: str, preset: Preset) -> None:
    PRESETS.register(f"{family}/{dataset}")(preset)


def presets_of(family: str) -> dict[str, Preset]:
    """The presets of one family, by dataset name."""
    return {name.split("/", 1)[1]: p for name, p in PRESETS.items() if name.split("/", 1)[0] == family}


def preset_for(family: str, data: str) -> Preset | None:
    name, _ = parse_spec(data)
    key = f"{family}/{name}"
    return PRESETS.get(key) if key in PRESETS else None


@dataclass
class RunConfig:
    family: str
    model: object  # the family's Config dataclass
    train: TrainConfig

    def to_dict(self) -> dict:
        return {"family": self.family, "model": dataclasses.asdict(self.model), "train": dataclasses.asdict(self.train)}


TRAIN_FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}
# Trainer options that belong to one invocation, so --resume does not take them from the saved run:
# a run started with --time-limit 240 should not stop again after 4 minutes when it is continued.
PER_INVOCATION = {"resume", "steps", "epochs", "time_limit", "progress", "download"}


def resolve(family: str, **options) -> RunConfig:
    """Split flat options into trainer and family options, layered over the preset.

    Options whose value is None count as "not given".
    """
    cls = FAMILIES.get(family)
    given = {k: v for k, v in options.items() if v is not None}
    saved = _saved_run(family, given) if given.get("resume") else None
    data = given.get("data") or (saved["train"]["data"] if saved else TrainConfig.data)
    preset = preset_for(family, data)
    model_opts = dict(preset.model) if preset else {}
    train_opts = dict(preset.train) if preset else {}
    if saved:  # resuming: the run's own options, then whatever the user changes now
        model_opts.update(saved["model"])
        train_opts.update({k: v for k, v in saved["train"].items() if k in TRAIN_FIELDS and k not in PER_INVOCATION})
    model_fields = {f.name for f in dataclasses.fields(cls.Config)}
    unknown = []
    for k, v in given.items():
        if k in TRAIN_FIELDS:
            train_opts[k] = v
        elif k in model_fields:
            model_opts[k] = v
        else:
            unknown.append(k)
    if unknown:
        raise GaneError(
            f"Unknown option(s) for `gane train {family}`: {', '.join(sorted(unknown))}. "
            f"Trainer options: {', '.join(sorted(TRAIN_FIELDS))}. {family} options: {', '.join(sorted(model_fields))}."
        )
    # A user who gives --epochs overrides a preset's steps, and the other way round.
    if "epochs" in given and "steps" not in given:
        train_opts.pop("steps", None)
    if "steps" in given and "epochs" not in given:
        train_opts.pop("epochs", None)
    train_opts.setdefault("out", str(default_run_dir(family, train_opts.get("data", TrainConfig.data))))
    if saved and "steps" not in given and "epochs" not in given:
        train_opts["steps"], train_opts["epochs"] = saved["train"].get("steps"), saved["train"].get("epochs")
    train = make_config(TrainConfig, train_opts, what="the trainer")
    model = make_config(cls.Config, model_opts, what=f"the {family!r} family")
    validate(train)
    return RunConfig(family, model, train)


def default_run_dir(family: str, data: str) -> Path:
    slug = "".join(c if c.isalnum() or c in "-_" else "-" for c in data).strip("-")[:60]
    return Path("runs") / f"{family}-{slug}"


def _saved_run(family: str, given: dict) -> dict | None:
    """The config.json of the run being resumed, if there is one."""
    run_dir = Path(given["out"]) if given.get("out") else default_run_dir(family, given.get("data", TrainConfig.data))
    path = run_dir / "config.json"
    if not path.exists():
        return None
    try:
        saved = json.loads(path.read_text())
        return saved if saved.get("family") == family else None
    except (OSError, json.JSONDecodeError):
        return None


def validate(t: TrainConfig) -> None:
    """Rules between trainer options; each option's own range is checked where the config is made (``make_config``)."""
    if t.steps is not None and t.epochs is not None:
        raise GaneError(f"Give --steps or --epochs, not both (got --steps {t.steps} and --epochs {t.epochs:g}).")


# --------------------------------------------------------------------------- presets
# Chosen by training runs on a 2-core CPU; benchmarks/families.py measures the mnist-5k ones
# (results in benchmarks/results/families.md). Every image preset trains narrow networks (width 0.25 or
# 0.5) with a moving average of G (and E) for 3,000 steps of 64 images: 1 to 6 minutes on 2 cores.
# bigbigan sees the same 192,000 images in 6,000 steps of 32 (about 15 minutes): its encoder needed
# the extra updates (class agreement 69% with 3,000 steps of 64, 86% with 6,000 of 32).
# Fashion-MNIST has the digits' shape (28x28 grey), so it starts from the same settings; where it
# differs is listed below. benchmarks/families.py --data fashion-mnist measures those presets.

_SMALL = {"width": 0.25}
_TRAIN = {"steps": 3000, "ema": 0.998}
_MNIST_LIKE = ("mnist-5k", "fashion-mnist")

_IMAGE_PRESETS = {  # family -> (model options, train options, what the model options mean)
    "ae": ({"width": 0.5, "z_dim": 32}, {"lr": 1e-3}, "width 0.5, z_dim 32, samples from a 10-Gaussian code mixture"),
    "vae": ({**_SMALL, "z_dim": 16, "code_mixture": 10}, {"lr": 1e-3}, "width 0.25, z_dim 16, samples from a 10-Gaussian code mixture"),
    "gan": ({"width": 0.5, "z_dim": 64}, {"lr": 2e-4}, "width 0.5, z_dim 64"),
    "bigan": ({**_SMALL, "z_dim": 32}, {"lr": 5e-4}, "width 0.25, z_dim 32"),
    "bigbigan": ({**_SMALL, "z_dim": 32}, {"lr": 5e-4, "batch_size": 32, "steps": 6000, "ema": 0.999},
                 "width 0.25, z_dim 32, hinge loss"),
    "aae": ({"width": 0.5, "z_dim": 16, "code_mixture": 10}, {"lr": 5e-4}, "width 0.5, z_dim 16, normal prior, samples from a 10-Gaussian code mixture"),
    "vaegan": ({"width": 0.5, "z_dim": 32, "pixel": 1.0, "code_mixture": 10}, {"lr": 5e-4},
               "width 0.5, z_dim 32, pixel reconstruction weight 1, samples from a 10-Gaussian code mixture"),
    # alphagan: samples from a code mixture are confidently classified 75% of the time on digits and 50%
    # on garments, against 57% and 38% from the prior
    "alphagan": ({"width": 0.5, "z_dim": 32, "code_mixture": 10}, {"lr": 5e-4},
                 "width 0.5, z_dim 32, L1 weight 10, samples from a 10-Gaussian code mixture"),
    "infogan": ({"width": 0.5}, {"lr": 2e-4}, "width 0.5, 10 categories + 2 continuous codes"),
    "acgan": ({"width": 0.5}, {"lr": 2e-4}, "width 0.5"),
    "ebgan": ({"width": 0.5}, {"lr": 2e-4}, "width 0.5, margin 0.3, pulling-away 0.1"),
}
# Where Fashion-MNIST differs. aae pulls the codes of garments to the prior too hard at the digits'
# settings (test MSE 0.124, reconstructions keeping their class 59%); a 5 times smaller adversarial
# step for E gives 0.060 and 75%, and the raw E and G then reconstruct better than their moving
# average (MSE 0.073 with it). On digits the default step and the average do best (91.6% against
# 89.4% with the smaller step, 89.7% without the average).
# gan, infogan, bigan, acgan and ebgan give noisy garments at the digits' settings (16% to 36% of
# samples confidently classified, against 80.5% of real test images). bigbigan's recipe (hinge loss,
# lr 5e-4, steps of 32, moving average 0.999) lifts acgan from 36% to 64% at the same 192,000 images;
# gan, infogan and bigan need twice the images on top (gan: 20% at the digits' settings, 35% with the
# recipe, 43% with 12,000 steps; infogan 16%, 29%, 40%; bigan 25%, 37%, 43%). Tried on gan at the
# digits' 3,000 steps of 64 without gain: R1 1 (12%), spectral norm (13%), hinge alone (17%),
# width 1 (23%), bigbigan's residual G and D (23%, five times slower). alphagan keeps the digits'
# settings: sampling from the prior, steps of 32 with the slower average gave 40% against 38%, adding
# the hinge loss 36%; its code mixture gives 50%.
_FASHION_GAN = ({"loss": "hinge"}, {"batch_size": 32, "lr": 5e-4, "ema": 0.999, "steps": 6000})
_FASHION_GAN_LONG = (_FASHION_GAN[0], {**_FASHION_GAN[1], "steps": 12000})
_IMAGE_OVERRIDES = {
    ("aae", "fashion-mnist"): ({"adv_weight": 0.2}, {"ema": 0.0}),
    ("acgan", "fashion-mnist"): _FASHION_GAN,
    ("gan", "fashion-mnist"): _FASHION_GAN_LONG,
    ("infogan", "fashion-mnist"): _FASHION_GAN_LONG,
    ("bigan", "fashion-mnist"): _FASHION_GAN_LONG,  # 25% -> 43% confident, reconstructions keep their class 48% -> 66%
    ("ebgan", "fashion-mnist"): ({}, _FASHION_GAN[1]),  # its own margin loss: the rest of the recipe, 33% -> 42%
}


def _lr(x: float) -> str:
    return f"{x:.0e}".replace("e-0", "e-")  # 0.0005 -> 5e-4


def _describe_image(family: str, what: str, model_over: dict, train: dict) -> str:
    parts = [what]
    if "loss" in model_over:
        parts.append(f"{model_over['loss']} loss")
    parts.append(f"lr {_lr(train['lr'])}")
    if "adv_weight" in model_over:
        parts.append(f"E's adversarial step x{model_over['adv_weight']:g}")
    averaged = "G and E" if FAMILIES.get(family).has_encoder else "G"  # the moving average covers E too
    parts.append(f"moving average of {averaged} ({train['ema']})" if train["ema"] else "no moving average")
    parts.append(f"{train['steps']:,} steps" + (f" of {train['batch_size']}" if "batch_size" in train else ""))
    return ", ".join(parts)


for _family, (_model, _train, _what) in _IMAGE_PRESETS.items():
    for _data in _MNIST_LIKE:
        _m_over, _t_over = _IMAGE_OVERRIDES.get((_family, _data), ({}, {}))
        _t = {**_TRAIN, **_train, **_t_over}
        register_preset(_family, _data, Preset(model={**_model, **_m_over}, train=_t,
                                               note=_describe_image(_family, _what, _m_over, _t)))

# 2-D mixtures: small MLPs, larger batches and learning rate; benchmarks/mixtures.py measures them
# (results in benchmarks/results/mixtures.md). The families trained to reconstruct get a 2-D code
# (so their codes can be drawn over the prior) and sample from a mixture fitted to their codes, one
# Gaussian per mode or more. The moving average blurs the 2-D mixtures when G or E keeps moving
# between modes (gan, aae), so those presets train without it; gan needs z_dim 8 and R1 to stay on
# the ring. ebgan does not learn grid25 with any setting tried (see docs/families.md); an R1 penalty on
# the energy of real points, tried in a patched copy, gave 11, 8 and 5 modes with gamma 0.1, 1 and 10,
# and the root-mean-square error as the energy (a norm, as in the paper) 8 and 12 with margins 0.3 and 1.
_VECTOR = {"width": 0.5}
_VECTOR_TRAIN = {"steps": 2000, "batch_size": 128, "lr": 1e-3, "ema": 0.99}
_GAN_2D = ({"z_dim": 8, "r1": 0.1}, {"steps": 6000, "lr": 5e-4, "ema": 0.0})
_WIDE_GAN_2D = ({**_GAN_2D[0], "width": 1.0}, {**_GAN_2D[1], "steps": 20000})
_VECTOR_OVERRIDES = {  # (family, data) -> (model options, train options)
    ("gan", "ring8"): _GAN_2D,
    # grid25's 25 modes take a wider G and D and more steps: gan covers 10 of them in 6,000 steps, 24 in 20,000
    ("gan", "grid25"): _WIDE_GAN_2D,
    ("infogan", "grid25"): _WIDE_GAN_2D,
    ("bigan", "grid25"): _WIDE_GAN_2D,  # 22 modes in about 22 minutes; 0 at the base vector preset
    ("bigbigan", "grid25"): _WIDE_GAN_2D,  # 22 modes in about 21 minutes; 1 at the base vector preset
    ("ebgan", "grid25"): ({"z_dim": 8}, _GAN_2D[1]),  # 9 modes; width 1 and 20,000 steps collapsed to 6
    **{(f, d): ({"code_mixture": k}, {}) for f in ("ae", "vae", "vaegan", "alphagan") for d, k in (("ring8", 10), ("grid25", 25))},
    # aae: a 5 times smaller adversarial step for E (8 of 8 ring modes against 5, 25 of 25 grid modes against 23)
    ("aae", "ring8"): ({"code_mixture": 10, "adv_weight": 0.2}, {"ema": 0.0}),
    ("aae", "grid25"): ({"code_mixture": 25, "adv_weight": 0.2}, {"ema": 0.0}),
    ("bigan", "ring8"): ({"dropout": 0.0}, {}),  # 8, 7 and 8 modes with seeds 0 to 2; 6 with dropout 0.2
    ("ebgan", "ring8"): ({"pt_weight": 1.0}, {}),  # 8 modes with seeds 0 to 2; 6 with the pulling-away weight 0.1
}
# Presets that do not give a good result with any setting tried (docs/families.md, "Vector data").
_VECTOR_CAVEATS = {
    ("ebgan", "grid25"): "covers about 9 of the 25 modes; docs/families.md, Vector data",
}


def _describe_vector(model: dict, train: dict) -> str:
    what = [f"MLPs of width {model['width']}", f"z_dim {model['z_dim']}"]
    if model.get("r1"):
        what.append(f"R1 {model['r1']}")
    if "dropout" in model:
        what.append(f"dropout {model['dropout']:g} in D")
    if "pt_weight" in model:
        what.append(f"pulling-away weight {model['pt_weight']:g}")
    if "adv_weight" in model:
        what.append(f"E's adversarial step x{model['adv_weight']:g}")
    if model.get("code_mixture"):
        what.append(f"samples from a {model['code_mixture']}-Gaussian code mixture")
    what += [f"batch {train['batch_size']}", f"lr {train['lr']:g}",
             f"moving average {train['ema']}" if train["ema"] else "no moving average", f"{train['steps']:,} steps"]
    return ", ".join(what)


for _family in ("gan", "bigan", "bigbigan", "aae", "vae", "ae", "alphagan", "vaegan", "ebgan", "infogan", "acgan"):
    for _data in ("ring8", "grid25"):
        _model = {**_VECTOR, "z_dim": 2 if _family not in ("infogan",) else 4}
        if _family == "infogan":
            _model.update({"categorical": 0, "continuous": 2})
        _extra_model, _extra_train = _VECTOR_OVERRIDES.get((_family, _data), ({}, {}))
        _model.update(_extra_model)
        _train = {**_VECTOR_TRAIN, **_extra_train}
        register_preset(_family, _data, Preset(model=_model, train=_train, note=_describe_vector(_model, _train),
                                               caveat=_VECTOR_CAVEATS.get((_family, _data), "")))
