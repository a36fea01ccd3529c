"""`modes-2d`: PacGAN's Table 1 (ring8 and grid25, 10 seeds) for gan, BiGAN/ALI and the encoder families.

Every run uses the networks and optimiser of the published protocol (Lin et al. 2018, after ALI and
VEEGAN: ``--vector-net pacgan``, a 2-D normal code, Adam with lr 1e-4 and beta1 0.8, batches of 100,
the non-saturating loss, no moving average of G) and keeps its family's other preset options. Each
run's final generator draws 2,500 samples, judged with PacGAN's measures (gane.metrics.modes).
"""
from __future__ import annotations

import dataclasses

import torch

from ..api import load
from ..families import FAMILIES
from ..metrics import MetricContext, compute
from ..nets.mlp import pacgan_units
from ..errors import GaneError
from .core import Report, SuiteOptions, Table, command, gan_and_encoders, mean_cell, preset_run, register_suite

DATASETS = ("ring8", "grid25")
SEEDS = 10
#: PacGAN trains its networks (width 1) for 400 epochs of 100,000 points (400,000 steps of 100): about
#: 12 hours a run on one CPU core, 160 runs a suite. By default the suite trains a quarter of the width
#: for 5,000 steps (about a minute a run on one core); --width 1 --steps 400000 asks for the published length.
STEPS = 5000
WIDTH = 0.25
PUBLISHED_STEPS = 400_000
PROTOCOL = {"vector_net": "pacgan", "z_dim": 2, "lr": 1e-4, "beta1": 0.8, "batch_size": 100, "ema": 0.0,
            "loss": "ns", "r1": 0.0, "dropout": 0.0, "spectral_norm": False, "feature_matching": 0.0, "vdb": 0.0}

#: PacGAN (Lin et al. 2018), Table 1: mean +- standard error over 10 trials (modes, high-quality %, reverse KL)
QUOTED = {
    "ring8": [("GAN", "6.3 ± 0.5", "98.2 ± 0.2%", "0.45 ± 0.09"), ("ALI", "6.6 ± 0.3", "97.6 ± 0.4%", "0.36 ± 0.04"),
              ("PacGAN2", "7.9 ± 0.1", "95.6 ± 2.0%", "0.07 ± 0.03"), ("PacGAN3", "7.8 ± 0.1", "97.7 ± 0.3%", "0.10 ± 0.02"),
              ("PacGAN4", "7.8 ± 0.1", "95.9 ± 1.4%", "0.07 ± 0.02")],
    "grid25": [("GAN", "17.3 ± 0.8", "94.8 ± 0.7%", "0.70 ± 0.07"), ("ALI", "24.1 ± 0.4", "95.7 ± 0.6%", "0.14 ± 0.03"),
               ("PacGAN2", "23.8 ± 0.7", "91.3 ± 0.8%", "0.13 ± 0.04"), ("PacGAN3", "24.6 ± 0.4", "94.2 ± 0.4%", "0.06 ± 0.02"),
               ("PacGAN4", "24.8 ± 0.2", "93.6 ± 0.6%", "0.04 ± 0.01")],
}
SOURCE = "PacGAN (Lin et al. 2018), Table 1, 400 epochs"


def families(opts: SuiteOptions | None = None) -> list[str]:
    return gan_and_encoders("modes-2d", opts)


def protocol_options(family: str, width: float) -> dict:
    """The published protocol's options that ``family`` has (an autoencoder has no adversarial loss)."""
    cls = FAMILIES.get(family)
    fields = {f.name for f in dataclasses.fields(cls.Config)}
    train = {"lr", "beta1", "batch_size", "ema"}
    return {k: v for k, v in {**PROTOCOL, "width": width}.items() if k in fields or k in train}


def settings(opts: SuiteOptions) -> tuple[int, int, float]:
    """Seeds, steps and width of this suite's runs."""
    return opts.seeds or SEEDS, opts.steps or STEPS, opts.width or WIDTH


