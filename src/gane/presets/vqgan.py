"""The vqgan presets, by dataset: plain data, loaded by gane.presets. What was tried on the way is in docs/presets.md."""

PRESETS = {
    "mnist-5k": {
        "model": {"width": 0.25, "z_dim": 16, "codebook_size": 128, "adv_start": 500},
        "train": {"steps": 2000, "batch_size": 32, "lr": 0.0002, "ema": 0.998},
        "note": "width 0.25, a 7x7 grid of 16-d codes from a codebook of 128 (EMA), the PatchGAN from step 500, lr 2e-4, moving average of E and G (0.998), 2,000 steps of 32",
        "measured": "test reconstructions at 23.38 dB, SSIM 0.931, 97.5% keep their class; codebook perplexity 91.6 of 128; benchmarks/results/modern.md",
    },
    "fashion-mnist": {
        "model": {"width": 0.25, "z_dim": 16, "codebook_size": 128, "adv_start": 500},
        "train": {"steps": 2000, "batch_size": 32, "lr": 0.0002, "ema": 0.998},
        "note": "width 0.25, a 7x7 grid of 16-d codes from a codebook of 128 (EMA), the PatchGAN from step 500, lr 2e-4, moving average of E and G (0.998), 2,000 steps of 32",
        "measured": "test reconstructions at 21.30 dB, SSIM 0.818, 89.3% keep their class; codebook perplexity 94.6 of 128; benchmarks/results/modern.md",
    },
}
