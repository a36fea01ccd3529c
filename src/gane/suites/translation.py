"""`translation`: the translation models measured, in the lectures' three comparisons.

1. pix2pix's ablation (Isola et al. 2017, Table 1: L1 alone, cGAN alone, L1 + cGAN) on edges2digits and
   edges2fashion: L1 and SSIM to the true B, FD of the outputs to the test images in the domain
   classifier's features, and class agreement (the output classified as its source's class).
2. Unpaired, on digits2styled both ways: CycleGAN (implicit encoder), UNIT and cgan-encoder (explicit
   encoders): class preservation judged by the target domain's classifier, FD to the target domain,
   and the time to train.
3. Super-resolution x4 and inpainting on digits and fashion: bicubic upsampling and mean fill, then
   SRResNet-MSE and SRGAN, the L2 context encoder and the adversarial one: PSNR, SSIM, FD.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..api import load
from ..data import load_data
from ..inversion.restore import judge_restoration
from ..metrics.features import classifier_features
from ..metrics.samples import frechet_distance
from .core import Report, SuiteOptions, Table, available, command, missing_data_note, preset_run, register_suite

DATASETS = ("mnist-5k", "fashion-mnist")
TAG = {"mnist-5k": "digits", "fashion-mnist": "fashion"}
STEPS = 1500
WIDTH = 0.5
BATCH = 32
TEST = 500  # test images judged per task, spread through the split
ABLATION = (("L1 alone", "l1", {"adv": 0.0}), ("cGAN alone", "cgan", {"l1": 0.0}), ("L1 + cGAN", "l1-cgan", {}))
UNPAIRED = ("cyclegan", "unit", "cgan-encoder")
#: (task, dataset, baseline, methods): each method (row label, model, run folder slug, options)
RESTORE = (("superres", "lowres2{tag}", "bicubic upsampling", (("SRResNet (MSE)", "srgan", "mse", {"adv": 0.0, "content": 0.0}),
                                                                 ("SRResNet (MSE + content)", "srgan", "content", {"adv": 0.0}),
                                                                 ("SRGAN", "srgan", "srgan", {}))),
           ("inpaint", "masked2{tag}", "mean fill", (("context encoder (L2)", "context-encoder", "l2", {"adv": 0.0}),
                                                      ("context encoder (L2 + adversarial)", "context-encoder", "adv", {}))))


@register_suite("translation", accepts=("steps", "width"))
def translation_suite(opts: SuiteOptions) -> Report:
    steps, width = opts.steps or STEPS, opts.width or WIDTH
    report = Report(
        "translation", "Translation: pix2pix's ablation, unpaired encoders, super-resolution and inpainting",
        f"Every model is trained for {steps:,} steps of {BATCH} at width {width:g}, with its default options unless a row says "
        f"otherwise, then judged on {TEST} test images spread through the split. FD is the Frechet distance between the "
        "domain classifier's features of the outputs and of the target domain's test images (lower is better); class "
        "agreement is the share of outputs the target domain's classifier gives their source's label; L1 and PSNR are "
        "against the true targets, for data in [-1, 1].",
        command("translation", opts))
    ablation = Table(f"pix2pix's ablation ({steps:,} steps)", ["task", "objective", "L1", "SSIM", "FD", "class agreement", "minutes"])
    unpaired = Table(f"digits2styled, unpaired, both ways ({steps:,} steps)",
                     ["model", "encoder", "A to B: class kept", "A to B: FD", "B to A: class kept", "B to A: FD", "minutes"])
    restore = Table(f"Super-resolution x4 and inpainting ({steps:,} steps)", ["task", "method", "PSNR (dB)", "SSIM", "FD", "class agreement"])
    runs = opts.runs / "translation"
    folder = opts.results / "translation"
    folder.mkdir(parents=True, exist_ok=True)
    strips = []

    def trained(model, data, label, **options):
        run_dir, timing = preset_run(model, data, runs / f"{model}-{data}-{label}", images=steps * BATCH, fresh=opts.fresh,
                                     log=opts.log, width=width, batch_size=BATCH, **options)
        return load(run_dir), timing["seconds"] / 60

    for base in opts.datasets or DATASETS:
        if not available(base):
            report.skipped.append(missing_data_note(base))
            continue
        from ..metrics.classifier import domain_classifier

        tag = TAG.get(base, base)
        clf = domain_classifier(base, verbose=False)
        reals = _features(clf, load_data(base, "test").spread(TEST).x)
        task = f"edges2{tag}"
        test = load_data(task, "test").spread(TEST)
        for label, slug, options in ABLATION:
            model, minutes = trained("pix2pix", task, slug, **options)
            out = model.translate(test.x).cpu()
            q = _judge(out, test.b, test.y, clf, reals)
            ablation.rows.append([task, label, f"{q['l1']:.4f}", f"{q['ssim']:.3f}", f"{q['fd']:.2f}", f"{q['agreement']:.1%}", f"{minutes:.1f}"])
            report.data.setdefault(task, {})[label] = {**q, "minutes": minutes}
            strips.append((f"{task}: {label}", test.x[:8], out[:8], test.b[:8]))
        for kind, spec, baseline, methods in RESTORE:
            name = spec.format(tag=tag)
            test = load_data(name, "test").spread(TEST)
            lifted = F.interpolate(test.x, size=test.b.shape[-2:], mode="bicubic", align_corners=False).clamp(-1, 1) \
                if kind == "superres" else test.x
            rows = [(baseline, lifted, 0.0)]
            for label, model_name, slug, options in methods:
                model, minutes = trained(model_name, name, slug, **options)
                rows.append((label, model.translate(test.x).cpu(), minutes))
            for label, out, minutes in rows:
                q = _judge(out, test.b, test.y, clf, reals)
                restore.rows.append([name, label, f"{q['psnr']:.2f}", f"{q['ssim']:.3f}", f"{q['fd']:.2f}", f"{q['agreement']:.1%}"])
                report.data.setdefault(name, {})[label] = {**q, "minutes": minutes}
            strips.append((f"{name}: {', '.join(r[0] for r in rows)}", test.x[:8], *[r[1][:8] for r in rows], test.b[:8]))
        if base == "mnist-5k":
            _unpaired(report, unpaired, trained, strips, steps)
    report.tables += [t for t in (ablation, unpaired, restore) if t.rows]
    if strips:
        from .. import pictures

        rows = [r for _, *images in strips for r in images]
        pictures.save_images(pictures.stack_rows(rows), folder / "examples.png", nrow=8)
        report.pictures.append(("Eight test images of each task, one block per row of the tables: sources, then each "
                                "method's output, then the true targets. " + "; ".join(c for c, *_ in strips), "translation/examples.png"))
    report.protocol = [
        "The papers work at 256 pixels (pix2pix, CycleGAN, UNIT), 96 (SRGAN) or 128 (the context encoder) with days of GPU "
        "training; gane's rows are 28-pixel tasks trained for minutes, so their figures are not comparable and none is quoted. "
        "What is compared is the direction of each finding.",
        "FD uses the domain classifier of the target's dataset (the lecture's evaluation issue), not Inception.",
        "pix2pix's Table 1 reports FCN scores on Cityscapes; here the same three objectives are judged by L1, SSIM, FD and "
        "class agreement on edge maps of digits and clothes.",
        "cgan-encoder trains its conditional GAN for three quarters of the steps and fits the encoder to the frozen G in "
        "the last quarter; the other models train for all the steps.",
    ]
    return report


def _unpaired(report: Report, table: Table, trained, strips, steps: int) -> None:
    from ..metrics.classifier import domain_classifier, fit_classifier

    train, test = load_data("digits2styled", "train"), load_data("digits2styled", "test")
    clf_a = domain_classifier("mnist-5k", verbose=False)
    clf_b = fit_classifier(train.domain("b"), test.domain("b"), "digits2styled (B)")
    a, b = test.domain("a").spread(TEST), test.domain("b").spread(TEST)
    reals_a, reals_b = _features(clf_a, a.x), _features(clf_b, b.x)
    report.data["digits2styled"] = {"classifier accuracy": {"A": clf_a.test_accuracy, "B": clf_b.test_accuracy}}
    for name in UNPAIRED:
        # cgan-encoder fits E in the last quarter; CycleGAN's identity loss cannot feed colour B to the grey A's G_AB
        options = {"cgan-encoder": {"gan_steps": max(1, 3 * steps // 4)}, "cyclegan": {"identity": 0.0}}.get(name, {})
        model, minutes = trained(name, "digits2styled", "default", **options)
        ab, ba = model.translate(a.x, "B").cpu(), model.translate(b.x, "A").cpu()
        to_b = {"agreement": clf_b.agreement(ab, a.y), "fd": frechet_distance(reals_b, _features(clf_b, ab))}
        to_a = {"agreement": clf_a.agreement(ba, b.y), "fd": frechet_distance(reals_a, _features(clf_a, ba))}
        encoder = {"cyclegan": "implicit (G's downsampling half)", "unit": "explicit, shared 3-D code", "cgan-encoder": "explicit, fitted to frozen G"}[name]
        table.rows.append([name, encoder, f"{to_b['agreement']:.1%}", f"{to_b['fd']:.2f}", f"{to_a['agreement']:.1%}", f"{to_a['fd']:.2f}",
                           f"{minutes:.1f}"])
        report.data["digits2styled"][name] = {"A to B": to_b, "B to A": to_a, "minutes": minutes}
        strips.append((f"digits2styled: {name} (A, A to B, B, B to A)", a.x[:8], ab[:8], b.x[:8], ba[:8]))


def _features(clf, x: torch.Tensor) -> torch.Tensor:
    return classifier_features(clf).run(x)[0]


def _judge(out: torch.Tensor, truth: torch.Tensor, labels, clf, reals: torch.Tensor) -> dict:
    """L1, PSNR and SSIM against the true targets, FD to the target domain, class agreement."""
    q = {"l1": float((out - truth).abs().mean()), **judge_restoration(out, truth), "fd": frechet_distance(reals, _features(clf, out))}
    if labels is not None:
        q["agreement"] = clf.agreement(out, labels)
    return q
