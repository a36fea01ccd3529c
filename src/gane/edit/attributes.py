"""Attribute vectors in code space, and the attributes gane can compute from an image.

An attribute vector is the difference of the mean codes of images with and without an attribute:
z_attr = mean E(x in A) - mean E(x not in A) (Larsen et al. 2016's VAE-GAN figures; White 2016).
Adding alpha * z_attr to an image's code and decoding moves the image along the attribute.

A set A is given by a label value, by a boolean column (a CSV of attributes, such as CelebA's), or by
a computed attribute: the images above its median form A, the images below it the rest. Computed
attributes are measured on images in [-1, 1] (ink is where a pixel is above -1 + its threshold):

- ``thickness``: the fraction of the image the strokes cover;
- ``brightness``: the mean intensity;
- ``slant``: the shear of the ink, cov(column, row) / var(row), positive when strokes lean right
  going up;
- ``height``: the rows the ink spans, as a fraction of the image.
"""
from __future__ import annotations

from typing import Callable

import torch

from ..errors import GaneError
from ..registry import Registry

ATTRIBUTES: Registry[Callable[[torch.Tensor], torch.Tensor]] = Registry("computed attribute", listed_by=None)
INK = 0.0  # a pixel in [-1, 1] above this is ink


def _grey(x: torch.Tensor) -> torch.Tensor:
    if x.dim() != 4:
        raise GaneError("Computed attributes are measured on images; these data are vectors.")
    return x.mean(1)  # (n, H, W)


@ATTRIBUTES.register("thickness")
def thickness(x: torch.Tensor) -> torch.Tensor:
    return (_grey(x) > INK).float().flatten(1).mean(1)


@ATTRIBUTES.register("brightness")
def brightness(x: torch.Tensor) -> torch.Tensor:
    return _grey(x).flatten(1).mean(1)


def _ink_moments(x: torch.Tensor):
    g = ((_grey(x) + 1) / 2).clamp(0, 1)  # ink weight in [0, 1]
    n, h, w = g.shape
    rows = torch.arange(h, dtype=g.dtype, device=g.device).view(1, h, 1)
    cols = torch.arange(w, dtype=g.dtype, device=g.device).view(1, 1, w)
    mass = g.sum((1, 2)).clamp_min(1e-6)
    r = (g * rows).sum((1, 2)) / mass
    c = (g * cols).sum((1, 2)) / mass
    return g, rows, cols, mass, r, c


@ATTRIBUTES.register("slant")
def slant(x: torch.Tensor) -> torch.Tensor:
    g, rows, cols, mass, r, c = _ink_moments(x)
    dr, dc = rows - r.view(-1, 1, 1), cols - c.view(-1, 1, 1)
    cov = (g * dr * dc).sum((1, 2)) / mass
    var = (g * dr * dr).sum((1, 2)) / mass
    return -cov / var.clamp_min(1e-6)  # rows grow downwards: leaning right going up is a negative covariance


@ATTRIBUTES.register("height")
def height(x: torch.Tensor) -> torch.Tensor:
    ink = (_grey(x) > INK).any(2).float()  # (n, H): rows with ink
    h = ink.shape[1]
    idx = torch.arange(h, dtype=torch.float32, device=x.device)
    top = torch.where(ink > 0, idx, torch.full_like(idx, h)).min(1).values
    bottom = torch.where(ink > 0, idx, torch.full_like(idx, -1)).max(1).values
    return ((bottom - top + 1).clamp_min(0) / h).float()


def attribute_vector(codes: torch.Tensor, in_set: torch.Tensor) -> torch.Tensor:
    """mean code of the set minus mean code of the rest: codes (n, d), in_set (n,) bool -> (d,)."""
    in_set = in_set.bool()
    if in_set.all() or not in_set.any():
        raise GaneError(f"An attribute vector needs images both with and without the attribute; all {len(in_set)} "
                        f"{'have' if in_set.all() else 'lack'} it. Use more images or another attribute.")
    return codes[in_set].mean(0) - codes[~in_set].mean(0)


def apply_vector(model, codes: torch.Tensor, vector: torch.Tensor, alphas) -> torch.Tensor:
    """G(code + alpha * vector) for each code and alpha: (n, len(alphas), *shape)."""
    alphas = torch.as_tensor(list(alphas), dtype=codes.dtype, device=codes.device)
    moved = codes.unsqueeze(1) + alphas.view(1, -1, 1) * vector.view(1, 1, -1)  # (n, a, d)
    with torch.no_grad():
        x = model.decode(moved.flatten(0, 1))
    return x.view(len(codes), len(alphas), *x.shape[1:])


