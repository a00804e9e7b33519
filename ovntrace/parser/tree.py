"""Rebuild the tree OVS printed (bridges, tables, actions) from indentation, or without it.

OVS prints its trace tree with ``oftrace_node_print_details`` (ofproto/ofproto-dpif-trace.c, 2.7 to
4.0): a node is indented ``4 * (level + more)`` where ``more`` is 0 only for a bridge/table/thaw that
is the *last* node of its parent's list. That is why a long ``resubmit(,N)`` chain prints at column
0 (a tail call) and why a non-last nested table prints 4 columns deeper with its actions 8 deeper.
Inverting it: a line at column ``4k`` with ``k`` odd is a "more" node of the list at level ``k - 1``;
with ``k`` even it is the tail of the list at level ``k``, and its children continue at that level.

When indentation is gone (ovn-detrace before 25.09 strips it; Markdown renderers too), the flat
fallback nests from meaning instead: a table ``N.`` is entered by the most recent open
``resubmit(,N)``/``goto_table:N``.
"""

from __future__ import annotations

import functools
import re

from ovntrace.model._empty import EMPTY_MAP
from ovntrace.model.actions import Action
from ovntrace.model.trace import StepBuilder, StepKind
from ovntrace.parser.actions import parse_action
from ovntrace.parser.preprocess import Line

_TABLE_RE = re.compile(r"^(?P<id>\d{1,3}|--)\.\s+(?P<rest>.*)$")
_PRIO_RE = re.compile(r"^(?:(?P<match>.*?),\s*)?priority (?P<prio>-?\d+)(?:,\s*cookie (?P<cookie>0x[0-9a-fA-F]+))?\s*$")
# a table line whose "N. " was eaten by a Markdown ordered list
_NUMBERLESS_TABLE_RE = re.compile(r"^(?:\S.*,\s*)?priority \d+(?:,\s*cookie 0x[0-9a-fA-F]+)?$")
_BRIDGE_RE = re.compile(r'^bridge\("(?P<name>.*)"\)$')
_RESUMING_RE = re.compile(r"^Resuming from table (\d+)$")
MISS_TEXTS = (
    "No match.",
    'No match, and a "packet-in" is called for.',
    'Packets are IP fragments and the fragment handling mode is "drop".',
)


# A node of the tree being built: a Step's fields, mutable; frozen in place into the Step afterwards.
Node = StepBuilder


def parse_table_line(body: str) -> tuple[int | None, str | None, int | None, str | None, bool]:
    """``" 8. metadata=0x1, priority 50, cookie 0x5db9da72"`` -> (8, "metadata=0x1", 50, "0x5db9da72", False)."""
    m = _TABLE_RE.match(body)
    table: int | None = None
    rest = body
    if m:
        table = None if m.group("id") == "--" else int(m.group("id"))
        rest = m.group("rest")
    if rest in MISS_TEXTS or rest.startswith("No match"):
        return table, None, None, None, True
    p = _PRIO_RE.match(rest)
    if p:
        return table, p.group("match") or "", int(p.group("prio")), p.group("cookie"), False
    return table, rest, None, None, False


def is_numberless_table(body: str) -> bool:
    return bool(_NUMBERLESS_TABLE_RE.match(body))


def make_node(line: Line, kind: str, bridge: str | None) -> Node:
    body = line.body
    if kind == "OTHER_LINE":  # most tree lines: an action
        return _action_node(line, body)
    if kind == "BRIDGE_LINE":
        m = _BRIDGE_RE.match(body)
        return Node(StepKind.BRIDGE, line.no, body, bridge=m.group("name") if m else body)
    if kind == "TABLE_LINE" or kind == "NUMBERLESS_TABLE":
        table, match, prio, cookie, miss = _table_fields(body)
        return Node(_TABLE, line.no, body, None, table, match, prio, cookie, miss, bridge)
    if kind == "THAW_LINE":
        return Node(StepKind.THAW, line.no, body)
    if kind == "BUCKET_LINE":
        return Node(StepKind.BUCKET, line.no, body)
    if kind == "DETAIL_LINE":
        return Node(StepKind.DETAIL, line.no, body[2:].strip() if body.startswith("->") else body)
    if kind == "WARN_LINE":
        return Node(StepKind.WARNING, line.no, body[2:].strip())
    if kind == "ERROR_LINE":
        text = body[4:].strip()
        if text.endswith("<<<<"):
            text = text[:-4].strip()
        return Node(StepKind.ERROR, line.no, text)
    if kind == "ELISION_LINE":
        return Node(StepKind.ELIDED, line.no, body)
    if kind == "ANNOTATION_LINE":
        return Node(StepKind.ANNOTATION, line.no, body)
    return _action_node(line, body)


