"""Name -> object registries, filled by decorators (never by if/elif on names)."""
from __future__ import annotations

import difflib
from typing import Callable, Generic, Iterator, TypeVar

from .errors import GaneError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named collection filled with ``@registry.register("name")``.

    ``what`` names the kind of thing ("family", "dataset") for error messages; ``listed_by`` the
    command that lists them (None where the error's own list is the whole of it).
    """

    def __init__(self, what: str, plural: str | None = None, listed_by: str | None = "gane list"):
        self.what = what
        self.plural = plural or f"{what}s"
        self.listed_by = listed_by
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.what} {name!r} is registered twice")
            self._items[name] = obj
            return obj

        return deco

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise GaneError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        known = ", ".join(sorted(self._items))
        close = difflib.get_close_matches(name, list(self._items), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        listed = f" Run `{self.listed_by}` to see them all." if self.listed_by else ""
        return f"Unknown {self.what} {name!r}.{hint} Known {self.plural}: {known}.{listed}"

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def items(self):
        return sorted(self._items.items())
