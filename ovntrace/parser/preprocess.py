"""Undo what pasting did to a trace, line by line, keeping every line and its 1-based number.

People paste traces with shell prompts, ``> `` mail quoting, Markdown/YAML indentation, CRLF, TABs and
log prefixes. ``ofproto/trace`` prints ``Flow:`` (and a top-level ``bridge("...")``) at column 0, so
whatever precedes them on their line is a paste prefix; it is removed from the lines that follow while
they carry it. Indentation inside the trace is kept: it is how OVS shows nesting.
"""

from __future__ import annotations

import functools
import re

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
    parser makes one per input line, and a frozen dataclass cost more than classifying it)."""

    __slots__ = ("body", "indent", "kind", "no", "raw", "tabs", "text")

    def __init__(self, no: int, raw: str, text: str, kind: str, indent: int, tabs: int, body: str) -> None:
        self.no = no  # 1-based line number in the input
        self.raw = raw  # as given, without the line terminator
        self.text = text  # paste prefix removed, trailing whitespace removed
        self.kind = kind  # terminal name from grammars/lines.lark (FLOW_LINE, TABLE_LINE ...), "BLANK" or "FENCE"
        self.indent = indent  # columns of leading whitespace in ``text`` (TAB = 8)
        self.tabs = tabs  # TABs in the leading whitespace (the pre-2.7 format's nesting depth)
        self.body = body  # ``text`` without surrounding whitespace

    def __repr__(self) -> str:
        return (f"Line(no={self.no!r}, raw={self.raw!r}, text={self.text!r}, kind={self.kind!r}, "
                f"indent={self.indent!r}, tabs={self.tabs!r}, body={self.body!r})")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Line:
            return NotImplemented
        assert isinstance(other, Line)
        return (self.no, self.raw, self.text, self.kind, self.indent, self.tabs, self.body) == (
            other.no, other.raw, other.text, other.kind, other.indent, other.tabs, other.body)

    __hash__ = None  # type: ignore[assignment]


def split_lines(text: str) -> list[str]:
    """Split on LF only (``str.splitlines`` also splits on form feeds and U+2028) and drop CRs."""
    if text.endswith("\n"):
        text = text[:-1]
    return [ln[:-1] if ln.endswith("\r") else ln for ln in text.split("\n")] if text else []


def _strip_prefix(raws: list[str]) -> list[str]:
    out: list[str] = []
    prefix = ""
    in_trace = False  # between a trace's start and its "Datapath actions:" line
    start_match = _START_RE.match
    for raw in raws:
        line = raw.replace("\r", "") if "\r" in raw else raw
        m = start_match(line) if ("Flow: " in line or 'bridge("' in line or "Bridge: " in line
                                  or "Rule: table=" in line) else None
        if m:
            key = m.group("k")
            # a bridge("...") inside a trace is a nested bridge (patch port, tunnel underlay), printed
            # deeper: it never sets the paste prefix
            if key != 'bridge("' or not in_trace or not line.startswith(prefix):
                prefix = m.group("p")
            in_trace = True
        if prefix:
            if line.startswith(prefix):
                line = line[len(prefix) :]
            elif line.strip() == "" or (prefix.strip() and line.rstrip() == prefix.rstrip()):
                line = ""
            elif prefix.strip() == "" and line[: len(prefix)].strip() == "" and "\t" not in line[: len(prefix)]:
                line = line.lstrip(" ")
            # other lines without the prefix (a comment typed into the paste) are kept as they are
        if in_trace and ("Datapath actions:" in line or "Translation failed " in line) and _END_RE.match(line):
            in_trace = False
        out.append(line.rstrip())
    return out


@functools.cache
def _classifier() -> LineClassifier:
    """The line terminals of ``grammars/lines.lark``, highest priority first.

    Matching each line against them (``fullmatch`` of their alternation) gives the same answer as
    lexing the document with the grammar, at a fraction of the cost (the lexer's per-token overhead
    dominated parsing).
    """
    return LineClassifier((name, regex) for name, _prio, regex in line_terminals("lines"))


def preprocess(text: str) -> list[Line]:
    """Lines with prefixes removed and their shape (``kind``) from the line grammar."""
    raws = split_lines(text)
    texts = _strip_prefix(raws)
    classify = _classifier().kind
    lines: list[Line] = []
    append = lines.append
    no = 0
    for raw, t in zip(raws, texts, strict=True):  # each ``t`` is right-stripped
        no += 1
        if not t:
            append(Line(no, raw, t, "BLANK", 0, 0, t))
            continue
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
        append(Line(no, raw, t, kind, indent, tabs, body))
    return lines
