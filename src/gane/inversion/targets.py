"""The images to invert: a split of the run's data, another dataset of its shape, a folder or image files."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..data import DATASETS, images_to_float, parse_spec
from ..errors import GaneError


@dataclass
class Targets:
    x: torch.Tensor  # (n, *shape) in [-1, 1]
    labels: torch.Tensor | None  # (n,) where the source has labels
    source: str  # what they are, for tables and notes
    notes: list[str] = field(default_factory=list)  # conversions the user should know of
    names: list[str] | None = None  # the files, for image files


def load_targets(run, sources: list[str] | tuple[str, ...] | str | None, n: int) -> Targets:
    """``sources``: None or "test"/"train" (that split of the run's data), a dataset name (--data
    style, its test split), or folders and image files. Datasets give ``n`` examples spread through
    the split; folders and files give their first ``n`` images, fitted to the model's shape with a note."""
    if isinstance(sources, str):
        sources = [sources]
    sources = list(sources or ["test"])
    first = sources[0]
    if n < 1:
        raise GaneError(f"n must be at least 1; got {n}.")
    if len(sources) > 1 and any(src in ("train", "test") or _is_dataset(src) for src in sources):
        raise GaneError("A split or a dataset is given alone (--images test); several --images are folders and files.")
    if len(sources) == 1 and (first in ("train", "test") or _is_dataset(first)):
        split = first if first in ("train", "test") else "test"
        own = run.config.get("train", {}).get("data")
        data = run.data(None if first in ("train", "test") else first, split)
        batch = data.spread(n)
        name = own if first in ("train", "test") else first
        notes, labels = [], batch.y
        if first not in ("train", "test") and parse_spec(first)[0] != parse_spec(str(own))[0] and labels is not None:
            labels = None  # another dataset's labels are not the run's classes
            notes.append(f"the labels of {first} are not the classes of {own}, which the run was trained on: class agreement "
                         "and class parts are left to the model")
        return Targets(images_to_float(batch.x), labels, f"{min(n, len(data))} {name} {split} images", notes)
    return _files(run.model.info, sources, n)


def _is_dataset(spec: str) -> bool:
    name, _ = parse_spec(spec)
    return name in DATASETS and not Path(spec).exists()


def _files(info, sources: list[str], n: int) -> Targets:
    from ..data.sources import GREY_MODES, IMAGE_SUFFIXES, _ImageFiles, _headers

    if info.kind != "image":
        raise GaneError(f"This model draws vectors of shape {tuple(info.shape)}, not images: invert a split of its data "
                        "(--images test) instead of image files.")
    files: list[Path] = []
    for src in sources:
        p = Path(src)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file())
            if not found:
                raise GaneError(f"The folder {p} holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))}).")
            files += found
        elif p.is_file():
            if p.suffix.lower() not in IMAGE_SUFFIXES:
                raise GaneError(f"{p} is not an image file gane reads ({', '.join(sorted(IMAGE_SUFFIXES))}).")
            files.append(p)
        else:
            raise GaneError(f"{src!r} is neither a split of the run's data (train, test), a dataset name (gane list), "
                            "a folder nor an image file.")
    files = files[:n]
    channels, side = info.shape[0], info.shape[1]
    notes = []
    headers = _headers(files)
    sizes = sorted({size for _, size in headers})
    if sizes != [(side, side)]:
        shown = ", ".join(f"{w}x{h}" for w, h in sizes[:4]) + (", ..." if len(sizes) > 4 else "")
        notes.append(f"images of {shown} were centre-cropped to squares and resized to {side}x{side}, the model's size")
    grey = GREY_MODES
    modes = {mode for mode, _ in headers}
    if channels == 1 and any(m not in grey for m in modes):
        notes.append("colour images were converted to grey, as the model draws one channel")
    if channels == 3 and any(m in grey for m in modes):
        notes.append("grey images were repeated to three channels, as the model draws colour")
    ds = _ImageFiles(files, [-1] * len(files), side, channels)
    x = torch.stack([ds[i][0] for i in range(len(ds))])
    what = f"{len(files)} image file{'s' if len(files) > 1 else ''}"
    return Targets(images_to_float(x), None, what, notes, [str(f) for f in files])
