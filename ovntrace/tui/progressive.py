"""An input parsed trace by trace, so that the TUI can show the first traces of a long paste while the
rest is read (Textual-free; run in the parse worker of tui/screens/explain.py).

The steps are those of :func:`ovntrace.parser.parse` (the parser's segmenting and per-trace building,
its documented entry points), and the last result is equal to ``parse(text)``
(tests/tui/test_progressive.py checks it on real inputs).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from dataclasses import dataclass

from ovntrace.model import ParseResult, ParseWarning, Trace


@dataclass(frozen=True, slots=True)
class Step:
    """The traces read so far (``result``: no warnings, no prose until ``done``) out of ``total``."""

    result: ParseResult
    total: int
    done: bool


def parse_in_steps(text: str) -> Iterator[Step]:
    """``parse(text)`` one trace at a time: a partial result after each trace but the last, then the
    whole result (``done``), the same as ``parse(text)``. The cyclic GC is paused meanwhile, as
    ``parse`` does (its objects are acyclic; collections would scan them again and again)."""
    from ovntrace.parser.document import build_trace, segment

    enabled = gc.isenabled()
    gc.disable()
    try:
        segs = segment(text)
        warnings: list[ParseWarning] = segs.warnings
        total = len(segs.traces)
        traces: list[Trace] = []
        for i, t in enumerate(segs.traces):
            traces.append(build_trace(t, warnings))
            if i + 1 < total:
                yield Step(ParseResult(traces=tuple(traces), line_count=segs.line_count), total, False)
        warnings.sort(key=lambda w: w.line)
        yield Step(ParseResult(traces=tuple(traces), warnings=tuple(warnings), line_count=segs.line_count,
                               prose_lines=segs.prose), total, True)
    finally:
        if enabled:
            gc.enable()
