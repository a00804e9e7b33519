"""The "Logical" tab beside the OpenFlow tree: the ovn-trace and the ofproto/trace(s) of the same packet lined
up (:mod:`ovntrace.correlate.compare`): agree / diverge / unknown, where and why, and every stage with the
OpenFlow table its lflow's flow was found in. From a paste holding both kinds (ovnkube-trace output), or from
``ovntrace path --tui`` (which runs ovn-trace on the central node).

The comparison's modules are imported when a comparison is first made (once the whole input is read),
not when the TUI opens."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ovntrace.render.safe import SafeText
from ovntrace.tui.widgets.panes import TextPane

if TYPE_CHECKING:
    from ovntrace.correlate.compare import Comparison

_STYLE = {"AGREE": "bold green", "DIVERGE": "bold red", "UNKNOWN": "bold yellow"}
_MARK = {"matched": ("=", "green"), "unseen": ("~", "yellow"), "diverged": ("✗", "bold red"),
         "after": ("·", "dim"), "remote": ("→", "dim"), "no-match": ("∅", "yellow"), "no-uuid": ("?", "dim")}
NONE = ("No logical trace to compare. Paste an ovn-trace with the ofproto/trace of the same packet "
        "(ovnkube-trace prints both), or run `ovntrace path SRC DST --tui`, which runs ovn-trace too.")


def comparisons_of(outline: Any, view: Any = None) -> tuple[list[Comparison], str | None]:
    """The comparisons to show and a note: a live path's (``view.logical``), else the paste's own."""
    lt = getattr(view, "logical", None) if view is not None else None
    if lt is not None and getattr(lt, "halves", None):  # interconnect: one comparison per zone crossed
        notes = [f"zone {h.zone}, hop {h.half}: " + (str(h.error) if h.error else f"ovn-trace on {h.node}: {h.command}")
                 for h in lt.halves]
        return [h.comparison for h in lt.halves if h.comparison is not None and h.error is None], "; ".join(notes)
    if lt is not None:
        if lt.error:
            return [], str(lt.error)
        return ([lt.comparison] if lt.comparison is not None else []), f"ovn-trace on {lt.node}: {lt.command}"
    if outline is None:
        return [], None
    from ovntrace.correlate.compare import compare_result

    nodes = list(view.nodes) if view is not None else None
    ovn = outline.ovn if outline.ovn else None
    return compare_result(outline.result.traces, ovn, nodes), None


def render(comparisons: Sequence[Comparison], note: str | None = None) -> SafeText:
    from ovntrace.render.compare import head

    t = SafeText()
    if note:
        t.append(note + "\n\n", "dim")
    if not comparisons:
        t.append(NONE if not note else "")
        return t
    for c in comparisons:
        h = head(c)
        t.append(h, _STYLE[h])
        t.append(f"  {c.summary}\n\n")
        t.append("ovn-trace: ", "bold")
        t.append(c.logical_verdict + "\n")
        t.append(c.physical_verdict + "\n\n", "")
        for s in c.stages:
            mark, style = _MARK.get(s.status, ("?", ""))
            t.append(f"{mark} ", style)
            where = f" → table {s.of_table}" + (f" @{s.node}" if s.node else "") if s.of_table is not None else ""
            t.append(f"L{s.line} {s.pipeline or '?'} {s.table} {s.stage or '?'} {s.uuid or '-'}", style)
            t.append(f"{where}  {s.status}\n", "dim" if s.status == "matched" else style)
        for n in c.notes:
            t.append(f"\nnote: {n}\n", "dim")
        t.append("\n")
    return t


class LogicalPane(TextPane):
    """A :class:`TextPane` that shows the logical/physical comparison."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.comparisons: list[Comparison] = []
        self.note: str | None = None

    @property
    def has_content(self) -> bool:
        return bool(self.comparisons or self.note)

    def show_for(self, outline: Any, view: Any = None) -> bool:
        """Show the comparison of ``outline`` (or of a live path's ``view``); False when there is none."""
        try:
            self.comparisons, self.note = comparisons_of(outline, view)
        except Exception as e:  # a bonus pane: say why, never take the screen down
            self.comparisons, self.note = [], f"comparison failed: {type(e).__name__}: {e}"
        self.show(render(self.comparisons, self.note))
        return self.has_content


__all__ = ["NONE", "LogicalPane", "comparisons_of", "render"]
