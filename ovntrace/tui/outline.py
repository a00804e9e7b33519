"""The trace tree as the TUI shows it: nodes built from the rows ``render/display.py`` yields.

Textual-free on purpose (built in a worker thread, tested without an app): one :class:`Node` per
row of ``ovntrace explain`` (same folding of no-op runs and cleared registers, same nesting of
``clone``/``ct`` containers), grouped under trace and pass nodes. Each node keeps the model object
it shows (the :class:`~ovntrace.model.Step`, the :class:`~ovntrace.model.Pass`, the
:class:`~ovntrace.model.Trace`) so the details pane can read it, and the lowercase text a search
looks at.

The OVN fields of a node (``ovn``, ``lflow``) are filled later by :func:`apply_ovn` when the
correlation of its trace arrives: the rows with and without OVN meaning are the same rows, in the
same order, so the tree is never rebuilt for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

from ovntrace.model import ParseResult, Pass, Step, StepKind, Trace
from ovntrace.model.ovn import TraceOvn
from ovntrace.render.display import (
    Row,
    is_noop,  # the fold rule of `explain` (reused, not copied)
    pass_title,
    result_rows,
    rows_for_steps,
    step_ovn_text,
    step_stage,
    trace_title,
    verdict_line,
)

_CLEARED = re.compile(r"fields cleared, lines (\d+)-(\d+)")


class NodeKind:
    TRACE = "trace"
    PASS = "pass"
    ROW = "row"


@dataclass(eq=False, slots=True)
class Node:
    """One line of the tree (mutable view state: the OVN text arrives later)."""

    kind: str  # NodeKind
    trace_index: int
    text: str
    style: str  # a key of ovntrace.render.styles.STYLES
    line: int | None = None
    note: str = ""
    cookie: str | None = None
    ovn: str = ""
    lflow: str = ""
    # the OVN stage(s), shown first: a table's (``ls_in_acl``), a folded no-op run's in order
    stage: str = ""
    # model objects and links stay out of repr (nodes link both ways; Textual reprs worker arguments)
    step: Step | None = field(default=None, repr=False)
    pass_: Pass | None = field(default=None, repr=False)
    trace: Trace | None = field(default=None, repr=False)
    # a folded row: the no-op tables of the run, or the set_field:0 actions of the group
    run: tuple[Step, ...] = field(default=(), repr=False)
    children: list[Node] = field(default_factory=list, repr=False)
    parent: Node | None = field(default=None, repr=False)
    index: int = -1  # position in Outline.flat (depth-first order)
    search: str = field(default="", repr=False)  # lowercase text a search looks at

    def head(self) -> str:
        """The row's text with its stage first: ``9. ls_in_acl  ip,reg0=…``, ``tables 9–12: no-op:
        ls_in_pre_acl, ls_in_pre_lb, … (4 tables pass the packet on)``; the text alone while no stage is
        known."""
        return "".join(self.head_parts())

    def head_parts(self) -> tuple[str, str, str]:
        """``head()`` in three: before the stage, the stage, after it (the tree styles them apart)."""
        if not self.stage:
            return self.text, "", ""
        if self.run and self.style == "noop":
            span, sep, rest = self.text.partition(" (")
            return f"{span}: ", self.stage, f"{sep}{rest}"
        num, sep, rest = self.text.partition(". ")
        if sep:
            return f"{num}. ", self.stage, f"  {rest}"
        return f"{self.text} ", self.stage, ""

    def plain(self) -> str:
        """The label as plain text (what `y` copies from the tree and what a search matches)."""
        out = self.head()
        if self.note:
            out += f"  {self.note}"
        if self.line is not None and self.kind == NodeKind.ROW:
            out += f"  L{self.line}"
        if self.ovn:
            out += f"  {self.ovn}"
        if self.lflow:
            out += f"  lflow: {self.lflow}"
        return out

    def refresh_search(self) -> None:
        self.search = self.plain().lower()

    def ancestors(self) -> list[Node]:
        """From the top-level node down to the parent."""
        out: list[Node] = []
        cur = self.parent
        while cur is not None:
            out.append(cur)
            cur = cur.parent
        out.reverse()
        return out

    def table(self) -> Step | None:
        """The table this node is in (itself, or the closest table above it)."""
        cur: Node | None = self
        while cur is not None:
            if cur.step is not None and cur.step.kind is StepKind.TABLE:
                return cur.step
            cur = cur.parent
        return None


@dataclass(slots=True, repr=False)
class Outline:
    """All nodes of one input: top-level trace nodes, and every node in depth-first order."""

    result: ParseResult
    roots: list[Node]
    flat: list[Node]
    # per trace: table steps in trace order (the details pane compares a table with the one before)
    tables: list[list[Step]]
    ovn: list[TraceOvn | None]

    def __repr__(self) -> str:
        return f"Outline({len(self.roots)} traces, {len(self.flat)} nodes)"

    def extend(self, result: ParseResult, part: OutlinePart) -> None:
        """More traces of the same input: ``result`` holds them all, ``part`` the nodes of the new ones
        (built off the UI thread; the nodes already shown are not touched)."""
        assert part.first == len(self.roots) and part.first_index == len(self.flat), "parts out of order"
        self.result = result
        self.roots.extend(part.roots)
        self.flat.extend(part.flat)
        self.tables.extend(part.tables)
        self.ovn.extend(None for _ in part.roots)

    def previous_table(self, trace_index: int, step: Step) -> Step | None:
        tables = self.tables[trace_index]
        for i, s in enumerate(tables):
            if s is step:
                return tables[i - 1] if i > 0 else None
        return None

    def trace_nodes(self, trace_index: int) -> Iterator[Node]:
        root = self.roots[trace_index]
        stack = [root]
        while stack:
            n = stack.pop()
            yield n
            stack.extend(reversed(n.children))

    def find_line(self, line: int) -> Node | None:
        """The first node shown for an input line (a hop, a verdict line, a search hit)."""
        best: Node | None = None
        for n in self.flat:
            if n.line == line:
                return n
            if n.line is not None and n.line < line and n.kind == NodeKind.ROW:
                best = n
        return best


def _steps_by_line(p: Pass) -> dict[int, Step]:
    out: dict[int, Step] = {}
    for s in p.walk():
        out.setdefault(s.line, s)
    for s in p.notes:
        out.setdefault(s.line, s)
    return out


def _noop_run(step: Step) -> tuple[Step, ...]:
    """The tables a folded "no-op" row stands for: ``step`` and its tail tables while they are no-ops."""
    run: list[Step] = []
    cur: Step | None = step
    while cur is not None and is_noop(cur):
        run.append(cur)
        cur = cur.children[-1]
    return tuple(run)


def _row_node(row: Row, trace_index: int, steps: dict[int, Step]) -> Node:
    step = steps.get(row.line) if row.line is not None else None
    node = Node(NodeKind.ROW, trace_index, row.text, row.style, row.line, row.note, row.cookie, row.ovn,
                row.lflow, step=step)
    if row.style == "noop" and step is not None:
        node.run = _noop_run(step)
        node.step = None  # the row stands for several tables
        node.note = "enter shows them"
        for t in node.run:
            stack: list[tuple[int, Node]] = [(-1, node)]
            for sub in _folded_rows(t, None):
                child = Node(NodeKind.ROW, trace_index, sub.text, sub.style, sub.line, sub.note, sub.cookie,
                             step=steps.get(sub.line) if sub.line is not None else None)
                while stack[-1][0] >= sub.depth:
                    stack.pop()
                _attach(stack[-1][1], child)
                stack.append((sub.depth, child))
    elif row.style == "action.set_field" and (m := _CLEARED.search(row.note)):
        lo, hi = int(m.group(1)), int(m.group(2))
        node.run = tuple(s for ln, s in sorted(steps.items()) if lo <= ln <= hi and s.kind is StepKind.ACTION)
    return node


def _folded_rows(table: Step, tovn: TraceOvn | None) -> Iterator[Row]:
    """The rows of one table of a folded no-op run, alone (without the tail it resubmits to, which is
    the next table of the run): what the folded row shows when unfolded."""
    return rows_for_steps((replace(table, children=table.children[:-1]),), True, tovn)


def _attach(parent: Node, child: Node) -> None:
    child.parent = parent
    parent.children.append(child)


def build(result: ParseResult, ovn: Sequence[TraceOvn | None] | None = None) -> Outline:
    """The tree of ``result`` (the same rows as ``ovntrace explain``, folded the same way)."""
    part = build_part(result, 0, 0, ovn)
    ovn_list = [ovn[i] if ovn is not None and i < len(ovn) else None for i in range(len(result.traces))]
    return Outline(result, part.roots, part.flat, part.tables, ovn_list)


@dataclass(slots=True, repr=False)
class OutlinePart:
    """The nodes of traces ``first``.. of a result, numbered after the ``first_index`` nodes before them:
    what :meth:`Outline.extend` appends (an input read progressively, tui/screens/explain.py)."""

    first: int
    first_index: int
    roots: list[Node]
    flat: list[Node]
    tables: list[list[Step]]


def build_part(result: ParseResult, first: int, first_index: int,
               ovn: Sequence[TraceOvn | None] | None = None) -> OutlinePart:
    """The nodes of ``result.traces[first:]`` (trace indices from ``first``, node indices from
    ``first_index``): the whole tree when both are 0."""
    traces = result.traces[first:]
    roots: list[Node] = []
    trace_index = first - 1
    steps: dict[int, Step] = {}
    stack: list[tuple[int, Node]] = []
    pass_node: Node | None = None
    ovn_part = list(ovn[first:]) if ovn is not None else None
    for kind, trace, p, row in result_rows(ParseResult(traces=traces), False, ovn_part):
        if kind == "trace" and trace is not None:
            trace_index += 1
            tovn = ovn[trace_index] if ovn is not None and trace_index < len(ovn) else None
            node = Node(NodeKind.TRACE, trace_index, trace_title(trace, trace_index + 1),
                        "header", trace.first_line, note=verdict_line(trace, tovn), trace=trace)
            roots.append(node)
        elif kind == "pass" and trace is not None and p is not None:
            i = trace.passes.index(p) + 1
            pass_node = Node(NodeKind.PASS, trace_index, pass_title(p, i), "pass", p.first_line, pass_=p,
                             note=f"→ {p.datapath_actions}" if p.datapath_actions else "")
            _attach(roots[-1], pass_node)
            steps = _steps_by_line(p)
            stack = [(-1, pass_node)]
        elif row is not None:
            node = _row_node(row, trace_index, steps)
            while stack and stack[-1][0] >= row.depth:
                stack.pop()
            _attach(stack[-1][1] if stack else roots[-1], node)
            stack.append((row.depth, node))
    flat: list[Node] = []
    todo = list(reversed(roots))
    while todo:
        n = todo.pop()
        n.index = first_index + len(flat)
        n.refresh_search()
        flat.append(n)
        todo.extend(reversed(n.children))
    tables = [list(t.tables()) for t in traces]
    return OutlinePart(first, first_index, roots, flat, tables)


Label = tuple[str, str, str]  # (stage, ovn, lflow) of a row
_NO_LABEL: Label = ("", "", "")


@dataclass(frozen=True, slots=True)
class OvnLabels:
    """The OVN text of every row of one trace, in the order of :meth:`Outline.trace_nodes`."""

    trace_index: int
    header: str  # the trace node's verdict text
    rows: tuple[Label, ...]  # of each row node, top-level rows only (a folded row's children: ``folded``)
    # per folded no-op row, in order: the labels of the rows it unfolds into, in order
    folded: tuple[tuple[Label, ...], ...] = ()


def _label(row: Row, tovn: TraceOvn | None, stage_first: bool) -> Label:
    """A row's OVN text; ``stage_first`` (an ofproto table): its stage apart, the rest without it."""
    st = tovn.steps.get(row.line) if stage_first and tovn is not None and row.line is not None else None
    if st is None or row.style not in ("table", "table.miss"):
        return "", row.ovn, row.lflow
    return step_stage(st), step_ovn_text(st, stage=False), row.lflow


