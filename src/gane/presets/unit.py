"""The unit presets, by task: plain data, loaded by gane.presets. Measured by `gane bench suite translation --steps 600`."""

PRESETS = {
    "digits2styled": {
        "model": {
            "width": 0.5
        },
        "train": {
            "steps": 600,
            "batch_size": 32
        },
        "note": "width 0.5, batch 32, lr 2e-4, 600 steps",
        "measured": "94.4% of digits keep their class from A to B (FD 42.1), 83.0% from B to A (FD 58.9), 500 test images each way; benchmarks/results/translation.md"
    }
}
