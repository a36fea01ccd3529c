"""Image-to-image translation models, registered with the families (they train on two-domain data)."""
from .base import DOMAINS, HistoryBuffer, Translator, TranslatorConfig
from . import cgan_encoder, context_encoder, cyclegan, pix2pix, srgan, unit  # noqa: F401  (registers the models)

__all__ = ["DOMAINS", "HistoryBuffer", "Translator", "TranslatorConfig"]
