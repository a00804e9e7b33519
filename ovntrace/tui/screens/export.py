"""``e``: choose a format and a file; the explain screen writes it (atomically, off the UI thread)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from ovntrace.render.safe import SafeText
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
            yield Static(Text(""), id="export-hint")

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()
        self._hint()

    def hint_text(self) -> str:
        """What the keys do where the focus is now (shown under the buttons)."""
        focused = self.focused
        value = self.query_one("#export-path", Input).value.strip()
        name = "Markdown" if self.fmt == "markdown" else "JSON"
        target = Path(value).expanduser() if value else None
        write = (f"Enter: write {name} to {target if target is None or target.is_absolute() else Path.cwd() / target}"
                 if target is not None else "Enter: (give a file name first)")
        fid = focused.id if focused is not None else None
        if fid == "export-format" or isinstance(focused, RadioButton):
            keys = ["↑ ↓: pick the format", "Enter: choose it", "Tab: to the file name"]
        elif fid == "export-path":
            keys = [write, "Tab: to the Export button", "shift+Tab: the format"]
        elif fid == "export-ok":
            keys = [write, "Tab: to Cancel"]
        elif fid == "export-cancel":
            keys = ["Enter: close without writing", "Tab: back to the format"]
        else:
            keys = [write]
        return " · ".join([*keys, "Escape: cancel"])

    def _hint(self) -> None:
        self.query_one("#export-hint", Static).update(SafeText(self.hint_text()))

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self._hint()

    @on(Input.Changed, "#export-path")
    def _path_changed(self) -> None:
        self._hint()

    @on(RadioSet.Changed, "#export-format")
    def _format_changed(self, event: RadioSet.Changed) -> None:
        self.fmt = FORMATS[event.index]
        box = self.query_one("#export-path", Input)
        path = Path(box.value)
        if path.suffix in SUFFIX.values():
            box.value = str(path.with_suffix(SUFFIX[self.fmt]))
        self._hint()

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
