"""Find the traces in a paste and turn each into a :class:`~ovntrace.model.trace.Trace`.

Input is whatever people paste: prompts and the command line, prose before and after, several traces
back to back, recirculation sections, ovn-detrace annotations, elisions, ``ovn-trace`` output. Every
line ends up somewhere: in a trace (as a step, a trailer field or a note), in ``prose_lines``, or in
``warnings``.
"""

from __future__ import annotations

import gc
import re
from dataclasses import dataclass, field

from ovntrace.model._empty import FrozenMap
from ovntrace.model.actions import Action
from ovntrace.model.odp import DatapathAction
from ovntrace.model.trace import (
    ParseResult,
    ParseWarning,
    Pass,
    SectionLine,
    Step,
    StepKind,
    Trace,
    TraceFormat,
    freeze_all,
)
from ovntrace.parser.actions import parse_action_list
from ovntrace.parser.kv import MAX_NESTING as KV_MAX_NESTING
from ovntrace.parser.kv import nesting_depth as kv_nesting_depth
from ovntrace.parser.kv import parse_datapath_actions, parse_flow
from ovntrace.parser.preprocess import Line, preprocess
from ovntrace.parser.state import FieldState, replay
from ovntrace.parser.tree import (
    Node,
    annotate_semantics,
    build_flat,
    build_modern,
    indentation_reliable,
    is_numberless_table,
    parse_table_line,
    unparsed_reason,
)
from ovntrace.parser.verdict import decide

_TREE_KINDS = frozenset({
    "BRIDGE_LINE", "DASHES_LINE", "TABLE_LINE", "THAW_LINE", "BUCKET_LINE", "DETAIL_LINE", "WARN_LINE",
    "ERROR_LINE", "ELISION_LINE", "ANNOTATION_LINE", "OTHER_LINE", "OLD_NOMATCH_LINE",
})
_TRAILER_KINDS = frozenset({
    "FINAL_FLOW_LINE", "MEGAFLOW_LINE", "RELEVANT_LINE", "DP_ACTIONS_LINE", "XLATE_FAILED_LINE",
    "SLOWPATH_HDR_LINE", "SLOWPATH_ITEM_LINE", "EXEC_FAILED_LINE",
})
_LEGACY_KINDS = frozenset({"OLD_RULE_LINE", "OLD_ACTIONS_LINE", "OLD_RESUB_LINE", "OLD_NOMATCH_LINE"})
_RECIRC_RE = re.compile(
    r"^recirc\((?P<id>0x[0-9a-fA-F]+)\)(?:\s*-\s*resume conntrack with (?:default )?ct_state=(?P<ct>[a-z|]+))?"
)
_OVN_TRACE_START = re.compile(r'^(?:(?:ingress|egress)\(dp="|#\s+[a-z0-9_]+[=,])')
_OVN_TRACE_CMD = re.compile(r"(^|[\s/])ovn-trace\s")
_COMMAND_RE = re.compile(r"ofproto/trace|ovn-trace\b|ovn-detrace\b|ovs-appctl\b")
_LEGACY_RULE_RE = re.compile(r"^Rule: (?:table=(?P<table>\d+) )?cookie=(?P<cookie>\S+)\s*(?P<rest>.*)$")
_PRIO_IN_RULE = re.compile(r"(?:^|,)priority=(\d+)")


@dataclass
class _Section:
    first_line: int
    recirc_id: str | None = None
    ct_state: str | None = None
    flow: str | None = None
    flow_line: int | None = None
    tree: list[tuple[Line, str]] = field(default_factory=list)
    final_flow: str | None = None
    megaflow: str | None = None
    dp_actions: str | None = None
    dp_line: int | None = None
    nat: dict[str, str] = field(default_factory=dict)
    xlate_error: str | None = None
    slow_path: list[str] = field(default_factory=list)
    notes: list[Node] = field(default_factory=list)
    done: bool = False
    last_trailer: str | None = None  # kind of the last trailer line (to join wrapped continuations)
    lines: list[SectionLine] = field(default_factory=list)  # lines outside the tree, in order
    final_line: int | None = None
    megaflow_line: int | None = None


@dataclass
class _Trace:
    format: TraceFormat
    first_line: int
    last_line: int
    command: str | None
    sections: list[_Section]
    recirc_pending: _Section | None = None
    recirc_phase: str | None = None  # "open" after the first ====, "closed" after the second
    raw: list[Line] = field(default_factory=list)  # ovn-trace lines
    loose: list[SectionLine] = field(default_factory=list)  # "=====" lines waiting for their section