_TABLE = StepKind.TABLE
# the table lines and action lines of a paste repeat (every trace of a paste goes through the same tables):
# what a line's text says is worked out once per distinct text (pure functions of the text, bounded)
_table_fields = functools.lru_cache(maxsize=16384)(parse_table_line)


@functools.lru_cache(maxsize=16384)
def _action_shape(body: str) -> tuple[StepKind, Action | None]:
    """What an action line's node is: (ACTION, its action) or (UNPARSED, None)."""
    action = parse_action(body)
    error = action.args.get("error") if not action.known else None
    if error is not None:
        # an action the state replay cannot apply as printed: keep the line, say why (state.replay
        # then forgets what it may have written; unparsed_reason gives the why)
        return StepKind.UNPARSED, None
    if action.known or _looks_like_action(body):
        return StepKind.ACTION, action
    if body.startswith("Dropping packet"):  # OFT_ACTION debug texts of encap/decap (OVS 2.8+)
        return StepKind.ACTION, Action("drop", body, {"reason": body})
    return StepKind.UNPARSED, None


def _action_node(line: Line, body: str) -> Node:
    kind, action = _action_shape(body)
    return Node(kind, line.no, body, None, None, None, None, None, False, None, EMPTY_MAP, action)


def unparsed_reason(text: str) -> str | None:
    """Why :func:`make_node` kept the line ``text`` as an unparsed step (None: not understood)."""
    action = parse_action(text)
    error = action.args.get("error") if not action.known else None
    return str(error) if error is not None else None


_ACTION_SHAPE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\(.*\)|:\S+)?(->\S+)?$")


def _looks_like_action(body: str) -> bool:
    # bounded: the pattern backtracks on long lines of "->" runs, and no real action is this long
    return len(body) <= _ACTION_SHAPE_MAX and bool(_ACTION_SHAPE.match(body))


_ACTION_SHAPE_MAX = 8192


_CONTAINER_KINDS = (StepKind.BRIDGE, StepKind.TABLE, StepKind.THAW)


def indentation_reliable(lines: list[tuple[Line, str]]) -> bool:
    """False when the paste lost OVS's indentation (then nest by meaning, see :func:`build_flat`).

    Raw output never prints an action/detail/warning below column 4, and always prints table ids
    below 10 with one leading space (``" 0."``).
    """
    saw_table = False
    for line, kind in lines:
        if kind in ("TABLE_LINE",):
            saw_table = True
            tid = line.body.split(".", 1)[0]
            if tid.isdigit() and len(tid) == 1 and line.indent % 4 == 0:
                return False
        elif kind == "NUMBERLESS_TABLE" or (
            kind in ("OTHER_LINE", "DETAIL_LINE", "WARN_LINE", "ERROR_LINE") and line.indent < 4
        ):
            return False
    return saw_table or bool(lines)