def measure(opts: SuiteOptions, family: str, data: str, samples: dict | None = None) -> dict:
    """Train (or reuse) ``family``'s runs on ``data`` under the protocol, one per seed, and judge each:
    {modes, high_quality (%), reverse_kl: one value per seed; modes_of; seconds_per_run}. The samples
    of seed 0 go into ``samples[family]`` when given."""
    seeds, steps, width = settings(opts)
    base = opts.runs / "suite-modes-2d" / f"{steps}-steps-width-{width:g}" / data
    per_seed, seconds = [], []
    for seed in range(seeds):
        run, timing = preset_run(family, data, base / f"seed{seed}", steps * PROTOCOL["batch_size"], opts.fresh,
                                 seed=seed, log=opts.log, **protocol_options(family, width))
        ctx = MetricContext(load(run), data, "test", seed=seed)
        v = compute(["modes"], ctx)
        per_seed.append(v)
        seconds.append(timing["seconds"])
        if seed == 0 and samples is not None:
            samples[family] = ctx.samples(v["modes_samples"]).float().cpu()
    return {"modes": [float(v["modes"]) for v in per_seed], "high_quality": [100 * v["high_quality"] for v in per_seed],
            "reverse_kl": [float(v["reverse_kl"]) for v in per_seed], "modes_of": per_seed[0]["modes_of"],
            "seconds_per_run": sum(seconds) / len(seconds)}


