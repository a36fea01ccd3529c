"""The pix2pix presets, by task: plain data, loaded by gane.presets. Measured by `gane bench suite translation --steps 600`."""

PRESETS = {
    "edges2digits": {
        "model": {
            "width": 0.5
        },
        "train": {
            "steps": 600,
            "batch_size": 32
        },
        "note": "width 0.5, batch 32, lr 2e-4, 600 steps",
        "measured": "L1 0.048 to the true images, FD 7.5, 96.8% of outputs keep their class (500 test images); benchmarks/results/translation.md"
    },
    "edges2fashion": {
        "model": {
            "width": 0.5
        },
        "train": {
            "steps": 600,
            "batch_size": 32
        },
        "note": "width 0.5, batch 32, lr 2e-4, 600 steps",
        "measured": "L1 0.138 to the true images, FD 44.4, 82.2% of outputs keep their class (500 test images); benchmarks/results/translation.md"
    }
}
