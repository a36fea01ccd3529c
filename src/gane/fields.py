"""``opt(default, help)``: a dataclass field that carries its command-line help text."""
from __future__ import annotations

from dataclasses import field


def opt(default, help: str, choices=None):
    """``choices``: a tuple of allowed strings, or a function returning them (e.g. a registry's ``names``)."""
    return field(default=default, metadata={"help": help, "choices": choices})
