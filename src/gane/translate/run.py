"""Translating images with a trained run: `gane translate RUN --images SRC [--to B] [--out DIR] [--grid]`."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..data import DataInfo, DataOptions, load_data, split_or_first
from ..errors import GaneError, check_writable
from ..inversion.targets import _files, _is_dataset
from .base import DOMAINS


@dataclass
class Translation:
    """What `gane translate` made: the sources, their translations and, where the data pairs them, the truth."""

    sources: torch.Tensor  # (n, C, H, W) in [-1, 1], of the source domain
    translations: torch.Tensor  # (n, C', H', W') in [-1, 1], of domain ``to``
    to: str
    source: str  # what the sources are, in words
    truth: torch.Tensor | None = None  # (n, C', H', W') the aligned targets, when known
    names: list[str] = field(default_factory=list)  # the file name each translation was written to
    notes: list[str] = field(default_factory=list)
    quality: dict[str, float] = field(default_factory=dict)  # against the truth: l1, psnr
    folder: Path | None = None


def translate_run(run, images=None, to: str = "B", n: int = 16, out="auto", grid: bool = False) -> Translation:
    """Translate ``n`` images with a loaded run (see :func:`gane.translate`)."""
    model = run.model
    if not getattr(model, "translates", False):
        raise GaneError(f"{model.name} is not a translation model; `gane translate` takes a run of "
                        "pix2pix, cyclegan, unit, srgan, context-encoder or cgan-encoder. Its own commands are sample, invert and edit.")
    if to not in DOMAINS:
        raise GaneError(f"--to is A or B; got {to!r}.")
    if to not in model.translators:
        raise GaneError(f"{model.name} translates A to B only (it is one-way); --to A needs a two-way model (cyclegan, unit).")
    if n < 1:
        raise GaneError(f"--n must be at least 1; got {n}.")
    source_domain = "A" if to == "B" else "B"
    folder = None
    if out is not None:
        from ..api import _run_dir
        from ..inversion.report import next_folder

        folder = next_folder(_run_dir(run), "translations") if out == "auto" else Path(out)
        check_writable(folder.parent if out == "auto" else folder, "translations", "--out")
    result = _sources(run, images, source_domain, n)
    result.to = to
    result.translations = model.translate(result.sources, to=to).cpu()
    if result.truth is not None:
        from ..inversion import psnr

        diff = result.translations - result.truth
        result.quality = {"l1": float(diff.abs().mean()), "psnr": float(psnr(result.translations, result.truth).mean())}
    if folder is not None:
        _write(result, folder, grid)
    return result


def _sources(run, images, domain: str, n: int) -> Translation:
    model = run.model
    shape = model.domain_shape(domain)
    sources = [images] if isinstance(images, str) else list(images or ["test"])
    first = sources[0]
    own = run.config.get("train", {}).get("data")
    if len(sources) == 1 and (first in ("train", "test") or _is_dataset(first)):
        spec = own if first in ("train", "test") else first
        split = first if first in ("train", "test") else "test"
        if not (images is not None and first == "test"):  # unless asked for test: data with one split (two folders) gives that
            split = split_or_first(spec, split)
        train = run.config.get("train") or {}
        data = load_data(spec, split, DataOptions(data_root=train.get("data_root"), image_size=train.get("image_size")))
        idx = data.spread_indices(n)
        names = [f"{spec.replace(':', '_').replace('/', '_')}-{split}-{i:05d}.png" for i in idx]
        if data.info.kind == "pair":
            batch = data.select(idx)
            x, other = (batch.x, batch.b) if domain == "A" else (batch.b, batch.x)
            if tuple(x.shape[1:]) != shape:
                raise GaneError(f"Domain {domain} of {spec} has images of shape {tuple(x.shape[1:])}, and {model.name} was trained on "
                                f"{shape}. Translate {model.name}'s own task, a dataset of that shape, or image files (resized to fit).")
            truth = other if data.info.aligned else None
            return Translation(x, torch.empty(0), "", f"{len(idx)} {spec} {split} images of domain {domain}", truth, names)
        if tuple(data.info.shape) != shape or data.info.kind != "image":
            raise GaneError(f"{spec} holds {data.info.kind} data of shape {tuple(data.info.shape)}, and {model.name} translates "
                            f"images of domain {domain} of shape {shape}.")
        x = data.select(idx).x
        return Translation(x, torch.empty(0), "", f"{len(idx)} {spec} {split} images", None, names)

    targets = _files(DataInfo("image", shape), sources, n)
    names = [Path(f).stem + ".png" for f in targets.names]
    if len(set(names)) < len(names):  # files of one stem in several folders
        names = [f"{i:05d}-{name}" for i, name in enumerate(names)]
    return Translation(targets.x, torch.empty(0), "", targets.source, None, names, list(targets.notes))


def _write(result: Translation, folder: Path, grid: bool) -> None:
    import numpy as np
    from PIL import Image

    from .. import pictures

    folder.mkdir(parents=True, exist_ok=True)
    pixels = ((result.translations.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
    for img, name in zip(pixels, result.names):
        arr = img[0] if img.shape[0] == 1 else np.transpose(img, (1, 2, 0))
        Image.fromarray(arr).save(folder / name)
    if grid:
        per_row = 8
        rows = []
        for i in range(0, len(result.sources), per_row):
            chunk = [result.sources[i : i + per_row], result.translations[i : i + per_row]]
            if result.truth is not None:
                chunk.append(result.truth[i : i + per_row])
            k = len(chunk[0])
            if k < per_row:  # a short last row is padded with white
                chunk = [torch.cat([c, torch.ones(per_row - k, *c.shape[1:])]) for c in chunk]
            rows += chunk
        pictures.save_images(pictures.stack_rows(rows), folder / "grid.png", nrow=per_row)
    result.folder = folder


__all__ = ["Translation", "translate_run"]
