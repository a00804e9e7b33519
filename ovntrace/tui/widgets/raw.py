"""The raw input view (a read-only ``TextArea``) and the paste box.

Apart from the panes (tui/widgets/panes.py) because Textual's ``TextArea`` and its document modules are
only imported when one is made: the raw tab's view is mounted the first time that tab is opened, the
paste box only without a trace to open.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import TextArea
from textual.widgets.text_area import Selection

from ovntrace.render.safe import pictures


class SafeTextArea(TextArea):
    """A ``TextArea`` that draws a control character as a visible one (``␛``, ``�``), one for one, so that
    the document (what is parsed, copied, edited) stays the text as given and nothing in it reaches the
    terminal raw (Textual draws a line's characters as they are)."""

    def get_line(self, line_index: int) -> Text:
        return Text(pictures(self.document.get_line(line_index)), end="", no_wrap=True)


class RawView(SafeTextArea):
    """The input as given, with line numbers; follows the selection."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="raw.down", tooltip="Next line"),
        Binding("k", "cursor_up", "Up", show=False, id="raw.up", tooltip="Previous line"),
        Binding("g", "cursor_top", "Top", show=False, id="raw.top", tooltip="First line"),
        Binding("G", "cursor_bottom", "Bottom", show=False, id="raw.bottom", tooltip="Last line"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, read_only=True, show_line_numbers=True, soft_wrap=False)

    def select_lines(self, first: int, last: int) -> None:
        """Select 1-based input lines ``first..last`` and scroll them into view."""
        n = self.document.line_count
        if n == 0:
            return
        a = max(0, min(first - 1, n - 1))
        b = max(a, min(last - 1, n - 1))
        self.selection = Selection((b, len(self.document.get_line(b))), (a, 0))
        self.scroll_cursor_visible(center=True, animate=False)

    def action_cursor_top(self) -> None:
        self.move_cursor((0, 0))

    def action_cursor_bottom(self) -> None:
        self.move_cursor((self.document.line_count - 1, 0))
