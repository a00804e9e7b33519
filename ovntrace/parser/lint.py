"""Typos in a pasted trace, flagged (never silently reinterpreted): a warning pass over the text and its parse.

- a table line without its dot (``0 in_port=9, priority 100`` for ``0. in_port=9, priority 100``);
- an action name OVS does not print (``set_feld:0x1->reg13``): the action is kept as written
  (``known=False``), and the warning names the known action it is closest to, if any.

Pure: text and :class:`~ovntrace.model.ParseResult` in, :class:`~ovntrace.model.trace.ParseWarning` out.
"""

from __future__ import annotations

import re

from ovntrace.model.trace import ParseResult, ParseWarning
from ovntrace.parser.actions import KNOWN_ACTIONS

# `ofproto/trace` prints a table line as "N. MATCH, priority P[, cookie C]" (ofproto-dpif-trace.c, OVS 3.1)
_NO_DOT = re.compile(r"^\s{0,40}(\d{1,3}) +(\S.*\bpriority \d+.*)$")
_NAME = re.compile(r"[a-z][a-z0-9_]*")


def typo_warnings(text: str, result: ParseResult) -> tuple[ParseWarning, ...]:
    out: list[ParseWarning] = []
    for i, m in _dotless_tables(text):
        out.append(ParseWarning(i, f"looks like a table line without its dot: '{m.group(1)} {m.group(2)[:60]}' "
                                   f"(ofproto/trace prints '{m.group(1)}. MATCH, priority P'); read as written"))
    seen: set[int] = set()
    for t in result.traces:
        for p in t.passes:
            for s in p.walk():  # depth first, iterative (a recursive walk is quadratic in the nesting)
                a = s.action
                if a is None or a.known or s.line in seen or not _NAME.fullmatch(a.name):
                    continue
                seen.add(s.line)
                import difflib  # only for an unknown action (start-up: difflib and heapq cost ~3 ms)

                near = difflib.get_close_matches(a.name, sorted(KNOWN_ACTIONS), n=1, cutoff=0.75)
                hint = f"; did you mean {near[0]}?" if near else ""
                out.append(ParseWarning(s.line, f"unknown action name '{a.name}' (not one OVS prints){hint}; "
                                                 "kept as written"))
    return tuple(sorted(out, key=lambda w: w.line))


# what ``str.splitlines`` splits on besides LF
_OTHER_BREAKS_ASCII = ("\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e")
_OTHER_BREAKS = (*_OTHER_BREAKS_ASCII, "\x85", "\u2028", "\u2029")


def _dotless_tables(text: str) -> list[tuple[int, re.Match[str]]]:
    """(number, match of _NO_DOT) of each line of ``text.splitlines()`` that looks like a table line
    without its dot (such a line holds ``"priority "``).

    Without other line breaks than LF (the common case), the lines holding ``"priority "`` are found by
    searching the text and matched where they are: no line is cut out, nor the text split."""
    if any(c in text for c in (_OTHER_BREAKS_ASCII if text.isascii() else _OTHER_BREAKS)):
        found = ((i, _NO_DOT.match(line)) for i, line in enumerate(text.splitlines(), 1) if "priority " in line)
        return [(i, m) for i, m in found if m]
    out: list[tuple[int, re.Match[str]]] = []
    # _NO_DOT for ``Pattern.match(text, start, end)`` on a line inside ``text`` (there ``^`` would match at 0
    # only; ``$`` matches at ``end``), compiled when first used (re keeps it)
    match = re.compile(_NO_DOT.pattern[1:]).match
    find, rfind, count = text.find, text.rfind, text.count
    no, counted = 1, 0  # the number of the line that starts at ``counted``
    pos = find("priority ")
    while pos >= 0:
        start = rfind("\n", 0, pos) + 1
        end = find("\n", pos)
        if end < 0:
            end = len(text)
        m = match(text, start, end)
        if m:
            no += count("\n", counted, start)
            counted = start
            out.append((no, m))
        pos = find("priority ", end)
    return out
