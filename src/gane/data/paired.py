"""Two-domain data for translation models: a source domain A and a target domain B.

A batch carries ``a`` and ``b`` (with their labels ``y`` and ``y_b`` where known); ``x`` is ``a``, so code
written for one domain (pictures, metrics of the source) reads the source. Aligned sets pair example i
of A with example i of B (pix2pix); unaligned ones draw A and B independently, each from its own
permutation, with their own sizes (CycleGAN), so no pair is ever seen.

Both follow the single-domain rules: uint8 images held as tensors, a deterministic sampler whose
whole state is the number of batches consumed (B's permutation is derived from the same count), and
a clear error for every layout problem.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import GaneError
from .core import (Batch, Data, DataInfo, DataOptions, EpochSampler, TensorData, dataset_splits, images_to_float, load_data,
                   register_dataset)
from .sources import GREY_MODES, IMAGE_SUFFIXES, _as_8bit, _folder_side, _headers, _unreadable, square_tensor

#: a seed offset for B's permutation of an unaligned set, so that A and B are shuffled independently
B_SEED_OFFSET = 7_919


@dataclass
class PairBatch(Batch):
    """A batch of two domains: ``x`` (also ``a``) from A, ``b`` from B; ``y`` and ``y_b`` their labels."""

    b: torch.Tensor | None = None
    y_b: torch.Tensor | None = None

    @property
    def a(self) -> torch.Tensor:
        return self.x


class PairedData(Data):
    """Two domains held as uint8 tensors; ``aligned`` pairs them by index."""

    def __init__(self, name: str, a: torch.Tensor, b: torch.Tensor, y_a: torch.Tensor | None, y_b: torch.Tensor | None,
                 aligned: bool, num_classes: int | None = None):
        if len(a) == 0 or len(b) == 0:
            raise GaneError(f"Dataset {name!r} has an empty domain ({len(a)} A images, {len(b)} B images).")
        if aligned and len(a) != len(b):
            raise GaneError(f"Dataset {name!r} is aligned but has {len(a)} A images and {len(b)} B images; "
                            "an aligned set pairs them one to one.")
        self.name, self.a, self.b, self.y_a, self.y_b, self.aligned = name, a, b, y_a, y_b, aligned
        self.info = DataInfo("pair", tuple(a.shape[1:]), num_classes, b_shape=tuple(b.shape[1:]), aligned=aligned)
        self.notes = []
        #: the single-domain dataset domain B's images are (built-in tasks), whose classifier judges them; None for users' folders
        self.b_source: str | None = None

    def __len__(self) -> int:
        return len(self.a)

    def b_indices(self, sampler: EpochSampler, batch_number: int) -> torch.Tensor:
        """B's indices for A's batch ``batch_number``: the same ones when aligned, else B's own permutation."""
        if self.aligned:
            return sampler.indices(batch_number)
        key = (sampler.batch_size, sampler.seed, sampler.rank, sampler.world)
        if getattr(self, "_b_sampler", (None,))[0] != key:
            self._b_sampler = (key, EpochSampler(len(self.b), sampler.batch_size, sampler.seed + B_SEED_OFFSET, sampler.rank, sampler.world))
        return self._b_sampler[1].indices(batch_number)

    def batches(self, sampler: EpochSampler, device) -> Iterator[PairBatch]:
        if not self.aligned and len(self.b) < sampler.batch_size * sampler.world:
            raise GaneError(f"Domain B of {self.name!r} has {len(self.b)} images, fewer than one batch; use a smaller --batch-size.")
        while True:
            k = sampler.batches_done
            ia, ib = sampler.next(), self.b_indices(sampler, k)
            yield self._batch(ia, ib, device)

    def _on(self, device) -> tuple:
        """Both domains and their labels on ``device``, copied there once (as single-domain sets are)."""
        device = torch.device(device)
        if getattr(self, "_device_copy", (None,))[0] != device:
            self._device_copy = (device, *(t.to(device) if t is not None else None for t in (self.a, self.y_a, self.b, self.y_b)))
        return self._device_copy[1:]

    def _batch(self, ia, ib, device) -> PairBatch:
        a, y_a, b, y_b = self._on(device)
        ia, ib = torch.as_tensor(ia, dtype=torch.long, device=a.device), torch.as_tensor(ib, dtype=torch.long, device=a.device)
        return PairBatch(images_to_float(a[ia]), None if y_a is None else y_a[ia],
                         b=images_to_float(b[ib]), y_b=None if y_b is None else y_b[ib])

    def select(self, indices, device="cpu") -> PairBatch:
        """A's examples at ``indices``, each with B's example at the same index (modulo B's size when unaligned)."""
        idx = torch.as_tensor(list(indices), dtype=torch.long)
        return self._batch(idx, idx % len(self.b), device)

    def domain(self, which: str) -> TensorData:
        """One domain as a single-domain dataset (for metrics, classifiers and pictures)."""
        x, y = (self.a, self.y_a) if which == "a" else (self.b, self.y_b)
        classes = self.info.num_classes if y is not None else None
        return TensorData(f"{self.name} ({which.upper()})", x, y, DataInfo("image", tuple(x.shape[1:]), classes))


