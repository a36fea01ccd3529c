"""Model families, one file each, registered by name."""
from .base import FAMILIES, AdversarialConfig, Family, FamilyConfig, Phase, build_family, make_config, register_family
from . import ae, bigan, gan, vae  # noqa: F401  (registers the families)

__all__ = ["FAMILIES", "AdversarialConfig", "Family", "FamilyConfig", "Phase", "build_family", "make_config", "register_family"]
