"""Model families, one file each, registered by name."""
from .base import (FAMILIES, AdversarialConfig, CodePart, Family, FamilyConfig, Phase, build_family, generative_families, make_config,
                   register_family)
from . import aae, acgan, ae, alphagan, bigan, bigbigan, ebgan, gan, infogan, stylegan, vae, vaegan, vqgan  # noqa: F401  (registers the families)

__all__ = ["FAMILIES", "AdversarialConfig", "CodePart", "Family", "FamilyConfig", "Phase", "build_family", "generative_families",
           "make_config", "register_family"]
