"""Inversion of data into a frozen generator: the methods behind ``gane.invert`` (see core.py)."""
from . import methods  # noqa: F401  (registers the methods)
from .core import INVERTERS, Inversion, InversionOptions, invert, psnr, register_inverter

__all__ = ["INVERTERS", "Inversion", "InversionOptions", "invert", "psnr", "register_inverter"]
