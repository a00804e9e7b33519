"""``ovntrace explain --format text``: the explanation in a terminal, with Rich.

All text from traces and databases goes through :class:`ovntrace.render.safe.SafeText` (never markup),
so a ``[bold]`` inside a pasted trace prints as itself and its control characters show as ``\x1b``.

A trace whose explanation is longer than :data:`LONG_TREE_LINES` lines (more than a screen: its header is
long gone when its last table scrolls by, in a pager or not) ends with its verdict again, on one line:
``end of trace 1 · TUNNEL: tunnelled to 172.17.42.31 (line 97)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from rich.console import Console

from ovntrace.model import ParseResult
from ovntrace.model.ovn import TraceOvn
from ovntrace.render.display import headline_style, pass_title, path_line, result_rows, summary, verdict_line
from ovntrace.render.safe import SafeText
from ovntrace.render.styles import cookie_style, style_for

INDENT = "    "
LONG_TREE_LINES = 40  # a trace explained in more lines than this ends with its verdict line again
BATCH = 512  # lines handed to Rich per print call (one call per line costs more than rendering it)


class _Lines:
    """Buffers the lines of the explanation and prints them through ``console`` in batches: one
    ``Console.print`` per line spends most of its time on per-call setup (terminal size, options)."""

    def __init__(self, console: Console, out: TextIO | None = None) -> None:
        self.console = console
        self.buf: list[SafeText] = []
        self.count = 0  # lines printed so far
        # no colour, no terminal (a file or pipe, --color never): Rich would write each line's plain
        # text as it is (soft wrap, no styles), so write it directly
        self.plain = out if out is not None and console.color_system is None else None

    def print(self, line: SafeText | None = None) -> None:
        self.count += 1
        self.buf.append(line if line is not None else SafeText(""))
        if len(self.buf) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.buf and self.plain is not None and not any("\t" in t.plain for t in self.buf):
            self.plain.write("\n".join(t.plain for t in self.buf) + "\n")
            self.buf = []
        elif self.buf:
            self.console.print(*self.buf, sep="\n")
            self.buf = []


def render(result: ParseResult, out: TextIO, *, full: bool = False, color: bool | None = None,
           width: int | None = None, ovn: Sequence[TraceOvn | None] | None = None) -> None:
    console = Console(file=out, force_terminal=color if color else None, no_color=color is False,
                      highlight=False, soft_wrap=True, width=width)
    _render(result, _Lines(console, out), full, ovn)


def _render(result: ParseResult, console: _Lines, full: bool, ovn: Sequence[TraceOvn | None] | None) -> None:
    index = 0
    # the trace being printed: its number, its headline and where its lines start
    last: tuple[int, SafeText, int] | None = None
    for kind, trace, p, row in result_rows(result, full, ovn):
        if kind == "trace" and trace is not None:
            _repeat_verdict(console, last)
            index += 1
            tovn = ovn[index - 1] if ovn is not None and index - 1 < len(ovn) else None
            if index > 1:
                console.print()
            last = (index, SafeText(verdict_line(trace, tovn), style=style_for(headline_style(trace, tovn))),
                    console.count)
            head, _, _ = summary(trace, index).rpartition(" · ")
            line = SafeText(head + " · ", style=style_for("header"))
            line.append(verdict_line(trace, tovn), style=style_for(headline_style(trace, tovn)))
            console.print(line)
            path = path_line(tovn)
            if path:
                console.print(SafeText(f"path: {path}", style=style_for("path")))
            if tovn is not None and tovn.release_guess:
                console.print(SafeText(f"ovn: {tovn.release_guess}", style="dim"))
            for note in tovn.notes if tovn is not None else ():
                console.print(SafeText(f"note: {note}", style=style_for("ovn")))
            if trace.command:
                console.print(SafeText(f"command: {trace.command}", style="dim"))
        elif kind == "pass" and p is not None and trace is not None:
            i = trace.passes.index(p) + 1
            title = SafeText(pass_title(p, i), style=style_for("pass"))
            if p.flow:
                title.append(f"  Flow: {p.flow}", style="dim")
            console.print(title)
            if p.datapath_actions is not None:
                console.print(SafeText(f"  Datapath actions: {p.datapath_actions}", style="dim"))
        elif row is not None:
            t = SafeText(INDENT * (row.depth + 1))
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
            console.print(t)
            if row.lflow:
                console.print(SafeText(INDENT * (row.depth + 2) + "lflow: " + row.lflow, style=style_for("lflow")))
    _repeat_verdict(console, last)
    if not result.traces:
        console.print(SafeText("no trace found", style="bold red"))
    console.flush()


def _repeat_verdict(console: _Lines, trace: tuple[int, SafeText, int] | None) -> None:
    """After a trace explained in more than :data:`LONG_TREE_LINES` lines: its verdict line again."""
    if trace is not None and console.count - trace[2] > LONG_TREE_LINES:
        index, headline, _ = trace
        line = SafeText(f"end of trace {index} · ", style=style_for("header"))
        line.append_text(headline)
        console.print(line)
