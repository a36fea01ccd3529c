"""Checkpoints: config.json + safetensors weights + optimizer and RNG state. Nothing is pickled.

Layout of one checkpoint folder ``checkpoints/step-00001000/``::

    config.json        the resolved run config (family, model options, trainer options, data info)
    model.safetensors  the family's parameters and buffers
    ema.safetensors    the moving average of the generator, when --ema is on
    optim.safetensors  optimizer tensors, keyed "<phase>/<param index>/<name>"
    state.json         step, images seen, batches drawn, optimizer hyper-parameters, Python RNG

A checkpoint is written into ``step-XXXXXXXX.tmp`` and renamed when complete, so a
kill at any moment leaves the previous complete checkpoint intact.
"""
from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..errors import GaneError

PREFIX = "step-"


def checkpoint_dirs(run_dir: Path) -> list[Path]:
    """Complete checkpoints, oldest first."""
    root = Path(run_dir) / "checkpoints"
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith(PREFIX) and not p.name.endswith(".tmp"))


def latest_checkpoint(run_dir: Path) -> Path | None:
    dirs = checkpoint_dirs(run_dir)
    return dirs[-1] if dirs else None


def _contiguous(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # safetensors refuses shared or non-contiguous storage; clone breaks both.
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in sd.items()}


def _optimizer_to_flat(opt: torch.optim.Optimizer, phase: str) -> tuple[dict[str, torch.Tensor], dict]:
    sd = opt.state_dict()
    tensors, plain = {}, {}
    for idx, st in sd["state"].items():
        for key, val in st.items():
            if torch.is_tensor(val):
                tensors[f"{phase}/{idx}/{key}"] = val
            else:
                plain[f"{idx}/{key}"] = val
    return tensors, {"param_groups": sd["param_groups"], "plain_state": plain}


