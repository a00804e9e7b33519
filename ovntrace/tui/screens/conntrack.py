"""``c`` (live): pick the conntrack state ``ofproto/trace --ct-next`` continues with, then re-trace."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from ovntrace.tui.live import CT_CHOICES


class ConntrackScreen(ModalScreen[str | None]):
    """A list of conntrack states; enter picks one, escape keeps the current one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="conntrack.cancel", tooltip="Keep the current state"),
    ]

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="ct-box") as box:
            box.border_title = "Conntrack state"
            yield Label("Re-trace the path with the packet in this conntrack state (--ct-next):")
            yield OptionList(*(Option(Text(f"{ct:<12} {why}" + ("  (now)" if ct == self.current else "")), id=ct)
                               for ct, why in CT_CHOICES), id="ct-list")

    def on_mount(self) -> None:
        lst = self.query_one("#ct-list", OptionList)
        lst.highlighted = next((i for i, (ct, _) in enumerate(CT_CHOICES) if ct == self.current), 0)
        lst.focus()

    @on(OptionList.OptionSelected, "#ct-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