def ovn_labels(result: ParseResult, trace_index: int, tovn: TraceOvn | None) -> OvnLabels:
    """What :func:`apply_ovn` needs, computed off the UI thread."""
    trace = result.traces[trace_index]
    stage_first = trace.format.value != "ovn-trace"  # ovn-trace's rows start with their stage already
    rows: list[Label] = []
    folded: list[tuple[Label, ...]] = []
    for p in trace.passes:
        steps = _steps_by_line(p) if tovn is not None else {}
        for r in rows_for_steps(p.steps, False, tovn):
            if r.style == "noop" and r.line in steps:
                run = _noop_run(steps[r.line])
                stages = [step_stage(st) if (st := tovn.steps.get(t.line)) is not None else "?"
                          for t in run] if tovn is not None else []
                rows.append((", ".join(stages) if any(x != "?" for x in stages) else "", r.ovn, r.lflow))
                folded.append(tuple(_label(sub, tovn, stage_first) for t in run for sub in _folded_rows(t, tovn)))
            else:
                rows.append(_label(r, tovn, stage_first))
        rows.extend(_NO_LABEL for _ in p.notes)
    return OvnLabels(trace_index, verdict_line(trace, tovn), tuple(rows), tuple(folded))


def apply_ovn(outline: Outline, labels: OvnLabels, tovn: TraceOvn | None) -> list[Node]:
    """Give the nodes of one trace their OVN text; returns the nodes that changed."""
    root = outline.roots[labels.trace_index]
    outline.ovn[labels.trace_index] = tovn
    changed = [root]
    root.note = labels.header
    root.refresh_search()
    rows = iter(labels.rows)
    folded = iter(labels.folded)
    for pass_node in root.children:
        todo = list(reversed(pass_node.children))
        while todo:
            n = todo.pop()
            _relabel(n, next(rows, _NO_LABEL), changed)
            if not n.run:
                todo.extend(reversed(n.children))
            elif n.style == "noop":  # a folded row's children are not rows of `explain`: labelled apart
                inner = iter(next(folded, ()))
                stack = list(reversed(n.children))
                while stack:
                    c = stack.pop()
                    _relabel(c, next(inner, _NO_LABEL), changed)
                    stack.extend(reversed(c.children))
    return changed


def _relabel(n: Node, label: Label, changed: list[Node]) -> None:
    if label != (n.stage, n.ovn, n.lflow):
        n.stage, n.ovn, n.lflow = label
        n.refresh_search()
        changed.append(n)
