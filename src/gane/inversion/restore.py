"""Restoration through a frozen generator: invert a degraded image through its degradation operator.

For a clean image x and a known operator A (a mask, noise, grey, downsampling), the observation is
y = A(x) (+ noise). Restoration finds z minimising d(A(G(z)), y) with any inversion method and
returns G(z): the generator supplies what A removed (Bora et al. 2017; Gu et al. 2020 with several
codes). Inpainting keeps the known pixels: the result is y where the mask is known and G(z) in the
hole. Each task has a classical baseline computed on the same observations in the same run:

- ``inpaint``: harmonic fill (the hole relaxed to the average of its neighbours, from the mean colour
  of the known pixels);
- ``denoise``: Gaussian and median filters (3 x 3);
- ``colorize``: the grey image itself, on every channel;
- ``superres``: bicubic upsampling.
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from ..errors import GaneError
from ..registry import Registry
from .core import Inversion, InversionOptions, invert, psnr

TASKS: Registry = Registry("restoration task", listed_by=None)
NEEDS_COLOUR = ("colorize",)  # tasks only a model of colour images can do
GREY = torch.tensor([0.299, 0.587, 0.114])  # ITU-R BT.601 luma


@dataclass
class Degradation:
    """One degraded batch: the observations, the operator that made them (without the noise), a naive
    lift back to the model's shape (what an encoder reads and the grid shows), and the baselines."""

    task: str
    observed: torch.Tensor  # y, (n, ...) as the operator leaves it
    operator: Callable[[torch.Tensor], torch.Tensor]
    lifted: torch.Tensor  # (n, *model shape)
    baselines: dict[str, torch.Tensor]  # name -> (n, *model shape) classical restorations
    mask: torch.Tensor | None = None  # inpainting: 1 where the pixel is known, (n, 1, H, W)
    description: str = ""

    def finish(self, images: torch.Tensor) -> torch.Tensor:
        """The restoration from G's output: inpainting keeps the known pixels."""
        if self.mask is None:
            return images
        return self.mask * self.observed + (1 - self.mask) * images


@dataclass
class DegradeOptions:
    mask: str | torch.Tensor = "centre"  # inpaint: centre, rectangles, strokes, an image file (white = missing), or (1, 1, H, W) with 1 = known
    noise: float = 0.3  # denoise: std of the added Gaussian noise, data in [-1, 1]
    factor: int = 4  # superres: downsampling factor
    seed: int = 0  # random masks and noise


def degrade(task: str, x: torch.Tensor, o: DegradeOptions | None = None) -> Degradation:
    """The observations of clean images ``x`` (n, C, H, W) in [-1, 1] under ``task``."""
    o = o or DegradeOptions()
    if x.dim() != 4:
        raise GaneError(f"Restoration works on images; these data are vectors of shape {tuple(x.shape[1:])}.")
    return TASKS.get(task)(x, o)


#: other spellings --mask accepts for its built-in masks
MASK_ALIASES = {"center": "centre"}


@TASKS.register("inpaint")
def _inpaint(x, o):
    drawn = isinstance(o.mask, torch.Tensor)
    kind = o.mask if drawn else MASK_ALIASES.get(o.mask, o.mask)
    mask = make_mask(kind, x, o.seed)  # (n, 1, H, W), 1 = known
    y = x * mask

    def operator(images):  # for all n images at once; restore() gives each batch its own rows
        return images * mask.to(images.device)

    filled = harmonic_fill(y, mask)
    what = {"centre": "a centre square of half the side missing", "rectangles": "random rectangles missing",
            "strokes": "random strokes missing"}.get(kind, f"the white pixels of {o.mask} missing") if not drawn else "the drawn pixels missing"
    return Degradation("inpaint", y, operator, filled, {"harmonic fill": filled}, mask, what)


@TASKS.register("denoise")
def _denoise(x, o):
    if not o.noise > 0:
        raise GaneError(f"--noise must be positive for denoising; got {o.noise}.")
    g = torch.Generator().manual_seed(o.seed)
    y = x + o.noise * torch.randn(x.shape, generator=g).to(x.device)
    baselines = {"Gaussian filter": gaussian_filter(y).clamp(-1, 1), "median filter": median_filter(y).clamp(-1, 1)}
    return Degradation("denoise", y, lambda images: images, y, baselines, description=f"Gaussian noise of std {o.noise:g}")


