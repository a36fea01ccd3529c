"""`stacked-mnist`: VEEGAN's Table 2 and PacGAN's Table 2 (1,000 modes of Stacked MNIST).

gan and every family with an encoder, each with its MNIST preset (the convolutional networks and
optimiser tuned on mnist-5k), trained on Stacked MNIST for the same number of images; the final
generator draws 26,000 samples, each channel read by the MNIST classifier (gane.metrics.modes).
"""
from __future__ import annotations

import torch

from ..api import load
from ..config import TrainConfig
from ..families import FAMILIES
from ..metrics import MetricContext, compute
from ..metrics.modes import STACKED_SOURCES
from ..presets import preset_for
from .core import (Report, SuiteOptions, Table, available, command, gan_and_encoders, mean_cell, missing_data_note, preset_run,
                   register_suite)

SEEDS = 1
STEPS = 3000  # of the preset's batch (64 for most): 192,000 images, the budget of the mnist-5k benchmarks
#: VEEGAN (Srivastava et al. 2017) Table 2 and PacGAN (Lin et al. 2018) Table 2: modes (of 1,000) and KL to uniform
QUOTED = [
    (["DCGAN", "99.0", "3.40"], "VEEGAN (Srivastava et al. 2017), Table 2"),
    (["ALI", "16.0", "5.40"], "VEEGAN (Srivastava et al. 2017), Table 2"),
    (["Unrolled GAN", "48.7", "4.32"], "VEEGAN (Srivastava et al. 2017), Table 2"),
    (["VEEGAN", "150.0", "2.95"], "VEEGAN (Srivastava et al. 2017), Table 2"),
    (["DCGAN (PacGAN's)", "78.9 ± 6.46", "4.50 ± 0.127"], "PacGAN (Lin et al. 2018), Table 2, 10 trials"),
    (["PacDCGAN2", "1000.0 ± 0.00", "0.06 ± 0.003"], "PacGAN (Lin et al. 2018), Table 2, 10 trials"),
    (["PacDCGAN3", "1000.0 ± 0.00", "0.06 ± 0.003"], "PacGAN (Lin et al. 2018), Table 2, 10 trials"),
    (["PacDCGAN4", "1000.0 ± 0.00", "0.07 ± 0.005"], "PacGAN (Lin et al. 2018), Table 2, 10 trials"),
]


def mnist_preset_options(family: str, source: str, width: float | None) -> dict:
    """The family's preset for the MNIST the stacked digits come from, less its length."""
    preset = preset_for(family, source) or preset_for(family, "mnist-5k")
    options = {**(preset.model if preset else {}), **(preset.train if preset else {})}
    for k in ("steps", "epochs"):
        options.pop(k, None)
    if width:
        options["width"] = width
    return options


