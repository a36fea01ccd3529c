"""Dataset containers, the dataset registry and the batch sampler.

Images are NCHW and reach the model as floats in [-1, 1]; vectors are (N, D)
floats. Sets that fit in memory are held as one tensor (uint8 for images) on the
training device and batched by indexing; larger ones stream through a
DataLoader with workers. Both draw batches from the same deterministic
:class:`EpochSampler`, whose whole state is the number of batches consumed, so a
resumed run sees exactly the batches it would have seen.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import torch

from ..errors import GaneError
from ..registry import Registry


@dataclass(frozen=True)
class DataInfo:
    """What a model needs to know about its data to build its networks."""

    kind: str  # "image", "vector", or "pair" (two image domains, for translation)
    shape: tuple[int, ...]  # (C, H, W) for images (domain A's of a pair), (D,) for vectors
    num_classes: int | None = None
    b_shape: tuple[int, ...] | None = None  # a pair's domain B, (C, H, W)
    aligned: bool | None = None  # a pair: example i of A goes with example i of B

    def to_dict(self) -> dict:
        d = {"kind": self.kind, "shape": list(self.shape), "num_classes": self.num_classes}
        if self.kind == "pair":
            d.update(b_shape=list(self.b_shape), aligned=self.aligned)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "DataInfo":
        b = d.get("b_shape")
        return cls(kind=d["kind"], shape=tuple(d["shape"]), num_classes=d.get("num_classes"),
                   b_shape=tuple(b) if b is not None else None, aligned=d.get("aligned"))


@dataclass
class DataOptions:
    """Where to look for files and how to prepare them (the ``--data-root`` family of flags)."""

    data_root: str | None = None
    download: bool = False
    image_size: int | None = None
    workers: int = 2
    # Folders larger than this (as uint8) are streamed instead of held in memory.
    max_memory_bytes: int = 2 << 30

    def roots(self) -> list[Path]:
        """The data roots in the order searched: --data-root, $GANE_DATA, the cache folder."""
        out = []
        if self.data_root:
            out.append(Path(self.data_root).expanduser())
        if os.environ.get("GANE_DATA"):
            out.append(Path(os.environ["GANE_DATA"]).expanduser())
        out.append(cache_dir() / "data")
        return out

    def write_root(self) -> Path:
        return self.roots()[0]


def cache_dir() -> Path:
    """gane's cache folder: $GANE_CACHE, else $XDG_CACHE_HOME/gane, else ~/.cache/gane."""
    if os.environ.get("GANE_CACHE"):
        return Path(os.environ["GANE_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gane"


def images_to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1]; float tensors pass through."""
    if x.dtype == torch.uint8:
        return x.float().div_(127.5).sub_(1.0)
    return x.float()


class EpochSampler:
    """Batches of indices for one data-parallel rank, a fresh permutation each epoch.

    The permutation of epoch ``e`` depends only on ``(seed, e)``, so the whole
    state is ``batches_done``. Rank ``r`` of ``world`` takes every world-th
    slot, so ranks see disjoint data.
    """

    def __init__(self, n: int, batch_size: int, seed: int, rank: int = 0, world: int = 1):
        if n < batch_size * world:
            raise GaneError(
                f"The dataset has {n} examples, fewer than one batch ({batch_size} x {world} processes). "
                "Use a smaller --batch-size or more data."
            )
        self.n, self.batch_size, self.seed, self.rank, self.world = n, batch_size, seed, rank, world
        self.per_epoch = n // (batch_size * world)
        self.batches_done = 0
        self._epoch = -1
        self._perm: torch.Tensor | None = None
        self._device_perm: tuple | None = None

    def _permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            perm = torch.randperm(self.n, generator=g)
            self._perm = perm[self.rank :: self.world]
            self._epoch = epoch
        return self._perm  # type: ignore[return-value]

    def indices(self, batch_number: int) -> torch.Tensor:
        epoch, pos = divmod(batch_number, self.per_epoch)
        perm = self._permutation(epoch)
        return perm[pos * self.batch_size : (pos + 1) * self.batch_size]

    def next(self) -> torch.Tensor:
        idx = self.indices(self.batches_done)
        self.batches_done += 1
        return idx

    def next_on(self, device: torch.device) -> torch.Tensor:
        """``next()``, sliced from a copy of the epoch's permutation kept on ``device``: one copy per
        epoch instead of one per batch (a copy from host memory waits for the GPU to finish its queue)."""
        epoch, pos = divmod(self.batches_done, self.per_epoch)
        if self._device_perm is None or self._device_perm[0] != (epoch, device):
            self._device_perm = ((epoch, device), self._permutation(epoch).to(device))
        self.batches_done += 1
        return self._device_perm[1][pos * self.batch_size : (pos + 1) * self.batch_size]

    @property
    def epoch(self) -> float:
        return self.batches_done / self.per_epoch


@dataclass
class Batch:
    x: torch.Tensor  # (B, C, H, W) in [-1, 1], or (B, D)
    y: torch.Tensor | None = None  # (B,) int64 labels, when the data has them
    #: tensors one phase of a training step computes for a later phase of the same step (see
    #: gane.families.sharing); every step gets a new Batch, so nothing here outlives its step
    shared: dict = field(default_factory=dict, repr=False, compare=False)


class Data:
    """A loaded dataset split. Subclasses decide how batches are produced.

    ``notes`` are what the loader decided for the user and should say (e.g. the image size it chose
    for a folder); :func:`load_data` passes them to the "gane" logger, which the command line prints.
    """

    name: str
    info: DataInfo
    notes: list[str]

    def __len__(self) -> int:
        raise NotImplementedError

    def batches(self, sampler: EpochSampler, device: torch.device) -> Iterator[Batch]:
        raise NotImplementedError

    def select(self, indices, device: torch.device | str = "cpu") -> Batch:
        """The examples at ``indices`` as one batch."""
        raise NotImplementedError

    def take(self, n: int, device: torch.device | str = "cpu", offset: int = 0) -> Batch:
        """The first ``n`` examples (after ``offset``) as one batch, for evaluation."""
        return self.select(range(offset, min(offset + n, len(self))), device)

    def spread_indices(self, n: int) -> list[int]:
        """The indices of ``n`` examples evenly spaced through the split (files are often sorted by class)."""
        n = min(n, len(self))
        return [i * len(self) // n for i in range(n)]

    def spread(self, n: int, device: torch.device | str = "cpu") -> Batch:
        """``n`` examples evenly spaced through the split, for picture grids (see :meth:`spread_indices`)."""
        return self.select(self.spread_indices(n), device)


class TensorData(Data):
    """A split held as one tensor; ``x`` is uint8 for images, float for vectors."""

    def __init__(self, name: str, x: torch.Tensor, y: torch.Tensor | None, info: DataInfo):
        if len(x) == 0:
            raise GaneError(f"Dataset {name!r} is empty.")
        self.name, self.x, self.y, self.info = name, x, y, info
        self.notes = []
        self._device_copy: tuple[torch.device, torch.Tensor, torch.Tensor | None] | None = None

    def __len__(self) -> int:
        return len(self.x)

    def _on(self, device: torch.device):
        if self._device_copy is None or self._device_copy[0] != device:
            y = self.y.to(device) if self.y is not None else None
            self._device_copy = (device, self.x.to(device), y)
        return self._device_copy[1], self._device_copy[2]

    def batches(self, sampler: EpochSampler, device: torch.device) -> Iterator[Batch]:
        x, y = self._on(torch.device(device))
        while True:
            idx = sampler.next_on(x.device)
            yield Batch(images_to_float(x[idx]), y[idx] if y is not None else None)

    def select(self, indices, device="cpu") -> Batch:
        idx = torch.as_tensor(list(indices), dtype=torch.long)
        y = self.y[idx].to(device) if self.y is not None else None
        return Batch(images_to_float(self.x[idx]).to(device), y)


class StreamingData(Data):
    """A split read from disk batch by batch through a DataLoader with workers.

    ``dataset[i]`` must return ``(uint8 CHW tensor, label or -1)``.
    """

    def __init__(self, name: str, dataset: torch.utils.data.Dataset, info: DataInfo, workers: int, has_labels: bool):
        self.name, self.dataset, self.info, self.workers, self.has_labels = name, dataset, info, workers, has_labels
        self.notes = []

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def batches(self, sampler: EpochSampler, device: torch.device) -> Iterator[Batch]:
        start = sampler.batches_done

        class _Batches(torch.utils.data.Sampler):
            def __iter__(self_inner):
                b = start
                while True:
                    yield sampler.indices(b).tolist()
                    b += 1

        loader = torch.utils.data.DataLoader(
            self.dataset,
            batch_sampler=_Batches(),
            num_workers=self.workers,
            pin_memory=torch.device(device).type == "cuda",
            persistent_workers=self.workers > 0,
        )
        for x, y in loader:
            sampler.batches_done += 1  # count what was consumed, not what was prefetched
            yield Batch(images_to_float(x.to(device, non_blocking=True)), y.to(device) if self.has_labels else None)

    def select(self, indices, device="cpu") -> Batch:
        items = [self.dataset[i] for i in indices]
        x = torch.stack([it[0] for it in items])
        y = torch.tensor([int(it[1]) for it in items]) if self.has_labels else None
        return Batch(images_to_float(x).to(device), y.to(device) if y is not None else None)


@dataclass
class DatasetEntry:
    """A registered dataset: how to load a split, and whether it is available here."""

    load: Callable[[str | None, DataOptions, str], Data]  # (argument after "name:", options, split)
    description: str
    available: Callable[[DataOptions], bool] = field(default=lambda opts: True)
    takes_argument: bool | str = False  # "folder:PATH" style; "optional": "name" and "name:ARG" both
    splits: tuple[str, ...] | Callable[[str | None], tuple[str, ...]] = ("train", "test")  # or a function of the argument


DATASETS: Registry[DatasetEntry] = Registry("dataset")


def dataset_splits(spec: str) -> tuple[str, ...]:
    """The splits ``spec`` has: its entry's, or what the entry says for its argument (two folders of
    aligned images hold one split where pix2pix's folder layout holds two)."""
    name, arg = parse_spec(spec)
    splits = DATASETS.get(name).splits
    return tuple(splits(arg)) if callable(splits) else tuple(splits)


def split_or_first(spec: str, split: str) -> str:
    """``split`` where ``spec`` has it, else the data's first split (a folder or npz file has only train)."""
    splits = dataset_splits(spec)
    return split if split in splits else splits[0]


def register_dataset(name: str, description: str, available=None, takes_argument: bool = False, splits=("train", "test")):
    """Decorator: ``@register_dataset("mnist-5k", "...")`` on a ``load(arg, opts, split)`` function.
    ``splits``: the splits it has, or a function of its argument that says them."""

    def deco(fn):
        DATASETS.register(name)(
            DatasetEntry(fn, description, available or (lambda opts: True), takes_argument, splits if callable(splits) else tuple(splits))
        )
        return fn

    return deco


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``"folder:/x"`` -> ``("folder", "/x")``; ``"mnist-5k"`` -> ``("mnist-5k", None)``."""
    name, sep, arg = spec.partition(":")
    if name in DATASETS and DATASETS.get(name).takes_argument == "optional":
        if sep and not arg:
            raise GaneError(f"Dataset {name!r} takes an optional argument after ':'; write {name!r} or {name}:ARG.")
        return name, arg or None
    if name in DATASETS and DATASETS.get(name).takes_argument:
        if not sep or not arg:
            raise GaneError(f"Dataset {name!r} needs a path: write it as {name}:PATH.")
        return name, arg
    if sep:
        if name not in DATASETS:
            raise GaneError(DATASETS.unknown_message(name))
        raise GaneError(f"Dataset {name!r} takes no argument; write just {name!r}.")
    return spec, None


def load_data(spec: str, split: str = "train", options: DataOptions | None = None) -> Data:
    """Load a named dataset split, e.g. ``load_data("mnist-5k", "test")``."""
    opts = options or DataOptions()
    name, arg = parse_spec(spec)
    entry = DATASETS.get(name)
    splits = dataset_splits(spec)
    if split not in splits:
        raise GaneError(f"Dataset {spec!r} has no {split!r} split; it has: {', '.join(splits)}.")
    data = entry.load(arg, opts, split)
    if opts.image_size is not None and data.info.kind not in ("image", "pair"):
        raise GaneError(f"--image-size {opts.image_size} resizes images, and {spec!r} holds vectors {tuple(data.info.shape)}. Drop --image-size.")
    data.name = spec
    for note in data.notes:
        logging.getLogger("gane").info("%s: %s", spec, note)
    return data
