"""gane: generative models with encoders. GAN = G + D; a better GAN = G + D + E.

    import gane
    result = gane.train("bigan", data="mnist-5k", steps=2000)
    model = gane.load(result.run_dir)
    x = model.sample(16); z = model.encode(x); x_hat = model.reconstruct(x)
    gane.evaluate(result.run_dir, "fd,kid,recon")  # numbers, also appended to RUN/metrics.json
    report = gane.invert(result.run_dir, "test", "encoder,hybrid")  # inversion into the frozen G
    pix2pix = gane.load(gane.train("pix2pix", data="edges2digits").run_dir)
    y = pix2pix.translate(edges)  # a translation model maps domain A to B; gane.translate_images writes PNGs
"""
__version__ = "0.1.0"

from .api import Run, datasets, evaluate, families, fit_encoder, invert, load, load_run, restore, train, translate_images
from .data import load_data
from .errors import GaneError

__all__ = ["train", "evaluate", "invert", "restore", "fit_encoder", "translate_images", "load", "load_run", "Run", "families", "datasets", "load_data", "GaneError", "__version__"]
