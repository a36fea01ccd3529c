"""The cyclegan presets, by task: plain data, loaded by gane.presets. Measured by `gane bench suite translation --steps 600`."""

PRESETS = {
    "digits2styled": {
        "model": {
            "width": 0.5,
            "identity": 0.0
        },
        "train": {
            "steps": 600,
            "batch_size": 32
        },
        "note": "no identity loss (A is grey, B colour), width 0.5, batch 32, lr 2e-4, 600 steps",
        "measured": "23.2% of digits keep their class from A to B (FD 374.2), 20.8% from B to A (FD 372.0), 500 test images each way; benchmarks/results/translation.md"
    }
}
