"""The stylegan presets, by dataset: plain data, loaded by gane.presets. What was tried on the way is in docs/presets.md."""

PRESETS = {
    "mnist-5k": {
        "model": {"width": 0.25, "z_dim": 64, "w_dim": 64, "r1": 10.0, "mixing": 0.0},
        "train": {"steps": 2000, "batch_size": 32, "lr": 0.001, "beta1": 0.0, "beta2": 0.99, "ema": 0.998},
        "note": "width 0.25, z_dim and w_dim 64, R1 10 every 16 steps, no style mixing, lr 1e-3, betas (0, 0.99), moving average of G (0.998), 2,000 steps of 32",
        "measured": "FD 500.9, precision 82.2%, recall 1.5% (2,000 samples, domain features); inverted by optimisation into w+ at 25.45 dB (z: 15.29 dB); benchmarks/results/modern.md",
    },
    "fashion-mnist": {
        "model": {"width": 0.25, "z_dim": 64, "w_dim": 64, "r1": 10.0, "mixing": 0.0},
        "train": {"steps": 2000, "batch_size": 32, "lr": 0.001, "beta1": 0.0, "beta2": 0.99, "ema": 0.998},
        "note": "width 0.25, z_dim and w_dim 64, R1 10 every 16 steps, no style mixing, lr 1e-3, betas (0, 0.99), moving average of G (0.998), 2,000 steps of 32",
        "measured": "FD 206.7, precision 79.0%, recall 3.4% (2,000 samples, domain features); inverted by optimisation into w+ at 21.61 dB (z: 16.07 dB); benchmarks/results/modern.md",
    },
}
