"""Encoder quality: reconstructions of the split, and how well the codes E(x) separate classes
(k-nearest-neighbour accuracy and a linear probe), each beside raw pixels and PCA measured in the
same call, so a number is never read without its baseline.

kNN follows BigBiGAN's Table 6 protocol in spirit: labelled train codes are the neighbours, the
split's codes are classified by majority vote of their k nearest (k = 1, 5, 25, 50), with L2 and
cosine distance. The linear probe is scikit-learn's multinomial logistic regression on
standardised features. PCA keeps as many components as the encoder's code has dimensions.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .core import MetricContext, register_metric

KS = (1, 5, 25, 50)


def knn_accuracy(train: torch.Tensor, train_y: torch.Tensor, test: torch.Tensor, test_y: torch.Tensor,
                 ks=KS, metric: str = "l2") -> dict[int, float]:
    """Accuracy of k-nearest-neighbour majority votes for each k in ``ks`` (ties go to the smaller
    label, as in scikit-learn). ``metric``: "l2" or "cosine"."""
    if metric == "cosine":
        train, test = F.normalize(train.double(), dim=1), F.normalize(test.double(), dim=1)
    train, test = train.double(), test.double()
    k_max = min(max(ks), len(train))
    classes = int(max(train_y.max(), test_y.max())) + 1
    correct = {k: 0 for k in ks}
    chunk = max(1, (1 << 24) // len(train))  # rows of test whose distances to every train example fit in 128 MB
    for i in range(0, len(test), chunk):
        d = torch.cdist(test[i : i + chunk], train) if metric == "l2" else -test[i : i + chunk] @ train.T
        nearest = d.topk(k_max, dim=1, largest=False).indices  # (b, k_max), nearest first
        labels = train_y[nearest]
        for k in ks:
            votes = F.one_hot(labels[:, : min(k, k_max)], classes).sum(1)  # (b, classes)
            correct[k] += int((votes.argmax(1) == test_y[i : i + chunk]).sum())  # argmax: first (smallest) label of a tie
    return {k: correct[k] / len(test) for k in ks}


def linear_probe_accuracy(train: torch.Tensor, train_y: torch.Tensor, test: torch.Tensor, test_y: torch.Tensor, seed: int = 0) -> float:
    """Test accuracy of a multinomial logistic regression fitted on standardised train features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    clf.fit(train.double().numpy(), train_y.numpy())
    return float(clf.score(test.double().numpy(), test_y.numpy()))


@torch.no_grad()
def encode_all(model, x: torch.Tensor, device="cpu", chunk: int = 500) -> torch.Tensor:
    return torch.cat([model.encode(x[i : i + chunk].to(device)).flatten(1).float().cpu() for i in range(0, len(x), chunk)])


def _baselines(ctx: MetricContext, dims: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Raw pixels and their PCA to ``dims`` components (fitted on the train examples): (train, split) each.
    They depend only on the data, so a context made for the next checkpoint keeps them."""
    def make():
        from sklearn.decomposition import PCA

        train, test = ctx.train_examples(ctx.train_n), ctx.real()
        pixels = (train.x.flatten(1).float(), test.x.flatten(1).float())
        pca = PCA(n_components=min(dims, pixels[0].shape[1], len(pixels[0])), random_state=0).fit(pixels[0].double().numpy())
        reduced = tuple(torch.from_numpy(pca.transform(p.double().numpy())).float() for p in pixels)
        return {"_pixels": pixels, "_pca": reduced}

    return ctx._once(("train", "baselines", ctx.train_n, dims), make)


def _representations(ctx: MetricContext) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """(train features, split features) for the encoder's codes, raw pixels and PCA."""
    def make():
        train, test = ctx.train_examples(ctx.train_n), ctx.real()
        return (encode_all(ctx.model, train.x, ctx.device), encode_all(ctx.model, test.x, ctx.device))

    codes = ctx._once("codes", make)
    return {"": codes, **_baselines(ctx, codes[0].shape[1])}


@register_metric("knn", "k-NN accuracy (k = 1, 5, 25, 50; L2 and cosine) of the encoder's codes, with train codes as neighbours; "
                 "raw pixels and PCA beside them", needs=("encoder", "labels", "heldout"))
def _knn(ctx: MetricContext):
    train_y, test_y = ctx.train_examples(ctx.train_n).y, ctx.real().y
    out = {}
    for suffix, (tr, te) in _representations(ctx).items():
        def measure(tr=tr, te=te):
            return {(k, metric): acc for metric in ("l2", "cosine") for k, acc in knn_accuracy(tr, train_y, te, test_y, metric=metric).items()}

        # the baselines depend only on the data: judged once for every model sharing this context's data
        result = ctx._once(("train", "knn", suffix, ctx.train_n, tr.shape[1]), measure) if suffix else measure()
        out.update({f"knn{k}_{metric}{suffix}": acc for (k, metric), acc in result.items()})
    return out


@register_metric("probe", "linear-probe accuracy (logistic regression on standardised codes, fitted on the train split); "
                 "raw pixels and PCA beside it", needs=("encoder", "labels", "heldout"))
def _probe(ctx: MetricContext):
    train_y, test_y = ctx.train_examples(ctx.train_n).y, ctx.real().y
    out = {}
    for suffix, (tr, te) in _representations(ctx).items():
        def measure(tr=tr, te=te):
            return linear_probe_accuracy(tr, train_y, te, test_y, ctx.seed)

        out[f"probe{suffix}"] = ctx._once(("train", "probe", suffix, ctx.train_n, tr.shape[1], ctx.seed), measure) if suffix else measure()
    return out


@register_metric("recon", "reconstructions G(E(x)) of the split: MSE and PSNR (pixels in [-1, 1]), SSIM (images), distance in "
                 "feature space, and the fraction keeping their class (labelled images)", needs=("encoder", "features"))
def _recon(ctx: MetricContext):
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    x, x_hat = ctx.real().x.float(), ctx.reconstructions().float()
    assert x.shape == x_hat.shape, (x.shape, x_hat.shape)
    mse = float((x_hat - x).pow(2).mean())
    out = {"mse": mse, "psnr": float(peak_signal_noise_ratio(x_hat, x, data_range=2.0))}
    if ctx.info.kind == "image":
        out["ssim"] = float(structural_similarity_index_measure(x_hat.clamp(-1, 1), x, data_range=2.0))
    real_f, recon_f = ctx.features("real")[0], ctx.features("reconstructions")[0]
    out[f"feature_distance{ctx.feature_suffix()}"] = float((recon_f - real_f).norm(dim=1).mean())
    if ctx.info.kind == "image" and ctx.info.num_classes is not None:
        from .classifier import domain_classifier

        out["agreement"] = domain_classifier(ctx.dataset, ctx.options).agreement(x_hat, ctx.real().y)
    return out