@TASKS.register("colorize")
def _colorize(x, o):
    if x.shape[1] != 3:
        raise GaneError(f"Colourisation needs a model of colour images (3 channels); this one draws {x.shape[1]}. "
                        "Train on colour data: stacked-mnist, a folder of colour images, or cifar10 where present.")
    y = grey(x)
    lifted = y.expand(-1, 3, -1, -1).contiguous()
    return Degradation("colorize", y, grey, lifted, {"grey": lifted}, description="the grey image (BT.601 luma)")


@TASKS.register("superres")
def _superres(x, o):
    f = o.factor
    if not isinstance(f, int) or f < 2 or x.shape[-1] % f or x.shape[-2] % f:
        raise GaneError(f"--factor must be a whole number of at least 2 that divides the image side ({x.shape[-1]}); got {f}.")

    def operator(images):
        return F.avg_pool2d(images, f)

    y = operator(x)
    up = F.interpolate(y, scale_factor=f, mode="bicubic", align_corners=False).clamp(-1, 1)
    return Degradation("superres", y, operator, up, {"bicubic": up}, description=f"downsampled {f}x by averaging")


def grey(x: torch.Tensor) -> torch.Tensor:
    return (x * GREY.to(x.device, x.dtype).view(1, 3, 1, 1)).sum(1, keepdim=True)


