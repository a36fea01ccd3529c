"""The aae presets, by dataset: plain data, loaded by gane.presets. What was tried on the way is in docs/presets.md."""

PRESETS = {
    "mnist-5k": {
        "model": {"width": 0.5, "z_dim": 16, "code_mixture": 10},
        "train": {"steps": 3000, "ema": 0.998, "lr": 0.0005},
        "note": "width 0.5, z_dim 16, normal prior, samples from a 10-Gaussian code mixture, lr 5e-4, moving average of G and E (0.998), 3,000 steps",
        "measured": "65.9% of samples confidently classified (37.5% from p(z)), 91.6% of test reconstructions keep their class (MSE 0.071); benchmarks/results/families.md",
    },
    "fashion-mnist": {
        "model": {"width": 0.5, "z_dim": 16, "code_mixture": 10, "adv_weight": 0.2},
        "train": {"steps": 3000, "ema": 0.0, "lr": 0.0005},
        "note": "width 0.5, z_dim 16, normal prior, samples from a 10-Gaussian code mixture, lr 5e-4, E's adversarial step x0.2, no moving average, 3,000 steps",
        "measured": "52.3% of samples confidently classified (14.9% from p(z)), 74.4% of test reconstructions keep their class (MSE 0.060); benchmarks/results/families-fashion-mnist.md",
    },
    "ring8": {
        "model": {"width": 0.5, "z_dim": 2, "code_mixture": 10, "adv_weight": 0.2},
        "train": {"steps": 2000, "batch_size": 128, "lr": 0.001, "ema": 0.0},
        "note": "MLPs of width 0.5, z_dim 2, E's adversarial step x0.2, samples from a 10-Gaussian code mixture, batch 128, lr 0.001, no moving average, 2,000 steps",
        "measured": "8 of 8 modes covered, 89.6% of samples of high quality; benchmarks/results/mixtures.md",
    },
    "grid25": {
        "model": {"width": 0.5, "z_dim": 2, "code_mixture": 25, "adv_weight": 0.2},
        "train": {"steps": 2000, "batch_size": 128, "lr": 0.001, "ema": 0.0},
        "note": "MLPs of width 0.5, z_dim 2, E's adversarial step x0.2, samples from a 25-Gaussian code mixture, batch 128, lr 0.001, no moving average, 2,000 steps",
        "measured": "25 of 25 modes covered, 89.7% of samples of high quality; benchmarks/results/mixtures.md",
    },
}
