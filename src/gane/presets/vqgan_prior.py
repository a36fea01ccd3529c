"""The vqgan-prior presets, by dataset (the vqgan run's): plain data, loaded by gane.presets. What was tried on the way is in docs/presets.md."""

PRESETS = {
    "mnist-5k": {
        "model": {"layers": 4, "heads": 4, "dim": 128, "top_k": 32},
        "train": {"steps": 2000, "batch_size": 32, "lr": 0.0005, "beta1": 0.9, "beta2": 0.95, "ema": 0.998},
        "note": "a GPT of 4 layers, 4 heads, width 128, class-conditional, top-k 32, lr 5e-4, betas (0.9, 0.95), moving average (0.998), 2,000 steps of 32",
        "measured": "over the vqgan preset's run: FD 95.3, precision 58.1%, recall 80.6% (2,000 samples, domain features); benchmarks/results/modern.md",
    },
    "fashion-mnist": {
        "model": {"layers": 4, "heads": 4, "dim": 128, "top_k": 32},
        "train": {"steps": 2000, "batch_size": 32, "lr": 0.0005, "beta1": 0.9, "beta2": 0.95, "ema": 0.998},
        "note": "a GPT of 4 layers, 4 heads, width 128, class-conditional, top-k 32, lr 5e-4, betas (0.9, 0.95), moving average (0.998), 2,000 steps of 32",
        "measured": "over the vqgan preset's run: FD 63.1, precision 87.0%, recall 38.8% (2,000 samples, domain features); benchmarks/results/modern.md",
    },
}
