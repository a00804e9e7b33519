"""The trace model: what ``ofproto/trace`` printed, as typed, frozen data.

Every node keeps the 1-based line number of the input it came from, so renderers can point back at the
paste and nothing is ever silently dropped: lines that are not understood become ``unparsed`` steps or
``warnings``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

from ovntrace.model._empty import EMPTY_MAP, empty_map
from ovntrace.model.actions import Action
from ovntrace.model.odp import DatapathAction


class StepKind(StrEnum):
    """Kinds of nodes in the trace tree (the JSON ``kind`` values)."""

    BRIDGE = "bridge"
    TABLE = "table"
    ACTION = "action"
    DETAIL = "detail"
    THAW = "thaw"
    BUCKET = "bucket"
    WARNING = "warning"
    ERROR = "error"
    ELIDED = "elided"
    ANNOTATION = "annotation"
    UNPARSED = "unparsed"
    # ovn-trace (logical) steps
    PIPELINE = "pipeline"  # ingress(dp=...)/egress(dp=...)/multicast(dp=..., mcgroup=...) header
    TRANSFORM = "transform"  # ct_next(...)/ct_lb_mark/ct_snat(...)/clone/arp ... header: the packet changed
    STAGE = "stage"  # "N. stage (northd.c:L): MATCH, priority P, uuid X" or "N. stage: no match"
    OPENFLOW = "openflow"  # --ovs: an OpenFlow flow of the logical flow above


class VerdictKind(StrEnum):
    OUTPUT = "output"
    TUNNEL = "tunnel"
    DROP = "drop"
    CONTROLLER = "controller"
    RECIRC = "recirc"
    INCOMPLETE = "incomplete"


class TraceFormat(StrEnum):
    OFPROTO = "ofproto"  # OVS >= 2.7 tree format
    LEGACY = "ofproto-legacy"  # OVS <= 2.6 "Bridge:/Rule:/OpenFlow actions=" format
    OVN_TRACE = "ovn-trace"  # ovn-trace (logical simulation): --detailed, --summary or --minimal


@dataclass(frozen=True, slots=True)
class ParseWarning:
    """A line the parser could not place, or a repair it made. Never fatal."""

    line: int
    message: str


@dataclass(frozen=True, slots=True)
class Step:
    """One node of the trace tree.

    ``text`` is the line as printed (indentation and paste prefixes removed). Table steps carry the
    lookup (table id, match, priority, cookie) and ``state``: the register/field values known when the
    packet entered the table. Action steps carry the parsed ``action``.
    """

    kind: StepKind
    line: int
    text: str
    children: tuple[Step, ...] = ()
    # table steps
    table: int | None = None
    match: str | None = None
    priority: int | None = None
    cookie: str | None = None
    miss: bool = False
    bridge: str | None = None
    state: Mapping[str, str] = field(default_factory=empty_map)
    # action steps
    action: Action | None = None
    # True for OVS's own artefacts: the ``drop`` printed for an empty nested action list (after
    # ``ct(...)``/``clone()``), and the second copy of the remainder after ``check_pkt_larger``.
    spurious: bool = False
    # True for action lines that OVS printed flattened after a container action (``clone(...)``,
    # ``ct(...,exec(...))``): they are the container's inner actions, not new siblings.
    nested_in: int | None = None
    # table steps: the line of the ``resubmit``/``goto_table`` action that entered this table
    via: int | None = None
    # ovn-trace (logical) steps: stage and pipeline/transform headers. ``table`` is the logical table,
    # ``uuid`` the lflow uuid prefix ovn-trace printed (8 hex digits), ``source`` "northd.c:LINE".
    datapath: str | None = None
    pipeline: str | None = None  # ingress | egress (stages, pipeline headers); multicast for fan-out
    stage: str | None = None
    uuid: str | None = None
    source: str | None = None
    inport: str | None = None
    outport: str | None = None

    def walk(self) -> Iterator[Step]:
        """Depth-first, iterative (traces nest hundreds deep)."""
        stack: list[Step] = [self]
        while stack:
            node = stack.pop()
            yield node
            if node.children:
                stack.extend(reversed(node.children))


class StepBuilder:
    """A :class:`Step` being built: the same fields, in the same slots, but mutable (``children`` a
    list while the tree grows). :meth:`freeze` turns it into a ``Step`` in place.

    A frozen dataclass's ``__init__`` stores each of Step's 22 fields through ``object.__setattr__``,
    and building the tree twice (a mutable one, then its frozen copy) cost more than parsing the
    lines. Assigning ``__class__`` between two classes whose slots are identical is allowed by
    CPython (checked at import below and by tests/parser/test_model_fast.py).
    """

    __slots__ = Step.__slots__

    def __init__(self, kind: StepKind, line: int, text: str, children: Any = None, table: int | None = None,
                 match: str | None = None, priority: int | None = None, cookie: str | None = None,
                 miss: bool = False, bridge: str | None = None, state: Mapping[str, str] = EMPTY_MAP,
                 action: Action | None = None, spurious: bool = False, nested_in: int | None = None,
                 via: int | None = None, datapath: str | None = None, pipeline: str | None = None,
                 stage: str | None = None, uuid: str | None = None, source: str | None = None,
                 inport: str | None = None, outport: str | None = None) -> None:
        self.kind = kind
        self.line = line
        self.text = text
        self.children: Any = [] if children is None else children  # list[StepBuilder] until frozen
        self.table = table
        self.match = match
        self.priority = priority
        self.cookie = cookie
        self.miss = miss
        self.bridge = bridge
        self.state = state
        self.action = action
        self.spurious = spurious
        self.nested_in = nested_in
        self.via = via
        self.datapath = datapath
        self.pipeline = pipeline
        self.stage = stage
        self.uuid = uuid
        self.source = source
        self.inport = inport
        self.outport = outport

    def freeze(self) -> Step:
        """This node becomes an (immutable) ``Step``; its children must be frozen too, before or after."""
        self.children = tuple(self.children)
        me: Any = self
        me.__class__ = Step
        return me  # type: ignore[no-any-return]


def freeze_all(nodes: list[StepBuilder]) -> None:
    """:meth:`StepBuilder.freeze` of each of ``nodes`` (a whole tree's, in any order), in one loop."""
    step = Step
    for n in nodes:
        n.children = tuple(n.children)
        n.__class__ = step  # type: ignore[assignment]


def make_step(kind: StepKind, line: int, text: str, children: tuple[Step, ...] = (), table: int | None = None,
              match: str | None = None, priority: int | None = None, cookie: str | None = None, miss: bool = False,
              bridge: str | None = None, state: Mapping[str, str] = EMPTY_MAP, action: Action | None = None,
              spurious: bool = False, nested_in: int | None = None, via: int | None = None,
              datapath: str | None = None, pipeline: str | None = None, stage: str | None = None,
              uuid: str | None = None, source: str | None = None, inport: str | None = None,
              outport: str | None = None) -> Step:
    """``Step(...)`` with the same arguments and result (an equal, frozen ``Step``), ~6x quicker."""
    return StepBuilder(kind, line, text, children, table, match, priority, cookie, miss, bridge, state, action,
                       spurious, nested_in, via, datapath, pipeline, stage, uuid, source, inport, outport).freeze()


assert tuple(f.name for f in fields(Step)) == Step.__slots__ == StepBuilder.__slots__


@dataclass(frozen=True, slots=True)
class Verdict:
    """What happened to the packet, decided from what it did (not from grepping ``drop``)."""

    kind: VerdictKind
    line: int | None
    reason: str
    ports: tuple[str, ...] = ()
    # tunnel verdicts: decoded from ``set(tunnel(...))`` in the datapath actions
    tunnel: Mapping[str, Any] = field(default_factory=empty_map)
    # ovn-trace verdicts: the logical stage and datapath that decided (drop/controller), or of the output
    stage: str | None = None
    datapath: str | None = None


@dataclass(frozen=True, slots=True)
class SectionLine:
    """A line of a pass that is not part of its tree, kept with its number.

    ``kind``: ``flow``, ``final_flow``, ``megaflow`` (also ``Relevant fields:``), ``datapath_actions``,
    ``continuation`` (a wrapped line joined to the one before), ``recirc_header``, ``recirc_rule``
    (the ``=====`` lines), ``nat`` (the NAT simulation block), ``rule`` (the ``----`` under a bridge),
    ``end`` (the ``.`` after an execution failure). ``used`` is False for a line that repeats a kind
    this pass already had (a second ``Datapath actions:``, two recirculation headers in a row): the
    pass keeps the first as its value, and a warning names both lines.
    """

    line: int
    kind: str
    text: str
    used: bool = True


@dataclass(frozen=True, slots=True)
class Pass:
    """One translation: the first ``Flow:`` section, or one recirculation section."""

    first_line: int
    recirc_id: str | None
    ct_state: str | None
    flow: str | None
    fields: Mapping[str, str]
    steps: tuple[Step, ...]
    final_flow: str | None = None
    megaflow: str | None = None
    datapath_actions: str | None = None
    datapath_actions_parsed: tuple[DatapathAction, ...] | None = None
    flow_line: int | None = None
    datapath_actions_line: int | None = None
    nat: Mapping[str, str] = field(default_factory=empty_map)
    translation_error: str | None = None
    slow_path: tuple[str, ...] = ()
    notes: tuple[Step, ...] = ()  # trailer lines (slow path, execution failure, limits)
    section_lines: tuple[SectionLine, ...] = ()  # every line outside the tree, in input order

    def walk(self) -> Iterator[Step]:
        """Every step of the tree, depth first in input order: one loop over a stack (no generator
        per step)."""
        stack: list[Step] = list(reversed(self.steps))
        while stack:
            node = stack.pop()
            yield node
            if node.children:
                stack.extend(reversed(node.children))


@dataclass(frozen=True, slots=True)
class Trace:
    """One trace found in the input: its passes (translations) and its verdict."""

    format: TraceFormat
    first_line: int
    last_line: int
    passes: tuple[Pass, ...]
    verdict: Verdict
    command: str | None = None  # the ofproto/trace command line, when it was pasted
    bridge: str | None = None
    raw: tuple[Step, ...] = ()  # ovn-trace: lines kept verbatim
    detail: str | None = None  # ovn-trace: "detailed" | "summary" | "minimal" (the format printed)

    def walk(self) -> Iterator[Step]:
        for p in self.passes:
            yield from p.walk()

    def tables(self) -> Iterator[Step]:
        return (s for s in self.walk() if s.kind is StepKind.TABLE)


@dataclass(frozen=True, slots=True)
class ParseResult:
    """Everything found in one input: zero or more traces, plus warnings with line numbers."""

    traces: tuple[Trace, ...]
    warnings: tuple[ParseWarning, ...] = ()
    line_count: int = 0
    prose_lines: tuple[int, ...] = field(default=())  # lines outside any trace (prompts, prose)

    def accounted_lines(self) -> set[int]:
        """Every input line number the result keeps: a step, a note, a pass's own lines, ovn-trace raw
        lines, prose or a warning. A non-blank input line missing from it was lost (a bug)."""
        seen: set[int] = set(self.prose_lines)
        seen.update(w.line for w in self.warnings)
        for t in self.traces:
            seen.update(s.line for s in t.raw)
            for p in t.passes:
                seen.update(s.line for s in p.walk())
                for n in p.notes:
                    seen.update(s.line for s in n.walk())
                seen.update(x.line for x in p.section_lines)
                for ln in (p.flow_line, p.datapath_actions_line):
                    if ln is not None:
                        seen.add(ln)
                if p.recirc_id is not None:
                    seen.add(p.first_line)
        return seen
