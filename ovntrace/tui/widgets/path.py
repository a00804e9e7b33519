"""The path pane: where the packet goes, as hops; selecting one moves the tree there.

From the trace alone: its passes (recirculations), bridges and table counts. With OVN meaning
(correlation, later SSH path-finding): the logical hops (datapath pipelines, tunnels). The pane
takes :class:`Hop` rows and does not care where they came from.
"""

from __future__ import annotations

from dataclasses import dataclass

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
        acts = f" ⇒ {dp if len(dp) <= 60 else dp[:59] + '…'}" if dp else ""
        out.append(PathHop(ti, p.first_line, f"{prefix}{pass_title(p, pi + 1)} · "
                           f"{' → '.join(pbr) or ', '.join(br) or '?'} · {n_tables} tables{acts}", "hop.pass"))
    if tovn is not None:
        for h in tovn.path:
            arrow = "⇒" if h.kind == "tunnel" else "→"
            out.append(PathHop(ti, h.line, f"{prefix}  {arrow} {h.text}", "path"))
    return out


class PathPane(OptionList):
    """Hops, one per line (trace text as :class:`SafeText`, never markup)."""

    @dataclass
    class HopChosen(Message):
        hop: PathHop

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._hops: list[PathHop] = []

    def show_hops(self, new: list[PathHop]) -> None:
        if new == self._hops:
            return
        self._hops = new
        dark = self.app.current_theme.dark
        self.set_options(Option(SafeText(h.text, style=styles.style(h.style, dark), no_wrap=True, overflow="ellipsis"))
                         for h in new)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if 0 <= event.option_index < len(self._hops):
            self.post_message(self.HopChosen(self._hops[event.option_index]))
