"""Undo what pasting did to a trace, line by line, keeping every line and its 1-based number.

People paste traces with shell prompts, ``> `` mail quoting, Markdown/YAML indentation, CRLF, TABs and
log prefixes. ``ofproto/trace`` prints ``Flow:`` (and a top-level ``bridge("...")``) at column 0, so
whatever precedes them on their line is a paste prefix; it is removed from the lines that follow while
they carry it. Indentation inside the trace is kept: it is how OVS shows nesting.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from ovntrace.parser.lineclass import LineClassifier
from ovntrace.parser.loader import line_terminals

# a line that starts a trace, with what precedes it: whitespace, mail quoting, or a log prefix
_START_RE = re.compile(
    r"^(?P<p>(?:[ \t]*>)+[ \t]*|[ \t]*"
    r"|\d{4}-\d\d-\d\dT[^|\s]*\|\d+\|[^|]*\|[A-Z]+\||[IWEF]\d{4} [\d:.]+\s+\d+ [^\]\s]+\] )"
    r"(?P<k>Flow: |bridge\(\"|Bridge: |Rule: table=)"
)
# (a line without any of _START_RE's keys, "Flow: ", 'bridge("', "Bridge: ", "Rule: table=", cannot match it)
_END_RE = re.compile(r"^\s*(Datapath actions:|Translation failed )")


class Line:
    """One input line. Built by :func:`preprocess` only; read-only by convention (plain slots: the
    parser makes one per input line, and a frozen dataclass cost more than classifying it). What the
    parser reads of it only: not the line as given (the input text has it), so that is not kept alive."""

    __slots__ = ("body", "indent", "kind", "no", "tabs")

    def __init__(self, no: int, kind: str, indent: int, tabs: int, body: str) -> None:
        self.no = no  # 1-based line number in the input
        self.kind = kind  # terminal name from grammars/lines.lark (FLOW_LINE, TABLE_LINE ...), "BLANK" or "FENCE"
        self.indent = indent  # columns of leading whitespace once the paste prefix is removed (TAB = 8)
        self.tabs = tabs  # TABs in the leading whitespace (the pre-2.7 format's nesting depth)
        self.body = body  # the line without the paste prefix and surrounding whitespace

    def __repr__(self) -> str:
        return (f"Line(no={self.no!r}, kind={self.kind!r}, indent={self.indent!r}, tabs={self.tabs!r}, "
                f"body={self.body!r})")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Line:
            return NotImplemented
        assert isinstance(other, Line)
        return (self.no, self.kind, self.indent, self.tabs, self.body) == (
            other.no, other.kind, other.indent, other.tabs, other.body)

    __hash__ = None  # type: ignore[assignment]


def split_lines(text: str) -> list[str]:
    """Split on LF only (``str.splitlines`` also splits on form feeds and U+2028) and drop CRs."""
    if text.endswith("\n"):
        text = text[:-1]
    if not text:
        return []
    if "\r" not in text:
        return text.split("\n")
    return [ln[:-1] if ln.endswith("\r") else ln for ln in text.split("\n")]


def _strip_prefix(raws: list[str], text: str = "") -> list[str]:
    """Each line with the paste prefix removed and right-stripped. ``text``: the text ``raws`` was
    split from, when the caller has it (then the lines between the ones that can change the prefix are
    handled together: see :func:`_strip_runs`)."""
    if text and "\r" not in text:
        keys = _line_indices(text, _KEYS)
        start_match = _START_RE.match
        if not any((m := start_match(raws[k])) is not None and m.group("p") for k in keys):
            # no line starts a trace after a prefix: the prefix stays "" and every line is only stripped
            return [raw.rstrip() for raw in raws]
        return _strip_runs(raws, text, keys)
    return _strip_each(raws)


def _line_indices(text: str, needles: tuple[str, ...]) -> list[int]:
    """0-based indices, ascending, of the LF-separated lines of ``text`` that hold one of ``needles``
    (no LF in them): found with ``str.find`` (a regex alternation scans a big text many times slower)."""
    found: list[int] = []
    find = text.find
    for needle in needles:
        pos = find(needle)
        while pos >= 0:
            found.append(pos)
            pos = find(needle, pos + 1)
    found.sort()
    out: list[int] = []
    no, counted = 0, 0
    count = text.count
    for pos in found:
        no += count("\n", counted, pos)
        counted = pos
        if not out or out[-1] != no:
            out.append(no)
    return out


_KEYS = ("Flow: ", 'bridge("', "Bridge: ", "Rule: table=")  # (_START_RE's keys)
_END_KEYS = ("Datapath actions:", "Translation failed ")  # (what _END_RE can match)


def _strip_runs(raws: list[str], text: str, keys: list[int]) -> list[str]:
    """:func:`_strip_each` of ``raws`` (split from ``text``, which has no CR; ``keys``: the indices of its
    lines holding one of the keys of a trace start). Only those lines can change the prefix, so the lines
    between two of them share one; while it is "" they are only right-stripped, and only the lines
    holding an end marker are looked at for the end of a trace."""
    from bisect import bisect_left

    ends = _line_indices(text, _END_KEYS)
    out: list[str] = []
    extend, append = out.extend, out.append
    prefix = ""
    in_trace = False  # between a trace's start and its "Datapath actions:" line
    end_match = _END_RE.match
    i = 0
    for k in (*keys, len(raws)):
        if i < k:  # lines i..k-1: none holds a key, so none changes the prefix
            if not prefix:
                extend([raw.rstrip() for raw in raws[i:k]])
                if in_trace:
                    lo, hi = bisect_left(ends, i), bisect_left(ends, k)
                    if any(end_match(raws[j]) for j in ends[lo:hi]):
                        in_trace = False
            else:
                for line in raws[i:k]:
                    line = _unprefixed(line, prefix)
                    if in_trace and ("Datapath actions:" in line or "Translation failed " in line) and end_match(line):
                        in_trace = False
                    append(line.rstrip())
        if k == len(raws):
            break
        line, prefix, in_trace = _one(raws[k], prefix, in_trace)
        append(line)
        i = k + 1
    return out


def _unprefixed(line: str, prefix: str) -> str:
    """``line`` without the paste prefix ``prefix`` (not "")."""
    if line.startswith(prefix):
        return line[len(prefix) :]
    if line.strip() == "" or (prefix.strip() and line.rstrip() == prefix.rstrip()):
        return ""
    if prefix.strip() == "" and line[: len(prefix)].strip() == "" and "\t" not in line[: len(prefix)]:
        return line.lstrip(" ")
    # other lines without the prefix (a comment typed into the paste) are kept as they are
    return line


def _strip_each(raws: list[str]) -> list[str]:
    """:func:`_strip_prefix`, line by line."""
    out: list[str] = []
    prefix = ""
    in_trace = False  # between a trace's start and its "Datapath actions:" line
    for raw in raws:
        line, prefix, in_trace = _one(raw, prefix, in_trace)
        out.append(line)
    return out


def _one(raw: str, prefix: str, in_trace: bool) -> tuple[str, str, bool]:
    """One line without the paste prefix, right-stripped; the prefix and whether it is inside a trace after it."""
    line = raw.replace("\r", "") if "\r" in raw else raw
    m = _START_RE.match(line) if ("Flow: " in line or 'bridge("' in line or "Bridge: " in line
                                  or "Rule: table=" in line) else None
    if m:
        # a bridge("...") inside a trace is a nested bridge (patch port, tunnel underlay), printed
        # deeper: it never sets the paste prefix
        if m.group("k") != 'bridge("' or not in_trace or not line.startswith(prefix):
            prefix = m.group("p")
        in_trace = True
    if prefix:
        line = _unprefixed(line, prefix)
    if in_trace and ("Datapath actions:" in line or "Translation failed " in line) and _END_RE.match(line):
        in_trace = False
    return line.rstrip(), prefix, in_trace


@functools.cache
def _classifier() -> LineClassifier:
    """The line terminals of ``grammars/lines.lark``, highest priority first.

    Matching each line against them (``fullmatch`` of their alternation) gives the same answer as
    lexing the document with the grammar, at a fraction of the cost (the lexer's per-token overhead
    dominated parsing).
    """
    return LineClassifier((name, regex) for name, _prio, regex in line_terminals("lines"))


def _shape(t: str, classify: Callable[[str, str], str]) -> tuple[str, int, int, str]:
    """``(kind, indent, tabs, body)`` of a prefix-stripped, right-stripped line ``t``."""
    if not t:
        return "BLANK", 0, 0, t
    if t[0].isspace():
        lead = t.lstrip(" \t")
        body = lead.lstrip()  # (the same string unless other whitespace follows the indentation)
        ws = t[: len(t) - len(body)]
        indent, tabs = len(ws.expandtabs(8)), ws.count("\t")
    else:
        lead = body = t
        indent = tabs = 0
    # ``^\s*(```|~~~)``: a Markdown fence
    kind = "FENCE" if body.startswith(("```", "~~~")) else classify(t, lead[0])
    return kind, indent, tabs, body


def preprocess(text: str) -> list[Line]:
    """Lines with prefixes removed and their shape (``kind``) from the line grammar."""
    raws = split_lines(text)
    texts = _strip_prefix(raws, text)
    classify = _classifier().kind
    # a line's shape depends on its text only: traces repeat lines heavily (the same table and action
    # lines in every trace of a paste), so each distinct text is shaped once per call
    shapes: dict[str, tuple[str, int, int, str]] = {}
    get = shapes.get
    lines: list[Line] = []
    append = lines.append
    del raws
    for no, t in enumerate(texts, 1):  # each ``t`` is right-stripped
        v = get(t)
        if v is None:
            v = shapes[t] = _shape(t, classify)
        kind, indent, tabs, body = v
        append(Line(no, kind, indent, tabs, body))
    return lines
