"""Typed run configuration, resolved over the named presets (gane.presets).

A run is resolved in three layers: the dataclass defaults, then the preset for
(family, dataset) if one is registered, then what the user passed. The resolved
config is printed and saved as ``config.json`` in the run folder.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from .device import DEVICE_HELP
from .errors import GaneError
from .fields import opt
from .families import FAMILIES, make_config
from .nets.conv import side_rule
from .presets import PRESETS, Preset, preset_for, presets_of, register_preset  # noqa: F401  (the presets' import path)


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
    device: str = opt("auto", DEVICE_HELP)
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
    precision: str = opt("fp32", "fp32, or bf16: each phase's forward pass under autocast (matrix work in bfloat16; "
                                 "weights and optimizer state stay float32)", choices=("fp32", "bf16"))
    channels_last: bool = opt(False, "keep image networks and batches in channels-last memory layout")
    compile: bool = opt(False, "compile every network with torch.compile (a one-off warm-up of seconds to minutes)")
    fused: bool | None = opt(None, "fused Adam kernels (default: on with CUDA, off on the CPU)")
    cuda_graph: bool = opt(False, "capture one training step as a CUDA graph and replay it (CUDA only): "
                                  "removes the per-step launch overhead that bounds small networks")
    metrics: str | None = opt(None, "comma-separated metrics computed at checkpoints and logged to TensorBoard, log.jsonl and "
                                    "metrics.json, e.g. fd,kid,recon (`gane eval --help` lists them)")
    metrics_every: int | None = opt(None, "steps between metric evaluations, at checkpoints (default: every --tick steps)", min=1)
    metrics_n: int = opt(2000, "samples drawn for each metric evaluation during training", min=2)
    metrics_features: str = opt("domain", "feature network of --metrics: the dataset's own classifier, or Inception-v3 "
                                          "(needs --inception-weights or the weights in the torch hub cache)", choices=("domain", "inception"))
    inception_weights: str | None = opt(None, "the FID Inception-v3 weights file, for --metrics-features inception")
    deterministic: bool = opt(False, "deterministic GPU kernels (cuDNN deterministic, no TF32), so that a resumed "
                                     "run matches an uninterrupted one bit for bit on a GPU too; somewhat slower")


DEFAULT_STEPS = 2000


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
    derived = cls.derived_options(given)  # what a family reads from its options (vqgan-prior: from the --from run)
    for key in ("data", "out"):
        if key in derived and key not in given:
            given[key] = derived[key]
    saved = _saved_run(family, given) if given.get("resume") else None
    data = given.get("data") or (saved["train"]["data"] if saved else getattr(cls, "default_data", TrainConfig.data))
    preset = preset_for(family, data)
    model_opts = {**(preset.model if preset else {}), **derived.get("model", {})}
    train_opts = {**(preset.train if preset else {}), **derived.get("train", {})}
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
    train_opts.setdefault("data", data)  # the family's own default dataset when none was given (translators: a two-domain one)
    train_opts.setdefault("out", str(default_run_dir(family, train_opts["data"])))
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
    """The options of the run being resumed: the config.json of its latest checkpoint (written with
    the weights, so it holds the options those weights were trained with), else the run folder's own
    config.json (a run stopped before its first checkpoint). None when there is neither."""
    from .train.checkpoint import latest_checkpoint  # the trainer imports this module

    default = getattr(FAMILIES.get(family), "default_data", TrainConfig.data)
    run_dir = Path(given["out"]) if given.get("out") else default_run_dir(family, given.get("data", default))
    ckpt = latest_checkpoint(run_dir)
    path = ckpt / "config.json" if ckpt is not None else run_dir / "config.json"
    if not path.exists():
        return None
    try:
        saved = json.loads(path.read_text())
        saved_family, _, _ = saved["family"], saved["model"], saved["train"]["data"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as e:
        if ckpt is None:  # nothing trained yet: the relaunched command starts afresh with its own options
            return None
        raise GaneError(
            f"{path} is damaged ({type(e).__name__}: {e}), so gane cannot tell which options the weights in {ckpt} were "
            "trained with. Restore it from an earlier checkpoint's config.json, or start a new run with --out."
        ) from None
    if saved_family != family:
        raise GaneError(
            f"{path} belongs to a {saved_family!r} run, not {family!r}. Resume it with `gane train {saved_family} "
            f"--out {run_dir} --resume`, or pass --out DIR for a new {family} run."
        )
    return saved


def validate(t: TrainConfig) -> None:
    """Rules between trainer options; each option's own range is checked where the config is made (``make_config``)."""
    if t.steps is not None and t.epochs is not None:
        raise GaneError(f"Give --steps or --epochs, not both (got --steps {t.steps} and --epochs {t.epochs:g}).")
