"""Undo what pasting did to a trace, line by line, keeping every line and its 1-based number.

People paste traces with shell prompts, ``> `` mail quoting, Markdown/YAML indentation, CRLF, TABs and
log prefixes. ``ofproto/trace`` prints ``Flow:`` (and a top-level ``bridge("...")``) at column 0, so
whatever precedes them on their line is a paste prefix; it is removed from the lines that follow while
they carry it. Indentation inside the trace is kept: it is how OVS shows nesting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ovntrace.parser.loader import grammar

# a line that starts a trace, with what precedes it: whitespace, mail quoting, or a log prefix
_START_RE = re.compile(
    r"^(?P<p>(?:[ \t]*>)+[ \t]*|[ \t]*"
    r"|\d{4}-\d\d-\d\dT[^|\s]*\|\d+\|[^|]*\|[A-Z]+\||[IWEF]\d{4} [\d:.]+\s+\d+ [^\]\s]+\] )"
    r"(?P<k>Flow: |bridge\(\"|Bridge: |Rule: table=)"
)
_FENCE_RE = re.compile(r"^\s*(```|~~~)")
_END_RE = re.compile(r"^\s*(Datapath actions:|Translation failed )")


@dataclass(frozen=True, slots=True)
class Line:
    no: int  # 1-based line number in the input
    raw: str  # as given, without the line terminator
    text: str  # paste prefix removed, trailing whitespace removed
    kind: str  # terminal name from grammars/lines.lark (FLOW_LINE, TABLE_LINE ...), "BLANK" or "FENCE"
    indent: int  # columns of leading whitespace in ``text`` (TAB = 8)
    tabs: int  # TABs in the leading whitespace (the pre-2.7 format's nesting depth)

    @property
    def body(self) -> str:
        return self.text.strip()


def split_lines(text: str) -> list[str]:
    """Split on LF only (``str.splitlines`` also splits on form feeds and U+2028) and drop CRs."""
    if text.endswith("\n"):
        text = text[:-1]
    return [ln[:-1] if ln.endswith("\r") else ln for ln in text.split("\n")] if text else []


def _strip_prefix(raws: list[str]) -> list[str]:
    out: list[str] = []
    prefix = ""
    in_trace = False  # between a trace's start and its "Datapath actions:" line
    for raw in raws:
        line = raw.replace("\r", "")
        m = _START_RE.match(line)
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
        if _END_RE.match(line):
            in_trace = False
        out.append(line.rstrip())
    return out


def preprocess(text: str) -> list[Line]:
    """Lines with prefixes removed and their shape (``kind``) from the line grammar."""
    raws = split_lines(text)
    texts = _strip_prefix(raws)
    kinds = ["BLANK"] * len(texts)
    joined = "\n".join(t if t.strip() else "" for t in texts)
    for tok in grammar("lines").lex(joined):
        if tok.type != "_NL" and tok.line is not None:
            kinds[tok.line - 1] = tok.type
    lines: list[Line] = []
    for i, (raw, t) in enumerate(zip(raws, texts, strict=True)):
        kind = kinds[i]
        if kind != "BLANK" and _FENCE_RE.match(t):
            kind = "FENCE"
        ws = t[: len(t) - len(t.lstrip())]
        lines.append(Line(i + 1, raw, t, kind, len(ws.expandtabs(8)), ws.count("\t")))
    return lines