@register_suite("modes-2d", accepts=("families", "seeds", "steps", "width"))
def modes_2d(opts: SuiteOptions) -> Report:
    seeds, steps, width = settings(opts)
    fams = families(opts)
    wrong = [d for d in opts.datasets if d not in DATASETS]
    if wrong:
        raise GaneError(f"The modes-2d suite judges the 2-D mixtures {' and '.join(DATASETS)}; not {', '.join(wrong)}. "
                        "Stacked MNIST has its own suite: gane bench suite stacked-mnist.")
    report = Report(
        "modes-2d", "Mode collapse on the 2-D mixtures: PacGAN's Table 1",
        f"gan, BiGAN (ALI) and every family with an encoder on ring8 (8 Gaussians on a circle of radius 1, std 0.01) and "
        f"grid25 (25 Gaussians on a 5 x 5 grid with spacing 2, std 0.05), {seeds} seeds each, with the networks and "
        f"optimiser of PacGAN's protocol (G: 4 layers of {pacgan_units(width, 400)} units with batch norm; D: 3 maxout layers of "
        f"{pacgan_units(width, 200)} units with 5 pieces; E: 2 layers of {pacgan_units(width, 400)}; a 2-D normal code; Adam, lr 1e-4, "
        f"beta1 0.8; batches of 100; the non-saturating loss) for {steps:,} steps. The final generator of each run draws "
        "2,500 samples: a sample is of **high quality** within 3 standard deviations of its nearest mode's centre, a mode "
        "is **covered** when at least one high-quality sample lands on it, and the **reverse KL** is KL(q || uniform) of "
        "the high-quality samples' histogram q over the modes. Mean ± standard error over the seeds.",
        command("modes-2d", opts))
    folder = opts.results / "modes-2d"
    folder.mkdir(parents=True, exist_ok=True)
    goal_met = []
    for data in opts.datasets or DATASETS:
        table = Table(data, ["family", "modes", "high quality", "reverse KL", "all modes in", "training per run"])
        numbers: dict[str, dict] = {}
        samples = {}
        for fam in fams:
            numbers[fam] = measure(opts, fam, data, samples)
            modes, hq, kl, total = (numbers[fam][k] for k in ("modes", "high_quality", "reverse_kl", "modes_of"))
            full = sum(m == total for m in modes)
            seconds = [numbers[fam]["seconds_per_run"]]
            table.rows.append([f"`{fam}`", mean_cell(modes, "{:.1f}"), mean_cell(hq, "{:.1f}", "%"), mean_cell(kl, "{:.2f}"),
                               f"{full} of {seeds} seeds", f"{sum(seconds) / len(seconds):.0f} s"])
            if fam != "gan" and FAMILIES.get(fam).has_encoder and full == seeds and min(hq) >= 98.0:
                goal_met.append(f"{fam} on {data}")
        table.quoted = [([q[0], q[1], q[2], q[3], "", ""], SOURCE) for q in QUOTED[data]]
        report.tables.append(table)
        report.data[data] = numbers
        _plot_samples(samples, data, folder / f"{data}.png")
        report.pictures.append((f"2,500 samples of seed 0 of each family on {data} (red circles: 3 standard deviations around each mode's centre, where a sample counts as high quality)", f"modes-2d/{data}.png"))
    report.data.update({"steps": steps, "seeds": seeds, "width": width, "protocol": PROTOCOL})
    report.summary += ("\n\nThe goal (every seed of an encoder family covers every mode with at least 98% high-quality samples): "
                       + (f"met by {', '.join(goal_met)}." if goal_met else "not met by any encoder family in this run."))
    report.protocol = [
        *([] if steps >= PUBLISHED_STEPS else [
            f"Length: PacGAN trains {PUBLISHED_STEPS:,} steps (400 epochs of 100,000 points); this run trained {steps:,} "
            f"(`--steps {PUBLISHED_STEPS} --width 1` asks for the published protocol: about "
            f"{_hours(report.data) * PUBLISHED_STEPS / steps:.0f} hours a run at this run's width and speed).",
        ]),
        *([] if width == 1 else [
            f"Width: PacGAN's networks have 400 (G, E) and 200 (D) units a layer; this run's have {pacgan_units(width, 400)} "
            f"and {pacgan_units(width, 200)} (`--width {width:g}`; `--width 1` for the published size)."]),
        "Measures: PacGAN's code counts a mode as covered by one high-quality sample and judges 2,500 samples; so does gane.",
        "Data: every gane run trains on the same 50,000 points of the mixture (drawn once, with seed 0); PacGAN draws "
        "100,000 for each run.",
        "Initialisation: PacGAN draws every weight from N(0, 0.02) with zero biases; gane keeps torch's defaults.",
        "BiGAN/ALI: PacGAN's ALI has a stochastic encoder (x and noise in, 2 layers of 400); gane's bigan preset keeps its "
        "deterministic one, of the same size.",
        "Where a family's own design differs, it keeps it: aae and alphagan decode without batch norm in G (and aae's E has "
        "none), since their G decodes codes an adversary moves every step (docs/families.md); bigbigan's D keeps its three "
        "scores, over maxout paths for x and z and a joint layer.",
        "The encoder families keep their presets' own options beside the protocol's: ae, vae, aae, alphagan and vaegan "
        "sample from a mixture of Gaussians fitted to the codes of the training data (10 on ring8, 25 on grid25; "
        "src/gane/presets/). These families have no published row.",
        "Batch norm: PacGAN's G normalises with batch statistics in training and population averages (momentum 0.05) when "
        "sampling; gane's uses torch's running averages (momentum 0.1) in eval mode.",
    ]
    return report


def _hours(numbers: dict) -> float:
    """The mean training hours of one run of this suite."""
    runs = [f["seconds_per_run"] for d in DATASETS if d in numbers for f in numbers[d].values()]
    return sum(runs) / max(1, len(runs)) / 3600


def _plot_samples(samples: dict[str, torch.Tensor], data: str, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..data.sources import MIXTURES

    centres, std = MIXTURES[data][0](), MIXTURES[data][1]
    lim = 1.6 if data == "ring8" else 5.5
    cols = min(4, len(samples))
    rows = -(-len(samples) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.6 * rows), dpi=100, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (fam, x) in zip(axes.flat, samples.items()):
        ax.axis("on")
        for c in centres:  # the high-quality region of each mode: 3 standard deviations around its centre
            ax.add_patch(plt.Circle(tuple(c), 3 * std, color="#d62728", fill=False, lw=0.8, zorder=3))
        ax.scatter(x[:, 0], x[:, 1], s=1, c="#1f77b4", alpha=0.4)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(fam, fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
