"""`fidelity`: FD, KID, precision/recall and density/coverage of every family at one budget."""
from __future__ import annotations

from ..api import load
from ..data import load_data
from ..metrics import MetricContext, compute
from .core import (Report, command, SuiteOptions, Table, available, budget, earlier_families, families_runs, missing_data_note, preset_run,
                   register_suite)

DATASETS = ("mnist-5k", "fashion-mnist")
SAMPLES = 5000
COLUMNS = ["family", "images seen", "FD", "KID", "precision", "recall", "density", "coverage", "IS"]


@register_suite("fidelity")
def fidelity(opts: SuiteOptions) -> Report:
    report = Report(
        "fidelity", "Fidelity and diversity of samples: FD, KID, precision/recall, density/coverage",
        f"Every family trained with its preset (on mnist-5k for 192,000 images, on fashion-mnist for the preset's own "
        f"length; the same runs as benchmarks/families.py), {SAMPLES:,} samples against up to {SAMPLES:,} test "
        "images spread through the split, in the features of the dataset's own classifier (its 128 penultimate activations). Lower FD and KID, "
        "higher precision (samples on the data), recall and coverage (data covered by the samples) are better; density "
        "near 1 means samples as crowded as the data. A row of real train images (up to 5,000, judged like samples) "
        "shows what finite samples of the data itself score.",
        command("fidelity", opts))
    names = ["fd", "kid", "pr", "dc", "is"]
    for data in opts.datasets or DATASETS:
        if not available(data):
            report.skipped.append(missing_data_note(data))
            continue
        table = Table(data, COLUMNS)
        numbers = {}
        base = None
        for fam in earlier_families():
            run, timing = preset_run(fam, data, families_runs(opts.runs, data), budget(data), opts.fresh, log=opts.log)
            model = load(run)
            ctx = base.for_model(model) if base else MetricContext(model, data, "test", n=SAMPLES)
            base = base or ctx
            v = compute(names, ctx, log=lambda m: opts.log(f"{fam} on {data}: {m}"))
            numbers[fam] = {**v, **timing}
            table.rows.append(_row(f"`{fam}`", f"{timing['steps'] * timing['batch_size']:,}", v))
        reals = _real_train_row(base, data)
        numbers["real train images"] = reals
        table.rows.insert(0, _row("real train images", "", reals))
        report.tables.append(table)
        report.data[data] = numbers
        (opts.results / "fidelity").mkdir(parents=True, exist_ok=True)
        _plot_precision_recall(numbers, data, opts.results / "fidelity" / f"{data}.png")
        report.pictures.append((f"Precision against recall of every family's samples on {data} (the real images: black)",
                                f"fidelity/{data}.png"))
    report.protocol = [
        "FD and KID are computed in a domain classifier's features, not Inception's: they rank gane's models on one "
        "dataset and cannot be set beside published FIDs (docs/metrics.md).",
        "KID is the unbiased MMD^2 with the cubic kernel over 100 subsets of up to 1,000, shown as it is: papers multiply "
        "Inception KIDs by 1,000, and these features are on another scale.",
        "Precision/recall use k = 3 and density/coverage k = 5, the authors' defaults, with equal numbers of reals and samples.",
        "One seed per family; the families' own variation between seeds is in docs/presets.md where it was measured.",
    ]
    return report


def _row(name: str, images: str, v: dict) -> list[str]:
    return [name, images, f"{v['fd']:.1f}", f"{v['kid']:.1f}", f"{v['precision']:.3f}", f"{v['recall']:.3f}",
            f"{v['density']:.3f}", f"{v['coverage']:.3f}", f"{v['is']:.2f}"]


class _RealImages:
    """A stand-in model whose "samples" are real train images: the metrics' floor at this sample size."""

    has_encoder = False
    code_density = None

    def __init__(self, x):
        self.x, self.drawn = x, 0

    def sample(self, n, generator=None):  # successive images, as successive draws of a model would be
        out = self.x[self.drawn : self.drawn + n]
        self.drawn += n
        assert len(out) == n, "asked for more real images than there are"
        return out


def _real_train_row(base: MetricContext, data: str) -> dict:
    train = load_data(data, "train")
    x = train.spread(min(SAMPLES, len(train))).x
    ctx = base.for_model(_RealImages(x))
    ctx.n = len(x)
    return compute(["fd", "kid", "pr", "dc", "is"], ctx)


def _plot_precision_recall(numbers: dict, data: str, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 5), dpi=100)
    for name, v in numbers.items():
        real = name == "real train images"
        ax.scatter(v["recall"], v["precision"], c="black" if real else "#1f77b4", s=30)
        ax.annotate("real" if real else name, (v["recall"], v["precision"]), fontsize=8, xytext=(4, 3), textcoords="offset points")
    ax.set_xlim(0, 1.05)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("recall (real images covered by the samples)")
    ax.set_ylabel("precision (samples on the real images)")
    ax.set_title(f"{data}: precision and recall (k = 3, domain features)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
