"""The cgan-encoder presets, by task: plain data, loaded by gane.presets. Measured by `gane bench suite translation --steps 600`."""

PRESETS = {
    "digits2styled": {
        "model": {
            "width": 0.5,
            "gan_steps": 450
        },
        "train": {
            "steps": 600,
            "batch_size": 32
        },
        "note": "the GAN for 450 steps, then the encoder, width 0.5, batch 32, lr 2e-4, 600 steps",
        "measured": "26.4% of digits keep their class from A to B (FD 676.7), 10.2% from B to A (FD 1332.0), 500 test images each way; benchmarks/results/translation.md"
    }
}