class _Segmenter:
    def __init__(self, lines: list[Line]) -> None:
        self.lines = lines
        self.traces: list[_Trace] = []
        self.prose: list[int] = []
        self.warnings: list[ParseWarning] = []
        self.cur: _Trace | None = None
        self.command: Line | None = None

    # -- helpers ---------------------------------------------------------------------------------
    def _close(self) -> None:
        if self.cur is not None:
            self.traces.append(self.cur)
        self.cur = None

    def _start(self, line: Line, fmt: TraceFormat) -> _Trace:
        self._close()
        cmd = self.command.body if self.command is not None else None
        first = self.command.no if self.command is not None else line.no
        self.cur = _Trace(fmt, first, line.no, cmd, [_Section(line.no)])
        self.command = None
        return self.cur

    def _prose(self, line: Line) -> None:
        self.prose.append(line.no)

    def _keep(self, sec: _Section, line: Line, kind: str, end: int, used: bool = True) -> None:
        """Record ``line`` (and the wrapped continuation lines up to index ``end``) in ``sec``."""
        sec.lines.append(SectionLine(line.no, kind, line.body, used))
        for k in range(line.no, end):  # line.no is the index of the next line
            nxt = self.lines[k]
            sec.lines.append(SectionLine(nxt.no, "continuation", nxt.body, used))

    @staticmethod
    def _open_pending(cur: _Trace) -> _Section:
        """The pending recirculation section becomes the current one."""
        new = cur.recirc_pending
        assert new is not None
        new.lines[:0] = cur.loose
        cur.loose = []
        cur.sections.append(new)
        cur.recirc_pending = None
        cur.recirc_phase = None
        return new

    def _drop_pending(self, cur: _Trace, why: str) -> None:
        """A recirculation header that gets no section: its lines stay, in the last section (or the
        next one), marked unused, and a warning says so."""
        old = cur.recirc_pending
        if old is None:
            return
        self.warnings.append(ParseWarning(old.first_line, why))
        kept = [SectionLine(x.line, x.kind, x.text, False) for x in old.lines]
        if cur.sections:
            cur.sections[-1].lines.extend(kept)
        else:
            cur.loose.extend(kept)
        cur.recirc_pending = None

    # -- main loop -------------------------------------------------------------------------------
    def run(self) -> None:
        lines = self.lines
        n = len(lines)
        i = 0
        cur: _Trace | None = None
        # the tree being read, when the next tree line just goes into it (what ``_line``'s first
        # branch checks; only ``_line`` changes the state it depends on, so it is looked at again
        # after each call)
        tree: list[tuple[Line, str]] | None = None
        tree_kinds = _TREE_KINDS
        while i < n:
            line = lines[i]
            kind = line.kind
            if tree is not None and kind in tree_kinds:
                if kind == "OTHER_LINE":
                    body = line.body
                    if "trace" in body or "ovs-appctl" in body:
                        i = self._line(i, line)
                        cur = self.cur
                        tree = self._open_tree(cur)
                        continue
                    if "priority " in body and is_numberless_table(body):
                        kind = "NUMBERLESS_TABLE"
                tree.append((line, kind))
                assert cur is not None
                cur.last_line = line.no
                i += 1
                continue
            i = self._line(i, line)
            cur = self.cur
            tree = self._open_tree(cur)
        self._close()

    @staticmethod
    def _open_tree(cur: _Trace | None) -> list[tuple[Line, str]] | None:
        """The tree that a tree line goes straight into (``_line``'s first branch), if any."""
        if (cur is not None and cur.format is TraceFormat.OFPROTO and cur.recirc_phase is None
                and cur.recirc_pending is None and cur.sections and not cur.sections[-1].done):
            return cur.sections[-1].tree
        return None

    def _continuations(self, i: int, text: str) -> tuple[str, int]:
        """Join wrapped continuation lines of a flow/actions line (a paste wrapped at ~80 columns)."""
        j = i + 1
        while (text.endswith(",") or text.count("(") > text.count(")")) and j < len(self.lines):
            nxt = self.lines[j]
            if nxt.kind != "OTHER_LINE" or " " in nxt.body:
                break
            text += nxt.body
            j += 1
        return text, j

    def _line(self, i: int, line: Line) -> int:
        kind = line.kind
        cur = self.cur
        body = line.body
        if (cur is not None and kind in _TREE_KINDS and cur.format is TraceFormat.OFPROTO
                and cur.recirc_phase is None and cur.recirc_pending is None and cur.sections
                and not cur.sections[-1].done
                and (kind != "OTHER_LINE" or ("trace" not in body and "ovs-appctl" not in body))):
            # the most common line by far: one more line of the tree being read. (What the checks
            # below would do with it: an OTHER_LINE without "trace"/"ovs-appctl" is no command line.)
            if kind == "OTHER_LINE" and "priority " in body and is_numberless_table(body):
                kind = "NUMBERLESS_TABLE"
            cur.sections[-1].tree.append((line, kind))
            cur.last_line = line.no
            return i + 1
        sec = cur.sections[-1] if cur is not None and cur.sections else None

        # ovn-trace output: kept verbatim as its own trace until something else starts
        if cur is not None and cur.format is TraceFormat.OVN_TRACE:
            if kind in ("FLOW_LINE", "OLD_BRIDGE_LINE") or (kind == "OTHER_LINE" and _COMMAND_RE.search(body)
                                                             and not body.startswith("#")):
                self._close()
                return self._line(i, line)
            if kind == "OTHER_LINE" and body.startswith("# ") and _OVN_TRACE_START.match(body) and any(
                    r.body.startswith("# ") and _OVN_TRACE_START.match(r.body) for r in cur.raw):
                self._close()
                return self._line(i, line)
            if kind != "BLANK":
                cur.raw.append(line)
                cur.last_line = line.no
            return i + 1

        if kind == "BLANK":
            return i + 1
        if kind == "FENCE":
            if cur is not None and (sec is None or sec.done or cur.format is TraceFormat.LEGACY):
                self._close()
            self._prose(line)
            return i + 1

        in_tree = cur is not None and sec is not None and not sec.done and cur.recirc_phase is None

        if kind == "OTHER_LINE" and not in_tree and _OVN_TRACE_START.match(body):
            self._start(line, TraceFormat.OVN_TRACE)
            assert self.cur is not None
            self.cur.sections = []
            self.cur.raw.append(line)
            return i + 1
        if (kind == "OTHER_LINE" and _OVN_TRACE_CMD.search(body) and "ofproto/trace" not in body
                and (not in_tree or _looks_like_prompt(body))):
            # ovn-trace's own output follows its command line: keep it all as one ovn-trace trace
            self._start(line, TraceFormat.OVN_TRACE)
            assert self.cur is not None
            self.cur.sections = []
            self.cur.command = body
            self._prose(line)  # kept with its number, as an ofproto/trace command line is
            return i + 1
        if kind == "OTHER_LINE" and _COMMAND_RE.search(body) and (not in_tree or _looks_like_prompt(body)):
            if cur is not None and (sec is None or sec.done or not in_tree or _looks_like_prompt(body)):
                self._close()
            self.command = line
            self._prose(line)
            return i + 1

        if kind == "FLOW_LINE":
            text, j = self._continuations(i, body[len("Flow:") :].strip())
            if cur is not None and cur.recirc_pending is not None:
                new = self._open_pending(cur)
                new.flow, new.flow_line = text, line.no
            elif (cur is not None and sec is not None and sec.flow is None and not sec.done
                  and (not sec.tree or (cur.format is TraceFormat.LEGACY and len(sec.tree) == 1
                                        and sec.tree[0][1] == "OLD_BRIDGE_LINE"))):
                sec.flow, sec.flow_line = text, line.no
            else:
                new_trace = self._start(line, TraceFormat.OFPROTO)
                new_trace.sections[0].flow = text
                new_trace.sections[0].flow_line = line.no
            assert self.cur is not None
            self._keep(self.cur.sections[-1], line, "flow", j)
            self.cur.last_line = self.lines[j - 1].no
            return j

        if kind == "RECIRC_RULE_LINE":
            if cur is not None and cur.format is not TraceFormat.OVN_TRACE:
                if cur.recirc_phase == "open" and cur.recirc_pending is not None:
                    cur.recirc_phase = "closed"
                else:
                    cur.recirc_phase = "open"
                rule = SectionLine(line.no, "recirc_rule", line.body)
                (cur.recirc_pending.lines if cur.recirc_pending is not None else cur.loose).append(rule)
                cur.last_line = line.no
            else:
                self._prose(line)
            return i + 1
        if kind == "RECIRC_HDR_LINE":
            m = _RECIRC_RE.match(body)
            if cur is None:
                cur = self._start(line, TraceFormat.OFPROTO)
                cur.sections = []
            new = _Section(line.no, recirc_id=m.group("id") if m else None, ct_state=m.group("ct") if m else None)
            if cur.recirc_pending is not None:
                self._drop_pending(cur, f"two recirculation headers in a row (lines {cur.recirc_pending.first_line} "
                                        f"and {line.no}): what follows is taken as the section of line {line.no}; "
                                        f"line {cur.recirc_pending.first_line} has no section")
                new.lines.extend(cur.loose)
                cur.loose = []
            new.lines.append(SectionLine(line.no, "recirc_header", body))
            cur.recirc_pending = new
            cur.recirc_phase = cur.recirc_phase or "open"
            cur.last_line = line.no
            return i + 1
        if kind in ("NAT_HDR_LINE", "NAT_INIT_LINE", "NAT_MOD_LINE"):
            if cur is not None and cur.recirc_pending is not None:
                pending = cur.recirc_pending
                used = True
                if kind != "NAT_HDR_LINE":
                    key = "initial" if kind == "NAT_INIT_LINE" else "modified"
                    if key in pending.nat:
                        used = False
                        first = next((x.line for x in pending.lines if x.kind == "nat" and x.used
                                     and x.text.startswith(body.split(":", 1)[0])), pending.first_line)
                        self.warnings.append(ParseWarning(line.no, f"a second '{body.split(':', 1)[0]}:' line in "
                                                                   f"this NAT block (line {line.no}): line {first} "
                                                                   "is the one used"))
                    else:
                        pending.nat[key] = body.split(":", 1)[1].strip()
                pending.lines.append(SectionLine(line.no, "nat", body, used))
                cur.last_line = line.no
            else:
                self._prose(line)
            return i + 1
        if kind in ("RECIRC_LIMIT_LINE", "QUEUED_LINE"):
            if cur is not None and cur.sections:
                cur.sections[-1].notes.append(Node(StepKind.WARNING, line.no, body))
                cur.recirc_phase = None
                self._drop_pending(cur, f"recirculation header with no section: line {line.no} says the trace "
                                        "stopped")
                cur.last_line = line.no
            else:
                self._prose(line)
            return i + 1

        if kind == "OLD_BRIDGE_LINE":
            t = self._start(line, TraceFormat.LEGACY)
            t.sections[0].tree.append((line, kind))
            return i + 1
        if (kind in _LEGACY_KINDS and kind != "OLD_NOMATCH_LINE") or (
                kind == "OLD_NOMATCH_LINE" and cur is not None and cur.format is TraceFormat.LEGACY):
            if cur is not None and cur.format is TraceFormat.OFPROTO and sec is not None and not sec.tree \
                    and not sec.done and len(cur.sections) == 1:
                cur.format = TraceFormat.LEGACY
            elif cur is None or cur.format is not TraceFormat.LEGACY or (sec is not None and sec.done):
                cur = self._start(line, TraceFormat.LEGACY)
                sec = cur.sections[0]
            assert cur is not None and cur.sections
            cur.sections[-1].tree.append((line, kind))
            cur.last_line = line.no
            return i + 1

        if kind in _TRAILER_KINDS:
            if cur is None or cur.format is TraceFormat.OVN_TRACE:
                cur = self._start(line, TraceFormat.OFPROTO)
            if cur.recirc_pending is not None:  # a recirculation section without its Flow: line
                self._open_pending(cur)
            sec = cur.sections[-1]
            j = i + 1
            value = body.split(":", 1)[1].strip() if ":" in body else body
            if kind in ("FINAL_FLOW_LINE", "MEGAFLOW_LINE", "RELEVANT_LINE", "DP_ACTIONS_LINE"):
                text, j = self._continuations(i, value)
                what = {"FINAL_FLOW_LINE": "final_flow", "DP_ACTIONS_LINE": "datapath_actions"}.get(kind, "megaflow")
                before = {"final_flow": sec.final_line, "megaflow": sec.megaflow_line,
                          "datapath_actions": sec.dp_line}[what]
                self._keep(sec, line, what, j, used=before is None)
                if before is not None:
                    label = body.split(":", 1)[0]
                    self.warnings.append(ParseWarning(line.no, (
                        f"a second '{label}:' line in this pass (line {line.no}): line {before} is the one used"
                        + (" for the verdict" if what == "datapath_actions" else "") + "; both are kept")))
                elif what == "final_flow":
                    sec.final_flow, sec.final_line = text, line.no
                elif what == "megaflow":
                    sec.megaflow, sec.megaflow_line = text, line.no
                else:
                    sec.dp_actions, sec.dp_line = text, line.no
                sec.done = sec.done or what == "datapath_actions"
            elif kind == "XLATE_FAILED_LINE":
                m = re.match(r"Translation failed \((.*)\), packet is dropped\.?", body)
                if sec.xlate_error is None:
                    sec.xlate_error = m.group(1) if m else body
                sec.notes.append(Node(StepKind.ERROR, line.no, body))
                sec.done = True
            elif kind == "SLOWPATH_HDR_LINE":
                sec.notes.append(Node(StepKind.DETAIL, line.no, body))
            elif kind == "SLOWPATH_ITEM_LINE":
                item = body.lstrip("- \t").rstrip(".")
                sec.slow_path.append(item)
                sec.notes.append(Node(StepKind.DETAIL, line.no, body))
            elif kind == "EXEC_FAILED_LINE":
                sec.notes.append(Node(StepKind.ERROR, line.no, body))
                if i + 1 < len(self.lines) and self.lines[i + 1].body == ".":
                    j = i + 2
                    sec.lines.append(SectionLine(self.lines[i + 1].no, "end", "."))
            sec.last_trailer = kind
            cur.last_line = self.lines[j - 1].no
            return j

        if kind in _TREE_KINDS:
            if cur is not None and cur.recirc_pending is not None and kind in (
                    "BRIDGE_LINE", "TABLE_LINE", "THAW_LINE"):
                # a recirculation section whose Flow: line was cut from the paste
                self._open_pending(cur)
                in_tree = True
                sec = cur.sections[-1]
            if cur is not None and sec is not None and not sec.done and cur.recirc_phase is None:
                if cur.format is TraceFormat.LEGACY:
                    sec.tree.append((line, kind))
                    cur.last_line = line.no
                    return i + 1
                if kind == "OTHER_LINE" and is_numberless_table(body):
                    kind = "NUMBERLESS_TABLE"
                if kind == "BRIDGE_LINE" and sec.tree and not sec.flow and self.command is not None:
                    pass
                sec.tree.append((line, kind))
                cur.last_line = line.no
                return i + 1
            # outside a trace
            starts = kind in ("BRIDGE_LINE", "TABLE_LINE", "THAW_LINE") or (
                kind == "ELISION_LINE" and self.command is not None)
            if starts:
                t = self._start(line, TraceFormat.OFPROTO)
                t.sections[0].tree.append((line, kind))
                return i + 1
            if kind == "ANNOTATION_LINE" and cur is not None and sec is not None:
                sec.notes.append(Node(StepKind.ANNOTATION, line.no, body))
                cur.last_line = line.no
                return i + 1
            if cur is not None and sec is not None and sec.done and kind != "ELISION_LINE":
                self._close()
            self._prose(line)
            return i + 1

        self._prose(line)
        return i + 1