# --------------------------------------------------------------------------- the built-in tasks

def edges(x: torch.Tensor) -> torch.Tensor:
    """An edge map of uint8 images (N, C, H, W): the Sobel gradient magnitude of their brightness,
    thresholded at a fifth of each image's largest gradient; edges white (255) on black, one channel."""
    g = x.float().mean(1, keepdim=True) / 255.0
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    k = torch.stack([kx, kx.t()]).unsqueeze(1)
    grad = F.conv2d(F.pad(g, (1, 1, 1, 1), mode="replicate"), k)
    mag = grad.pow(2).sum(1, keepdim=True).sqrt()
    top = mag.flatten(1).amax(1).clamp_min(1e-6).view(-1, 1, 1, 1)
    return ((mag > 0.2 * top).to(torch.uint8) * 255)


def grey(x: torch.Tensor) -> torch.Tensor:
    """uint8 colour images -> their ITU-R 601 luma, one channel."""
    if x.shape[1] == 1:
        return x.clone()
    w = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    return (x.float() * w).sum(1, keepdim=True).round().clamp(0, 255).to(torch.uint8)


def downsample(x: torch.Tensor, factor: int) -> torch.Tensor:
    """uint8 images averaged over ``factor`` x ``factor`` blocks (the low-resolution input of super-resolution)."""
    return F.avg_pool2d(x.float(), factor).round().clamp(0, 255).to(torch.uint8)


