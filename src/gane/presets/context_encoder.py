"""The context-encoder presets, by task: plain data, loaded by gane.presets. Measured by `gane bench suite translation --steps 600`."""

PRESETS = {
    "masked2digits": {
        "model": {
            "width": 0.5
        },
        "train": {
            "steps": 600,
            "batch_size": 32
        },
        "note": "width 0.5, batch 32, lr 2e-4, 600 steps",
        "measured": "PSNR 17.50 dB, FD 145.7, 84.0% of outputs keep their class (500 test images); benchmarks/results/translation.md"
    },
    "masked2fashion": {
        "model": {
            "width": 0.5
        },
        "train": {
            "steps": 600,
            "batch_size": 32
        },
        "note": "width 0.5, batch 32, lr 2e-4, 600 steps",
        "measured": "PSNR 23.37 dB, FD 32.5, 90.8% of outputs keep their class (500 test images); benchmarks/results/translation.md"
    }
}
