"""The bigan presets, by dataset: plain data, loaded by gane.presets. What was tried on the way is in docs/presets.md."""

PRESETS = {
    "mnist-5k": {
        "model": {"width": 0.25, "z_dim": 32},
        "train": {"steps": 3000, "ema": 0.998, "lr": 0.0005},
        "note": "width 0.25, z_dim 32, lr 5e-4, moving average of G and E (0.998), 3,000 steps",
        "measured": "55.0% of samples confidently classified, 81.6% of test reconstructions keep their class (MSE 0.179); benchmarks/results/families.md",
    },
    "fashion-mnist": {
        "model": {"width": 0.25, "z_dim": 32, "loss": "hinge"},
        "train": {"steps": 12000, "ema": 0.999, "lr": 0.0005, "batch_size": 32},
        "note": "width 0.25, z_dim 32, hinge loss, lr 5e-4, moving average of G and E (0.999), 12,000 steps of 32",
        "measured": "45.3% of samples confidently classified, 63.2% of test reconstructions keep their class (MSE 0.180); benchmarks/results/families-fashion-mnist.md",
    },
    "ring8": {
        "model": {"width": 0.5, "z_dim": 2, "dropout": 0.0},
        "train": {"steps": 2000, "batch_size": 128, "lr": 0.001, "ema": 0.99},
        "note": "MLPs of width 0.5, z_dim 2, dropout 0 in D, batch 128, lr 0.001, moving average 0.99, 2,000 steps",
        "measured": "7 of 8 modes covered, 54.1% of samples of high quality; benchmarks/results/mixtures.md",
    },
    "grid25": {
        "model": {"width": 1.0, "z_dim": 8, "r1": 0.1},
        "train": {"steps": 20000, "batch_size": 128, "lr": 0.0005, "ema": 0.0},
        "note": "MLPs of width 1.0, z_dim 8, R1 0.1, batch 128, lr 0.0005, no moving average, 20,000 steps",
        "measured": "19 of 25 modes covered, 17.7% of samples of high quality; benchmarks/results/mixtures.md",
    },
}
