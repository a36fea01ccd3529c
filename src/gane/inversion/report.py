"""Invert a run's targets with several methods, measure each, and write the grid, the PSNR curve and a table."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..errors import GaneError
from .core import Inversion, InversionOptions, invert, psnr
from .targets import Targets, load_targets

METHODS = ("encoder", "optimize", "hybrid", "multicode")
COLUMNS = ("PSNR (dB)", "SSIM", "feature distance", "class agreement", "seconds per image")


@dataclass
class InversionReport:
    targets: Targets
    results: dict[str, Inversion]
    quality: dict[str, dict]  # method -> psnr, ssim, feature_distance, agreement, seconds_per_image
    folder: Path | None = None
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # what was written into the folder
    space: str = "z"  # the latent space the codes are in

    def table(self) -> str:
        """The quality of each method as a Markdown table."""
        rows = ["| method | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
        for method, q in self.quality.items():
            cells = [f"{q['psnr']:.2f}", _cell(q.get("ssim"), "{:.3f}"), _cell(q.get("feature_distance"), "{:.3f}"),
                     _cell(q.get("agreement"), "{:.1%}"), f"{q['seconds_per_image']:.4f}"]
            rows.append(f"| {method} | " + " | ".join(cells) + " |")
        return "\n".join(rows)


def _cell(v, fmt: str) -> str:
    return "" if v is None else fmt.format(v)


def judge(x_hat: torch.Tensor, x: torch.Tensor, labels: torch.Tensor | None, classifier) -> dict:
    """Mean per-image PSNR, SSIM (images), the distance between the domain classifier's features of
    reconstruction and target, and the fraction of reconstructions classified as their target's label."""
    out = {"psnr": float(psnr(x_hat, x).mean())}
    if x.dim() == 4:
        from torchmetrics.functional.image import structural_similarity_index_measure

        out["ssim"] = float(structural_similarity_index_measure(x_hat.clamp(-1, 1).float(), x.float(), data_range=2.0))
    if classifier is not None:
        dev = next(classifier.net.parameters()).device
        with torch.no_grad():
            out["feature_distance"] = float((classifier.net.embed(x_hat.to(dev)) - classifier.net.embed(x.to(dev))).norm(dim=1).mean())
        if labels is not None and int(labels.min()) >= 0:
            out["agreement"] = classifier.agreement(x_hat, labels)
    return out


def run_classifier(run, log=None):
    """The domain classifier of the run's data (trained and cached on first use), or None where the
    data has no labels; its weights never take gradients."""
    from ..data import DataOptions
    from ..metrics.classifier import domain_classifier

    train = run.config.get("train") or {}
    if run.model.info.kind != "image" or run.model.info.num_classes is None:
        return None
    try:
        clf = domain_classifier(train["data"], DataOptions(data_root=train.get("data_root"), image_size=train.get("image_size")),
                                verbose=log is not None)
    except GaneError as e:
        if log:
            log(f"no domain classifier for {train.get('data')} ({e}); feature distance and class agreement are left out")
        return None
    clf.net.to(run.model.device).eval().requires_grad_(False)  # its features sit in the objective, beside G
    return clf


