"""Datapath actions (the ``Datapath actions:`` line), parsed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ovntrace.model._empty import empty_map


@dataclass(frozen=True, slots=True)
class DatapathAction:
    """``name`` is ``output`` for a bare port (``2``, ``"ovn-hv2-0"``), else the action keyword
    (``set``, ``ct``, ``recirc``, ``userspace``, ``clone``, ``drop``, ``hash``, ``push_vlan`` ...).

    ``args`` are decoded for the actions that matter to a verdict: ``output`` -> ``port``;
    ``recirc`` -> ``id``; ``set(tunnel(...))`` -> ``tunnel`` with ``tun_id``, ``src``, ``dst``,
    ``tp_dst``, ``geneve`` options ...; ``ct`` -> its key/values; other actions keep ``raw``.
    """

    name: str
    text: str
    args: Mapping[str, Any] = field(default_factory=empty_map)
    inner: tuple[DatapathAction, ...] = ()
