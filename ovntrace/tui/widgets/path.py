"""The path pane: where the packet goes, as hops; selecting one moves the tree there.

From the trace alone: its passes (recirculations), bridges and table counts. With OVN meaning
(correlation, later SSH path-finding): the logical hops (datapath pipelines, tunnels). The pane
takes :class:`Hop` rows and does not care where they came from.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from textual.events import Resize
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from ovntrace.model import ParseResult, StepKind
from ovntrace.model.ovn import TraceOvn
from ovntrace.render.display import bridges, pass_title
from ovntrace.render.safe import SafeText
from ovntrace.tui import styles


@dataclass(frozen=True, slots=True)
class PathHop:
    trace_index: int
    line: int
    text: str
    style: str = "path"


def trace_hops(result: ParseResult, ti: int, tovn: TraceOvn | None, name: str | None = None) -> list[PathHop]:
    """The path pane's rows for trace ``ti``: its passes (bridges, table counts, datapath actions), then its
    logical hops when known. ``name``: what to call the trace (a live path's ``hop 1 @ kube-node2``; default
    ``trace N`` when there are several). The screen caches them per trace: OVN meaning arrives one trace at
    a time."""
    out: list[PathHop] = []
    t = result.traces[ti]
    if name is None:
        name = f"trace {ti + 1}" if len(result.traces) > 1 else ""
    prefix = f"{name} · " if name else ""
    br = bridges(t)
    for pi, p in enumerate(t.passes):
        n_tables = sum(1 for s in p.walk() if s.kind is StepKind.TABLE)
        pbr = list(dict.fromkeys(s.bridge for s in p.walk() if s.kind is StepKind.BRIDGE and s.bridge))
        dp = p.datapath_actions or ""
        # whole (up to a bound): the pane cuts a row in its middle to its width, keeping the end (the output)
        acts = f" ⇒ {dp if len(dp) <= 400 else dp[:199] + '…' + dp[-200:]}" if dp else ""
        out.append(PathHop(ti, p.first_line, f"{prefix}{pass_title(p, pi + 1)} · "
                           f"{' → '.join(pbr) or ', '.join(br) or '?'} · {n_tables} tables{acts}", "hop.pass"))
    if tovn is not None:
        for h in tovn.path:
            arrow = "⇒" if h.kind == "tunnel" else "→"
            out.append(PathHop(ti, h.line, f"{prefix}  {arrow} {h.text}", "path"))
    return out


def fit_row(text: str, width: int) -> str:
    """``text`` in ``width`` cells: cut in its middle when too wide, so that its end (the datapath actions,
    the hop the packet leaves by) stays in view."""
    if width <= 1 or cell_len(text) <= width:
        return text
    head = width * 2 // 5
    tail = width - head - 1
    out = text[:head] + "…" + text[len(text) - tail:]
    while cell_len(out) > width and tail > 0:  # wide characters
        tail -= 1
        out = text[:head] + "…" + text[len(text) - tail:]
    return out


class PathPane(OptionList):
    """Hops, one per line (trace text as :class:`SafeText`, never markup). When they do not fit, the end
    of the path is what shows (the pane is scrolled to its last hop; the border says how many are above)
    and a row too wide is cut in its middle, keeping its end."""

    @dataclass
    class HopChosen(Message):
        hop: PathHop

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._hops: list[PathHop] = []
        self._width = 0  # the width the rows were fitted to

    def show_hops(self, new: list[PathHop]) -> None:
        if new == self._hops:
            return
        self._hops = new
        self._fill()

    def _row_width(self) -> int:
        """The pane's inner width, less its vertical scrollbar (drawn or not: a row must not wrap when it
        appears)."""
        inner = self.size.width - self.styles.gutter.width
        return max(1, inner - self.styles.scrollbar_size_vertical)

    def _fill(self) -> None:
        dark = self.app.current_theme.dark
        width = self._width = self._row_width()
        self.set_options(Option(SafeText(fit_row(h.text, width), style=styles.style(h.style, dark), no_wrap=True,
                                         overflow="ellipsis")) for h in self._hops)
        self.call_after_refresh(self._show_end)

    def _show_end(self) -> None:
        """Scroll to the last hop when the path does not fit, and say what is above it."""
        self.scroll_end(animate=False, immediate=True)
        hidden = max(0, len(self._hops) - self.scrollable_content_region.height)
        self.border_subtitle = f"↑ {hidden} more" if hidden else ""

    def on_resize(self, event: Resize) -> None:
        if self._hops and self._row_width() != self._width:
            self._fill()
        else:
            self.call_after_refresh(self._show_end)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if 0 <= event.option_index < len(self._hops):
            self.post_message(self.HopChosen(self._hops[event.option_index]))
