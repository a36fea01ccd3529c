"""`claims`: the lecture notes' claims about encoders, each with a measured figure.

(a) An autoencoder path reduces mode collapse: gan against the families with an encoder, on the
    2-D mixtures (the modes-2d suite's runs: PacGAN's networks, modes, high-quality fraction, reverse KL).
(b) BiGAN's reconstructions keep semantics rather than pixels: its reconstructions keep their
    class while their pixel error stays well above an autoencoder's.
(c) A 2-D latent space reconstructs worse than a 5-D one, and reconstruction error falls with the
    latent size (2, 5, 10, 20, 50): the notes' MNIST figure, with an autoencoder on mnist-5k.
"""
from __future__ import annotations

import torch

from ..api import load
from ..data import load_data
from ..metrics import MetricContext, compute
from .core import Report, SuiteOptions, Table, budget, command, families_runs, finite_mean, preset_run, register_suite

MIXTURES = ("ring8", "grid25")
LATENT_SIZES = (2, 5, 10, 20, 50)


@register_suite("claims", accepts=("seeds", "steps", "width"))
def claims(opts: SuiteOptions) -> Report:
    report = Report(
        "claims", "The lecture notes' claims about encoders, measured",
        "Three claims of the notes, each measured on runs trained with gane's presets: (a) an autoencoder path "
        "reduces mode collapse; (b) BiGAN's reconstructions keep semantics rather than pixels; (c) a 2-D latent "
        "space reconstructs worse than a 5-D one, and the error falls as the latent space grows.",
        command("claims", opts))
    results = report.data
    folder = opts.results / "claims"
    folder.mkdir(parents=True, exist_ok=True)

    # (a) ------------------------------------------------------------------------------------------
    from .modes2d import families as mode_families, measure, settings

    seeds, steps, width = settings(opts)
    encoders = [f for f in mode_families() if f != "gan"]
    table = Table(f"(a) Mode collapse on the 2-D mixtures: gan against the families with an encoder ({seeds} seeds each, "
                  "the modes-2d suite's runs)", ["family", "data", "modes", "high quality", "reverse KL"])
    modes = {}
    for data in MIXTURES:
        for fam in ["gan"] + encoders:
            v = modes[f"{fam}/{data}"] = measure(opts, fam, data)
            infinite = sum(k == float("inf") for k in v["reverse_kl"])
            table.rows.append([f"`{fam}`", data, f"{finite_mean(v['modes']):.1f} / {v['modes_of']:.0f}", f"{finite_mean(v['high_quality']):.1f}%",
                               f"{finite_mean(v['reverse_kl']):.3f}" + (f" ({infinite} seeds with no high-quality sample left out)" if infinite else "")])
    fewer_kl = [f"{f} on {d}" for d in MIXTURES for f in encoders if finite_mean(modes[f"{f}/{d}"]["reverse_kl"]) < finite_mean(modes[f"gan/{d}"]["reverse_kl"])]
    more_modes = [f"{f} on {d}" for d in MIXTURES for f in encoders if finite_mean(modes[f"{f}/{d}"]["modes"]) > finite_mean(modes[f"gan/{d}"]["modes"])]
    table.note = (f"Of the {len(encoders) * len(MIXTURES)} (encoder family, mixture) pairs, {len(more_modes)} cover more modes than gan "
                  f"on average and {len(fewer_kl)} have a lower reverse KL (samples spread more evenly over the modes) "
                  f"({', '.join(fewer_kl) or 'none'}). Every run: PacGAN's networks at width {width:g}, {steps:,} steps.")
    report.tables.append(table)
    results["modes"] = modes

    # (b) ------------------------------------------------------------------------------------------
    data = "mnist-5k"
    table = Table("(b) Semantics or pixels: reconstructions of the 1,000 mnist-5k test digits",
                  ["family", "trained with", "keep their class", "MSE", "SSIM"])
    recon = {}
    for fam, how in (("ae", "pixel reconstruction loss"), ("vae", "pixel likelihood + KL"),
                     ("bigan", "no reconstruction loss (joint D)"), ("bigbigan", "no reconstruction loss (joint D)")):
        run, _ = preset_run(fam, data, families_runs(opts.runs, data), budget(data), opts.fresh, log=opts.log)
        v = compute(["recon"], MetricContext(load(run), data, "test", n=1000))
        recon[fam] = v
        table.rows.append([f"`{fam}`", how, f"{v['agreement']:.1%}", f"{v['mse']:.4f}", f"{v['ssim']:.3f}"])
    ratio = recon["bigan"]["mse"] / recon["ae"]["mse"]
    table.note = (f"bigan's reconstructions keep their class {recon['bigan']['agreement']:.1%} of the time (chance: 10%) "
                  f"with {ratio:.1f} times the autoencoder's pixel error.")
    report.tables.append(table)
    results["reconstruction"] = recon

    # (c) ------------------------------------------------------------------------------------------
    table = Table("(c) Latent size: an autoencoder on mnist-5k (its preset, 192,000 images) with z of 2 to 50 dimensions",
                  ["z_dim", "test MSE", "PSNR", "SSIM", "keep their class"])
    sizes, test = {}, load_data(data, "test").spread(10)
    strips = [test.x]
    for z in LATENT_SIZES:
        run, _ = preset_run("ae", data, opts.runs / "suite-claims" / f"z{z}", budget(data), opts.fresh, log=opts.log, z_dim=z)
        model = load(run)
        v = compute(["recon"], MetricContext(model, data, "test", n=1000))
        sizes[z] = v
        table.rows.append([str(z), f"{v['mse']:.4f}", f"{v['psnr']:.2f}", f"{v['ssim']:.3f}", f"{v['agreement']:.1%}"])
        with torch.no_grad():
            strips.append(model.reconstruct(test.x))
    report.tables.append(table)
    results["latent_size"] = sizes
    from .. import pictures

    pictures.save_images(torch.cat(strips), folder / "reconstructions-by-z.png", nrow=len(test.x))
    _plot_latent(sizes, folder / "latent-size.png")
    report.pictures += [("Test reconstruction error of the autoencoder against its latent size (mnist-5k)", "claims/latent-size.png"),
                        ("Ten test digits (top row), then their reconstructions with z of 2, 5, 10, 20 and 50 dimensions",
                         "claims/reconstructions-by-z.png")]
    report.protocol = [
        "(a) is the modes-2d suite's runs and measures (benchmarks/results/modes-2d.md says how they differ from PacGAN's).",
        "(c) trains gane's convolutional autoencoder preset, not the notes' fully connected one, on 4,000 digits.",
    ]
    return report


def _plot_latent(sizes: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=100)
    zs = list(sizes)
    ax.plot(zs, [sizes[z]["mse"] for z in zs], "o-", color="#1f77b4")
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(zs, [str(z) for z in zs])
    ax.set_xlabel("latent size z_dim")
    ax.set_ylabel("test MSE (pixels in [-1, 1])")
    ax.set_title("autoencoder on mnist-5k")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
