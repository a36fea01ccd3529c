"""`representation`: how well each encoder's codes separate classes, beside raw pixels and PCA."""
from __future__ import annotations

from ..api import load
from ..data import load_data
from ..families import FAMILIES
from ..metrics import MetricContext, compute
from .core import (Report, command, SuiteOptions, Table, available, budget, earlier_families, families_runs, missing_data_note, preset_run,
                   register_suite)

DATASETS = ("mnist-5k", "fashion-mnist")
GOAL = {"fashion-mnist": (0.88, 0.90)}  # (5-NN, linear probe) the issue asks of an encoder
COLUMNS = ["representation", "dims", "1-NN L2", "1-NN cos", "5-NN L2", "5-NN cos", "25-NN cos", "50-NN cos", "linear probe"]
KEYS = ["knn1_l2", "knn1_cosine", "knn5_l2", "knn5_cosine", "knn25_cosine", "knn50_cosine", "probe"]


def _row(name: str, dims: int, values: dict, suffix: str = "") -> list[str]:
    return [name, str(dims)] + [f"{values[k + suffix]:.2%}" for k in KEYS]


@register_suite("representation")
def representation(opts: SuiteOptions) -> Report:
    families = [f for f in earlier_families() if FAMILIES.get(f).has_encoder]
    report = Report(
        "representation", "Representation: k-NN and linear probes of encoder codes",
        "Each family with an encoder, trained with its preset (on mnist-5k for 192,000 images, on fashion-mnist for "
        "the preset's own length; the same runs as benchmarks/families.py), encodes the train and test splits. "
        "Test codes are classified by a majority vote of their k nearest train codes (L2 and cosine distance), and "
        "by a logistic regression fitted on the standardised train codes. Raw pixels and PCA of the pixels (to the "
        "codes' size) are measured the same way in the same run.",
        command("representation", opts))
    for data in opts.datasets or DATASETS:
        if not available(data):
            report.skipped.append(missing_data_note(data))
            continue
        train, test = load_data(data, "train"), load_data(data, "test")
        table = Table(f"{data}: {len(train):,} train codes as neighbours, {len(test):,} test codes classified", COLUMNS)
        numbers, base, baselines = {}, None, {}
        for fam in families:
            run, timing = preset_run(fam, data, families_runs(opts.runs, data), budget(data), opts.fresh, log=opts.log)
            model = load(run)
            ctx = (base.for_model(model) if base else MetricContext(model, data, "test", n=len(test), train_n=len(train)))
            base = base or ctx
            values = compute(["knn", "probe"], ctx, log=lambda m: opts.log(f"{fam} on {data}: {m}"))
            dims = model.code_dim
            numbers[fam] = {"dims": dims, **values, **timing}
            table.rows.append(_row(f"`{fam}`", dims, values))
            baselines.setdefault(("raw pixels", len(train.take(1).x[0].flatten())), (values, "_pixels"))
            baselines.setdefault(("PCA of the pixels", dims), (values, "_pca"))
        table.rows = [_row(name, dims, v, suffix) for (name, dims), (v, suffix) in baselines.items()] + table.rows
        if data == "mnist-5k":
            for name, acc in (("BiGAN", "97.39%"), ("AE (l2)", "97.58%"), ("AE (l1)", "97.63%")):
                table.quoted.append(([name, "", acc, "", "", "", "", "", ""], "BiGAN (Donahue et al. 2017), Table 1, full MNIST"))
        if data == "fashion-mnist":
            table.quoted.append((["raw pixels", "784", "84.97%", "85.76%", "85.54%", "85.78%", "", "", ""],
                                 "raw pixels measured with scikit-learn on the full sets (../shared/METHODS.md)"))
            knn5, probe = GOAL[data]
            best = max(families, key=lambda f: numbers[f]["knn5_cosine"])
            best_probe = max(families, key=lambda f: numbers[f]["probe"])
            met = numbers[best]["knn5_cosine"] >= knn5 and numbers[best_probe]["probe"] >= probe
            table.note = (f"Goal: an encoder at >= {knn5:.0%} 5-NN and >= {probe:.0%} linear. Best 5-NN (cosine): `{best}` "
                          f"{numbers[best]['knn5_cosine']:.2%}; best probe: `{best_probe}` {numbers[best_probe]['probe']:.2%}: "
                          + ("met." if met else "**not met**."))
        report.tables.append(table)
        report.data[data] = numbers
    report.protocol = [
        "BiGAN's Table 1 uses all 60,000 MNIST train digits as neighbours and the 10,000 test digits; mnist-5k has 4,000 "
        "train and 1,000 test digits, so its k-NN accuracy is lower for every representation (fewer neighbours).",
        "BiGAN reads features from inside the encoder; gane uses the code E(x) itself (for the VAE, the posterior mean).",
        "BigBiGAN's Table 6 (ImageNet, L1 and cosine) is not reproducible here; L2 and cosine are measured.",
        "The linear probe is scikit-learn's logistic regression (lbfgs, up to 2,000 iterations, default L2 penalty) on "
        "standardised features, not a network layer trained with SGD.",
    ]
    return report