@register_suite("stacked-mnist", accepts=("families", "seeds", "steps", "width"))
def stacked_mnist(opts: SuiteOptions) -> Report:
    seeds = opts.seeds or SEEDS
    steps = opts.steps or STEPS
    fams = gan_and_encoders("stacked-mnist", opts)
    datasets = opts.datasets or ("stacked-mnist",)
    report = Report(
        "stacked-mnist", "Mode collapse on Stacked MNIST: VEEGAN's and PacGAN's Table 2",
        "Stacked MNIST puts three MNIST digits in the R, G and B channels of one image: 1,000 modes. gan and every "
        f"family with an encoder, each with its mnist-5k preset (gane's convolutional networks and optimiser), trained for "
        f"{steps:,} steps on 50,000 triples; the final generator draws 26,000 samples, and the classifier of the MNIST the "
        "digits came from reads each channel. **Modes** counts the digit triples hit at least once; **KL** is KL(q || "
        "uniform) of the samples' histogram q over the 1,000 triples (0 for a perfectly even spread). A row of 26,000 real "
        "triples shows what the classifier's own errors cost.",
        command("stacked-mnist", opts))
    folder = opts.results / "stacked-mnist"
    folder.mkdir(parents=True, exist_ok=True)
    for data in datasets:
        if data not in STACKED_SOURCES:
            report.skipped.append(f"{data}: not a Stacked MNIST dataset (use {' or '.join(STACKED_SOURCES)}).")
            continue
        source = STACKED_SOURCES[data]
        if not available(data):
            report.skipped.append(missing_data_note(source))
            continue
        table = Table(data, ["family", "modes", "KL", "images seen", "training per run"])
        numbers: dict[str, dict] = {}
        base = opts.runs / "suite-stacked-mnist" / (f"{steps}-steps" + (f"-width-{opts.width:g}" if opts.width else "")) / data
        ctx0 = None
        grids = []
        for fam in fams:
            per_seed, seconds = [], []
            for seed in range(seeds):
                options = mnist_preset_options(fam, source, opts.width)
                batch = options.get("batch_size", TrainConfig.batch_size)
                run, timing = preset_run(fam, data, base / f"seed{seed}", steps * batch, opts.fresh, seed=seed, log=opts.log, **options)
                model = load(run)
                ctx = ctx0.for_model(model) if ctx0 else MetricContext(model, data, "test", seed=seed)
                ctx.seed = seed  # each seed's run draws its own samples
                ctx0 = ctx0 or ctx
                v = compute(["modes"], ctx, log=lambda m: opts.log(f"{fam} on {data}: {m}"))
                per_seed.append(v)
                seconds.append(timing["seconds"])
                if seed == 0:
                    grids.append(ctx.samples(v["modes_samples"])[:16])
            modes = [float(v["modes"]) for v in per_seed]
            kl = [float(v["kl"]) for v in per_seed]
            images = steps * timing["batch_size"]
            numbers[fam] = {"modes": modes, "kl": kl, "images": images, "seconds_per_run": sum(seconds) / len(seconds)}
            table.rows.append([f"`{fam}`", mean_cell(modes, "{:.1f}"), mean_cell(kl, "{:.2f}"), f"{images:,}",
                               f"{sum(seconds) / len(seconds) / 60:.1f} min"])
        reals = _real_row(ctx0, data)
        numbers["real triples"] = reals
        table.rows.insert(0, ["real triples (train split)", f"{reals['modes']}", f"{reals['kl']:.2f}", "", ""])
        table.quoted = [(cells + ["", ""], src) for cells, src in QUOTED]
        report.tables.append(table)
        report.data[data] = numbers
        from .. import pictures

        pictures.save_images(torch.cat(grids), folder / f"{data}.png", nrow=16)
        report.pictures.append((f"16 samples of each family on {data}, one row each, in the order of the table ({', '.join(fams)})",
                                f"stacked-mnist/{data}.png"))
        encoders = [f for f in fams if FAMILIES.get(f).has_encoder]
        met = [f for f in encoders if min(numbers[f]["modes"]) >= 990 and max(numbers[f]["kl"]) <= 0.1]
        if encoders:
            best = min(encoders, key=lambda f: max(numbers[f]["kl"]))
            report.summary += (f"\n\nOn {data}, the goal (an encoder family at >= 990 modes with KL <= 0.1 on every seed): "
                               + (f"met by {', '.join(met)}." if met else
                                  f"not met; the closest is {best} ({min(numbers[best]['modes']):.0f} modes, KL {max(numbers[best]['kl']):.2f})."))
    report.data.update({"steps": steps, "seeds": seeds})
    report.protocol = [
        "Networks: VEEGAN and PacGAN train DCGAN (64 base filters, z of 100 uniform) for 50 epochs of 128,000 triples "
        f"(100,000 steps of 64); gane trains each family's own mnist-5k preset for {steps:,} steps on 50,000 triples.",
        "Data: the triples are drawn from the mnist-5k train digits (4,000) unless `--data stacked-mnist-full` (the full "
        "MNIST, when its files are on this machine); the papers use the full MNIST.",
        "Classifier: each channel is read by gane's MNIST classifier for that data (about 98% accurate on mnist-5k), "
        "not the papers' Keras network; its errors spread even real triples a little (the real row).",
        "Samples are judged at the end of training; PacGAN reports its last epoch as well.",
        "Moving average: where a preset keeps one (gan, bigan, bigbigan and others; `gane list`), its averaged G draws the "
        "samples; the papers' DCGAN has none.",
        f"Seeds: PacGAN's rows are means over 10 trials; this page has {seeds} per family (`--seeds 10` for ten).",
    ]
    return report


def _real_row(ctx: MetricContext, data: str) -> dict:
    """Modes and KL of 26,000 real train triples, judged like samples."""
    from ..metrics.modes import mode_counter

    counter = mode_counter(data, ctx.options)
    return counter.count(ctx.data("train").take(counter.samples).x)