def centre_hole(x: torch.Tensor, fill: torch.Tensor | None = None, fraction: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
    """(images with a centre square of side ``fraction`` of theirs filled with ``fill`` (one value per
    channel; default: each channel's mean over ``x``), the hole's mask (1, 1, H, W): 1 inside the hole).
    The context encoder's input (Pathak et al. 2016), which fills with the training set's mean."""
    h, w = x.shape[-2:]
    sh, sw = round(h * fraction), round(w * fraction)
    mask = torch.zeros(1, 1, h, w)
    mask[..., (h - sh) // 2 : (h - sh) // 2 + sh, (w - sw) // 2 : (w - sw) // 2 + sw] = 1
    mean = x.float().mean((0, 2, 3), keepdim=True) if fill is None else fill.float().view(1, -1, 1, 1)
    out = x.float() * (1 - mask) + mean * mask
    return out.round().to(torch.uint8), mask


def restyle(x: torch.Tensor, seed: int) -> torch.Tensor:
    """Grey digits (N, 1, H, W) -> colour digits in another style: a random hue for the stroke, a stroke
    thickened or thinned by one pixel, and a faint random stripe texture of another hue behind it."""
    g = torch.Generator().manual_seed(seed)
    n, _, h, w = x.shape
    ink = x.float() / 255.0
    width = torch.randint(0, 3, (n,), generator=g)  # 0 thinner, 1 as drawn, 2 thicker
    thick = F.max_pool2d(ink, 3, 1, 1)
    thin = -F.max_pool2d(-ink, 3, 1, 1)
    ink = torch.where((width == 2).view(-1, 1, 1, 1), thick, torch.where((width == 0).view(-1, 1, 1, 1), thin, ink))
    stroke = 0.55 + 0.45 * torch.rand(n, 3, 1, 1, generator=g)
    stroke[torch.arange(n), torch.randint(0, 3, (n,), generator=g)] = 1.0  # one saturated channel: a vivid colour
    angle = torch.rand(n, 1, 1, generator=g) * np.pi
    period = 3.0 + 4.0 * torch.rand(n, 1, 1, generator=g)
    yy, xx = torch.meshgrid(torch.arange(h).float(), torch.arange(w).float(), indexing="ij")
    stripes = 0.5 + 0.5 * torch.sin(2 * np.pi * (xx * torch.cos(angle) + yy * torch.sin(angle)) / period)
    paper = 0.25 * torch.rand(n, 3, 1, 1, generator=g) * stripes.unsqueeze(1)
    out = paper * (1 - ink) + stroke * ink
    return (out * 255).round().clamp(0, 255).to(torch.uint8)


def _source(spec: str, opts: DataOptions, split: str) -> TensorData:
    data = load_data(spec, split, dataclasses.replace(opts))
    if not isinstance(data, TensorData) or data.info.kind != "image":
        raise GaneError(f"{spec!r} cannot be the source of a two-domain task: it must be an image dataset held in memory.")
    return data


def _task(name: str, source: str, a_of, description: str, available=None):
    """Register an aligned built-in task: B is ``source``'s images, A = ``a_of(B, train)`` (``train``: the
    source's train split, for statistics that must not come from the split judged); labels kept for both."""

    @register_dataset(name, description, available=available)
    def load(arg, opts: DataOptions, split: str):
        src = _source(source, opts, split)
        train = src if split == "train" else _source(source, opts, "train")
        data = PairedData(name, a_of(src.x, train.x), src.x, src.y, src.y, aligned=True, num_classes=src.info.num_classes)
        data.b_source = source
        return data

    return load


def _hole(x: torch.Tensor, train: torch.Tensor) -> torch.Tensor:
    return centre_hole(x, fill=train.float().mean((0, 2, 3)))[0]


def _fashion_available(opts: DataOptions) -> bool:
    from .core import DATASETS

    return DATASETS.get("fashion-mnist").available(opts)


_task("edges2digits", "mnist-5k", lambda x, _: edges(x),
      "pix2pix's edges2shoes in small: an edge map of each mnist-5k digit (A) and the digit (B), aligned")
_task("edges2fashion", "fashion-mnist", lambda x, _: edges(x), "an edge map of each Fashion-MNIST image (A) and the image (B), aligned",
      available=_fashion_available)
_task("lowres2digits", "mnist-5k", lambda x, _: downsample(x, 4),
      "mnist-5k digits averaged down 4x (28x28 to 7x7) (A) and the digits (B), aligned: super-resolution")
_task("lowres2fashion", "fashion-mnist", lambda x, _: downsample(x, 4),
      "Fashion-MNIST averaged down 4x (A) and the images (B), aligned", available=_fashion_available)
_task("masked2digits", "mnist-5k", _hole, "mnist-5k digits with a centre hole of half their side (14x14) filled with the train "
      "split's mean (A) and the digits (B), aligned: inpainting")
_task("masked2fashion", "fashion-mnist", _hole, "Fashion-MNIST with a centre hole of half the side filled with the train split's "
      "mean (A) and the images (B), aligned", available=_fashion_available)


@register_dataset("gray2color", "a colour dataset's grayscale (A) and the colour images (B), aligned: colourisation; "
                  "gray2color alone uses stacked-mnist, gray2color:SPEC another colour dataset (cifar10, folder:PATH)",
                  takes_argument="optional", splits=lambda arg: dataset_splits(arg or "stacked-mnist"))
def load_gray2color(arg, opts: DataOptions, split: str):
    spec = arg or "stacked-mnist"
    src = _source(spec, opts, split)
    if src.info.shape[0] != 3:
        raise GaneError(f"gray2color needs colour images, and {spec!r} has {src.info.shape[0]} channel. "
                        "Use gray2color (stacked-mnist), gray2color:cifar10 or gray2color:folder:PATH with colour images.")
    data = PairedData(f"gray2color:{spec}" if arg else "gray2color", grey(src.x), src.x, src.y, src.y,
                      aligned=True, num_classes=src.info.num_classes)
    data.b_source = spec
    return data


@register_dataset("digits2styled", "unpaired: half of mnist-5k's digits as they are (A), and the other half restyled in colour "
                  "with a thicker or thinner stroke on a striped background (B); no digit appears in both")
def load_digits2styled(arg, opts: DataOptions, split: str):
    src = _source("mnist-5k", opts, split)
    half = torch.arange(len(src)) % 2 == 0  # the split is ordered by class, so both halves hold every class
    b = restyle(src.x[~half], seed=0 if split == "train" else 1)
    return PairedData("digits2styled", src.x[half], b, src.y[half], src.y[~half], aligned=False, num_classes=10)


# --------------------------------------------------------------------------- the users' layouts

def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES) if folder.is_dir() else []


def _open(path: Path, channels: int, box=None):
    """The image file (or the ``box`` of it) in grey or RGB, a clear error when unreadable."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im = _as_8bit(im).convert("L" if channels == 1 else "RGB")
            return im.crop(box) if box is not None else im
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise _unreadable(path, e) from None


def _domain(files: list[Path], opts: DataOptions, notes: list[str], which: str, box=None) -> torch.Tensor:
    """One domain's files as uint8 (N, C, side, side), each image cropped and resized as it is read (so
    memory holds the result, not the originals); the side from --image-size or the images' own."""
    headers = _headers(files)
    channels = 1 if all(mode in GREY_MODES for mode, _ in headers) else 3
    if opts.image_size is not None:
        side = opts.image_size
    else:
        sizes = [(h, h) for _, (_, h) in headers] if box is not None else [size for _, size in headers]
        side, note = _folder_side(sizes)
        notes.append(f"{which}: {note}")
    n = len(files)
    if n * channels * side * side > opts.max_memory_bytes:
        raise GaneError(f"Domain {which} would take {n * channels * side * side / 2**30:.1f} GiB at {side}x{side}; two-domain "
                        "sets are held in memory. Pass a smaller --image-size, or use fewer images.")
    return torch.stack([square_tensor(_open(p, channels, box(h) if box else None), side) for p, (_, (_, h)) in zip(files, headers)])