_PROMPT_RE = re.compile(r"^(\S*[$#>]\s|\[[^\]]+\][$#]\s|\(\S+\)\s*\$\s|sh-[\d.]+#\s)")


def _looks_like_prompt(body: str) -> bool:
    return bool(_PROMPT_RE.match(body)) or body.startswith(("ovs-appctl ", "sudo ", "kubectl ", "docker "))


# ---------------------------------------------------------------------------------------------------
# building the model


def _freeze_below(root: Node) -> tuple[Step, ...]:
    """Freeze every node under ``root`` in place (iteratively: trees nest deep); its children as Steps."""
    stack = list(root.children)
    while stack:
        n = stack.pop()
        if n.children:
            stack.extend(n.children)
        n.freeze()
    return tuple(root.children)


def _flow_complete(text: str | None, fields: dict[str, str] | None) -> bool:
    if text is None or fields is None:
        return False
    return not text.endswith((",", "...", "…")) and "in_port" in fields


def _modern_pass(sec: _Section, warnings: list[ParseWarning]) -> Pass:
    fields = parse_flow(sec.flow) if sec.flow is not None else None
    if sec.flow is not None and fields is None:
        warnings.append(ParseWarning(sec.flow_line or sec.first_line,
                                     "Flow: line " + _why_not_kv(sec.flow) + "; kept as text"))
    root = Node(StepKind.BRIDGE, 0, "")
    rules = [SectionLine(ln.no, "rule", ln.body) for ln, k in sec.tree if k == "DASHES_LINE"]
    tree = sec.tree
    made: list[Node] = []
    if tree:
        base = min(ln.indent for ln, k in tree if k == "BRIDGE_LINE") if any(
            k == "BRIDGE_LINE" for _, k in tree) else min(ln.indent for ln, _ in tree)
        if base:
            tree = [(_shift(ln, base), k) for ln, k in tree]
        if indentation_reliable(tree):
            build_modern(tree, root, made)
        else:
            warnings.append(ParseWarning(
                tree[0][0].no,
                "indentation was lost in this paste (ovn-detrace or Markdown): nesting rebuilt from "
                "resubmit targets"))
            build_flat(tree, root, made)
    annotate_semantics(root)
    initial = FieldState.from_flow(fields, _flow_complete(sec.flow, fields))
    replay(root, initial, parse_flow)
    # the tree's nodes are ``made``, in its depth-first order
    for n in made:
        if n.kind is StepKind.UNPARSED:
            _unparsed_warning(n, unparsed_reason(n.text), warnings)
    if len(made) >= MAX_TREE_DEPTH:  # a tree of fewer nodes cannot nest that deep
        _cap_depth(root, warnings)
    freeze_all(made)
    steps = tuple(root.children)
    dp_parsed = _datapath_actions(sec, warnings)
    return Pass(
        first_line=sec.first_line if sec.recirc_id else (sec.flow_line or sec.first_line),
        recirc_id=sec.recirc_id, ct_state=sec.ct_state, flow=sec.flow,
        fields=FrozenMap(fields or ()), steps=steps, final_flow=sec.final_flow,
        megaflow=sec.megaflow, datapath_actions=sec.dp_actions, datapath_actions_parsed=dp_parsed,
        flow_line=sec.flow_line, datapath_actions_line=sec.dp_line, nat=FrozenMap(sec.nat),
        translation_error=sec.xlate_error, slow_path=tuple(sec.slow_path),
        notes=tuple(n.freeze() for n in sec.notes),
        section_lines=tuple(sorted((*sec.lines, *rules), key=lambda x: x.line)),
    )


