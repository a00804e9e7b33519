"""One shared, immutable empty mapping: the default of every mapping field in the model."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

EMPTY_MAP: Mapping[str, Any] = MappingProxyType({})


def empty_map() -> Mapping[str, Any]:
    return EMPTY_MAP
