"""``gane quickstart``: BiGAN on the built-in MNIST digits, with a report a person can read.

Trains bigan (the lecture notes' central method, G + D + E) on mnist-5k's 4,000
train digits within a time budget, then writes to the run folder: samples,
reconstructions of test digits, interpolation strips between test digits, and
report.md / report.html with two numbers from a digit classifier trained on the
train split: how often a sample is classified with confidence above 0.9, and how
often the reconstruction of a test digit keeps its class.
"""
from __future__ import annotations

import html
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from . import pictures
from .api import load, train
from .edit import interpolate
from .metrics import MetricContext, compute, domain_classifier

# Training settings of the quickstart (also the bigan/mnist-5k preset); see README "Quickstart".
QUICKSTART_DATA = "mnist-5k"


@dataclass
class QuickstartResult:
    run_dir: Path
    classifier_accuracy: float
    sample_confident_rate: float
    reconstruction_agreement: float
    reconstruction_mse: float
    train_seconds: float
    steps: int
    images_per_second: float


def run_quickstart(out: Path = Path("runs/quickstart"), minutes: float = 4.0, seed: int = 0, progress: bool = True) -> QuickstartResult:
    out = Path(out)
    if out.exists():
        previous = out.with_name(out.name + "-previous")
        shutil.rmtree(previous, ignore_errors=True)
        out.rename(previous)
        print(f"gane: moved the earlier quickstart run to {previous}", flush=True)
    print(
        f"gane quickstart: training BiGAN (generator + encoder + joint discriminator) on {QUICKSTART_DATA} "
        f"for up to {minutes:g} minutes, then evaluating it on the 1,000 test digits.",
        flush=True,
    )
    result = train("bigan", data=QUICKSTART_DATA, time_limit=minutes * 60, seed=seed, out=str(out), progress=progress)
    model = load(out)
    clf = domain_classifier(QUICKSTART_DATA)
    judge = MetricContext(model, QUICKSTART_DATA, "test", n=1000, seed=seed)  # the 1,000 test digits, 1,000 samples
    judged = compute(["confidence", "recon"], judge)
    test, samples, recon = judge.real(), judge.samples(), judge.reconstructions()
    res = QuickstartResult(
        run_dir=out,
        classifier_accuracy=clf.test_accuracy,
        sample_confident_rate=judged["confidence"],
        reconstruction_agreement=judged["agreement"],
        reconstruction_mse=judged["mse"],
        train_seconds=result.seconds,
        steps=result.step,
        images_per_second=result.images_per_second,
    )

    # Pictures: 64 samples; 40 test digits (4 of each class) above their reconstructions;
    # interpolation strips between test digits of different classes.
    pictures.save_samples(samples[:64], out / "samples.png")
    order = torch.argsort(test.y, stable=True)
    per_class = torch.cat([order[c * 100 : c * 100 + 4] for c in range(10)])  # mnist-5k test: 100 per class
    pictures.save_reconstructions(test.x[per_class], recon[per_class], out / "reconstructions.png", per_row=10)
    starts = order[torch.arange(6) * 100 + 7]  # digits 0..5
    ends = order[(torch.arange(6) + 4) % 10 * 100 + 11]  # digits 4..9
    with torch.no_grad():
        strip = interpolate(model, model.encode(test.x[starts]), model.encode(test.x[ends]), steps=10)
    pictures.save_images(strip.reshape(-1, *strip.shape[2:]), out / "interpolation.png", nrow=10)
    write_report(res, out)
    print(
        f"\ngane quickstart: done in {result.seconds / 60:.1f} min of training ({result.step} steps, {result.images_per_second:,.0f} images/s).\n"
        f"  digit classifier test accuracy:            {res.classifier_accuracy:.1%}\n"
        f"  samples classified with confidence > 0.9:  {res.sample_confident_rate:.1%}\n"
        f"  test reconstructions that keep their class: {res.reconstruction_agreement:.1%}\n"
        f"  report: {out / 'report.html'} (and report.md); pictures: samples.png, reconstructions.png, interpolation.png",
        flush=True,
    )
    return res


def write_report(res: QuickstartResult, out: Path) -> None:
    numbers = [
        ("Training time", f"{res.train_seconds / 60:.1f} min, {res.steps} steps, {res.images_per_second:,.0f} images/s on this machine"),
        ("Digit classifier accuracy on the 1,000 test digits", f"{res.classifier_accuracy:.1%}"),
        ("Samples classified with confidence > 0.9 (1,000 samples)", f"{res.sample_confident_rate:.1%}"),
        ("Test digits whose reconstruction G(E(x)) keeps its class", f"{res.reconstruction_agreement:.1%} (chance: 10%)"),
        ("Reconstruction mean squared error (pixels in [-1, 1])", f"{res.reconstruction_mse:.3f}"),
    ]
    figures = [
        ("samples.png", "Samples G(z), z ~ N(0, I)."),
        ("reconstructions.png", "Test digits (odd rows) above their reconstructions G(E(x)) (even rows). "
         "BiGAN never sees a reconstruction loss: E learns to invert G only through the joint discriminator, "
         "so reconstructions keep the digit's identity rather than its exact pixels."),
        ("interpolation.png", "Each row decodes a straight line in z from E(x) of one test digit to E(x) of another."),
    ]
    md = ["# gane quickstart: BiGAN on mnist-5k", "",
          "BiGAN trains a generator G, an encoder E and a discriminator D(x, z) that tells real pairs (x, E(x)) from generated pairs (G(z), z). "
          "A digit classifier trained on the 4,000 train digits judges the results.", "",
          "| measure | value |", "|---|---|"]
    md += [f"| {k} | {v} |" for k, v in numbers]
    md.append("")
    for f, cap in figures:
        md += [f"![{f}]({f})", "", f"*{cap}*", ""]
    md += ["Reproduce: `gane quickstart`. Use the model: `gane sample runs/quickstart --n 64 --out samples.png`, "
           "`gane reconstruct runs/quickstart --out recon.png`, or `gane.load('runs/quickstart')` in Python."]
    (out / "report.md").write_text("\n".join(md) + "\n")
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in numbers)
    figs = "".join(
        f'<figure><img src="{f}" style="image-rendering: pixelated; width: 420px"><figcaption>{html.escape(c)}</figcaption></figure>'
        for f, c in figures
    )
    (out / "report.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>gane quickstart</title>"
        "<style>body{font-family:sans-serif;max-width:900px;margin:2em auto}td{padding:4px 10px;border-bottom:1px solid #ddd}"
        "figure{display:inline-block;vertical-align:top;width:430px;margin:10px}</style></head><body>"
        "<h1>gane quickstart: BiGAN on mnist-5k</h1>"
        "<p>BiGAN trains a generator G, an encoder E and a discriminator D(x, z) that tells real pairs (x, E(x)) from generated pairs (G(z), z). "
        "A digit classifier trained on the 4,000 train digits judges the results.</p>"
        f"<table>{rows}</table>{figs}</body></html>\n"
    )
    (out / "quickstart.json").write_text(json.dumps({k: (str(v) if isinstance(v, Path) else v) for k, v in res.__dict__.items()}, indent=2))
