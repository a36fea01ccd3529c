"""The infogan presets, by dataset: plain data, loaded by gane.presets. What was tried on the way is in docs/presets.md."""

PRESETS = {
    "mnist-5k": {
        "model": {"width": 0.5},
        "train": {"steps": 3000, "ema": 0.998, "lr": 0.0002},
        "note": "width 0.5, 10 categories + 2 continuous codes, lr 2e-4, moving average of G (0.998), 3,000 steps",
        "measured": "51.5% of samples confidently classified; benchmarks/results/families.md",
    },
    "fashion-mnist": {
        "model": {"width": 0.5, "loss": "hinge"},
        "train": {"steps": 12000, "ema": 0.999, "lr": 0.0005, "batch_size": 32},
        "note": "width 0.5, 10 categories + 2 continuous codes, hinge loss, lr 5e-4, moving average of G (0.999), 12,000 steps of 32",
        "measured": "38.8% of samples confidently classified; benchmarks/results/families-fashion-mnist.md",
    },
    "ring8": {
        "model": {"width": 0.5, "z_dim": 4, "categorical": 0, "continuous": 2},
        "train": {"steps": 2000, "batch_size": 128, "lr": 0.001, "ema": 0.99},
        "note": "MLPs of width 0.5, z_dim 4, batch 128, lr 0.001, moving average 0.99, 2,000 steps",
        "measured": "8 of 8 modes covered, 59.8% of samples of high quality; benchmarks/results/mixtures.md",
    },
    "grid25": {
        "model": {"width": 1.0, "z_dim": 8, "categorical": 0, "continuous": 2, "r1": 0.1},
        "train": {"steps": 20000, "batch_size": 128, "lr": 0.0005, "ema": 0.0},
        "note": "MLPs of width 1.0, z_dim 8, R1 0.1, batch 128, lr 0.0005, no moving average, 20,000 steps",
        "measured": "16 of 25 modes covered, 14.6% of samples of high quality; benchmarks/results/mixtures.md",
    },
}
