"""One walk over a trace's tree: everything correlation reads of its shape, gathered once per trace.

:class:`TraceWalk` is built by :meth:`ovntrace.correlate.annotate.Correlator.annotate` for one trace and
handed to :func:`ovntrace.correlate.verdict.make_verdict`: the table steps in trace order (what
``Trace.tables()`` yields), the action steps, which table owns each action, the bridge every table is on,
the table each table was entered from, and each table's own action texts. It lives as long as that one
``annotate`` call. Pure: reads only the trace.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ovntrace.model.trace import Pass, Step, StepKind, Trace

_BRIDGE_RE = re.compile(r'bridge\("([^"]+)"\)')
_TABLE = StepKind.TABLE
_ACTION = StepKind.ACTION
_BRIDGE = StepKind.BRIDGE
_ANNOTATION = StepKind.ANNOTATION


class TraceWalk:
    """The shape of one trace, in one depth-first walk (the order of ``Pass.walk()``).

    ``tables``: every table step in trace order; ``pass_tables``: the same, per pass; ``actions``: every
    action step in trace order (also those outside any table); ``order``: (pass, action) of the actions
    inside a table; ``owner``: action line -> its table step; ``bridge``: table line -> the bridge it is on
    (its own ``bridge``, else the nearest ``bridge("...")`` line above it, else the trace's);
    ``parent``: table line -> the table it was entered from (None for a pass's first)."""

    __slots__ = ("_texts", "actions", "bridge", "order", "owner", "parent", "pass_tables", "tables")

    def __init__(self, trace: Trace) -> None:
        tables: list[Step] = []
        actions: list[Step] = []
        order: list[tuple[Pass, Step]] = []
        owner: dict[int, Step] = {}
        bridges: dict[int, str | None] = {}
        parent: dict[int, Step | None] = {}
        pass_tables: list[list[Step]] = []
        for p in trace.passes:
            mine: list[Step] = []
            pass_tables.append(mine)
            # iterators of sibling lists, with the table and bridge their steps are under
            stack: list[tuple[Iterator[Step], Step | None, str | None]] = []
            it: Iterator[Step] = iter(p.steps)
            table: Step | None = None
            bridge = trace.bridge
            while True:
                s = next(it, None)
                if s is None:
                    if not stack:
                        break
                    it, table, bridge = stack.pop()
                    continue
                kind = s.kind
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
                    if table is not None:
                        owner[s.line] = table
                        order.append((p, s))
                elif kind is _BRIDGE:
                    m = _BRIDGE_RE.search(s.text)
                    inner_bridge = m.group(1) if m else bridge
                if s.children:
                    stack.append((it, table, bridge))
                    it, table, bridge = iter(s.children), inner_table, inner_bridge
        self.tables = tables
        self.pass_tables = pass_tables
        self.actions = actions
        self.order = order
        self.owner = owner
        self.bridge = bridges
        self.parent = parent
        self._texts: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = {}

    def action_texts(self, table: Step) -> tuple[str, ...]:
        """The texts of a table step's own actions (its direct children; not those of the tables it
        resubmits to), remembered for this walk."""
        own = self._texts.get(table.line)
        if own is None:
            own = self._own(table)
        return own[0]

    def annotation_texts(self, table: Step) -> tuple[str, ...]:
        """The texts of the annotation lines right under a table step (pasted ``ovn-detrace`` output)."""
        own = self._texts.get(table.line)
        if own is None:
            own = self._own(table)
        return own[1]

    def _own(self, table: Step) -> tuple[tuple[str, ...], tuple[str, ...]]:
        acts: list[str] = []
        notes: list[str] = []
        for c in table.children:
            kind = c.kind
            if kind is _ACTION:
                acts.append(c.text)
            elif kind is _ANNOTATION:
                notes.append(c.text)
        own = self._texts[table.line] = (tuple(acts), tuple(notes))
        return own

    def line_bridge(self) -> dict[int, str | None]:
        """Line of every direct child of a table step -> that table's own ``bridge``."""
        return {c.line: s.bridge for s in self.tables for c in s.children}

    def ancestors(self, table: Step) -> Iterator[Step]:
        """``table``, the table it was entered from, and so on up to its pass's first table."""
        cur: Step | None = table
        while cur is not None:
            yield cur
            cur = self.parent.get(cur.line)
