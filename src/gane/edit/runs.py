"""Editing a trained run's images from the command line and Python: attribute vectors, constrained
edits, interpolation and vector arithmetic, and nearest neighbours in code space. Each loads the run
frozen, finds the codes of its images (E, a fitted encoder, or an inversion method), and writes a
picture and a JSON record into RUN/edits/N (a new N each time)."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from ..errors import GaneError
from .attributes import apply_vector, attribute_set, attribute_vector, rank_attributes, read_attribute_csv
from .constrained import codes_of, constrained_edit, nearest_neighbors
from .interpolation import interpolate


def _setup(run, ema, device, encoder, out, kind="edits", invert="encoder"):
    from ..api import frozen_run

    return frozen_run(run, ema, device, encoder, out, kind, [invert], flag="--invert")


def _inversion(steps: int):
    from ..inversion import InversionOptions

    return InversionOptions(steps=steps)


def _is_data(images: list[str]) -> bool:
    """Whether ``images`` names a split or a dataset (whose first images are taken), not files."""
    from ..inversion.targets import _is_dataset

    return not images or (len(images) == 1 and (images[0] in ("train", "test") or _is_dataset(images[0])))


def _images_of(loaded, model) -> None:
    if model.info.kind != "image":
        raise GaneError(f"Editing draws pictures of images; this model draws vectors of shape {tuple(model.info.shape)}.")


def edit(run, attribute: str, alphas=(-2, -1, 0, 1, 2), images=None, n: int = 8, pool: int = 1000, attributes_csv=None,
         encoder: str | None = None, invert: str = "encoder", out="auto", ema: bool = True, device="cpu", invert_steps: int = 300) -> dict:
    """Move ``n`` images along an attribute vector: x' = G(code(x) + alpha * z_attr) for each alpha.
    z_attr is measured on ``pool`` images of the source (``images``: as for gane.invert); ``attribute``
    is "label=V", a computed attribute (thickness, brightness, slant, height) or a boolean column of
    ``attributes_csv``. Returns {"attribute", "alphas", "moves" (computed attributes ranked by how far the
    edit moves them, in standard deviations per unit alpha), "strip" (n, len(alphas), *shape) the edited images,
    "vector" the attribute vector, and "folder" when one was written}."""
    from ..inversion.targets import load_targets

    if attributes_csv and not Path(attributes_csv).is_file():
        raise GaneError(f"The attribute table {attributes_csv} does not exist or is not a file. Pass a CSV with a file-name "
                        "column and boolean attribute columns (CelebA's list_attr_celeba.txt reads as it comes).")
    loaded, fitted, folder = _setup(run, ema, device, encoder, out, invert=invert)
    model = loaded.model
    _images_of(loaded, model)
    source = load_targets(loaded, images, max(pool, n))
    if attributes_csv and source.names is None:
        raise GaneError("An attribute table matches its rows to image files: pass the images with --images FOLDER (or files), "
                        "not a dataset split.")
    table = read_attribute_csv(attributes_csv, source.names) if attributes_csv else None
    in_set, what = attribute_set(attribute, source.x, source.labels, source.names, table)
    codes = codes_of(model, source.x.to(model.device), fitted, invert, _inversion(invert_steps))
    vector = attribute_vector(codes, in_set.to(codes.device))
    alphas = [float(a) for a in alphas]
    picks = torch.linspace(0, len(source.x) - 1, min(n, len(source.x))).round().long()
    strip = apply_vector(model, codes[picks], vector, alphas).cpu()  # (n, a, *shape)
    moves = rank_attributes(strip, alphas, source.x)
    record = {"attribute": attribute, "set": what, "images_in_set": int(in_set.sum()), "images": len(in_set),
              "alphas": alphas, "moves": moves, "codes": invert if encoder is None else f"encoder {encoder}"}
    if folder is not None:
        from .. import pictures

        folder.mkdir(parents=True, exist_ok=True)
        real = source.x[picks].unsqueeze(1)
        pictures.save_images(torch.cat([real, strip], 1).flatten(0, 1), folder / "edit.png", nrow=len(alphas) + 1)
        (folder / "edit.json").write_text(json.dumps({**record, "run": str(loaded.checkpoint), "source": source.source}, indent=2))
        record["folder"] = str(folder)
    record.update(strip=strip, vector=vector.cpu())  # tensors for Python callers, after the JSON is written
    return record


def constrained(run, mask, target=None, value: float | None = None, images=None, n: int = 8, steps: int = 200, lr: float = 0.05,
                code_weight: float = 0.1, realism_weight: float = 0.0, encoder: str | None = None, invert: str = "encoder",
                out="auto", ema: bool = True, device="cpu", invert_steps: int = 300) -> dict:
    """iGAN's constrained edit of ``n`` images: inside ``mask`` (an image file, white = edit) pull G(z)
    towards ``target`` (an image file) or a constant ``value`` in [-1, 1], from z0 = the image's code."""
    from ..inversion.restore import mask_file
    from ..inversion.targets import load_targets

    loaded, fitted, folder = _setup(run, ema, device, encoder, out, invert=invert)
    model = loaded.model
    _images_of(loaded, model)
    c, h, w = model.info.shape
    edit_mask = 1 - mask_file(Path(mask), h, w, "--edit-mask")  # mask_file's "known" pixels are the black ones: the edit is the white
    if (target is None) == (value is None):
        raise GaneError("Give the edit's target as an image (--edit-image) or a value in [-1, 1] (--edit-value), one of them.")
    if target is not None:
        goal = load_targets(loaded, [str(target)], 1).x[:1]
    else:
        if not -1 <= value <= 1:
            raise GaneError(f"--edit-value is a pixel value in [-1, 1] (-1 black, 1 white); got {value}.")
        goal = torch.full((1, c, h, w), float(value))
    source = load_targets(loaded, images, n)
    z0 = codes_of(model, source.x.to(model.device), fitted, invert, _inversion(invert_steps))
    with torch.no_grad():
        before = model.decode(z0)
    after, _ = constrained_edit(model, z0, edit_mask, goal, steps, lr, code_weight, realism_weight)
    inside = edit_mask.bool().expand(len(after), c, h, w)
    record = {"mask": str(mask), "target": str(target) if target is not None else value, "steps": steps,
              "code_weight": code_weight, "realism_weight": realism_weight,
              "target_error_before": float((before.cpu() - goal).pow(2)[inside].mean()),
              "target_error_after": float((after.cpu() - goal).pow(2)[inside].mean()),
              "change_outside": float((after.cpu() - before.cpu()).pow(2)[~inside].mean()) if (~inside).any() else 0.0}
    if folder is not None:
        from .. import pictures

        folder.mkdir(parents=True, exist_ok=True)
        shown = goal.expand(len(after), c, h, w) * edit_mask + before.cpu() * (1 - edit_mask)
        rows = torch.stack([source.x, before.cpu(), shown, after.cpu()], 1)  # image, its reconstruction, the edit asked, the result
        pictures.save_images(rows.flatten(0, 1), folder / "constrained.png", nrow=4)
        (folder / "constrained.json").write_text(json.dumps({**record, "run": str(loaded.checkpoint)}, indent=2))
        record["folder"] = str(folder)
    record.update(images=after.cpu(), reconstructions=before.cpu())  # tensors for Python callers
    return record


