"""Code sweeps: vary one named part of a model's code while holding the rest (InfoGAN's figures)."""
from __future__ import annotations

import torch


@torch.no_grad()
def code_sweep(model, part: str, rows: int = 10, cols: int = 10, span: float = 2.0,
               generator: torch.Generator | None = None, classes=None) -> torch.Tensor:
    """Decode a (rows, cols) grid: each row is one code sample() would decode; along the row the
    part ``part`` runs over its categories (categorical parts; ``cols`` is then their number)
    or from -span to span (continuous parts, every entry of the part at once).
    ``classes`` fixes the class of a class-conditional model. Returns (rows, cols, *data shape).
    """
    parts = {p.name: p for p in model.code_parts()}
    if part not in parts:
        model.set_code_part(model.prior(1), part, 0)  # raises the "no part" message with the list
    base = model.sample_codes(rows, generator)
    if classes is not None:
        base = model.set_code_part(base, "class", classes)
    p = parts[part]
    values = list(range(p.size)) if p.kind == "categorical" else torch.linspace(-span, span, cols).tolist()
    codes = torch.stack([model.set_code_part(base, part, v) for v in values], 1)  # (rows, cols, code_dim)
    x = model.decode(codes.flatten(0, 1))
    return x.reshape(rows, len(values), *x.shape[1:])
