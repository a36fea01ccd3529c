"""`modern`: the small modern generators beside the best earlier family, at one budget of images seen.

1. Samples: FD, KID and precision/recall of stylegan, vqgan (codes drawn independently) and vqgan with its
   transformer prior, beside bigbigan (the lowest FD of the earlier families on both datasets, fidelity
   suite), every model trained with its preset for the same number of images, with the wall time.
2. The truncation curve of the stylegan run: FD and precision/recall against psi, truncating toward the
   mean w and toward the nearest of K cluster centres of W (multi-modal truncation).
3. Reconstruction: vqgan's PSNR/SSIM and class agreement beside the autoencoders' (ae and vae, the families
   suite's runs: their presets' full length, three times vqgan's images), with its codebook usage (perplexity
   of the test codes, codes never used).
4. Inversion of the stylegan run into z, w and w+ (optimisation, same steps): PSNR/SSIM per space.
"""
from __future__ import annotations

import math

import torch

from ..api import load, load_run
from ..inversion import InversionOptions, invert
from ..inversion.report import judge, run_classifier
from ..metrics import MetricContext, compute
from .core import Report, SuiteOptions, Table, available, budget, command, families_runs, missing_data_note, preset_run, register_suite

DATASETS = ("mnist-5k", "fashion-mnist")
IMAGES = 64_000  # images seen by every model of the comparison (2,000 steps of 32)
SAMPLES = 2000  # samples judged per model (the prior draws its codes one at a time)
BEST_EARLIER = "bigbigan"
PSIS = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5)
CLUSTERS = 10
INVERT_N, INVERT_STEPS = 64, 300
NAMES = ["fd", "kid", "pr"]


@register_suite("modern", accepts=("steps",))
def modern(opts: SuiteOptions) -> Report:
    images = opts.steps * 32 if opts.steps else IMAGES
    report = Report(
        "modern", "Modern generators in small: StyleGAN2, VQGAN and its prior, beside the best earlier family",
        f"Every model is trained with its preset for {images:,} images seen, then {SAMPLES:,} samples are judged against "
        f"{SAMPLES:,} test images spread through the split, in the features of the dataset's own classifier (FD and KID: "
        "lower is better; precision: samples on the data; recall: data covered by the samples). vqgan's own samples draw "
        "each code independently from the codebook's usage; vqgan + prior draws them with the transformer trained on the "
        f"frozen vqgan's codes (its own {images:,} images, after stage 1's). {BEST_EARLIER} had the lowest FD of the earlier "
        "families on both datasets (fidelity suite) and is retrained here at the same budget.",
        command("modern", opts))
    folder = opts.results / "modern"
    folder.mkdir(parents=True, exist_ok=True)
    for data in opts.datasets or DATASETS:
        if not available(data):
            report.skipped.append(missing_data_note(data))
            continue
        runs = opts.runs / ("bench-modern" if data == "mnist-5k" else f"bench-modern-{data}")
        numbers: dict = {}
        trained = {}
        for fam in ("stylegan", "vqgan", BEST_EARLIER):
            trained[fam] = preset_run(fam, data, runs, images, opts.fresh, log=opts.log)
        for fam in ("ae", "vae"):  # the families suite's runs: a moving average needs more than a short run to settle
            where, length = (runs, images) if opts.steps else (families_runs(opts.runs, data), budget(data))  # --steps: its own
            trained[fam] = preset_run(fam, data, where, length, opts.fresh, log=opts.log)
        vq_run = trained["vqgan"][0]
        trained["vqgan-prior"] = preset_run("vqgan-prior", data, runs, images, opts.fresh, log=opts.log, from_run=str(vq_run))

        samples = Table(f"{data}: samples ({images:,} images seen each, {SAMPLES:,} samples)",
                        ["model", "FD", "KID", "precision", "recall", "training minutes"])
        base = None
        for label, fam in (("stylegan", "stylegan"), ("vqgan (codes drawn independently)", "vqgan"), ("vqgan + prior", "vqgan-prior"),
                           (f"{BEST_EARLIER} (best earlier family)", BEST_EARLIER)):
            run, timing = trained[fam]
            model = load(run)
            ctx = base.for_model(model) if base else MetricContext(model, data, "test", n=SAMPLES)
            base = base or ctx
            v = compute(NAMES, ctx, log=lambda m: opts.log(f"{fam} on {data}: {m}"))
            minutes = timing["seconds"] / 60 + (trained["vqgan"][1]["seconds"] / 60 if fam == "vqgan-prior" else 0)
            numbers[label] = {**v, "minutes": minutes, "images": timing["images"]}
            samples.rows.append([label, f"{v['fd']:.1f}", f"{v['kid']:.1f}", f"{v['precision']:.3f}", f"{v['recall']:.3f}",
                                 f"{minutes:.1f}" + (" (both stages)" if fam == "vqgan-prior" else "")])
        report.tables.append(samples)

        style = load(trained["stylegan"][0])
        curve, centres = {}, style.cluster_centres(CLUSTERS)
        trunc = Table(f"{data}: stylegan's truncation curve ({SAMPLES:,} samples per point)",
                      ["psi", "toward", "FD", "precision", "recall"])
        for kind, c in (("mean w", None), (f"nearest of {CLUSTERS} centres", centres)):
            for psi in PSIS:
                v = compute(["fd", "pr"], base.for_model(_Truncated(style, psi, c)))
                curve.setdefault(kind, []).append({"psi": psi, **v})
                trunc.rows.append([f"{psi:g}", kind, f"{v['fd']:.1f}", f"{v['precision']:.3f}", f"{v['recall']:.3f}"])
        report.tables.append(trunc)
        numbers["truncation"] = curve
        _plot_truncation(curve, data, folder / f"truncation-{data}.png")
        report.pictures.append((f"{data}: FD, precision and recall of stylegan's samples against psi, toward the mean w and toward the "
                                f"nearest of {CLUSTERS} cluster centres", f"modern/truncation-{data}.png"))
        _truncation_grid(style, centres, folder / f"truncation-grid-{data}.png")
        report.pictures.append((f"{data}: the same 8 codes (columns) at psi 1, 0.7, 0.4 and 0 toward the mean w (first four rows) and toward "
                                f"the nearest of {CLUSTERS} centres (last four)", f"modern/truncation-grid-{data}.png"))

        recon = Table(f"{data}: reconstruction of {SAMPLES:,} test images", ["model", "images seen", "code", "PSNR (dB)", "SSIM",
                                                                             "class agreement", "codebook perplexity", "codes never used"])
        numbers["reconstruction"] = {}
        for fam in ("vqgan", "ae", "vae"):
            r = load_run(trained[fam][0])
            v = _reconstruction(r, base)
            numbers["reconstruction"][fam] = v
            grid = "x".join(map(str, r.model.grid)) if fam == "vqgan" else str(r.model.code_dim)
            recon.rows.append([f"`{fam}`", f"{trained[fam][1]['steps'] * trained[fam][1]['batch_size']:,}",
                               grid + (" grid" if fam == "vqgan" else " vector"), f"{v['psnr']:.2f}", f"{v['ssim']:.3f}",
                               f"{v['agreement']:.1%}", f"{v['perplexity']:.1f} of {r.model.config.codebook_size}" if "perplexity" in v else "",
                               str(v["unused"]) if "unused" in v else ""])
        report.tables.append(recon)

        spaces = Table(f"{data}: stylegan inverted by optimisation ({INVERT_N} test images, {INVERT_STEPS} steps)",
                       ["space", "code size", "PSNR (dB)", "SSIM", "class agreement"])
        frozen = load_run(trained["stylegan"][0], frozen=True)
        targets = base.data().spread(INVERT_N)
        clf = run_classifier(frozen)
        numbers["inversion"] = {}
        for space in ("z", "w", "w+"):
            view = frozen.model.in_space(space)
            out = invert(view, targets.x, "optimize", InversionOptions(steps=INVERT_STEPS))
            v = judge(out.images.cpu(), targets.x, targets.y, clf)
            numbers["inversion"][space] = v
            spaces.rows.append([space, str(view.code_dim), f"{v['psnr']:.2f}", f"{v['ssim']:.3f}", f"{v.get('agreement', math.nan):.1%}"])
        report.tables.append(spaces)
        report.data[data] = numbers
    report.protocol = [
        "FD and KID are in a domain classifier's features, not Inception's (docs/metrics.md); the prior's samples are "
        f"drawn one code at a time, so each model is judged on {SAMPLES:,} samples, not the fidelity suite's 5,000: "
        "numbers are comparable within this page only.",
        "Everything is far smaller than the papers: 28x28 images, networks of width 0.25-0.5, "
        f"{images:,} images on two CPU cores. The papers' FIDs (StyleGAN2, VQGAN) are on 256-1024 px data and are not quoted.",
        "VQGAN's perceptual loss is the distance in the domain classifier's features, since LPIPS's VGG weights cannot be downloaded here.",
        "Multi-modal truncation picks the centre nearest a code's w by Euclidean distance in W (Self-Distilled StyleGAN picks it "
        "with a perceptual distance between images).",
    ]
    return report


