"""Undo what pasting did to a trace, line by line, keeping every line and its 1-based number.

People paste traces with shell prompts, ``> `` mail quoting, Markdown/YAML indentation, CRLF, TABs and
log prefixes. ``ofproto/trace`` prints ``Flow:`` (and a top-level ``bridge("...")``) at column 0, so
whatever precedes them on their line is a paste prefix; it is removed from the lines that follow while
they carry it. Indentation inside the trace is kept: it is how OVS shows nesting.
"""

from __future__ import annotations

import functools
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
    body: str  # ``text`` without surrounding whitespace


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


@functools.cache
def _classifier() -> re.Pattern[str]:
    """One alternation of the line terminals of ``grammars/lines.lark``, highest priority first.

    Matching each line against it (``fullmatch``) gives the same answer as lexing the document with
    the grammar, at a fraction of the cost (the lexer's per-token overhead dominated parsing).
    """
    terminals = [t for t in grammar("lines").terminals if t.name.endswith("_LINE")]
    order = {t.name: i for i, t in enumerate(terminals)}
    terminals.sort(key=lambda t: (-t.priority, order[t.name]))
    return re.compile("|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in terminals))


def preprocess(text: str) -> list[Line]:
    """Lines with prefixes removed and their shape (``kind``) from the line grammar."""
    raws = split_lines(text)
    texts = _strip_prefix(raws)
    classify = _classifier().fullmatch
    lines: list[Line] = []
    for i, (raw, t) in enumerate(zip(raws, texts, strict=True)):
        body = t.strip()
        if not body:
            kind = "BLANK"
        elif _FENCE_RE.match(t):
            kind = "FENCE"
        else:
            m = classify(t)
            kind = (m.lastgroup or "OTHER_LINE") if m else "OTHER_LINE"
        ws = t[: len(t) - len(t.lstrip())]
        lines.append(Line(i + 1, raw, t, kind, len(ws.expandtabs(8)) if ws else 0, ws.count("\t"), body))
    return lines