def _side_by_side(folder: Path, opts: DataOptions, name: str) -> PairedData:
    files = _image_files(folder)
    if not files:
        raise GaneError(f"{folder} holds no image files. pix2pix's layout puts each pair side by side (A left, B right) "
                        "in one image, in PATH/train and PATH/test.")
    for path, (_, (w, h)) in zip(files, _headers(files)):
        if w != 2 * h:
            raise GaneError(f"{path} is {w}x{h}; an aligned pair is one image twice as wide as it is high, A on the left and "
                            "B on the right (pix2pix's layout). Fix or remove that file, or give two folders as "
                            "aligned:PATH_A,PATH_B.")
    notes: list[str] = []
    a = _domain(files, opts, notes, "A", box=lambda h: (0, 0, h, h))
    b = _domain(files, opts, [], "B", box=lambda h: (h, 0, 2 * h, h))
    data = PairedData(name, a, b, None, None, aligned=True)
    data.notes = notes
    return data


def _by_stem(folder: Path, files: list[Path]) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for p in files:
        if p.stem in out:
            raise GaneError(f"{folder} holds both {out[p.stem].name} and {p.name}; aligned:PATH_A,PATH_B pairs images by their "
                            "name without its extension, so each name must appear once in each folder.")
        out[p.stem] = p
    return out


