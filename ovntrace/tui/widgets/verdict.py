"""The header: what happened to the packet (the verdict and, with OVN meaning, its cause)."""

from __future__ import annotations

from textual.widgets import Static

from ovntrace.model import ParseResult
from ovntrace.model.ovn import TraceOvn
from ovntrace.render.display import headline_style, verdict_line
from ovntrace.render.safe import SafeText
from ovntrace.tui import styles


class VerdictBar(Static):
    """One or two lines: ``DROP: dropped by ACL … (line 63)`` and where the input came from."""

    def show_verdict(self, result: ParseResult, trace_index: int, tovn: TraceOvn | None, source: str) -> None:
        dark = self.app.current_theme.dark
        t = SafeText(no_wrap=False)
        if not result.traces:
            t.append("no trace in the input", style=styles.style("error", dark))
            self.update(t)
            return
        trace = result.traces[trace_index]
        t.append(verdict_line(trace, tovn), style=styles.style(headline_style(trace, tovn), dark))
        where = f"  {source}"
        if len(result.traces) > 1:
            where += f" · trace {trace_index + 1}/{len(result.traces)}"
        t.append(where, style=styles.style("note", dark))
        self.update(t)

    def show_path(self, verdict: str, delivered: bool, title: str, hop: str) -> None:
        """Live: the path's verdict (``DELIVERED: …`` or why not), what was traced, the selected hop."""
        dark = self.app.current_theme.dark
        t = SafeText(no_wrap=False)
        t.append(verdict, style=styles.style("verdict.ok" if delivered else "verdict.drop", dark))
        t.append(f"  {title}" + (f" · {hop}" if hop else ""), style=styles.style("note", dark))
        self.update(t)

    def show_message(self, message: str, key: str = "hint") -> None:
        self.update(SafeText(message, style=styles.style(key, self.app.current_theme.dark)))
