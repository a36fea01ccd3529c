"""``opt(default, help, ...)``: a dataclass field that carries its command-line help and the values it allows.

Every option of the trainer and of the families is declared once, with its constraint, and
:func:`check_options` checks a whole dict of options against those declarations. The CLI and the
Python API both build configs through it (``families.make_config``), so a value that is not
allowed gets the same message naming the flag, the value given and what is allowed, wherever it
came from.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field
from typing import Callable

from .errors import GaneError


@dataclass(frozen=True)
class Allowed:
    """The values a numeric option accepts: bounds (each optional) and a check for what bounds cannot say.

    ``check(value)`` returns None when the value is allowed, else a phrase saying what is allowed
    (it completes "--flag must be ...").
    """

    min: float | None = None  # value >= min
    above: float | None = None  # value > above
    max: float | None = None  # value <= max
    below: float | None = None  # value < below
    check: Callable[[object], str | None] | None = None

    def describe(self) -> str:
        """The bounds in words, e.g. "at least 0 and below 1"; empty when there are none."""
        words = []
        if self.min is not None:
            words.append(f"at least {self.min:g}")
        if self.above is not None:
            words.append(f"above {self.above:g}")
        if self.max is not None:
            words.append(f"at most {self.max:g}")
        if self.below is not None:
            words.append(f"below {self.below:g}")
        return " and ".join(words)

    def problem(self, value) -> str | None:
        """What is allowed, when ``value`` is not; None when it is."""
        inside = (
            (self.min is None or value >= self.min)
            and (self.above is None or value > self.above)
            and (self.max is None or value <= self.max)
            and (self.below is None or value < self.below)
        )
        if not inside:
            return self.describe()
        return self.check(value) if self.check is not None else None


def opt(default, help: str, choices=None, *, min=None, above=None, max=None, below=None, check=None, alias: str | None = None):
    """A config field. ``choices``: a tuple of allowed strings, or a function returning them (e.g. a
    registry's ``names``). ``min``/``above``/``max``/``below``: inclusive and exclusive bounds of a
    number; ``check(value)``: None when allowed, else a phrase saying what is allowed. ``alias``: a
    second command-line flag for the field (a short name the papers' commands use, e.g. --from)."""
    bounds = (min, above, max, below, check)
    allowed = Allowed(*bounds) if any(b is not None for b in bounds) else None
    return field(default=default, metadata={"help": help, "choices": choices, "allowed": allowed, "alias": alias})


_KINDS = {"int": int, "float": float, "str": str, "bool": bool}


def field_kind(f: dataclasses.Field) -> type:
    """The field's value type (int, float, str or bool), its optional ``| None`` left out."""
    # Annotations are strings ("int | None") under `from __future__ import annotations`.
    text = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    names = [t.strip() for t in text.split("|") if t.strip() != "None"]
    return _KINDS.get(names[0], str) if names else str


def is_optional(f: dataclasses.Field) -> bool:
    text = f.type if isinstance(f.type, str) else str(f.type)
    return "None" in text


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def rule_text(f: dataclasses.Field) -> str:
    """The declared bounds in words, for --help (e.g. "at least 1")."""
    allowed = f.metadata.get("allowed")
    return allowed.describe() if allowed is not None else ""


_KIND_WORDS = {int: "a whole number", float: "a number", str: "a string", bool: "true or false"}


def _value_problem(f: dataclasses.Field, value):
    """(the value as the config will hold it, None) when allowed, else (value, what is allowed)."""
    kind = field_kind(f)
    if value is None:
        return (None, None) if is_optional(f) else (None, f"{_KIND_WORDS[kind]}, not None")
    if kind is bool:
        return (value, None) if isinstance(value, bool) else (value, "true or false")
    if kind is str:
        if not isinstance(value, str):
            return value, "a string"
        choices = f.metadata.get("choices")
        if choices is not None:
            names = list(choices() if callable(choices) else choices)
            if value not in names:
                return value, "one of " + ", ".join(names)
        return value, None
    # numbers: bool is an int in Python, but True is never a size
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return value, _KIND_WORDS[kind]
    if kind is int:
        if isinstance(value, numbers.Integral):
            value = int(value)
        elif math.isfinite(value) and float(value).is_integer():
            value = int(value)  # 4.0 from a JSON file or a division means 4
        else:
            return value, "a whole number"
    else:
        value = float(value)
        if not math.isfinite(value):
            return value, "a finite number"
    allowed = f.metadata.get("allowed")
    return value, (allowed.problem(value) if allowed is not None else None)


def check_options(config_cls: type, options: dict, what: str) -> dict:
    """``options`` checked against the fields of ``config_cls``, numbers as the field's type.

    Raises a :class:`GaneError` naming the first option that is unknown or not allowed: its flag,
    what was given, what is allowed, and what the option is.
    """
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(options) - set(fields))
    if unknown:
        raise GaneError(
            f"Unknown option(s) for {what}: {', '.join(unknown)}. Its options are: {', '.join(sorted(fields))}."
        )
    checked = {}
    for name, value in options.items():
        f = fields[name]
        value, allowed = _value_problem(f, value)
        if allowed is not None:
            raise GaneError(_message(f, value, allowed, what))
        checked[name] = value
    return checked


def _message(f: dataclasses.Field, value, allowed: str, what: str) -> str:
    if isinstance(value, str):
        shown = repr(value)
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        shown = f"{value!r} ({type(value).__name__})"
    else:
        shown = str(value) if isinstance(value, int) else f"{value:g}"
    msg = (f"{flag(f.name)} {shown} is not allowed: it must be {allowed}. "
           f"{flag(f.name)} is an option of {what}: {f.metadata.get('help', '')}.")
    default = f.default
    if default is not None and default is not dataclasses.MISSING and _value_problem(f, default)[1] is None:
        msg += f" Its default is {default}."
    return msg
