"""``ovntrace tui`` with no input: paste a trace from a bug report, press ctrl+s, get the explanation."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Button, Footer, Static, TextArea

from ovntrace.tui.source import Source
from ovntrace.tui.widgets.raw import SafeTextArea

HINT = ("Paste ovs-appctl ofproto/trace output below (as found in a bug report: prompts, '> ' quoting, "
        "Markdown fences are fine), then press ctrl+s to explain it.")


class PasteScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "explain", "Explain", id="paste.explain", tooltip="Parse and explain the pasted trace"),
        Binding("ctrl+l", "clear", "Clear", id="paste.clear", tooltip="Empty the text area"),
        Binding("f1", "app.help", "Help", id="paste.help", tooltip="Keys"),
        Binding("ctrl+q", "app.quit", "Quit", id="paste.quit", tooltip="Quit ovntrace"),
    ]

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self.initial = text

    def compose(self) -> ComposeResult:
        yield Static(Text(HINT), id="paste-hint")
        yield SafeTextArea(self.initial, id="paste-area", soft_wrap=False, show_line_numbers=True)
        with Horizontal(id="paste-buttons"):
            yield Button("Explain (ctrl+s)", variant="primary", id="paste-explain")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#paste-area", TextArea).focus()

    @on(Button.Pressed, "#paste-explain")
    def action_explain(self) -> None:
        text = self.query_one("#paste-area", TextArea).text
        if not text.strip():
            self.notify("Nothing pasted yet: paste a trace first.", severity="warning")
            return
        from ovntrace.tui.screens.explain import ExplainScreen

        self.app.push_screen(ExplainScreen(Source(text=text, path=None, name="paste"), from_paste=True))

    def action_clear(self) -> None:
        self.query_one("#paste-area", TextArea).clear()