def invert_run(run, images=None, methods=("optimize",), n: int = 16, options: InversionOptions | None = None,
               out: Path | None = None, log=None, encoder=None, encoder_name: str | None = None, space: str = "z") -> InversionReport:
    """Invert ``n`` targets (see :func:`load_targets`) into the run's frozen generator with each method,
    judge the reconstructions, and (with ``out``) write grid.png, curve.png and inversion.json there.
    ``encoder``: a fitted encoder for the encoder and hybrid methods (``encoder_name`` names it in the table).
    ``space``: the latent space to invert into (``Family.latent_spaces``: z, or w and w+ for stylegan)."""
    o = options or InversionOptions()
    o.check()
    methods = list(methods)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        from . import INVERTERS

        raise GaneError(INVERTERS.unknown_message(unknown[0]))
    model = run.model.in_space(space)
    targets = load_targets(run, images, n)
    notes = list(targets.notes)
    clf = run_classifier(run, log)
    feature_net = None
    if o.features == "domain":
        if clf is None:
            raise GaneError("--features domain needs the domain classifier of a labelled image dataset, and this run's data "
                            "has none. Use --features discriminator (families with a D of data) or --features none.")
        feature_net = clf.net.embed
    if targets.labels is None and clf is not None and "class" in model.code_slices() and o.categorical == "fixed":
        notes.append("the targets have no labels, so the class part of the code starts from the domain classifier's guess")
    classes = None
    if "class" in model.code_slices() and o.categorical == "fixed":
        classes = targets.labels if targets.labels is not None else (clf.predict(targets.x) if clf is not None else None)
    results, quality = {}, {}
    x = targets.x.to(model.device)
    for method in methods:
        if log:
            log(f"{method}: inverting {len(x)} target{'s' if len(x) != 1 else ''}")
        _warm_up(model, x, method, o, classes, feature_net, encoder)
        result = invert(model, x, method, o, classes=classes, feature_net=feature_net, encoder=encoder)
        label = f"{method} ({encoder_name})" if encoder_name and method in ("encoder", "hybrid") else method
        results[label] = result
        quality[label] = {**judge(result.images.cpu(), targets.x, targets.labels, clf), "seconds_per_image": result.seconds_per_image}
    report = InversionReport(targets, results, quality, notes=notes, space=space)
    if out is not None:
        _write(report, run, Path(out), o)
    return report


def _warm_up(model, x, method, o, classes, feature_net, encoder) -> None:
    """A two-step run on one target first, so that no method's time includes the library's first-call setup."""
    import dataclasses

    quick = dataclasses.replace(o, steps=min(o.steps, 2), progress=False, curve_every=0)
    invert(model, x[:1], method, quick, classes=classes[:1] if classes is not None else None, feature_net=feature_net,
           encoder=encoder)


def next_folder(run_dir: Path, kind: str = "inversions") -> Path:
    """RUN/KIND/N for the first N not taken: earlier results are never overwritten."""
    base = run_dir / kind
    k = 1
    while (base / str(k)).exists():
        k += 1
    return base / str(k)


def _write(report: InversionReport, run, folder: Path, o: InversionOptions) -> None:
    from .. import pictures

    folder.mkdir(parents=True, exist_ok=True)
    x = report.targets.x
    per_row = min(len(x), 16)
    if x.dim() == 4:
        rows = []
        for i in range(0, len(x), per_row):  # the targets, then each method's reconstructions, per block of 16
            rows.append(x[i : i + per_row])
            rows += [r.images[i : i + per_row].cpu() for r in report.results.values()]
        pictures.save_images(torch.cat(rows), folder / "grid.png", nrow=per_row)
    else:
        pictures.scatter(folder / "grid.png", {"targets": x, **{m: r.images.cpu() for m, r in report.results.items()}},
                         title="targets and their inversions")
    report.files = ["grid.png"]
    curves = {m: r.curve for m, r in report.results.items() if r.curve}
    if curves:
        plot_curves(curves, folder / "curve.png")
        report.files.append("curve.png")
    record = {
        "run": str(run.checkpoint),
        "rows": ["targets", *report.results],
        "targets": report.targets.source,
        "space": report.space,
        "notes": report.notes,
        "options": {k: v for k, v in vars(o).items() if k != "progress"},
        "quality": report.quality,
        "curves": curves,
    }
    (folder / "inversion.json").write_text(json.dumps(record, indent=2))
    report.files.append("inversion.json")
    report.folder = folder


def plot_curves(curves: dict[str, list[tuple[int, float]]], path: Path) -> None:
    """Mean PSNR against optimisation step, one line per label."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=100)
    for method, curve in curves.items():
        steps, values = zip(*curve)
        ax.plot(steps, values, marker="o", ms=3, label=method)
    ax.set_xlabel("optimisation step")
    ax.set_ylabel("mean PSNR (dB)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
