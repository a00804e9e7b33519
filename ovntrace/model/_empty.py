"""Read-only mappings of the model: :class:`FrozenMap`, and one shared empty one (``EMPTY_MAP``),
the default of every mapping field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn


class FrozenMap(dict[str, Any]):
    """A ``dict`` whose contents cannot change: every mutating method raises ``TypeError``.

    Reads are a dict's (quicker than a ``MappingProxyType``'s), it equals the dict with the same
    items, it is unhashable like a dict, and unlike a ``MappingProxyType`` it pickles (model objects
    can be sent to another process).
    """

    __slots__ = ()

    def _read_only(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError(f"'{type(self).__name__}' object does not support item assignment")

    __setitem__ = __delitem__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only
    __ior__ = _read_only

    def __reduce__(self) -> tuple[type[FrozenMap], tuple[dict[str, Any]]]:
        return (FrozenMap, (dict(self),))

    def copy(self) -> dict[str, Any]:
        """A plain, mutable copy (as ``MappingProxyType.copy`` gives)."""
        return dict(self)


EMPTY_MAP: Mapping[str, Any] = FrozenMap()


def empty_map() -> Mapping[str, Any]:
    return EMPTY_MAP
