"""The header: what happened to the packet (the verdict and, with OVN meaning, its cause).

It is never cut: it holds at most :data:`MAX_LINES` lines (80×24 has no room for more) and, when the
whole headline does not fit in them at the terminal's width, it is abbreviated in this order: the input's
name goes (``trace 2/48`` stays), then the OVS-level verdict beside an OVN one (``· OVS: controller: …``;
the details pane of the trace row shows it), then the cause is shortened in its middle, keeping its
start (the verdict's kind) and its end (``(line 63)``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rich.console import Console
from textual.events import Resize
from textual.widgets import Static

from ovntrace.model import ParseResult
from ovntrace.model.ovn import TraceOvn
from ovntrace.render.display import headline_style, verdict_line
from ovntrace.render.safe import SafeText
from ovntrace.tui import styles

MAX_LINES = 3  # the bar's max-height in ovntrace.tcss
_LINE_SUFFIX = re.compile(r" \(line \d+\)$")
_OVS_PART = " · OVS: "


def fit_headline(headline: str, where: str, short_where: str, width: int, lines_of: Callable[[str], int],
                 max_lines: int = MAX_LINES) -> tuple[str, str]:
    """(headline, where) abbreviated so that ``headline + where`` takes at most ``max_lines`` lines at
    ``width`` cells (``lines_of``: how many lines a text wraps into)."""
    def fits(text: str) -> bool:
        return lines_of(text) <= max_lines

    main = headline.partition(_OVS_PART)[0]
    for head, tail in ((headline, where), (headline, short_where), (main, short_where)):
        if fits(head + tail):
            return head, tail
    # shorten the cause in its middle: keep its start (the kind) and its "(line N)"
    m = _LINE_SUFFIX.search(main)
    suffix = m.group(0) if m else ""
    body = main[: m.start()] if m else main
    keep = min(len(body), width * max_lines)
    while keep > 12:
        head_n = keep * 2 // 3
        text = body[:head_n].rstrip() + "…" + body[len(body) - (keep - head_n):].lstrip() + suffix
        if fits(text + short_where):
            return text, short_where
        keep -= max(2, width // 10)
    return body[: max(1, width - len(suffix) - 1)] + "…" + suffix, ""


class VerdictBar(Static):
    """At most three lines: ``DROP: dropped by ACL … (line 63)`` and where the input came from."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # what is shown, refitted to the width on a resize: (headline, its style key, where, short where)
        self._shown: tuple[str, str, str, str] | None = None
        self._drawn: tuple[str, str, str, bool] | None = None  # what the last update drew

    def show_verdict(self, result: ParseResult, trace_index: int, tovn: TraceOvn | None, source: str,
                     total: int = 0) -> None:
        """``total``: the input's traces when more than ``result`` holds yet (a long input being read)."""
        if not result.traces:
            self._shown = None
            self._drawn = None
            self.update(SafeText("no trace in the input", style=styles.style("error", self.app.current_theme.dark)))
            return
        trace = result.traces[trace_index]
        count = max(total, len(result.traces))
        short = f" · trace {trace_index + 1}/{count}" if count > 1 else ""
        self._show(verdict_line(trace, tovn), headline_style(trace, tovn), f"  {source}{short}", f" {short}"
                   if short else "")

    def show_path(self, verdict: str, delivered: bool, title: str, hop: str) -> None:
        """Live: the path's verdict (``DELIVERED: …`` or why not), what was traced, the selected hop."""
        self._show(verdict, "verdict.ok" if delivered else "verdict.drop", f"  {title}" + (f" · {hop}" if hop else ""),
                   f"  {hop}" if hop else "")

    def show_message(self, message: str, key: str = "hint") -> None:
        self._shown = None
        self._drawn = None
        self.update(SafeText(message, style=styles.style(key, self.app.current_theme.dark)))

    def _show(self, headline: str, style_key: str, where: str, short_where: str) -> None:
        self._shown = (headline, style_key, where, short_where)
        self._refit()

    def _refit(self, width: int | None = None) -> None:
        if self._shown is None:
            return
        headline, style_key, where, short_where = self._shown
        width = width or self.content_size.width or max(1, self.app.size.width - 2)
        console: Console = self.app.console
        head, tail = fit_headline(headline, where, short_where, width,
                                  lambda text: len(SafeText(text).wrap(console, width)))
        dark = self.app.current_theme.dark
        key = (head, tail, style_key, dark)
        if key == self._drawn:
            return  # the same text: no update (an update of this auto-height bar lays out the whole screen)
        self._drawn = key
        t = SafeText(no_wrap=False)
        t.append(head, style=styles.style(style_key, dark))
        t.append(tail, style=styles.style("note", dark))
        self.update(t)

    def on_resize(self, event: Resize) -> None:
        self._refit(max(1, event.size.width - self.styles.gutter.width))