def build_modern(lines: list[tuple[Line, str]], root: Node, made: list[Node] | None = None) -> None:
    """Attach ``lines`` (one bridge section's tree lines, blanks removed) under ``root`` by column.
    ``made``: gets every node made, in input order (which is also the tree's depth-first order)."""
    stack: list[tuple[Node, int]] = [(root, 0)]
    current_bridge = root.bridge
    bridge_kind, bucket_kind = StepKind.BRIDGE, StepKind.BUCKET
    side_kinds = (StepKind.ELIDED, StepKind.ANNOTATION)
    action_shape, table_fields, empty = _action_shape, _table_fields, EMPTY_MAP
    for line, kind in lines:
        # (make_node, with its two most common cases written out)
        if kind == "OTHER_LINE":  # an action (or an unparsed line): a terminal node, placed at once
            body = line.body
            nk, action = action_shape(body)
            node = Node(nk, line.no, body, None, None, None, None, None, False, None, empty, action)
            if made is not None:
                made.append(node)
            k = line.indent >> 2
            if k & 1:
                level = k - 1
                while len(stack) > 1 and stack[-1][1] > level:
                    stack.pop()
            # (at an even column it was pasted with damage: kept where we are, as below)
            stack[-1][0].children.append(node)
            continue
        if kind == "TABLE_LINE":
            body = line.body
            table, match, prio, cookie, miss = table_fields(body)
            nk = _TABLE
            node = Node(nk, line.no, body, None, table, match, prio, cookie, miss, current_bridge)
        elif kind == "DASHES_LINE":
            continue
        else:
            node = make_node(line, kind, current_bridge)
            nk = node.kind
        if made is not None:
            made.append(node)
        k = line.indent // 4
        if nk in _CONTAINER_KINDS:
            if nk is bridge_kind:
                current_bridge = node.bridge
            level, tail = (k - 1, False) if k % 2 else (k, True)
        elif nk in side_kinds:
            # human or tool additions: attach where we are, change nothing
            stack[-1][0].children.append(node)
            continue
        elif nk is bucket_kind:
            level, tail = (k - 1, False) if k % 2 else (k, True)
        else:  # a terminal line; at an even column it was pasted with damage: keep it where we are
            level, tail = (k - 1, False) if k % 2 else (stack[-1][1], False)
        while len(stack) > 1 and stack[-1][1] > level:
            stack.pop()
        stack[-1][0].children.append(node)
        if nk in _CONTAINER_KINDS:
            if tail:
                stack.pop()
                stack.append((node, level))
            else:
                stack.append((node, level + 2))
        elif nk is bucket_kind:
            stack.append((node, level + 2))


def _pending_target(node: Node) -> int | None:
    """The table the last action of ``node`` sends the packet to, if it is a resubmit/goto_table."""
    kids = node.children
    if not kids or kids[-1].kind is StepKind.TABLE or kids[-1].kind is StepKind.BRIDGE:
        return None  # the fast answer, asked for every open table when a paste's targets do not match
    for child in reversed(node.children):
        if child.kind is StepKind.ACTION and child.action is not None:
            a = child.action
            if a.name == "resubmit":
                t = a.args.get("table")
                return t if t is not None else node.table
            if a.name == "goto_table":
                t = a.args.get("table")
                return t if isinstance(t, int) else None
            return None
        if child.kind is StepKind.THAW:
            m = _RESUMING_RE.match(child.text) or next(
                (_RESUMING_RE.match(g.text) for g in child.children if _RESUMING_RE.match(g.text)), None)
            return int(m.group(1)) if m else None
        if child.kind in (StepKind.TABLE, StepKind.BRIDGE):
            return None
    return None


# how far down the open tables the flat fallback looks for the resubmit that entered a table (OVS
# nests translations at most 64 deep: MAX_DEPTH in ofproto/ofproto-dpif-xlate.c)
FLAT_SEARCH = 64


