"""Parsed OpenFlow actions as they appear, one per line, in ``ofproto/trace`` output."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ovntrace.model._empty import empty_map


@dataclass(frozen=True, slots=True)
class Subfield:
    """A field or bit range of one, e.g. ``NXM_NX_REG14[0..14]`` -> ``Subfield("reg14", 0, 14)``.

    ``field`` is the canonical meta-flow name (``reg14``, ``metadata``, ``tun_metadata0``, ``xxreg0``),
    whichever namespace the trace used; ``raw`` keeps the text as printed. ``start``/``end`` are
    ``None`` for the whole field (``[]``).
    """

    field: str
    start: int | None
    end: int | None
    raw: str

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "start": self.start, "end": self.end, "raw": self.raw}


@dataclass(frozen=True, slots=True)
class Action:
    """One action: ``name`` (``set_field``, ``resubmit``, ``ct`` ...), its arguments, inner actions.

    An action the grammar does not know is kept with its name and ``args == {"arg": "<raw>"}``
    (``known`` is False): never dropped.
    """

    name: str
    text: str
    args: Mapping[str, Any] = field(default_factory=empty_map)
    inner: tuple[Action, ...] = ()
    known: bool = True

    def flat_count(self) -> int:
        """How many lines OVS prints for this action's nested actions after the action line itself.

        ``clone(a,b)`` prints ``clone(a,b)``, then ``a`` and ``b`` as siblings. ``ct(...,nat(...),
        exec(x))`` prints ``nat(...)`` and ``x``. Nested containers count recursively.
        """
        return sum(1 + a.flat_count() for a in self.inner)
