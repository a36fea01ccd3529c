"""Editing through the latent space: functions over any model with ``encode``/``decode``, and the
run-level commands behind ``gane edit``, ``gane interpolate`` and ``gane neighbors``."""
from .attributes import ATTRIBUTES, apply_vector, attribute_vector, rank_attributes
from .constrained import codes_of, constrained_edit, nearest_neighbors
from .interpolation import interpolate, lerp, slerp
from .runs import constrained, edit, interpolate_images, neighbors
from .sweep import code_sweep

__all__ = ["ATTRIBUTES", "apply_vector", "attribute_vector", "code_sweep", "codes_of", "constrained", "constrained_edit", "edit",
           "interpolate", "interpolate_images", "lerp", "nearest_neighbors", "neighbors", "rank_attributes", "slerp"]