def interpolate_images(run, images=None, steps: int = 10, mode: str = "linear", arithmetic: bool = False,
                       encoder: str | None = None, invert: str = "encoder", out="auto", ema: bool = True, device="cpu",
                       invert_steps: int = 300) -> dict:
    """Interpolate between consecutive pairs of images (a, b, c, d -> a..b, c..d) in code space, or with
    ``arithmetic`` decode a - b + c for each triple. ``images``: as for gane.invert (a split gives its
    first images spread through it: 4 for pairs, 3 for one triple)."""
    from ..inversion.targets import load_targets

    if mode not in ("linear", "spherical"):
        raise GaneError(f"--mode must be linear or spherical; got {mode!r}.")
    if steps < 2:
        raise GaneError(f"--steps must be at least 2 (the two ends); got {steps}.")
    loaded, fitted, folder = _setup(run, ema, device, encoder, out, invert=invert)
    model = loaded.model
    _images_of(loaded, model)
    group = 3 if arithmetic else 2
    wanted = group if arithmetic else 2 * group
    images = [images] if isinstance(images, str) else list(images or [])
    source = load_targets(loaded, images, wanted if _is_data(images) else 10_000)
    if len(source.x) < group or len(source.x) % group:
        raise GaneError(f"{'Vector arithmetic takes images in threes (a - b + c)' if arithmetic else 'Interpolation takes images in pairs'}; "
                        f"got {len(source.x)}.")
    z = codes_of(model, source.x.to(model.device), fitted, invert, _inversion(invert_steps))
    from .. import pictures

    if arithmetic:
        a, b, c = z[0::3], z[1::3], z[2::3]
        with torch.no_grad():
            result = model.decode(a - b + c).cpu()
            recon = model.decode(z).cpu().view(-1, 3, *model.info.shape)
        rows = torch.cat([recon, result.unsqueeze(1)], 1)  # a, b, c (reconstructed), a - b + c
        record = {"arithmetic": "a - b + c", "triples": len(result)}
        name = "arithmetic"
    else:
        rows = interpolate(model, z[0::2], z[1::2], steps, mode).cpu()
        rows = torch.cat([source.x[0::2].unsqueeze(1), rows, source.x[1::2].unsqueeze(1)], 1)  # real ends beside the path
        record = {"mode": mode, "steps": steps, "pairs": len(rows)}
        name = "interpolation"
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        pictures.save_images(rows.flatten(0, 1), folder / f"{name}.png", nrow=rows.shape[1])
        (folder / f"{name}.json").write_text(json.dumps({**record, "run": str(loaded.checkpoint), "source": source.source}, indent=2))
        record["folder"] = str(folder)
    record["rows"] = rows  # tensors for Python callers: one row per pair (or triple)
    return record