def _two_folders(a_dir: Path, b_dir: Path, opts: DataOptions, name: str) -> PairedData:
    fa, fb = _image_files(a_dir), _image_files(b_dir)
    for d, f in ((a_dir, fa), (b_dir, fb)):
        if not f:
            raise GaneError(f"{d} {'holds no image files' if d.is_dir() else 'is not a folder'}. "
                            "aligned:PATH_A,PATH_B takes two folders of images with matching file names.")
    na, nb = _by_stem(a_dir, fa), _by_stem(b_dir, fb)
    if set(na) != set(nb):
        only_a, only_b = sorted(set(na) - set(nb)), sorted(set(nb) - set(na))
        raise GaneError(f"The two folders of aligned:{a_dir},{b_dir} do not hold the same file names ({len(fa)} in A, {len(fb)} in B"
                        + (f"; only in A: {', '.join(only_a[:3])}{', ...' if len(only_a) > 3 else ''}" if only_a else "")
                        + (f"; only in B: {', '.join(only_b[:3])}{', ...' if len(only_b) > 3 else ''}" if only_b else "")
                        + "). Each image of A needs its partner in B under the same name.")
    stems = sorted(na)
    notes: list[str] = []
    a = _domain([na[s] for s in stems], opts, notes, "A")
    b = _domain([nb[s] for s in stems], opts, notes, "B")
    data = PairedData(name, a, b, None, None, aligned=True)
    data.notes = notes
    return data


@register_dataset("aligned", "paired images for translation: PATH/train and PATH/test holding A and B side by side in each "
                  "image (pix2pix's layout), or aligned:PATH_A,PATH_B, two folders with matching file names (train only)",
                  takes_argument=True, splits=lambda arg: ("train",) if "," in (arg or "") else ("train", "test"))
def load_aligned(arg, opts: DataOptions, split: str):
    name = f"aligned:{arg}"
    if "," in arg:
        a, _, b = arg.partition(",")
        if not a.strip() or not b.strip():
            raise GaneError(f"{name} names {'no A folder' if not a.strip() else 'no B folder'}; write aligned:PATH_A,PATH_B.")
        if split != "train":
            raise GaneError(f"{name} is two folders, which hold one split; it has no {split!r} split.")
        return _two_folders(Path(a).expanduser(), Path(b).expanduser(), opts, name)
    root = Path(arg).expanduser()
    if not root.is_dir():
        raise GaneError(f"{root} does not exist or is not a folder. aligned:PATH takes a folder holding train/ and test/.")
    folder = root / split
    if not folder.is_dir():
        raise GaneError(f"{root} has no {split}/ folder. pix2pix's layout is PATH/train and PATH/test, each image A and B side by side.")
    return _side_by_side(folder, opts, name)


@register_dataset("unaligned", "unpaired images for translation: PATH/trainA, trainB, testA and testB (CycleGAN's layout), "
                  "A and B drawn independently", takes_argument=True)
def load_unaligned(arg, opts: DataOptions, split: str):
    root = Path(arg).expanduser()
    if not root.is_dir():
        raise GaneError(f"{root} does not exist or is not a folder. unaligned:PATH takes a folder holding trainA/, trainB/, testA/ and testB/.")
    dirs = [root / f"{split}{d}" for d in "AB"]
    missing = [d.name for d in dirs if not _image_files(d)]
    if missing:
        raise GaneError(f"{root} has no images in {' and '.join(f'{m}/' for m in missing)}. CycleGAN's layout is PATH/trainA, "
                        "PATH/trainB, PATH/testA and PATH/testB, one domain in each.")
    notes: list[str] = []
    a, b = (_domain(_image_files(d), opts, notes, d.name[-1]) for d in dirs)
    data = PairedData(f"unaligned:{arg}", a, b, None, None, aligned=False)
    data.notes = notes
    return data
