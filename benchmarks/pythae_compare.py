"""gane beside pythae 0.1.2 with the same networks: images/s of a VAE and an adversarial autoencoder.

pythae is an optional dependency of this benchmark only; install it in a separate venv:

    python3 -m venv .venv-bench
    .venv-bench/bin/pip install torch torchvision pythae==0.1.2 safetensors click tqdm scikit-learn tensorboard matplotlib
    PYTHONPATH=src .venv-bench/bin/python benchmarks/pythae_compare.py

gane's own networks for each family's mnist-5k preset (E, G and, for the AAE, D on codes) are
plugged into pythae's ``VAE`` and ``Adversarial_AE`` and trained by pythae's trainers
(``BaseTrainer``, ``AdversarialTrainer``: one forward pass, and for the AAE two backward
passes, per step) with the preset's learning rate and betas, batch 64. On gane's side: the
family's phases in a plain loop (``gane.bench.plain_loop``), and with ``--with-trainer`` the
gane trainer too (``gane.bench.gane_loop``, which includes one end-of-run tick: pictures, the
code mixture's fit and a checkpoint, so it needs a few hundred steps to weigh as in a run, where
a tick comes every 500 steps). Rounds alternate and swap order; medians are reported. Writes
benchmarks/results/pythae.md and .json.

Timed on one thread in CPU seconds of this process (``--clock cpu``, the default): the
project's machine is shared with other jobs, whose load a wall clock would count; the gane
trainer's and plain loop's own timers read the same clock.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from gane.bench import gane_loop, plain_loop
from gane.config import resolve
from gane.data import images_to_float, load_data
from gane.families import build_family

HERE = Path(__file__).resolve().parent
PYTHAE = {"vae": ("VAE", "BaseTrainer"), "aae": ("Adversarial_AE", "AdversarialTrainer")}
# The rows: a gane family with model options, beside pythae's model of that family. The AAE
# is timed with both of its schedules (gane.families.aae): the paper's three phases, and the
# joint update that pythae's Adversarial_AE also makes.
ROWS = {"vae": ("vae", {}), "aae": ("aae", {}), "aae --schedule joint": ("aae", {"schedule": "joint"})}


def pythae_trainer(family: str, data: str, steps: int, batch_size: int, tmp: str):
    """pythae's model and trainer around gane's preset networks, over ``steps`` batches of the data."""
    from pythae.data.datasets import BaseDataset
    from pythae.models import VAE, VAEConfig, Adversarial_AE, Adversarial_AE_Config
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseDiscriminator, BaseEncoder
    from pythae.trainers import AdversarialTrainer, AdversarialTrainerConfig, BaseTrainer, BaseTrainerConfig

    cfg = resolve(family, data=data, batch_size=batch_size, device="cpu")
    dataset = load_data(data, "train")
    gane_model = build_family(family, dict(cfg.model.__dict__), dataset.info)
    shape, z_dim = tuple(dataset.info.shape), gane_model.z_dim

    class Encoder(BaseEncoder):
        def __init__(self, E, gaussian):
            super().__init__()
            self.E, self.gaussian = E, gaussian

        def forward(self, x):
            out = self.E(x)
            if self.gaussian:  # gane's VAE encoder gives the mean and log-variance
                mu, logvar = out.chunk(2, dim=1)
                return ModelOutput(embedding=mu, log_covariance=logvar)
            return ModelOutput(embedding=out, log_covariance=torch.zeros_like(out))

    class Decoder(BaseDecoder):
        def __init__(self, G):
            super().__init__()
            self.G = G

        def forward(self, z):
            return ModelOutput(reconstruction=self.G(z))

    class Discriminator(BaseDiscriminator):
        def __init__(self, D):
            super().__init__()
            self.D = D

        def forward(self, z):
            return ModelOutput(embedding=torch.sigmoid(self.D.scores(z).logits))  # pythae's loss takes probabilities

    t = cfg.train
    x = images_to_float(dataset.x[: steps * batch_size])
    train = BaseDataset(x, torch.zeros(len(x)))
    adam = {"betas": (t.beta1, t.beta2)}
    if family == "vae":
        model = VAE(VAEConfig(input_dim=shape, latent_dim=z_dim, reconstruction_loss="mse"),
                    encoder=Encoder(gane_model.E, True), decoder=Decoder(gane_model.G))
        config = BaseTrainerConfig(output_dir=tmp, per_device_train_batch_size=batch_size, learning_rate=t.lr,
                                   optimizer_params=adam, no_cuda=True, num_epochs=1)
        trainer = BaseTrainer(model, train, training_config=config)
    else:
        model = Adversarial_AE(Adversarial_AE_Config(input_dim=shape, latent_dim=z_dim, reconstruction_loss="mse",
                                                     deterministic_posterior=True),
                               encoder=Encoder(gane_model.E, False), decoder=Decoder(gane_model.G),
                               discriminator=Discriminator(gane_model.D))
        config = AdversarialTrainerConfig(output_dir=tmp, per_device_train_batch_size=batch_size,
                                          autoencoder_learning_rate=t.lr, discriminator_learning_rate=t.lr,
                                          autoencoder_optimizer_params=adam, discriminator_optimizer_params=adam,
                                          no_cuda=True, num_epochs=1)
        trainer = AdversarialTrainer(model, train, training_config=config)
    trainer.prepare_training()
    return trainer


def pythae_images_per_second(family: str, data: str, steps: int, batch_size: int) -> float:
    """images/s of pythae's trainer over one epoch of ``steps`` batches, after a warm-up epoch of the same."""
    with tempfile.TemporaryDirectory() as tmp:
        trainer = pythae_trainer(family, data, steps, batch_size, tmp)
        trainer.train_step(epoch=1)
        t0 = time.perf_counter()
        trainer.train_step(epoch=2)
        return steps * batch_size / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--row", action="append", choices=list(ROWS), help="default: all of them")
    ap.add_argument("--data", default="mnist-5k")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "pythae.md")
    ap.add_argument("--with-trainer", action="store_true", help="also time the gane trainer (use --steps 500 or more)")
    ap.add_argument("--clock", choices=["cpu", "wall"], default="cpu", help="CPU seconds of this process (one thread) or wall seconds")
    args = ap.parse_args()
    from importlib.metadata import version

    if args.clock == "cpu":
        torch.set_num_threads(1)
        time.perf_counter = time.process_time  # read by pythae_images_per_second, gane's trainer and plain_loop

    families = args.row or list(ROWS)
    device = torch.device("cpu")
    ways = {
        "pythae": lambda f: pythae_images_per_second(ROWS[f][0], args.data, args.steps, args.batch_size),
        "gane phases, plain loop": lambda f: _plain(*ROWS[f], args, device),
    }
    if args.with_trainer:
        ways["gane trainer"] = lambda f: gane_loop(ROWS[f][0], {"data": args.data, "batch_size": args.batch_size, "device": "cpu", **ROWS[f][1]}, args.steps)
    runs = {f: {w: [] for w in ways} for f in families}
    for r in range(args.rounds):
        for f in families:
            order = list(ways) if r % 2 == 0 else list(reversed(ways))
            for w in order:
                runs[f][w].append(ways[w](f))
            print(f"round {r + 1} {f}: " + ", ".join(f"{w} {runs[f][w][-1]:,.0f}" for w in ways) + " images/s", flush=True)
    rows = {f: {w: statistics.median(v) for w, v in runs[f].items()} for f in families}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps({"rows": rows, "rounds": runs, "pythae": version("pythae"),
                                                         "torch": torch.__version__}, indent=2))
    lines = [
        "# gane beside pythae 0.1.2, same networks",
        "",
        f"Written by `benchmarks/pythae_compare.py` (pythae {version('pythae')}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} thread(s)): gane's preset networks for {args.data} plugged into pythae's `VAE` and "
        f"`Adversarial_AE`, batch {args.batch_size}, {args.steps} timed steps after a warm-up, {args.rounds} alternating "
        f"rounds on this project's 2-core CPU machine, timed {'in CPU seconds of the process on one thread' if args.clock == 'cpu' else 'by the wall clock'} "
        "(the machine is shared with other jobs). pythae's trainers do one forward pass per step (and two backward passes "
        "for the AAE), and their figure includes their own per-step work (a DataLoader over per-example dicts, three "
        "`.item()` calls a step); gane's phases run in a plain loop with none of that (`gane bench train` measures the gane "
        "trainer against that loop). gane's AAE runs the three phases of its default schedule (reconstruction; D; E's "
        "adversarial step: two forward and two backward passes of E a step), or with `--schedule joint` the two of "
        "pythae's (D; E and G on reconstruction plus the adversarial term: one of each). "
        "Medians of the rounds, images/s.",
        "",
        "| family | " + " | ".join(ways) + " | " + " | ".join(f"{w} / pythae" for w in ways if w != "pythae") + " |",
        "|---|" + "---|" * (2 * len(ways) - 1),
    ]
    for f, r in rows.items():
        lines.append(f"| `{f}` | " + " | ".join(f"{r[w]:,.0f}" for w in ways) + " | "
                     + " | ".join(f"{r[w] / r['pythae']:.2f}" for w in ways if w != "pythae") + " |")
    lines.append("")
    args.out.write_text("\n".join(lines))
    print(args.out.read_text())


def _plain(family: str, options: dict, args, device) -> float:
    cfg = resolve(family, data=args.data, batch_size=args.batch_size, device="cpu", **options)
    t = cfg.train
    return plain_loop(family, dict(cfg.model.__dict__), args.data, args.steps, args.batch_size, t.lr, (t.beta1, t.beta2), device)


if __name__ == "__main__":
    main()
