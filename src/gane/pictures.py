"""Pictures: sample grids, reconstruction grids, interpolation strips and 2-D scatter plots.

Images are tensors in [-1, 1]; vectors (2-D data) are drawn as scatter plots.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

import torch
from torchvision.utils import make_grid, save_image

from .errors import GaneError

#: the file types every picture here can be written as (image grids by Pillow, scatter plots by matplotlib)
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg")


def picture_path(path: Path, flag: str = "--out") -> Path:
    """``path`` when a picture can be written there, else a clear error; checked before any work is done.

    A picture file needs an image extension and a place to go: not a folder, and under a folder
    that exists (or can be made) and can be written.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise GaneError(f"{flag} {path} is a folder; a picture needs a file name. Pass e.g. {flag} {path / 'samples.png'}.")
    if path.suffix.lower() not in PICTURE_SUFFIXES:
        got = f"ends in {path.suffix!r}" if path.suffix else "has no extension"
        raise GaneError(
            f"{flag} {path} {got}; a picture is written as {', '.join(PICTURE_SUFFIXES)}. "
            f"Pass e.g. {flag} {path.with_name(path.stem + '.png') if path.name else 'samples.png'}."
        )
    existing = path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise GaneError(f"{flag} {path} cannot be written: {existing} is a file, not a folder. Pass a path under a folder.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise GaneError(f"{flag} {path} cannot be written: no permission to write in {existing}. Pass a path in a folder you can write to.")
    return path


def _write(path: Path, write) -> Path:
    """``write(tmp)`` beside ``path``, then swapped in (a picture is whole or absent); a file system that
    refuses it is a clear error naming ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise GaneError(f"{path} cannot be written: {e.strerror or e}. Pass a path in a folder you can write to, "
                        "with space left.") from e
    return path


def save_images(x: torch.Tensor, path: Path, nrow: int = 8, pad: int = 2) -> Path:
    """A grid of images (N, C, H, W) in [-1, 1], ``nrow`` images per row."""
    return _write(path, lambda tmp: save_image(x.detach().float().cpu(), tmp, nrow=nrow, padding=pad, normalize=True,
                                                value_range=(-1, 1), pad_value=1.0))


def interleave_rows(top: torch.Tensor, bottom: torch.Tensor, per_row: int) -> torch.Tensor:
    """Rows of ``top`` and ``bottom`` alternating: each real row sits above its reconstruction."""
    n = (min(len(top), len(bottom)) // per_row) * per_row
    t = top[:n].reshape(-1, per_row, *top.shape[1:])
    b = bottom[:n].reshape(-1, per_row, *bottom.shape[1:])
    return torch.stack([t, b], 1).reshape(-1, *top.shape[1:])


def save_reconstructions(real: torch.Tensor, recon: torch.Tensor, path: Path, per_row: int = 8) -> Path:
    """Real row above its reconstruction, repeated. For 2-D vectors: arrows from x to G(E(x))."""
    if real.ndim == 2:
        return scatter(path, {"data x": real}, arrows=(real, recon), title="reconstructions: x -> G(E(x))")
    return save_images(interleave_rows(real, recon, per_row), path, nrow=per_row)


def stack_rows(rows: list[torch.Tensor]) -> torch.Tensor:
    """Rows of images (each (n, C, H, W), the same n) as one batch for a grid of n columns: every row
    brought to the largest side (nearest neighbour, so small sources show their pixels) and to three
    channels when any row has colour (grey repeated)."""
    import torch.nn.functional as F

    side = max(r.shape[-1] for r in rows)
    colour = max(r.shape[1] for r in rows)
    out = []
    for r in rows:
        r = r.detach().float().cpu()
        if r.shape[-1] != side:
            r = F.interpolate(r, size=(side, side), mode="nearest")
        if r.shape[1] != colour:
            r = r.repeat(1, colour // r.shape[1], 1, 1)
        out.append(r)
    return torch.cat(out)


def save_samples(x: torch.Tensor, path: Path, real: torch.Tensor | None = None, nrow: int = 8) -> Path:
    """A sample grid; 2-D vector samples are drawn over the real data instead."""
    if x.ndim == 2:
        layers = {"data": real} if real is not None else {}
        layers["samples"] = x
        return scatter(path, layers, title="samples")
    return save_images(x, path, nrow=nrow)


def scatter(path: Path, layers: dict[str, torch.Tensor], arrows=None, title: str = "") -> Path:
    """2-D points (first two coordinates), one colour per layer."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    colours = ["#9e9e9e", "#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"]
    for i, (name, pts) in enumerate(layers.items()):
        c = colours[i % len(colours)]
        p = pts.detach().float().cpu().numpy()
        ax.scatter(p[:, 0], p[:, 1], s=4, alpha=0.5, c=c, label=name)
    if arrows is not None:
        a, b = (t.detach().float().cpu().numpy()[:200] for t in arrows)
        # one quiver for all arrows: an annotation per arrow made the picture several times slower to draw
        ax.quiver(a[:, 0], a[:, 1], b[:, 0] - a[:, 0], b[:, 1] - a[:, 1], angles="xy", scale_units="xy", scale=1,
                  color="#d62728", width=0.003, headwidth=4)
        ax.scatter(b[:, 0], b[:, 1], s=6, c="#d62728", label="G(E(x))")
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(title)
    try:
        return _write(path, fig.savefig)  # the default margins fit the axes; bbox_inches="tight" would draw the figure twice
    finally:
        plt.close(fig)


def grid_tensor(x: torch.Tensor, nrow: int = 8) -> torch.Tensor:
    """A (3, H, W) grid in [0, 1] for TensorBoard."""
    return make_grid(x.detach().float().cpu(), nrow=nrow, normalize=True, value_range=(-1, 1))


class Picture:
    """A picture a model shows at each checkpoint: ``save(path)`` writes it; ``grid`` is the (3, H, W)
    image for TensorBoard, or None for plots (2-D data)."""

    def __init__(self, save, grid: torch.Tensor | None = None):
        self.save, self.grid = save, grid

    @classmethod
    def samples(cls, x: torch.Tensor, backdrop: torch.Tensor | None = None) -> "Picture":
        """A sample grid; 2-D samples are drawn over ``backdrop`` (real points)."""
        return cls(lambda path: save_samples(x, path, real=backdrop), grid_tensor(x) if x.ndim == 4 else None)

    @classmethod
    def rows(cls, rows: list[torch.Tensor]) -> "Picture":
        """Rows of images one above another (sources, translations, ...): see :func:`stack_rows`."""
        x, n = stack_rows(rows), len(rows[0])
        return cls(lambda path: save_images(x, path, nrow=n), grid_tensor(x, nrow=n))

    @classmethod
    def reconstructions(cls, real: torch.Tensor, recon: torch.Tensor) -> "Picture":
        """Each real row above its reconstruction."""
        grid = grid_tensor(interleave_rows(real, recon, 8)) if real.ndim == 4 else None
        return cls(lambda path: save_reconstructions(real, recon, path), grid)
