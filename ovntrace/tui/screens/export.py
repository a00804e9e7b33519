"""``e``: choose a format and a file; the explain screen writes it (atomically, off the UI thread)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet

from ovntrace.tui.export import FORMATS, SUFFIX, default_path


@dataclass(frozen=True)
class ExportRequest:
    fmt: str
    path: Path


class ExportScreen(ModalScreen[ExportRequest | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="export.cancel", tooltip="Close without writing"),
    ]

    def __init__(self, source_name: str | None, *, literal: bool = False) -> None:
        super().__init__()
        self.source_name = source_name
        self.literal = literal  # the name is not a file name (a live path): use all of it
        self.fmt = "markdown"

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box") as box:
            box.border_title = "Export"
            with RadioSet(id="export-format"):
                yield RadioButton("Markdown (for a bug report)", value=True, id="fmt-markdown")
                yield RadioButton("JSON (ovntrace.explain/2)", id="fmt-json")
            yield Label("File (written atomically):")
            yield Input(str(default_path(self.source_name, self.fmt, literal=self.literal)), id="export-path")
            with Horizontal(id="export-buttons"):
                yield Button("Export", variant="primary", id="export-ok")
                yield Button("Cancel", id="export-cancel")

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    @on(RadioSet.Changed, "#export-format")
    def _format_changed(self, event: RadioSet.Changed) -> None:
        self.fmt = FORMATS[event.index]
        box = self.query_one("#export-path", Input)
        path = Path(box.value)
        if path.suffix in SUFFIX.values():
            box.value = str(path.with_suffix(SUFFIX[self.fmt]))

    @on(Input.Submitted, "#export-path")
    @on(Button.Pressed, "#export-ok")
    def _ok(self) -> None:
        value = self.query_one("#export-path", Input).value.strip()
        if not value:
            self.notify("give a file name", severity="warning")
            return
        self.dismiss(ExportRequest(self.fmt, Path(value)))

    @on(Button.Pressed, "#export-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