def neighbors(run, images=None, n: int = 8, k: int = 8, metric: str = "l2", pool: str = "train", pool_n: int = 10_000,
              encoder: str | None = None, invert: str = "encoder", out="auto", ema: bool = True, device="cpu",
              invert_steps: int = 300) -> dict:
    """For ``n`` query images, the ``k`` images of ``pool`` (a split of the run's data) whose codes are
    nearest theirs (BigBiGAN's figure); with labels, the fraction of neighbours sharing the query's label."""
    from ..inversion.targets import load_targets

    loaded, fitted, folder = _setup(run, ema, device, encoder, out, invert=invert)
    model = loaded.model
    _images_of(loaded, model)
    queries = load_targets(loaded, images, n)
    candidates = load_targets(loaded, [pool], pool_n)
    o = _inversion(invert_steps)
    qz = codes_of(model, queries.x.to(model.device), fitted, invert, o)
    pz = torch.cat([codes_of(model, candidates.x[i : i + 500].to(model.device), fitted, invert, o) for i in range(0, len(candidates.x), 500)])
    same = (queries.x.flatten(1).unsqueeze(1) == candidates.x.flatten(1).unsqueeze(0)).all(2)  # (n, pool): the query itself
    idx = nearest_neighbors(qz.cpu(), pz.cpu(), k, metric, exclude=same)  # (n, k)
    record = {"metric": metric, "k": int(idx.shape[1]), "queries": len(idx), "pool": candidates.source}
    if k < 1:
        raise GaneError(f"k must be at least 1; got {k}.")
    if queries.labels is not None and candidates.labels is not None:
        record["same_label"] = float((candidates.labels[idx] == queries.labels.view(-1, 1)).float().mean())
    if folder is not None:
        from .. import pictures

        folder.mkdir(parents=True, exist_ok=True)
        rows = torch.cat([queries.x.unsqueeze(1), candidates.x[idx]], 1)  # query, then its neighbours nearest first
        pictures.save_images(rows.flatten(0, 1), folder / "neighbors.png", nrow=rows.shape[1])
        (folder / "neighbors.json").write_text(json.dumps({**record, "run": str(loaded.checkpoint)}, indent=2))
        record["folder"] = str(folder)
    record.update(indices=idx, neighbors=candidates.x[idx])  # tensors for Python callers: (n, k) and the images
    return record
