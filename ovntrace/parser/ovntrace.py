"""``ovn-trace`` output (a logical simulation) -> a :class:`~ovntrace.model.trace.Trace` of logical steps.

Each line is classified by ``grammars/ovntrace.lark`` (one terminal per line shape), then the lines are
assembled into a tree:

* ``--detailed`` (the default): a header line underlined with dashes opens a section: a pipeline
  (``ingress(dp=..., inport=...)``/``egress(...)``), a multicast fan-out (``multicast(dp=..., mcgroup=...)``)
  or a transformation (``ct_next(ct_state=...)``, ``ct_lb_mark``, ``ct_snat(...)``, ``clone``, ``arp`` ...).
  ovn-trace indents a nested section by 4 more columns (utilities/ovn-trace.c,
  ``ovntrace_node_print_details``), so a header indented deeper than the open one nests inside it; a
  transformation at the same column continues the pipeline it happened in. ``N. stage ...`` lines are
  stages; the lines under a stage are its actions, ``/* ... */`` comments, ``LOG:`` lines and ``--ovs``
  OpenFlow flows.
* ``--summary``/``--minimal``: ``HEADER {`` ... ``};`` blocks, actions inside.

Nothing is lost: a line that fits nowhere becomes an ``unparsed`` step and a warning with its number.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from ovntrace.model.trace import (
    ParseWarning,
    Pass,
    SectionLine,
    Step,
    StepKind,
    Trace,
    TraceFormat,
    Verdict,
    VerdictKind,
    make_step,
)
from ovntrace.parser.kv import parse_flow
from ovntrace.parser.lineclass import LineClassifier
from ovntrace.parser.loader import line_terminals
from ovntrace.parser.ovnverdict import GENERATORS, decide_logical
from ovntrace.parser.preprocess import Line

_STAGE_RE = re.compile(
    r"^(?P<t>\d{1,3})\. (?:(?P<stage>[A-Za-z0-9_]+)(?: \((?P<src>[A-Za-z0-9_./-]+:\d+)\))?: )?"
    r"(?P<match>.*), priority (?P<prio>-?\d+)(?:, uuid (?P<uuid>[0-9a-f]+))?$")
_NOMATCH_RE = re.compile(
    r"^(?P<t>\d{1,3})\. (?:(?P<stage>[A-Za-z0-9_]+)(?: \((?P<src>[A-Za-z0-9_./-]+:\d+)\))?: )?(?P<rest>no match.*)$")
_PIPE_RE = re.compile(
    r'^(?P<p>ingress|egress|multicast)\(dp="(?P<dp>[^"]*)"(?:, inport="(?P<in>[^"]*)")?'
    r'(?:, outport="(?P<out>[^"]*)")?(?:, mcgroup="(?P<mc>[^"]*)")?\)(?: \{)?$')
_OF_TABLE_RE = re.compile(r"(?:^|[ ,])table=(\d+)")
_OF_PRIO_RE = re.compile(r"(?:^|[ ,])priority=(\d+)")
_OF_COOKIE_RE = re.compile(r"^cookie=(0x[0-9a-fA-F]+)")
_HEAD_WORD = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)")


@functools.cache
def _classifier() -> LineClassifier:
    return LineClassifier((name, regex) for name, _prio, regex in line_terminals("ovntrace"))


def classify(body: str) -> str:
    """The ``grammars/ovntrace.lark`` terminal name of one line (stripped)."""
    return _classifier().kind(body)


@dataclass
class _Node:
    kind: StepKind
    line: int
    text: str
    indent: int = 0
    children: list[_Node] = field(default_factory=list)
    table: int | None = None
    match: str | None = None
    priority: int | None = None
    cookie: str | None = None
    miss: bool = False
    datapath: str | None = None
    pipeline: str | None = None
    stage: str | None = None
    uuid: str | None = None
    source: str | None = None
    inport: str | None = None
    outport: str | None = None

    def freeze(self) -> Step:
        # iterative post-order: nesting can be deep (a router chain inside a flood)
        done: dict[int, Step] = {}
        stack: list[tuple[_Node, bool]] = [(self, False)]
        while stack:
            n, seen = stack.pop()
            if not seen:
                stack.append((n, True))
                stack.extend((c, False) for c in reversed(n.children))
                continue
            kids = tuple(done.pop(id(c)) for c in n.children)
            done[id(n)] = make_step(n.kind, n.line, n.text, kids, table=n.table, match=n.match,
                                    priority=n.priority, cookie=n.cookie, miss=n.miss, datapath=n.datapath,
                                    pipeline=n.pipeline, stage=n.stage, uuid=n.uuid, source=n.source,
                                    inport=n.inport, outport=n.outport)
        return done[id(self)]


def _header(line: Line, kind_name: str, ctx: _Node | None) -> _Node:
    body = line.body
    m = _PIPE_RE.match(body)
    text = body[:-2] if body.endswith(" {") else body
    if m:
        kind = StepKind.PIPELINE
        return _Node(kind, line.no, text, line.indent, datapath=m.group("dp"), pipeline=m.group("p"),
                     inport=m.group("in"), outport=m.group("out") or m.group("mc"))
    # a transformation: the packet is changed (ct, NAT, clone, arp/nd/icmp reply ...) inside the
    # pipeline that was running
    w = _HEAD_WORD.match(text)
    return _Node(StepKind.TRANSFORM, line.no, text, line.indent, stage=w.group(1) if w else None,
                 datapath=ctx.datapath if ctx is not None else None,
                 pipeline=ctx.pipeline if ctx is not None else None)


def _stage(line: Line, kind_name: str, ctx: _Node | None) -> _Node:
    body = line.body
    dp = ctx.datapath if ctx is not None else None
    pl = ctx.pipeline if ctx is not None else None
    if kind_name == "NOMATCH_LINE":
        m = _NOMATCH_RE.match(body)
        assert m is not None
        return _Node(StepKind.STAGE, line.no, body, line.indent, table=int(m.group("t")), miss=True,
                     stage=m.group("stage"), source=m.group("src"), datapath=dp, pipeline=pl)
    m2 = _STAGE_RE.match(body)
    assert m2 is not None
    return _Node(StepKind.STAGE, line.no, body, line.indent, table=int(m2.group("t")), match=m2.group("match"),
                 priority=int(m2.group("prio")), uuid=m2.group("uuid"), stage=m2.group("stage"),
                 source=m2.group("src"), datapath=dp, pipeline=pl)


def _leaf(line: Line, kind_name: str) -> _Node:
    body = line.body
    if kind_name == "OPENFLOW_LINE":
        c = _OF_COOKIE_RE.match(body)
        t = _OF_TABLE_RE.search(body)
        p = _OF_PRIO_RE.search(body)
        return _Node(StepKind.OPENFLOW, line.no, body, line.indent, cookie=c.group(1) if c else None,
                     table=int(t.group(1)) if t else None, priority=int(p.group(1)) if p else None)
    if kind_name == "COMMENT_LINE":
        return _Node(StepKind.DETAIL, line.no, body.removesuffix(";"), line.indent)
    if kind_name == "LOG_LINE":
        return _Node(StepKind.ANNOTATION, line.no, body, line.indent)
    if kind_name == "ACTION_LINE":
        return _Node(StepKind.ACTION, line.no, body, line.indent)
    if kind_name == "ELIDED":
        return _Node(StepKind.ELIDED, line.no, body, line.indent)
    return _Node(StepKind.UNPARSED, line.no, body, line.indent)


_ELISION = re.compile(r"^(\.\.\.|…|\[\.\.\.\]|<snip>|\(snip\)|\[snip\])$", re.IGNORECASE)


def _kind(line: Line) -> str:
    if _ELISION.match(line.body):
        return "ELIDED"
    return classify(line.body)


def _build_detailed(lines: list[tuple[Line, str]], warnings: list[ParseWarning],
                    rules: list[Line] | None = None) -> list[_Node]:
    """``rules``: collects the dashes under the headers (consumed with them, kept as the pass's lines)."""
    top: list[_Node] = []
    headers: list[_Node] = []  # open sections, outermost first
    stage: _Node | None = None
    i = 0
    while i < len(lines):
        line, kind = lines[i]
        nxt = lines[i + 1][1] if i + 1 < len(lines) else None
        if kind == "DASHES_LINE":
            # the underline of a header (consumed with it) or of a LOG line: kept as a detail
            (stage.children if stage is not None else (headers[-1].children if headers else top)).append(
                _Node(StepKind.DETAIL, line.no, line.body, line.indent))
            i += 1
            continue
        is_header = nxt == "DASHES_LINE" and kind not in ("LOG_LINE", "STAGE_LINE", "NOMATCH_LINE")
        if is_header or (kind in ("PIPELINE_LINE", "MULTICAST_LINE")):
            ctx = next((h for h in reversed(headers) if h.kind is StepKind.PIPELINE), None)
            h = _header(line, kind, ctx)
            # a packet made by a controller action (arp, icmp4, nd_ns ...) is printed after its header
            # at the same column: what follows at that column belongs to it (as --summary nests it)
            while headers and (headers[-1].indent > h.indent or (
                    headers[-1].indent == h.indent and not (
                        h.kind is StepKind.TRANSFORM and headers[-1].kind is StepKind.PIPELINE)
                    and headers[-1].stage not in GENERATORS)):
                headers.pop()
            if h.kind is StepKind.TRANSFORM and headers and headers[-1].kind is StepKind.PIPELINE \
                    and headers[-1].indent == h.indent:
                h.datapath, h.pipeline = headers[-1].datapath, headers[-1].pipeline
            (headers[-1].children if headers else top).append(h)
            headers.append(h)
            stage = None
            if is_header and rules is not None:
                rules.append(lines[i + 1][0])
            i += 2 if is_header else 1
            continue
        if kind in ("STAGE_LINE", "NOMATCH_LINE"):
            ctx = next((h for h in reversed(headers) if h.kind is StepKind.PIPELINE), None)
            stage = _stage(line, kind, ctx)
            if headers and headers[-1].kind is StepKind.TRANSFORM and ctx is None:
                stage.datapath, stage.pipeline = headers[-1].datapath, headers[-1].pipeline
            (headers[-1].children if headers else top).append(stage)
            i += 1
            continue
        if kind in ("MICROFLOW_LINE",):
            top.append(_Node(StepKind.DETAIL, line.no, line.body, line.indent))
            i += 1
            continue
        node = _leaf(line, kind)
        if node.kind is StepKind.UNPARSED:
            warnings.append(ParseWarning(line.no, f"ovn-trace line not understood, kept as is: {line.body[:80]}"))
        parent = stage if stage is not None else (headers[-1] if headers else None)
        (parent.children if parent is not None else top).append(node)
        i += 1
    return top


def _build_braces(lines: list[tuple[Line, str]], warnings: list[ParseWarning]) -> list[_Node]:
    top: list[_Node] = []
    stack: list[_Node] = []
    for line, kind in lines:
        if kind in ("PIPELINE_LINE", "MULTICAST_LINE", "OPEN_LINE") and line.body.endswith("{"):
            ctx = next((h for h in reversed(stack) if h.kind is StepKind.PIPELINE), None)
            h = _header(line, kind, ctx)
            if kind == "OPEN_LINE":
                h.text = line.body[:-1].rstrip()
                w = _HEAD_WORD.match(h.text)
                h.stage = w.group(1) if w else None
            (stack[-1].children if stack else top).append(h)
            stack.append(h)
            continue
        if kind == "CLOSE_LINE":
            if stack:  # kept as the block's last child: the line is in the model like every other
                stack[-1].children.append(_Node(StepKind.DETAIL, line.no, line.body))
                stack.pop()
            else:
                warnings.append(ParseWarning(line.no, "ovn-trace: '};' with no open block"))
                top.append(_Node(StepKind.UNPARSED, line.no, line.body))
            continue
        if kind == "MICROFLOW_LINE":
            top.append(_Node(StepKind.DETAIL, line.no, line.body))
            continue
        node = _leaf(line, kind)
        if node.kind is StepKind.UNPARSED:
            warnings.append(ParseWarning(line.no, f"ovn-trace line not understood, kept as is: {line.body[:80]}"))
        (stack[-1].children if stack else top).append(node)
    if stack:
        warnings.append(ParseWarning(stack[-1].line, f"ovn-trace: {len(stack)} block(s) not closed (input cut short)"))
    return top


def _detail_of(kinds: list[str], command: str | None) -> str:
    if command is not None:
        for opt in ("summary", "minimal", "detailed"):
            if f"--{opt}" in command:
                return opt
    if any(k in ("STAGE_LINE", "NOMATCH_LINE", "DASHES_LINE") for k in kinds):
        return "detailed"
    if any(k == "PIPELINE_LINE" for k in kinds):
        return "summary"
    return "minimal"


def build(raw: list[Line], first_line: int, last_line: int, command: str | None,
          warnings: list[ParseWarning]) -> Trace:
    """The ovn-trace trace made of the lines the segmenter kept for it (blank lines already left out)."""
    lines = [(ln, _kind(ln)) for ln in raw]
    kinds = [k for _, k in lines]
    detail = _detail_of(kinds, command)
    flow: str | None = None
    flow_line: int | None = None
    for ln, k in lines:
        if k == "MICROFLOW_LINE":
            flow, flow_line = ln.body[2:].strip(), ln.no
            break
    body = [(ln, k) for ln, k in lines if ln.no != flow_line]
    rules: list[Line] = []
    nodes = _build_detailed(body, warnings, rules) if detail == "detailed" else _build_braces(body, warnings)
    steps = tuple(n.freeze() for n in nodes)
    fields = (parse_flow(flow) if flow else None) or {}
    p = Pass(first_line, None, None, flow, fields, steps, flow_line=flow_line,
             section_lines=tuple(SectionLine(ln.no, "rule", ln.body) for ln in rules))
    verdict = decide_logical(steps, detail)
    return Trace(TraceFormat.OVN_TRACE, first_line, last_line, (p,), verdict, command=command,
                 detail=detail)


__all__ = ["Verdict", "VerdictKind", "build", "classify"]
