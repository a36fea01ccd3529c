"""The srgan presets, by task: plain data, loaded by gane.presets. Measured by `gane bench suite translation --steps 600`."""

PRESETS = {
    "lowres2digits": {
        "model": {
            "width": 0.5
        },
        "train": {
            "steps": 600,
            "batch_size": 32
        },
        "note": "width 0.5, batch 32, lr 2e-4, 600 steps",
        "measured": "PSNR 17.91 dB, FD 22.2, 94.4% of outputs keep their class (500 test images); benchmarks/results/translation.md"
    },
    "lowres2fashion": {
        "model": {
            "width": 0.5
        },
        "train": {
            "steps": 600,
            "batch_size": 32
        },
        "note": "width 0.5, batch 32, lr 2e-4, 600 steps",
        "measured": "PSNR 16.92 dB, FD 19.1, 82.6% of outputs keep their class (500 test images); benchmarks/results/translation.md"
    }
}