class _Truncated:
    """stylegan's samples truncated toward the mean w or the nearest of ``centres``, as a model for the metrics."""

    has_encoder = False
    code_density = None

    def __init__(self, model, psi: float, centres):
        self.model, self.psi, self.centres = model, psi, centres

    def parameters(self):
        return self.model.parameters()

    def sample(self, n, generator=None):
        return self.model.draw(self.model.sample_codes(n, generator), self.psi, self.centres)


@torch.no_grad()
def _reconstruction(run, ctx: MetricContext) -> dict:
    model = run.model
    real = ctx.real()
    x_hat = torch.cat([model.reconstruct(real.x[i : i + 500]) for i in range(0, len(real.x), 500)])
    v = judge(x_hat, real.x, real.y, run_classifier(run))
    if hasattr(model, "code_indices"):
        idx = torch.cat([model.code_indices(real.x[i : i + 500]) for i in range(0, len(real.x), 500)]).flatten()
        share = torch.bincount(idx, minlength=model.config.codebook_size).float() / len(idx)
        v["perplexity"] = float(torch.exp(-(share * share.clamp_min(1e-12).log()).sum()))
        v["unused"] = int((share == 0).sum())
    return v


def _plot_truncation(curve: dict, data: str, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    for kind, points in curve.items():
        psi = [p["psi"] for p in points]
        axes[0].plot(psi, [p["fd"] for p in points], marker="o", label=kind)
        axes[1].plot(psi, [p["precision"] for p in points], marker="o", label=f"precision, toward {kind}")
        axes[1].plot(psi, [p["recall"] for p in points], marker="s", linestyle="--", label=f"recall, toward {kind}")
    axes[0].set_ylabel("FD (lower is better)")
    axes[1].set_ylabel("precision / recall")
    for ax in axes:
        ax.set_xlabel("psi (1 = no truncation)")
        ax.invert_xaxis()
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{data}: the truncation trick, toward the mean w and toward the nearest cluster centre")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


@torch.no_grad()
def _truncation_grid(model, centres, path) -> None:
    from .. import pictures

    z = model.sample_codes(8, torch.Generator().manual_seed(0))
    rows = [model.draw(z, psi, c) for c in (None, centres) for psi in (1.0, 0.7, 0.4, 0.0)]
    pictures.save_images(torch.cat(rows), path, nrow=8)
