"""``?``: the keys (from :data:`ovntrace.tui.keys.KEYS`)."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ovntrace.tui.keys import KEYS


def keys_table() -> Table:
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False, expand=True)
    table.add_column("where", style="dim", no_wrap=True)
    table.add_column("keys", style="bold", no_wrap=True)
    table.add_column("what")
    for where, keys, what in KEYS:
        table.add_row(Text(where), Text(keys), Text(what))
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close", id="help.close", tooltip="Close the help"),
        Binding("j", "scroll('down')", "Down", show=False, id="help.down", tooltip="Scroll down"),
        Binding("k", "scroll('up')", "Up", show=False, id="help.up", tooltip="Scroll up"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = "ovntrace tui: keys"
            box.border_subtitle = "escape / q / ? closes"
            yield Static(Text("ovntrace tui explains an ofproto/trace: the verdict on top, the path, the trace "
                              "tree, and for the selected step its input lines, field state (what changed "
                              "since the previous table is marked ~ + -), OVN meaning and the provisioning "
                              "commands that concern it.\n"), id="help-intro")
            yield Static(keys_table(), id="help-keys")

    def action_scroll(self, direction: str) -> None:
        box = self.query_one("#help-box", VerticalScroll)
        if direction == "down":
            box.scroll_down()
        else:
            box.scroll_up()
