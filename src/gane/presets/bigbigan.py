"""The bigbigan presets, by dataset: plain data, loaded by gane.presets. What was tried on the way is in docs/presets.md."""

PRESETS = {
    "mnist-5k": {
        "model": {"width": 0.25, "z_dim": 32},
        "train": {"steps": 6000, "ema": 0.999, "lr": 0.0005, "batch_size": 32},
        "note": "width 0.25, z_dim 32, hinge loss, lr 5e-4, moving average of G and E (0.999), 6,000 steps of 32",
        "measured": "73.5% of samples confidently classified, 84.9% of test reconstructions keep their class (MSE 0.175); benchmarks/results/families.md",
    },
    "fashion-mnist": {
        "model": {"width": 0.25, "z_dim": 32},
        "train": {"steps": 6000, "ema": 0.999, "lr": 0.0005, "batch_size": 32},
        "note": "width 0.25, z_dim 32, hinge loss, lr 5e-4, moving average of G and E (0.999), 6,000 steps of 32",
        "measured": "55.9% of samples confidently classified, 67.2% of test reconstructions keep their class (MSE 0.240); benchmarks/results/families-fashion-mnist.md",
    },
    "ring8": {
        "model": {"width": 0.5, "z_dim": 2},
        "train": {"steps": 2000, "batch_size": 128, "lr": 0.001, "ema": 0.99},
        "note": "MLPs of width 0.5, z_dim 2, batch 128, lr 0.001, moving average 0.99, 2,000 steps",
        "measured": "8 of 8 modes covered, 55.7% of samples of high quality; benchmarks/results/mixtures.md",
    },
    "grid25": {
        "model": {"width": 1.0, "z_dim": 8, "r1": 0.1},
        "train": {"steps": 20000, "batch_size": 128, "lr": 0.0005, "ema": 0.0},
        "note": "MLPs of width 1.0, z_dim 8, R1 0.1, batch 128, lr 0.0005, no moving average, 20,000 steps",
        "measured": "23 of 25 modes covered, 36.0% of samples of high quality; benchmarks/results/mixtures.md",
    },
}
