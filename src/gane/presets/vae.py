"""The vae presets, by dataset: plain data, loaded by gane.presets. What was tried on the way is in docs/presets.md."""

PRESETS = {
    "mnist-5k": {
        "model": {"width": 0.25, "z_dim": 16, "code_mixture": 10},
        "train": {"steps": 3000, "ema": 0.998, "lr": 0.001},
        "note": "width 0.25, z_dim 16, samples from a 10-Gaussian code mixture, lr 1e-3, moving average of G and E (0.998), 3,000 steps",
        "measured": "77.3% of samples confidently classified (24.7% from p(z)), 95.6% of test reconstructions keep their class (MSE 0.050); benchmarks/results/families.md",
    },
    "fashion-mnist": {
        "model": {"width": 0.25, "z_dim": 16, "code_mixture": 10},
        "train": {"steps": 3000, "ema": 0.998, "lr": 0.001},
        "note": "width 0.25, z_dim 16, samples from a 10-Gaussian code mixture, lr 1e-3, moving average of G and E (0.998), 3,000 steps",
        "measured": "60.7% of samples confidently classified (10.5% from p(z)), 68.6% of test reconstructions keep their class (MSE 0.060); benchmarks/results/families-fashion-mnist.md",
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
        "measured": "25 of 25 modes covered, 98.1% of samples of high quality; benchmarks/results/mixtures.md",
    },
}
