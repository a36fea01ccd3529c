"""Editing through the latent space: functions over any model with ``encode``/``decode``."""
from .interpolation import interpolate, lerp, slerp

__all__ = ["interpolate", "lerp", "slerp"]