def build_flat(lines: list[tuple[Line, str]], root: Node, made: list[Node] | None = None) -> None:
    """Nest by meaning when indentation is unreliable: ``resubmit(,N)`` -> next ``N.`` line.
    ``made``: as for :func:`build_modern`."""
    stack: list[Node] = [root]
    current_bridge = root.bridge
    for line, kind in lines:
        if kind == "DASHES_LINE":
            continue
        node = make_node(line, kind, current_bridge)
        if made is not None:
            made.append(node)
        if node.kind is StepKind.BRIDGE:
            current_bridge = node.bridge
            # a nested bridge follows the output action that caused it
            stack[-1].children.append(node)
            stack.append(node)
            continue
        if node.kind is StepKind.TABLE:
            placed = False
            # the resubmit that entered a table is the latest open one in real pastes; looking at most
            # FLAT_SEARCH entries down keeps a paste whose targets never match linear
            for i in range(len(stack) - 1, max(-1, len(stack) - 1 - FLAT_SEARCH), -1):
                target = _pending_target(stack[i])
                if target is not None and (node.table is None or target == node.table):
                    del stack[i + 1 :]
                    stack[-1].children.append(node)
                    placed = True
                    break
                if stack[i].kind is StepKind.BRIDGE:
                    break
            if not placed:
                stack[-1].children.append(node)
            stack.append(node)
            continue
        if node.kind is StepKind.THAW and stack[-1].kind is StepKind.THAW:
            stack[-1].children.append(node)
            continue
        stack[-1].children.append(node)
        if node.kind in (StepKind.THAW, StepKind.BUCKET):
            stack.append(node)


def annotate_semantics(root: Node) -> None:
    """Mark what OVS printed twice or flattened, and link tables to the action that entered them.

    * ``clone(a,b)`` / ``ct(...,nat(..),exec(x))`` print their inner actions again as siblings:
      mark those with ``nested_in`` = the container's line; an empty inner list prints a ``drop``
      that does nothing (``spurious``).
    * after ``check_pkt_larger(N)->F`` the rest of the list is printed twice: the second copy is
      ``spurious``.
    """
    table_kind, action_kind = StepKind.TABLE, StepKind.ACTION
    stack = [root]  # nodes with children (each list of siblings is marked on its own: any order)
    while stack:
        node = stack.pop()
        kids = node.children
        last_action: Node | None = None
        budget: list[int] | None = None
        for i, child in enumerate(kids):
            if child.children:
                stack.append(child)
            kind = child.kind
            if kind is table_kind:
                if last_action is not None and last_action.action is not None:
                    a = last_action.action
                    target = a.args.get("table") if a.name in ("resubmit", "goto_table") else None
                    if a.name == "resubmit" and target is None:
                        target = node.table
                    if target is not None and (child.table is None or target == child.table):
                        child.via = last_action.line
            elif kind is action_kind and child.action is not None:
                last_action = child
                a = child.action
                if a.name in ("clone", "ct") and not child.nested_in:
                    _mark_nested(kids, i, a.flat_count(), child.line)
                elif a.name == "check_pkt_larger":
                    if budget is None:
                        budget = [4 * len(kids) + 64]
                    _mark_cpl(kids, i, budget)


def _mark_nested(kids: list[Node], index: int, count: int, line: int) -> None:
    j = index + 1
    if count == 0:
        while j < len(kids) and kids[j].kind is not StepKind.ACTION:
            j += 1
        if j < len(kids) and kids[j].text == "drop":
            kids[j].spurious = True
            kids[j].nested_in = line
        return
    seen = 0
    while j < len(kids) and seen < count:
        if kids[j].kind is StepKind.ACTION:
            kids[j].nested_in = line
            seen += 1
        j += 1


def _mark_cpl(kids: list[Node], index: int, budget: list[int]) -> None:
    """Mark the second copy of the rest of the list after ``check_pkt_larger`` (no copies: the
    comparisons of one list share ``budget``, so a list of thousands of them stays linear)."""
    start = index + 1
    n = len(kids) - start
    if n == 2 and kids[start].text == "drop" and kids[start + 1].text == "drop":
        kids[start].spurious = kids[start + 1].spurious = True
        return
    if n < 2 or n % 2:
        return
    half = n // 2
    for j in range(half):
        budget[0] -= 1
        if budget[0] < 0 or kids[start + j].text != kids[start + half + j].text:
            return
    for j in range(start + half, len(kids)):
        kids[j].spurious = True
