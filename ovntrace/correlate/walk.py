"""One walk over a trace's tree: everything correlation reads of its shape, gathered once per trace.

:class:`TraceWalk` is built by :meth:`ovntrace.correlate.annotate.Correlator.annotate` for one trace and
handed to :func:`ovntrace.correlate.verdict.make_verdict`: the table steps in trace order (what
``Trace.tables()`` yields), the action steps, which table owns each action, the bridge every table is on,
the table each table was entered from, the actions the verdict looks for, and each table's own action
texts. It lives as long as that one ``annotate`` call. Pure: reads only the trace.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from ovntrace.model.trace import Pass, Step, StepKind, Trace

_BRIDGE_RE = re.compile(r'bridge\("([^"]+)"\)')
_TABLE = StepKind.TABLE
_ACTION = StepKind.ACTION
_BRIDGE = StepKind.BRIDGE
_ANNOTATION = StepKind.ANNOTATION
#: the actions :mod:`ovntrace.correlate.verdict` looks for (:meth:`TraceWalk.of_action`)
WATCHED = frozenset({"output", "IN_PORT", "group", "NORMAL"})
_NOTED = WATCHED | {"controller"}


class Own(NamedTuple):
    """What a table step says itself (its direct children): its action texts, in order; the annotation lines
    under it; those of its action texts that run conntrack (``ct(...)``); whether one of its actions is
    ``dec_ttl``."""

    actions: tuple[str, ...]
    annotations: tuple[str, ...]
    ct: tuple[str, ...]
    dec_ttl: bool


_SAYS_NOTHING = Own((), (), (), False)


class TraceWalk:
    """The shape of one trace, in one depth-first walk (the order of ``Pass.walk()``).

    ``tables``: every table step in trace order; ``pass_tables``: the same, per pass; ``actions``: every
    action step in trace order (also those outside any table); ``owner``: line of an action inside a table
    -> that table step; ``bridge``: table line -> the bridge it is on (its own ``bridge``, else the nearest
    ``bridge("...")`` line above it, else the trace's); ``parent``: table line -> the table it was entered
    from (None for a pass's first); ``outputs``: (pass, action) of the ``output`` and ``IN_PORT`` actions
    inside a table, in order; ``controllers``: every ``controller`` action step in trace order (also those
    outside any table)."""

    __slots__ = ("_nearest", "_own", "_watched", "actions", "bridge", "controllers", "outputs", "owner", "parent",
                 "pass_tables", "tables")

    def __init__(self, trace: Trace) -> None:
        tables: list[Step] = []
        actions: list[Step] = []
        owner: dict[int, Step] = {}
        bridges: dict[int, str | None] = {}
        parent: dict[int, Step | None] = {}
        pass_tables: list[list[Step]] = []
        watched: dict[str, list[tuple[Pass, Step]]] = {}
        outputs: list[tuple[Pass, Step]] = []
        controllers: list[Step] = []
        owns: dict[int, Own] = {}
        for p in trace.passes:
            mine: list[Step] = []
            pass_tables.append(mine)
            # iterators of sibling lists, with the table and bridge their steps are under, and (when the
            # siblings are a table's own children) what that table says so far: [line, actions, annotations,
            # ct actions, dec_ttl]
            stack: list[tuple[Iterator[Step], Step | None, str | None, list[Any] | None]] = []
            it: Iterator[Step] = iter(p.steps)
            table: Step | None = None
            bridge = trace.bridge
            said: list[Any] | None = None
            while True:
                s = next(it, None)
                if s is None:
                    if said is not None:
                        owns[said[0]] = Own(tuple(said[1]), tuple(said[2]), tuple(said[3]), said[4])
                    if not stack:
                        break
                    it, table, bridge, said = stack.pop()
                    continue
                kind = s.kind
                if said is not None:  # a table's own child
                    if kind is _ACTION:
                        text = s.text
                        said[1].append(text)
                        if text.startswith("ct("):
                            said[3].append(text)
                    elif kind is _ANNOTATION:
                        said[2].append(s.text)
                    if s.action is not None and s.action.name == "dec_ttl":
                        said[4] = True
                inner_table, inner_bridge = table, bridge
                if kind is _TABLE:
                    inner_bridge = s.bridge or bridge
                    bridges[s.line] = inner_bridge
                    parent[s.line] = table
                    inner_table = s
                    tables.append(s)
                    mine.append(s)
                elif kind is _ACTION:
                    actions.append(s)
                    a = s.action
                    if table is not None:
                        owner[s.line] = table
                    if a is not None and a.name in _NOTED:
                        if a.name == "controller":
                            controllers.append(s)
                        elif table is not None:
                            entry = (p, s)
                            watched.setdefault(a.name, []).append(entry)
                            if a.name == "output" or a.name == "IN_PORT":
                                outputs.append(entry)
                elif kind is _BRIDGE:
                    m = _BRIDGE_RE.search(s.text)
                    inner_bridge = m.group(1) if m else bridge
                if s.children:
                    stack.append((it, table, bridge, said))
                    it, table, bridge = iter(s.children), inner_table, inner_bridge
                    said = [s.line, [], [], [], False] if kind is _TABLE else None
                elif kind is _TABLE:
                    owns[s.line] = _SAYS_NOTHING
        self.tables = tables
        self.pass_tables = pass_tables
        self.actions = actions
        self.owner = owner
        self.bridge = bridges
        self.parent = parent
        self.outputs = outputs
        self.controllers = controllers
        self._watched = watched
        self._own = owns
        self._nearest: dict[str, dict[int, Step | None]] = {}

    def own(self, table: Step) -> Own:
        """What a table step of this trace says itself (its direct children, not the tables it resubmits
        to)."""
        return self._own[table.line]

    def action_texts(self, table: Step) -> tuple[str, ...]:
        """The texts of a table step's own actions, in order."""
        return self.own(table).actions

    def of_action(self, name: str) -> list[tuple[Pass, Step]]:
        """The (pass, action) entries of the actions named ``name`` (one of :data:`WATCHED`) inside a table,
        in trace order."""
        if name not in WATCHED:
            raise KeyError(name)
        return self._watched.get(name, [])

    def line_bridge(self) -> dict[int, str | None]:
        """Line of every direct child of a table step -> that table's own ``bridge``."""
        return {c.line: s.bridge for s in self.tables for c in s.children}

    def ancestors(self, table: Step) -> Iterator[Step]:
        """``table``, the table it was entered from, and so on up to its pass's first table."""
        cur: Step | None = table
        while cur is not None:
            yield cur
            cur = self.parent.get(cur.line)

    def nearest(self, table: Step, what: str, test: Callable[[Step], bool]) -> Step | None:
        """The first of :meth:`ancestors` of ``table`` that passes ``test``, or None. ``what`` names the test
        (one name, one test): the answers are remembered for every table on the way, so the tables above
        several outputs are tested once."""
        memo = self._nearest.setdefault(what, {})
        parent = self.parent
        chain: list[int] = []
        cur: Step | None = table
        found: Step | None = None
        while cur is not None:
            line = cur.line
            if line in memo:
                found = memo[line]
                break
            chain.append(line)
            if test(cur):
                found = cur
                break
            cur = parent.get(line)
        for line in chain:
            memo[line] = found
        return found
