"""The ebgan presets, by dataset: plain data, loaded by gane.presets. What was tried on the way is in docs/presets.md."""

PRESETS = {
    "mnist-5k": {
        "model": {"width": 0.5},
        "train": {"steps": 3000, "ema": 0.998, "lr": 0.0002},
        "note": "width 0.5, margin 0.3, pulling-away 0.1, lr 2e-4, moving average of G (0.998), 3,000 steps",
        "measured": "54.7% of samples confidently classified; benchmarks/results/families.md",
    },
    "fashion-mnist": {
        "model": {"width": 0.5},
        "train": {"steps": 6000, "ema": 0.999, "lr": 0.0005, "batch_size": 32},
        "note": "width 0.5, margin 0.3, pulling-away 0.1, lr 5e-4, moving average of G (0.999), 6,000 steps of 32",
        "measured": "43.8% of samples confidently classified; benchmarks/results/families-fashion-mnist.md",
    },
    "ring8": {
        "model": {"width": 0.5, "z_dim": 2, "pt_weight": 1.0},
        "train": {"steps": 2000, "batch_size": 128, "lr": 0.001, "ema": 0.99},
        "note": "MLPs of width 0.5, z_dim 2, pulling-away weight 1, batch 128, lr 0.001, moving average 0.99, 2,000 steps",
        "measured": "8 of 8 modes covered, 36.0% of samples of high quality; benchmarks/results/mixtures.md",
    },
    "grid25": {
        "model": {"width": 0.5, "z_dim": 8},
        "train": {"steps": 6000, "batch_size": 128, "lr": 0.0005, "ema": 0.0},
        "note": "MLPs of width 0.5, z_dim 8, batch 128, lr 0.0005, no moving average, 6,000 steps",
        "caveat": "covers about 9 of the 25 modes; docs/families.md, Vector data",
        "measured": "12 of 25 modes covered, 25.4% of samples of high quality; benchmarks/results/mixtures.md",
    },
}