# A trace tree deeper than this is shown flat below it (a warning says where). OVS stops a translation
# after 4096 resubmits (MAX_RESUBMITS in ofproto/ofproto-dpif-xlate.c, OVS 2.x-3.5), so a real tree
# nests less deep; the cap keeps renderers and JSON encoders (which recurse) within bounds.
MAX_TREE_DEPTH = 4096


def _cap_depth(root: Node, warnings: list[ParseWarning]) -> None:
    """Flatten what nests deeper than :data:`MAX_TREE_DEPTH`: the nodes below a node at that depth
    become its children, in input order (state and semantics were computed on the real nesting)."""
    stack: list[tuple[Node, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if depth < MAX_TREE_DEPTH:
            stack.extend((c, depth + 1) for c in node.children)
            continue
        if not any(c.children for c in node.children):
            continue
        flat: list[Node] = []
        todo = list(reversed(node.children))
        while todo:
            n = todo.pop()
            flat.append(n)
            todo.extend(reversed(n.children))
            n.children = []
        node.children = flat
        warnings.append(ParseWarning(flat[0].line, (
            f"the trace tree nests deeper than {MAX_TREE_DEPTH} levels here (OVS stops after 4096 resubmits): "
            f"lines {flat[0].line}-{max(n.line for n in flat)} are shown flat, in input order")))


def _unparsed_warnings(root: Node, warnings: list[ParseWarning], reasons: dict[int, str]) -> None:
    """A warning for each unparsed node under ``root``, depth first; ``reasons``: why, by ``id(node)``."""
    stack = list(reversed(root.children))
    while stack:
        n = stack.pop()
        if n.kind is StepKind.UNPARSED:
            _unparsed_warning(n, reasons.get(id(n)), warnings)
        stack.extend(reversed(n.children))


def _unparsed_warning(n: Node, reason: str | None, warnings: list[ParseWarning]) -> None:
    why = reason if reason else "not understood"
    warnings.append(ParseWarning(n.line, f"{why}, kept as unparsed: {n.text[:80]}"))


def _why_not_kv(text: str) -> str:
    depth = kv_nesting_depth(text)
    if depth > KV_MAX_NESTING:
        return f"nests {depth} levels deep (more than {KV_MAX_NESTING}): not parsed"
    return "is not flow syntax"


def _datapath_actions(sec: _Section, warnings: list[ParseWarning]) -> tuple[DatapathAction, ...] | None:
    dp_parsed = parse_datapath_actions(sec.dp_actions) if sec.dp_actions is not None else None
    if sec.dp_actions is not None and dp_parsed is None:
        why = _why_not_kv(sec.dp_actions).replace("is not flow syntax", "not understood")
        warnings.append(ParseWarning(sec.dp_line or 0, f"Datapath actions {why}; kept as text, the verdict "
                                                       "does not use them"))
    return dp_parsed


def _shift(line: Line, base: int) -> Line:
    return Line(line.no, line.kind, max(0, line.indent - base), line.tabs, line.body)


# -- the pre-2.7 format --------------------------------------------------------------------------------


def _legacy_pass(sec: _Section, warnings: list[ParseWarning]) -> tuple[Pass, str | None]:
    """``Rule:``/``OpenFlow actions=`` blocks, nested one TAB (or 8 spaces) per resubmit."""
    bridge_name: str | None = None
    flow_fields = parse_flow(sec.flow) if sec.flow else None
    root = Node(StepKind.BRIDGE, 0, "")
    top = root
    stack: list[tuple[int, Node]] = []  # (depth, table)
    last_flow: dict[str, str] | None = dict(flow_fields) if flow_fields else None
    pending_flow: dict[str, str] | None = None
    pending_regs: dict[str, str] = {}
    pending_details: list[Node] = []
    reasons: dict[int, str] = {}  # why an unparsed node is (by id: the nodes live until the end of the pass)
    tree = sec.tree
    spaces_base = min((ln.indent for ln, k in tree if ln.tabs == 0), default=0)

    def depth_of(ln: Line) -> int:
        return ln.tabs if ln.tabs else max(0, ln.indent - spaces_base) // 8

    def state_for(depth: int, match: str | None) -> FieldState:
        if depth == 0 or (pending_flow is None and not pending_regs):
            st = FieldState.from_flow(flow_fields, _flow_complete(sec.flow, flow_fields))
        else:
            st = FieldState.from_flow(pending_flow if pending_flow is not None else last_flow, True)
        for k, v in pending_regs.items():
            st.assign(k, v)
        st.apply_match(match, parse_flow)
        return st

    for ln, kind in tree:
        body = ln.body
        d = depth_of(ln)
        if kind == "OLD_BRIDGE_LINE":
            bridge_name = body.split(":", 1)[1].strip()
            top = Node(StepKind.BRIDGE, ln.no, f'bridge("{bridge_name}")', bridge=bridge_name)
            root.children.append(top)
            continue
        if kind == "OLD_RESUB_LINE":
            label, _, value = body.partition(":")
            value = value.strip()
            pending_details.append(Node(StepKind.DETAIL, ln.no, body))
            if label.endswith("flow"):
                pending_flow = (last_flow if value == "unchanged" else parse_flow(value)) or {}
                if value != "unchanged":
                    last_flow = dict(pending_flow)
            elif label.endswith("regs"):
                pending_regs = dict(kv.split("=", 1) for kv in value.split() if "=" in kv)
            continue
        if kind in ("OLD_RULE_LINE", "OLD_NOMATCH_LINE") or (kind == "TABLE_LINE"):
            while stack and stack[-1][0] >= d:
                stack.pop()
            parent = stack[-1][1] if stack else top
            if kind == "OLD_RULE_LINE":
                m = _LEGACY_RULE_RE.match(body)
                table = int(m.group("table")) if m and m.group("table") else None
                cookie = m.group("cookie") if m else None
                rest = m.group("rest").strip() if m else body
                pm = _PRIO_IN_RULE.search(rest)
                prio = int(pm.group(1)) if pm else 32768
                match = _PRIO_IN_RULE.sub("", rest).strip(",")
                node = Node(StepKind.TABLE, ln.no, body, table=table, match=match, priority=prio,
                            cookie=None if cookie in (None, "0") else cookie, bridge=bridge_name)
            elif kind == "TABLE_LINE":
                t, match_, prio_, cookie_, miss_ = parse_table_line(body)
                node = Node(StepKind.TABLE, ln.no, body, table=t, match=match_, priority=prio_, cookie=cookie_,
                            miss=miss_, bridge=bridge_name)
            else:
                node = Node(StepKind.TABLE, ln.no, body, miss=True, bridge=bridge_name)
                target = _last_resubmit_target(parent)
                node.table = target
            node.state = state_for(d, node.match).snapshot()
            node.children.extend(pending_details)
            pending_details = []
            pending_flow, pending_regs = None, {}
            parent.children.append(node)
            stack.append((d, node))
            continue
        if kind == "OLD_ACTIONS_LINE":
            owner = stack[-1][1] if stack else top
            text = body.split("=", 1)[1] if "=" in body else body.split(":", 1)[1]
            acts = parse_action_list(text)
            for a in acts:
                error = a.args.get("error") if not a.known else None
                if error is not None:
                    bad = Node(StepKind.UNPARSED, ln.no, a.text)
                    reasons[id(bad)] = str(error)
                    owner.children.append(bad)
                else:
                    owner.children.append(Node(StepKind.ACTION, ln.no, a.text, action=a))
            if not acts:  # "OpenFlow actions=" with nothing after it: the line stays, as a detail
                owner.children.append(Node(StepKind.DETAIL, ln.no, body))
            continue
        owner = stack[-1][1] if stack else top
        if kind == "ELISION_LINE":
            owner.children.append(Node(StepKind.ELIDED, ln.no, body))
        elif kind == "ANNOTATION_LINE":
            owner.children.append(Node(StepKind.ANNOTATION, ln.no, body))
        else:  # pre-2.7 details are bare text (no "->")
            owner.children.append(Node(StepKind.DETAIL, ln.no, body))
    for n in pending_details:
        (stack[-1][1] if stack else top).children.append(n)
    for n in root.children:
        if n.kind is StepKind.TABLE and n.via is None:
            pass
    annotate_semantics(root)
    _unparsed_warnings(root, warnings, reasons)
    _cap_depth(root, warnings)
    steps = _freeze_below(root)
    dp_parsed = _datapath_actions(sec, warnings)
    return Pass(
        first_line=sec.first_line, recirc_id=None, ct_state=None, flow=sec.flow,
        fields=FrozenMap(flow_fields or ()), steps=steps, final_flow=sec.final_flow,
        megaflow=sec.megaflow, datapath_actions=sec.dp_actions, datapath_actions_parsed=dp_parsed,
        flow_line=sec.flow_line, datapath_actions_line=sec.dp_line, translation_error=sec.xlate_error,
        slow_path=tuple(sec.slow_path), notes=tuple(n.freeze() for n in sec.notes),
        section_lines=tuple(sec.lines),
    ), bridge_name


def _last_resubmit_target(node: Node) -> int | None:
    for c in reversed(node.children):
        if c.kind is StepKind.ACTION and c.action is not None and c.action.name in ("resubmit", "goto_table"):
            t = c.action.args.get("table")
            return t if isinstance(t, int) else node.table
    return None


def _top_bridge(p: Pass) -> str | None:
    for s in p.steps:
        if s.kind is StepKind.BRIDGE:
            return s.bridge
    return None


def _build(t: _Trace, warnings: list[ParseWarning]) -> Trace:
    if t.format is TraceFormat.OVN_TRACE:
        from ovntrace.parser.ovntrace import build as build_ovn_trace  # only for ovn-trace output

        return build_ovn_trace(t.raw, t.first_line, t.last_line, t.command, warnings)
    passes: list[Pass] = []
    bridge: str | None = None
    if t.format is TraceFormat.LEGACY:
        for sec in t.sections:
            p, bridge = _legacy_pass(sec, warnings)
            passes.append(p)
    else:
        if t.recirc_pending is not None:
            pending = t.recirc_pending
            if t.sections:
                warnings.append(ParseWarning(pending.first_line,
                                             "recirculation header with no section after it (input cut short)"))
                t.sections[-1].lines.extend(SectionLine(x.line, x.kind, x.text, False)
                                            for x in (*t.loose, *pending.lines))
                t.loose = []
            else:  # nothing but recirculation headers: they are the trace
                t.sections.append(pending)
            t.recirc_pending = None
        if t.loose:
            if not t.sections:
                t.sections.append(_Section(t.loose[0].line))
            t.sections[-1].lines.extend(t.loose)
        for sec in t.sections:
            passes.append(_modern_pass(sec, warnings))
        bridge = next((b for b in (_top_bridge(p) for p in passes) if b), None)
    complete = all(p.datapath_actions is not None or p.translation_error for p in passes) and bool(passes)
    verdict = decide(tuple(passes), complete)
    return Trace(t.format, t.first_line, t.last_line, tuple(passes), verdict, command=t.command, bridge=bridge)


def parse(text: str) -> ParseResult:
    """Parse everything in ``text``. Never raises on bad input: problems become warnings.

    The cyclic garbage collector is paused while parsing: the parse allocates hundreds of thousands
    of acyclic objects, and collections triggered by them (scanning everything already alive) cost
    more than the parse itself on large inputs.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _parse(text)
    finally:
        if enabled:
            gc.enable()


@dataclass
class Segments:
    """An input cut into traces by :func:`segment`, none built yet: ``traces`` in input order (each made a
    :class:`Trace` by :func:`build_trace`), the segmenter's warnings, the prose lines and the line count.
    The streaming explain (ovntrace/explaincmd.py) and the TUI's progressive read build them one by one."""

    traces: list[_Trace]
    warnings: list[ParseWarning]
    prose: tuple[int, ...]
    line_count: int


def segment(text: str) -> Segments:
    """Which lines of ``text`` are which trace (preprocessing and segmentation: the first half of
    :func:`parse`), with the cyclic GC paused as :func:`parse` pauses it. The preprocessed lines are not
    kept: each is held only by the trace it belongs to."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        lines = preprocess(text)
        seg = _Segmenter(lines)
        seg.run()
        return Segments(seg.traces, list(seg.warnings), tuple(seg.prose), len(lines))
    finally:
        if enabled:
            gc.enable()


def build_trace(t: _Trace, warnings: list[ParseWarning]) -> Trace:
    """One segmented trace built (the second half of :func:`parse`); its warnings are appended to
    ``warnings``, unsorted."""
    return _build(t, warnings)


def _parse(text: str) -> ParseResult:
    segs = segment(text)
    # each input line is held only by the trace it belongs to: as each trace is built, its lines (and
    # their raw text) are freed, so the lines and the model are not all alive at once
    warnings = segs.warnings
    todo = segs.traces[::-1]
    segs.traces = []
    built: list[Trace] = []
    while todo:
        built.append(_build(todo.pop(), warnings))
    warnings.sort(key=lambda w: w.line)
    return ParseResult(tuple(built), tuple(warnings), segs.line_count, segs.prose)


__all__ = ["Action", "parse"]