def rank_attributes(strip: torch.Tensor, alphas, reference: torch.Tensor) -> dict[str, float | None]:
    """How much each computed attribute moves along an edit: the least-squares slope of the attribute
    of the edited images against alpha, in standard deviations of that attribute over ``reference``
    images, per unit alpha; sorted by size. None for an attribute that does not vary over the
    reference images (no scale to measure it in). strip: (n, len(alphas), *shape)."""
    a = torch.as_tensor(list(alphas), dtype=torch.float32)
    a = a - a.mean()
    out = {}
    n, k = strip.shape[:2]
    for name in ATTRIBUTES.names():
        fn = ATTRIBUTES.get(name)
        values = fn(strip.flatten(0, 1).float()).view(n, k).cpu()
        spread = float(fn(reference.float()).std())
        slope = float(((values - values.mean(1, keepdim=True)) * a).sum(1).mean() / a.pow(2).sum().clamp_min(1e-12))
        out[name] = slope / spread if spread > 1e-6 else None
    return dict(sorted(out.items(), key=lambda kv: (kv[1] is None, -abs(kv[1] or 0.0))))


def attribute_set(spec: str, x: torch.Tensor, labels: torch.Tensor | None, names: list[str] | None = None,
                  table: dict[str, list[bool]] | None = None) -> tuple[torch.Tensor, str]:
    """The images in A, (n,) bool, and a description. ``spec``: "label=V", a computed attribute
    (above its median), or a boolean column of ``table`` (from a CSV, rows matched to ``names``)."""
    if spec.startswith("label="):
        if labels is None:
            raise GaneError("--attribute label=V needs labelled images; these have no labels. Use a computed attribute "
                            f"({', '.join(ATTRIBUTES.names())}) or a CSV column.")
        try:
            value = int(spec.split("=", 1)[1])
        except ValueError:
            raise GaneError(f"--attribute label=V takes a whole-number label; got {spec!r}.") from None
        return labels == value, f"label {value} against the other labels"
    if spec in ATTRIBUTES:
        v = ATTRIBUTES.get(spec)(x)
        median = v.median()
        above = v > median
        if not above.any():  # many images share the median value (MNIST digits are all 20 pixels high)
            above = v >= median
            if above.all():
                raise GaneError(f"{spec} is {float(median):.3g} for every one of these {len(v)} images, so it splits them into no "
                                "two sets. Use another attribute, or other images.")
            return above, f"{spec} at or above its median ({float(median):.3g}) against below it"
        return above, f"{spec} above its median ({float(median):.3g}) against at or below it"
    if table is not None and spec in table:
        if names is None:
            raise GaneError("A CSV attribute needs images with file names to match its rows: pass --images FOLDER or files.")
        column = table[spec]
        return torch.tensor(column, dtype=torch.bool), f"{spec} true against false"
    known = ["label=V", *ATTRIBUTES.names()] + (sorted(table) if table else [])
    raise GaneError(f"Unknown attribute {spec!r}. Use one of: {', '.join(known)}"
                    + ("" if table else ", or a column of a CSV given with --attributes FILE") + ".")


def read_attribute_csv(path, names: list[str]) -> dict[str, list[bool]]:
    """Boolean columns of an attribute table for the images ``names`` (file names, matched without
    folders). The table is comma-, semicolon- or tab-separated with a header whose first column names
    the image files, or CelebA's list_attr_celeba.txt (a count line, a header of attribute names only,
    then space-aligned rows of a file name and its values). Values: 1/0, true/false, yes/no, or 1/-1."""
    import csv
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise GaneError(f"The attribute file {path} does not exist.")
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    if lines and lines[0].strip().isdigit():  # CelebA's first line: the number of images
        lines = lines[1:]
    delimiter = next((d for d in (",", ";", "\t") if d in lines[0]), None) if lines else None
    rows = list(csv.reader(lines, delimiter=delimiter)) if delimiter else [line.split() for line in lines]
    if len(rows) < 2:
        raise GaneError(f"{path} needs a header row and at least one row of attributes.")
    header, body = [h.strip() for h in rows[0]], rows[1:]
    if len(header) == len(body[0]) - 1:  # CelebA's header names the attributes only
        header = ["file", *header]
    by_name = {Path(r[0].strip()).name: r for r in body}
    missing = [n for n in names if Path(n).name not in by_name]
    if missing:
        raise GaneError(f"{path} has no row for {len(missing)} of the images (e.g. {Path(missing[0]).name}); its first column "
                        "must name each image file.")
    truth = {"1": True, "true": True, "yes": True, "0": False, "-1": False, "false": False, "no": False}
    out = {}
    for j, col in enumerate(header[1:], start=1):
        values = [by_name[Path(n).name][j].strip().lower() if j < len(by_name[Path(n).name]) else "" for n in names]
        if all(v in truth for v in values):
            out[col] = [truth[v] for v in values]
    if not out:
        raise GaneError(f"{path} has no boolean columns (1/0, true/false, yes/no or 1/-1) for these images.")
    return out