def make_mask(kind: str, x: torch.Tensor, seed: int) -> torch.Tensor:
    """(n, 1, H, W): 1 where the pixel is known, 0 where it is to be filled."""
    n, _, h, w = x.shape
    if isinstance(kind, torch.Tensor):  # a mask given as a tensor, 1 = known
        if tuple(kind.shape[-2:]) != (h, w) or kind.numel() != h * w:
            raise GaneError(f"A drawn mask must be one {h}x{w} map, the images' size; got shape {tuple(kind.shape)}.")
        known = (kind.reshape(1, 1, h, w) > 0.5).float()
        if known.all() or not known.any():
            raise GaneError(f"The mask marks {'no' if known.all() else 'every'} pixel as missing: mark the region to fill.")
        return known.expand(n, 1, h, w).to(x.device).clone()
    g = torch.Generator().manual_seed(seed)
    m = torch.ones(n, 1, h, w)
    if kind == "centre":
        m[:, :, h // 4 : h // 4 + h // 2, w // 4 : w // 4 + w // 2] = 0
    elif kind == "rectangles":
        for i in range(n):
            for _ in range(3):
                rh, rw = (int(torch.randint(max(1, h // 8), max(2, h // 3), (1,), generator=g)) for _ in range(2))
                top, left = int(torch.randint(0, h - rh + 1, (1,), generator=g)), int(torch.randint(0, w - rw + 1, (1,), generator=g))
                m[i, :, top : top + rh, left : left + rw] = 0
    elif kind == "strokes":
        yy, xx = torch.meshgrid(torch.arange(h).float(), torch.arange(w).float(), indexing="ij")
        for i in range(n):
            for _ in range(4):
                p0, p1 = torch.rand(2, generator=g) * torch.tensor([h, w]), torch.rand(2, generator=g) * torch.tensor([h, w])
                d = p1 - p0
                t = (((yy - p0[0]) * d[0] + (xx - p0[1]) * d[1]) / d.pow(2).sum().clamp_min(1e-6)).clamp(0, 1)
                dist = ((yy - p0[0] - t * d[0]) ** 2 + (xx - p0[1] - t * d[1]) ** 2).sqrt()
                m[i, 0][dist <= max(1.0, h / 20)] = 0
    else:
        m = mask_file(Path(kind), h, w).expand(n, 1, h, w).clone()
    return m.to(x.device)


def mask_file(path: Path, h: int, w: int, flag: str = "--mask") -> torch.Tensor:
    """(1, 1, h, w): 1 where the image file is dark (known), 0 where it is white (missing, or edited)."""
    if not path.is_file():
        what = "centre (or center), rectangles, strokes or an image file" if flag == "--mask" else "an image file"
        raise GaneError(f"{flag} must be {what}; {str(path)!r} is not.")
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            if im.size != (w, h):
                logging.getLogger("gane").info("%s: the %s image is %dx%d; stretched to the images' %dx%d.", path, flag, *im.size, w, h)
            a = np.asarray(im.convert("L").resize((w, h), Image.NEAREST), dtype=np.float32)
    except (UnidentifiedImageError, OSError) as e:
        raise GaneError(f"Could not read the {flag} image {path} ({e}).") from None
    known = torch.from_numpy((a <= 127).astype(np.float32))
    if known.all() or not known.any():
        raise GaneError(f"The {flag} image {path} marks {'no' if known.all() else 'every'} pixel as white "
                        "(white = the region to fill or edit, black = the rest).")
    return known.view(1, 1, h, w)


def harmonic_fill(y: torch.Tensor, mask: torch.Tensor, iterations: int = 300) -> torch.Tensor:
    """Fill the hole with the solution of Laplace's equation (each missing pixel the mean of its four
    neighbours), starting from the mean colour of the known pixels; known pixels stay."""
    known = mask.expand_as(y)
    mean = (y * known).sum((2, 3), keepdim=True) / known.sum((2, 3), keepdim=True).clamp_min(1)
    out = torch.where(known > 0, y, mean.expand_as(y))
    kernel = torch.tensor([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=y.dtype, device=y.device).view(1, 1, 3, 3) / 4
    c = y.shape[1]
    for _ in range(iterations):
        avg = F.conv2d(F.pad(out, (1, 1, 1, 1), mode="replicate"), kernel.expand(c, 1, 3, 3), groups=c)
        out = torch.where(known > 0, y, avg)
    return out


def gaussian_filter(y: torch.Tensor, sigma: float = 0.8) -> torch.Tensor:
    from torchvision.transforms.functional import gaussian_blur

    return gaussian_blur(y, kernel_size=[3, 3], sigma=[sigma, sigma])


def median_filter(y: torch.Tensor) -> torch.Tensor:
    n, c, h, w = y.shape
    patches = F.unfold(F.pad(y, (1, 1, 1, 1), mode="replicate"), 3)  # (n, c * 9, h * w)
    return patches.view(n, c, 9, h * w).median(2).values.view(n, c, h, w)


@dataclass
class Restoration:
    degradation: Degradation
    results: dict[str, Inversion]  # method -> its inversion through the operator
    restored: dict[str, torch.Tensor]  # method or baseline -> (n, *shape) restorations
    quality: dict[str, dict] = field(default_factory=dict)  # method or baseline -> psnr, ssim against the clean images
    folder: Path | None = None


def restore(model, x: torch.Tensor, task: str, methods=("optimize",), options: InversionOptions | None = None,
            degrade_options: DegradeOptions | None = None, encoder: Callable | None = None, watch: Callable | None = None) -> Restoration:
    """Degrade clean images ``x`` by ``task``, restore them through ``model``'s frozen generator with
    each method, and judge every restoration and baseline against ``x`` (PSNR, SSIM). ``watch``: as
    for :func:`invert`, called during each method's descent."""
    o = options or InversionOptions()
    d = degrade(task, x.to(model.device), degrade_options)
    results, restored = {}, {}
    chunk = o.batch_size
    for method in methods:
        # two steps on one image first, so that no method's time includes the library's first-call setup
        invert(model, d.observed[:1], method, dataclasses.replace(o, steps=min(o.steps, 2), progress=False, curve_every=0),
               encoder=encoder, operator=_rows(d, 0, 1), lifted=d.lifted[:1])
        parts = []
        for i in range(0, len(x), chunk):  # the operator of a batch reads its own masks
            sub = Degradation(d.task, d.observed[i : i + chunk], _rows(d, i, chunk), d.lifted[i : i + chunk], {},
                              d.mask[i : i + chunk] if d.mask is not None else None)
            parts.append(invert(model, sub.observed, method, o, encoder=encoder, operator=sub.operator, lifted=sub.lifted, first=i,
                                watch=watch))
        result = _join(method, parts)
        results[method] = result
        restored[method] = d.finish(result.images)
    restored.update(d.baselines)
    out = Restoration(d, results, restored)
    out.quality = {name: judge_restoration(img.cpu(), x.cpu()) for name, img in restored.items()}
    return out


def _rows(d: Degradation, start: int, chunk: int):
    if d.mask is None:
        return d.operator
    mask = d.mask[start : start + chunk]
    return lambda images: images * mask[: len(images)].to(images.device)


def _join(method: str, parts: list[Inversion]) -> Inversion:
    codes = torch.cat([p.codes for p in parts]) if parts[0].codes is not None else None
    return Inversion(method, torch.cat([p.images for p in parts]), codes, sum(p.seconds for p in parts), parts[0].curve)


def judge_restoration(restored: torch.Tensor, clean: torch.Tensor) -> dict:
    from torchmetrics.functional.image import structural_similarity_index_measure

    restored = restored.clamp(-1, 1).float()
    return {"psnr": float(psnr(restored, clean).mean()),
            "ssim": float(structural_similarity_index_measure(restored, clean.float(), data_range=2.0))}


def shown(d: Degradation) -> torch.Tensor:
    """The observations at the model's size for a picture: low resolution by nearest-neighbour, grey on three channels."""
    y = d.observed
    if d.task == "superres":
        return F.interpolate(y, size=d.lifted.shape[-2:], mode="nearest")
    if d.task == "colorize":
        return y.expand(-1, 3, -1, -1)
    return y.clamp(-1, 1)


def restore_run(run, task: str, images=None, methods=("optimize",), n: int = 16, options: InversionOptions | None = None,
                degrade_options: DegradeOptions | None = None, out: Path | None = None, encoder=None, encoder_name=None,
                log=None, space: str = "z") -> Restoration:
    """Restore ``n`` targets of a run (see :func:`gane.inversion.targets.load_targets`) degraded by
    ``task``; with ``out``, write grid.png (clean, observed, each baseline, each method) and restore.json.
    ``space``: the latent space to restore in (z, or w and w+ for stylegan)."""
    import json

    from .targets import load_targets

    o = options or InversionOptions()
    o.check()
    if run.model.info.kind != "image":
        raise GaneError(f"Restoration works on images; this model draws vectors of shape {tuple(run.model.info.shape)}.")
    targets = load_targets(run, images, n)
    if log:
        for note in targets.notes:
            log(f"note: {note}")
    result = restore(run.model.in_space(space), targets.x, task, methods, o, degrade_options, encoder)
    if encoder_name:
        for table in (result.quality, result.restored):
            for m in [m for m in list(table) if m in ("encoder", "hybrid")]:
                table[f"{m} ({encoder_name})"] = table.pop(m)
    if out is not None:
        from .. import pictures

        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        per_row = min(len(targets.x), 16)
        rows = []
        for i in range(0, len(targets.x), per_row):
            rows += [targets.x[i : i + per_row], shown(result.degradation)[i : i + per_row].cpu()]
            rows += [img[i : i + per_row].cpu().clamp(-1, 1) for img in result.restored.values()]
        pictures.save_images(torch.cat(rows), folder / "grid.png", nrow=per_row)
        record = {"run": str(run.checkpoint), "task": task, "space": space, "degradation": result.degradation.description,
                  "targets": targets.source, "rows": ["clean", "observed", *result.restored],
                  "options": {k: v for k, v in vars(o).items() if k != "progress"},
                  "degrade_options": vars(degrade_options or DegradeOptions()), "quality": result.quality,
                  "seconds_per_image": {m: r.seconds_per_image for m, r in result.results.items()}}
        (folder / "restore.json").write_text(json.dumps(record, indent=2))
        result.folder = folder
    return result


def table(result: Restoration) -> str:
    """PSNR and SSIM of each method and baseline against the clean images, as Markdown."""
    rows = ["| restoration | PSNR (dB) | SSIM | seconds per image |", "|---|---|---|---|"]
    for name, q in result.quality.items():
        inv = result.results.get(name.split(" (")[0])
        secs = f"{inv.seconds_per_image:.4f}" if inv is not None else "baseline"
        rows.append(f"| {name} | {q['psnr']:.2f} | {q['ssim']:.3f} | {secs} |")
    return "\n".join(rows)
