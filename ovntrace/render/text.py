"""``ovntrace explain --format text``: the explanation in a terminal, with Rich.

All text from traces and databases goes through :class:`ovntrace.render.safe.SafeText` (never markup),
so a ``[bold]`` inside a pasted trace prints as itself and its control characters show as ``\x1b``.

A trace whose explanation is longer than :data:`LONG_TREE_LINES` lines (more than a screen: its header is
long gone when its last table scrolls by, in a pager or not) ends with its verdict again, on one line:
``end of trace 1 · TUNNEL: tunnelled to 172.17.42.31 (line 97)``.

Output that Rich would write without any style (not a terminal, no ``--color always``, no ``FORCE_COLOR``
or ``TTY_COMPATIBLE``: :func:`plain_output`) is written by :class:`PlainWriter` without Rich (not even
imported): the same escaped strings, joined. Rich is used only to colour, and for a line holding a tab
(Rich expands it).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from ovntrace.model import ParseResult, Trace
from ovntrace.model.ovn import TraceOvn
from ovntrace.render.display import _row as display_row
from ovntrace.render.display import (
    headline_style,
    pass_title,
    path_line,
    rows_for_steps,
    summary,
    verdict_line,
)
from ovntrace.render.display import (
    row as step_row,
)
from ovntrace.render.safe import layout
from ovntrace.render.styles import cookie_style, style_for

if TYPE_CHECKING:
    from rich.console import Console

INDENT = "    "
LONG_TREE_LINES = 40  # a trace explained in more lines than this ends with its verdict line again
BATCH = 512  # lines handed to Rich per print call (one call per line costs more than rendering it)


class _PlainLine:
    """A line of plain output: the strings :class:`SafeText` would hold (escaped the same way), no styles."""

    __slots__ = ("parts",)

    def __init__(self, text: str = "", style: Any = None) -> None:
        self.parts = [layout(text)]

    def append(self, text: str, style: Any = None) -> _PlainLine:
        self.parts.append(layout(text))
        return self

    @property
    def plain(self) -> str:
        return "".join(self.parts)


def plain_output(out: TextIO, color: bool | None) -> bool:
    """True when Rich would write ``out`` without any style (``Console(file=out, force_terminal=None,
    no_color=color is False)`` has no colour system): not asked for colour, not a terminal, and none of the
    environment variables that make Rich treat a file as one. When unsure (an IPython shell), False: Rich decides."""
    if color:
        return False
    isatty = getattr(out, "isatty", None)
    try:
        if isatty is not None and isatty():
            return False
    except ValueError:  # closed: Rich treats it as no terminal
        pass
    env = os.environ
    if "FORCE_COLOR" in env or "TTY_COMPATIBLE" in env or "IPython" in sys.modules:
        return False
    return not (hasattr(sys.stdin, "__module__") and sys.stdin.__module__.startswith("idlelib"))


class TraceWriter:
    """Renders traces one at a time to strings (:meth:`trace`): plain (no Rich) or through a Rich console
    writing to a buffer. ``index`` is the trace's number in the document (1-based): trace 2 onwards starts
    with an empty line."""

    def __init__(self, *, full: bool = False, plain: bool = True, color: bool | None = None,
                 width: int | None = None, stream: TextIO | None = None) -> None:
        self.full = full
        self.plain = plain
        self.color = color
        self.width = width
        self._console: Console | None = None
        self._buf: Any = None
        self._stream = stream  # the real output: a terminal's size and colours are read from it

    def _rich(self) -> tuple[Console, Any]:
        if self._console is None:
            import io

            from rich.console import Console

            self._buf = io.StringIO()
            color = self.color
            # a console on the real stream detects its terminal (size, colour system); its output goes to the buffer
            console = Console(file=self._stream or self._buf, force_terminal=color if color else None,
                              no_color=color is False, highlight=False, soft_wrap=True, width=self.width)
            if self._stream is not None:
                console.file = self._buf
            self._console = console
        return self._console, self._buf

    def _print_rich(self, lines: list[Any]) -> str:
        console, buf = self._rich()
        for i in range(0, len(lines), BATCH):
            console.print(*lines[i:i + BATCH], sep="\n")
        text: str = buf.getvalue()
        buf.seek(0)
        buf.truncate()
        return text

    def trace(self, trace: Trace, tovn: TraceOvn | None, index: int) -> str:
        if not self.plain:
            from ovntrace.render.safe import SafeText

            return self._print_rich(_trace_lines(trace, tovn, index, self.full, SafeText))
        out = _plain_lines(trace, tovn, index, self.full)
        if any("\t" in s for s in out):  # Rich expands tabs: those lines go through it
            from ovntrace.render.safe import SafeText

            return "".join(self._print_rich([SafeText(s)]) if "\t" in s else s + "\n" for s in out)
        out.append("")
        return "\n".join(out)

    def no_trace(self) -> str:
        if self.plain:
            return "no trace found\n"
        from ovntrace.render.safe import SafeText

        return self._print_rich([SafeText("no trace found", style="bold red")])


def render(result: ParseResult, out: TextIO, *, full: bool = False, color: bool | None = None,
           width: int | None = None, ovn: Sequence[TraceOvn | None] | None = None) -> None:
    writer = TraceWriter(full=full, plain=plain_output(out, color), color=color, width=width, stream=out)
    for i, t in enumerate(result.traces):
        out.write(writer.trace(t, ovn[i] if ovn is not None and i < len(ovn) else None, i + 1))
    if not result.traces:
        out.write(writer.no_trace())


def _trace_lines(trace: Trace, tovn: TraceOvn | None, index: int, full: bool, mk: Any) -> list[Any]:
    """The lines of one trace's explanation, each made by ``mk(text, style=...)`` (:class:`SafeText` or
    :class:`_PlainLine`) and extended with ``.append(text, style)``."""
    lines: list[Any] = []
    add = lines.append
    if index > 1:
        add(mk(""))
    start = len(lines)
    hstyle = style_for(headline_style(trace, tovn))
    verdict = verdict_line(trace, tovn)
    head, _, _ = summary(trace, index).rpartition(" · ")
    line = mk(head + " · ", style=style_for("header"))
    line.append(verdict, style=hstyle)
    add(line)
    path = path_line(tovn)
    if path:
        add(mk(f"path: {path}", style=style_for("path")))
    if tovn is not None and tovn.release_guess:
        add(mk(f"ovn: {tovn.release_guess}", style="dim"))
    for note in tovn.notes if tovn is not None else ():
        add(mk(f"note: {note}", style=style_for("ovn")))
    if trace.command:
        add(mk(f"command: {trace.command}", style="dim"))
    for i, p in enumerate(trace.passes, 1):
        title = mk(pass_title(p, i), style=style_for("pass"))
        if p.flow:
            title.append(f"  Flow: {p.flow}", style="dim")
        add(title)
        if p.datapath_actions is not None:
            add(mk(f"  Datapath actions: {p.datapath_actions}", style="dim"))
        rows: Any = rows_for_steps(p.steps, full, tovn)
        for part in (rows, *(display_row(n, 0) for n in p.notes)):
            for row in part:
                t = mk(INDENT * (row.depth + 1))
                t.append(row.text, style=style_for(row.style))
                if row.note:
                    t.append("  ")
                    if row.cookie:
                        prio, _, _ = row.note.partition(", cookie")
                        t.append(prio, style=style_for("note"))
                        t.append(f", cookie {row.cookie}", style=cookie_style(row.cookie))
                    else:
                        t.append(row.note, style=style_for("note"))
                if row.line is not None:
                    t.append(f"  L{row.line}", style="dim")
                if row.ovn:
                    t.append(f"  {row.ovn}", style=style_for("ovn"))
                add(t)
                if row.lflow:
                    add(mk(INDENT * (row.depth + 2) + "lflow: " + row.lflow, style=style_for("lflow")))
    if len(lines) - start > LONG_TREE_LINES:
        end = mk(f"end of trace {index} · ", style=style_for("header"))
        end.append(verdict, style=hstyle)
        add(end)
    return lines


def _plain_lines(trace: Trace, tovn: TraceOvn | None, index: int, full: bool) -> list[str]:
    """The lines of :func:`_trace_lines` made by :class:`_PlainLine`, as strings: a line is escaped part by
    part (:func:`layout`) only when it is not printable as a whole (a printable line's parts are printable)."""
    lines: list[str] = []

    def add(*parts: str) -> None:
        s = "".join(parts)
        lines.append(s if s.isprintable() else "".join([layout(p) for p in parts]))

    if index > 1:
        lines.append("")
    start = len(lines)
    verdict = verdict_line(trace, tovn)
    head, _, _ = summary(trace, index).rpartition(" · ")
    add(head + " · ", verdict)
    path = path_line(tovn)
    if path:
        add(f"path: {path}")
    if tovn is not None and tovn.release_guess:
        add(f"ovn: {tovn.release_guess}")
    for note in tovn.notes if tovn is not None else ():
        add(f"note: {note}")
    if trace.command:
        add(f"command: {trace.command}")
    indents = [INDENT]
    for i, p in enumerate(trace.passes, 1):
        if p.flow:
            add(pass_title(p, i), f"  Flow: {p.flow}")
        else:
            add(pass_title(p, i))
        if p.datapath_actions is not None:
            add(f"  Datapath actions: {p.datapath_actions}")
        rows: list[Any] = list(rows_for_steps(p.steps, full, tovn))
        rows.extend(step_row(n, 0) for n in p.notes)
        for r in rows:
            depth = r.depth
            while len(indents) <= depth + 1:
                indents.append(INDENT * (len(indents) + 1))
            parts = [indents[depth], r.text]
            note = r.note
            if note:
                parts.append("  ")
                if r.cookie:
                    parts.append(note.partition(", cookie")[0])
                    parts.append(f", cookie {r.cookie}")
                else:
                    parts.append(note)
            if r.line is not None:
                parts.append(f"  L{r.line}")
            if r.ovn:
                parts.append(f"  {r.ovn}")
            s = "".join(parts)
            lines.append(s if s.isprintable() else "".join([layout(x) for x in parts]))
            if r.lflow:
                add(indents[depth + 1] + "lflow: " + r.lflow)
    if len(lines) - start > LONG_TREE_LINES:
        add(f"end of trace {index} · ", verdict)
    return lines
