"""The vaegan presets, by dataset: plain data, loaded by gane.presets. What was tried on the way is in docs/presets.md."""

PRESETS = {
    "mnist-5k": {
        "model": {"width": 0.5, "z_dim": 32, "pixel": 1.0, "code_mixture": 10},
        "train": {"steps": 3000, "ema": 0.998, "lr": 0.0005},
        "note": "width 0.5, z_dim 32, pixel reconstruction weight 1, samples from a 10-Gaussian code mixture, lr 5e-4, moving average of G and E (0.998), 3,000 steps",
        "measured": "75.3% of samples confidently classified (50.9% from p(z)), 96.9% of test reconstructions keep their class (MSE 0.039); benchmarks/results/families.md",
    },
    "fashion-mnist": {
        "model": {"width": 0.5, "z_dim": 32, "pixel": 1.0, "code_mixture": 10},
        "train": {"steps": 3000, "ema": 0.998, "lr": 0.0005},
        "note": "width 0.5, z_dim 32, pixel reconstruction weight 1, samples from a 10-Gaussian code mixture, lr 5e-4, moving average of G and E (0.998), 3,000 steps",
        "measured": "57.0% of samples confidently classified (27.3% from p(z)), 84.1% of test reconstructions keep their class (MSE 0.059); benchmarks/results/families-fashion-mnist.md",
    },
    "ring8": {
        "model": {"width": 0.5, "z_dim": 2, "code_mixture": 10},
        "train": {"steps": 2000, "batch_size": 128, "lr": 0.001, "ema": 0.99},
        "note": "MLPs of width 0.5, z_dim 2, samples from a 10-Gaussian code mixture, batch 128, lr 0.001, moving average 0.99, 2,000 steps",
        "measured": "8 of 8 modes covered, 100.0% of samples of high quality; benchmarks/results/mixtures.md",
    },
    "grid25": {
        "model": {"width": 0.5, "z_dim": 2, "code_mixture": 25},
        "train": {"steps": 2000, "batch_size": 128, "lr": 0.001, "ema": 0.99},
        "note": "MLPs of width 0.5, z_dim 2, samples from a 25-Gaussian code mixture, batch 128, lr 0.001, moving average 0.99, 2,000 steps",
        "measured": "25 of 25 modes covered, 91.7% of samples of high quality; benchmarks/results/mixtures.md",
    },
}
