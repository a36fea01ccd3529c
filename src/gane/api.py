"""The Python API: ``gane.train(...)``, ``gane.load(run_dir)``, ``gane.families()``, ``gane.datasets()``."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from .config import resolve
from .data import DATASETS, DataInfo, DataOptions
from .errors import GaneError
from .families import FAMILIES, Family, build_family
from .train import TrainResult, latest_checkpoint, train_run
from .train.checkpoint import load_module_state


def train(family: str, **options) -> TrainResult:
    """Train a family; options are the CLI flags with underscores, e.g.
    ``gane.train("bigan", data="mnist-5k", steps=2000, z_dim=32, out="runs/b")``."""
    return train_run(resolve(family, **options))


def load(path: str | Path, ema: bool = True, device: str | torch.device = "cpu") -> Family:
    """Rebuild a trained model from a run folder (its latest checkpoint) or one checkpoint folder.

    Reads config.json and safetensors weights only: no flags needed, nothing unpickled.
    With ``ema=True`` the moving average of G (and E) is used when the run kept one.
    The model is returned in eval mode.
    """
    path = Path(path)
    if not path.exists():
        raise GaneError(f"{path} does not exist. Pass a run folder (runs/NAME) or one of its checkpoints.")
    ckpt = path if (path / "model.safetensors").exists() else latest_checkpoint(path)
    if ckpt is None:
        raise GaneError(f"{path} holds no checkpoint (looked for {path / 'checkpoints'}/step-*). Train first, or point at another run folder.")
    try:
        config = json.loads((ckpt / "config.json").read_text())
        family, options, info = config["family"], config["model"], DataInfo.from_dict(config["data_info"])
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as e:
        raise GaneError(f"{ckpt / 'config.json'} is missing or damaged ({e}); gane cannot rebuild the model without it.") from None
    if family not in FAMILIES:
        raise GaneError(f"{ckpt} was made by family {family!r}, which this version of gane does not have.")
    model = build_family(family, options, info)
    load_module_state(model, ckpt / "model.safetensors", family)
    ema_file = ckpt / "ema.safetensors"
    if ema and ema_file.exists():
        load_module_state(model.averaged_modules(), ema_file, family, "EMA weights")
    model.checkpoint = ckpt  # type: ignore[attr-defined]
    return model.to(device).eval()


def families() -> dict[str, str]:
    """Registered families and their one-line descriptions."""
    return {name: cls.description for name, cls in FAMILIES.items()}


def datasets(options: DataOptions | None = None) -> dict[str, dict]:
    """Registered datasets: description and whether each is available offline here."""
    opts = options or DataOptions()
    return {name: {"description": e.description, "available": bool(e.available(opts)), "takes_path": e.takes_argument} for name, e in DATASETS.items()}