def _optimizer_from_flat(opt: torch.optim.Optimizer, phase: str, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    state: dict[int, dict] = {}
    prefix = f"{phase}/"
    for k, v in tensors.items():
        if k.startswith(prefix):
            _, idx, key = k.split("/", 2)
            state.setdefault(int(idx), {})[key] = v
    for k, v in meta.get("plain_state", {}).items():
        idx, key = k.split("/", 1)
        state.setdefault(int(idx), {})[key] = v
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


@dataclass
class CheckpointState:
    """Everything a checkpoint holds, copied to host memory: training may go on while it is written."""

    step: int
    config: dict
    model: dict[str, torch.Tensor]
    ema: dict[str, torch.Tensor] | None
    optim: dict[str, torch.Tensor]
    state: dict


def capture_checkpoint(
    step: int,
    config: dict,
    model: torch.nn.Module,
    optimizers: dict[str, torch.optim.Optimizer],
    ema: torch.nn.Module | None,
    extra_state: dict,
) -> CheckpointState:
    """Copy weights, optimizer state and every RNG state of this moment to host memory."""
    opt_tensors, opt_meta = {}, {}
    for phase, opt in optimizers.items():
        t, m = _optimizer_to_flat(opt, phase)
        opt_tensors.update(t)
        opt_meta[phase] = m
    rng = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            rng[f"cuda{i}"] = s
    opt_tensors.update({f"rng/{k}": v for k, v in rng.items()})
    state = dict(extra_state, step=step, optimizers=opt_meta, python_random=_py_random_state())
    return CheckpointState(step, json.loads(json.dumps(config)), _contiguous(model.state_dict()),
                           _contiguous(ema.state_dict()) if ema is not None else None, _contiguous(opt_tensors), state)


def write_checkpoint(run_dir: Path, ckpt: CheckpointState, keep: int = 2) -> Path:
    """Write a captured checkpoint into ``step-XXXXXXXX.tmp``, rename it when complete, drop old ones."""
    root = Path(run_dir) / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{PREFIX}{ckpt.step:08d}"
    tmp = root / f"{PREFIX}{ckpt.step:08d}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    meta = {"family": ckpt.config["family"], "step": str(ckpt.step)}
    save_file(ckpt.model, tmp / "model.safetensors", metadata=meta)
    if ckpt.ema is not None:
        save_file(ckpt.ema, tmp / "ema.safetensors", metadata=meta)
    save_file(ckpt.optim, tmp / "optim.safetensors", metadata=meta)
    (tmp / "state.json").write_text(json.dumps(ckpt.state, indent=1))
    (tmp / "config.json").write_text(json.dumps(ckpt.config, indent=2))
    if final.exists():  # re-saving the same step (e.g. an interrupt right after a tick)
        shutil.rmtree(final)
    tmp.rename(final)  # atomic on POSIX: the checkpoint appears complete or not at all
    for old in checkpoint_dirs(run_dir)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


def _py_random_state():
    version, internal, gauss = random.getstate()
    return [version, list(internal), gauss]


def read_tensors(path: Path, what: str) -> tuple[dict[str, torch.Tensor], dict]:
    """Load a safetensors file with a clear error when it is missing or damaged."""
    path = Path(path)
    if not path.exists():
        raise GaneError(f"The checkpoint file {path} is missing. The checkpoint is incomplete; use an earlier one or train again.")
    try:
        tensors = load_file(str(path))
        from safetensors import safe_open

        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise GaneError(f"The {what} file {path} is damaged and cannot be read ({e}). Use an earlier checkpoint or train again.") from None
    return tensors, meta


def load_module_state(module: torch.nn.Module, path: Path, family: str, what: str = "weights") -> None:
    tensors, meta = read_tensors(path, what)
    if meta.get("family") not in (None, family):
        raise GaneError(
            f"{path} holds a {meta['family']!r} model, but its config.json says {family!r}. "
            "The folder mixes files from different runs; point gane at the run that produced these weights."
        )
    missing, unexpected = _diff_keys(module.state_dict(), tensors)
    shapes = [k for k, v in module.state_dict().items() if k in tensors and tensors[k].shape != v.shape]
    if missing or unexpected or shapes:
        detail = []
        if missing:
            detail.append(f"missing {', '.join(missing[:4])}{'...' if len(missing) > 4 else ''}")
        if unexpected:
            detail.append(f"unexpected {', '.join(unexpected[:4])}{'...' if len(unexpected) > 4 else ''}")
        if shapes:
            detail.append(f"different shapes for {', '.join(shapes[:4])}")
        raise GaneError(
            f"The {what} in {path} do not fit a {family!r} model built from its config ({'; '.join(detail)}). "
            "The checkpoint was made by another family or with other options; load it with the run folder that made it."
        )
    module.load_state_dict(tensors)


def _diff_keys(expected: dict, got: dict) -> tuple[list[str], list[str]]:
    return sorted(set(expected) - set(got)), sorted(set(got) - set(expected))


def load_training_state(ckpt: Path, family: str, optimizers: dict[str, torch.optim.Optimizer]) -> dict:
    """Restore optimizers and RNGs from a checkpoint; returns its state.json."""
    try:
        state = json.loads((ckpt / "state.json").read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise GaneError(f"The checkpoint {ckpt} has a missing or damaged state.json ({e}); use an earlier one.") from None
    tensors, _ = read_tensors(ckpt / "optim.safetensors", "optimizer state")
    for phase, opt in optimizers.items():
        if phase not in state["optimizers"]:
            raise GaneError(
                f"The checkpoint {ckpt} has no optimizer for phase {phase!r}: it was trained in phases "
                f"{', '.join(state['optimizers'])}, and this {family!r} run trains in {', '.join(optimizers)}. It was made by "
                "another family, or with an option that changes the phases (such as aae's --schedule). Resume it with the "
                "options it was trained with, or train a new run in another --out folder."
            )
        _optimizer_from_flat(opt, phase, tensors, state["optimizers"][phase])
    torch.set_rng_state(tensors["rng/torch"])
    if torch.cuda.is_available():
        cuda = [tensors[k] for k in sorted(tensors) if k.startswith("rng/cuda")]
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
    version, internal, gauss = state["python_random"]
    random.setstate((version, tuple(internal), gauss))
    return state
