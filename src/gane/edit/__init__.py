"""Editing through the latent space: functions over any model with ``encode``/``decode``."""
from .interpolation import interpolate, lerp, slerp
from .sweep import code_sweep

__all__ = ["code_sweep", "interpolate", "lerp", "slerp"]
