"""Named settings per (family, dataset), kept as data.

Each module in this package is named after one family and holds a dict literal ``PRESETS``:
dataset name -> ``{"model": {...}, "train": {...}, "note": ..., "measured": ..., "caveat": ...}``
(nanoGPT's ``config/*.py`` files are the model). Nothing in those files is computed: a preset
reads as the options it sets, its note says them in words, and ``measured`` says what the
benchmarks measured with it. How each was chosen, and what was tried and did not help, is
in docs/presets.md.

A run is resolved in three layers (gane.config.resolve): the dataclass defaults, then the
preset for (family, dataset) when one is registered here, then what the user passed.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field

from ..data import parse_spec
from ..registry import Registry


@dataclass
class Preset:
    """Overrides for one (family, dataset) pair, chosen so the default command gives a good result."""

    model: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)
    note: str = ""  # the options in words: shown by `gane list`, --help and the benchmark pages
    caveat: str = ""  # where the preset is known not to give a good result: shown in --help and at the start of training
    measured: str = ""  # what the benchmarks measured with this preset, and on which results page

    @property
    def summary(self) -> str:
        """The note, with the known limit when there is one (for --help and `gane list`)."""
        return self.note + (f" (known limit: {self.caveat})" if self.caveat else "")


PRESETS: Registry[Preset] = Registry("preset")


def register_preset(family: str, dataset: str, preset: Preset) -> None:
    PRESETS.register(f"{family}/{dataset}")(preset)


def presets_of(family: str) -> dict[str, Preset]:
    """The presets of one family, by dataset name."""
    return {name.split("/", 1)[1]: p for name, p in PRESETS.items() if name.split("/", 1)[0] == family}


def preset_for(family: str, data: str) -> Preset | None:
    """The preset of ``family`` for the dataset a --data spec names, or None."""
    name, _ = parse_spec(data)
    key = f"{family}/{name}"
    return PRESETS.get(key) if key in PRESETS else None


def _register_preset_files() -> None:
    """Register the ``PRESETS`` dict of every module in this package under the module's (family) name."""
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        for dataset, entry in importlib.import_module(f"{__name__}.{module}").PRESETS.items():
            register_preset(module.replace("_", "-"), dataset, Preset(**entry))  # context_encoder.py: context-encoder


_register_preset_files()

__all__ = ["PRESETS", "Preset", "preset_for", "presets_of", "register_preset"]
