"""Scrollable text panes (details, runbook) and the raw input view."""

from __future__ import annotations

from typing import ClassVar

from rich.highlighter import Highlighter
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.events import Resize
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import TextArea
from textual.widgets.text_area import Selection

from ovntrace.render.safe import pictures


class TextPane(ScrollView, can_focus=True):
    """A focusable, scrollable pane holding one Rich Text (j/k scroll like less).

    Drawn line by line from the text rendered once at the pane's width (as ``RichLog`` does), not as a
    ``Static`` in a scroll container: a new text changes only this pane's virtual height, so showing the
    selection repaints this pane alone instead of laying out (and so repainting) the whole screen, which
    cost most of a keypress on a 10k-line trace (bench/bench_tui.py). The vertical scrollbar is always
    there (``overflow-y: scroll``): its coming and going is what would need a layout.
    """

    DEFAULT_CSS = """
    TextPane {
        overflow-y: scroll;
        overflow-x: hidden;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "scroll_down", "Down", show=False, id="pane.down", tooltip="Scroll down"),
        Binding("k", "scroll_up", "Up", show=False, id="pane.up", tooltip="Scroll up"),
        Binding("g", "scroll_home", "Top", show=False, id="pane.top", tooltip="Top"),
        Binding("G", "scroll_end", "Bottom", show=False, id="pane.bottom", tooltip="Bottom"),
        Binding("space", "page_down", "Page down", show=False, id="pane.page", tooltip="Page down"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.text: Text = Text("")
        self.plain = ""  # what `y` copies
        self.shown = ""  # what is displayed, as plain text
        self._strips: list[Strip] = []
        self._width = -1  # the width the strips were rendered at

    def show(self, text: Text, copy: str | None = None) -> None:
        self.text = text
        self.shown = text.plain
        self.plain = text.plain if copy is None else copy
        self._width = -1
        self._render_strips()
        self.scroll_to(0, 0, animate=False, immediate=True)
        self.refresh()

    def _render_strips(self) -> None:
        width = self.scrollable_content_region.width
        if width <= 0 or width == self._width or not self.is_attached:
            return
        self._width = width
        console = self.app.console
        options = console.options.update(width=width, min_width=width, max_width=width, highlight=False,
                                         no_wrap=False, overflow="fold")
        self._strips = [Strip(line, width) for line in console.render_lines(self.text, options, pad=True)]
        size = Size(width, len(self._strips))
        if size != self.virtual_size:
            # no layout: nothing around this pane depends on its content (the scrollbar is always shown)
            self.set_reactive(Widget.virtual_size, size)
            self._scroll_update(size)

    def on_resize(self, event: Resize) -> None:
        self._render_strips()
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = self.scroll_offset.y + y
        if 0 <= index < len(self._strips):
            strip = self._strips[index].crop_extend(0, width, self.rich_style)
        else:
            strip = Strip.blank(width, self.rich_style)
        return strip.apply_style(self.rich_style)


class SafeTextArea(TextArea):
    """A ``TextArea`` that draws a control character as a visible one (``␛``, ``�``), one for one, so that
    the document (what is parsed, copied, edited) stays the text as given and nothing in it reaches the
    terminal raw (Textual draws a line's characters as they are)."""

    def get_line(self, line_index: int) -> Text:
        return Text(pictures(self.document.get_line(line_index)), end="", no_wrap=True)


class ControlPictures(Highlighter):
    """For an ``Input``: draws its control characters as visible ones, one for one (a search pasted from a
    trace); the value itself is left as typed."""

    def __call__(self, text: str | Text) -> Text:
        plain = text.plain if isinstance(text, Text) else text
        out = Text(pictures(plain), no_wrap=True, overflow="ignore", end="")
        return out

    def highlight(self, text: Text) -> None:  # pragma: no cover - __call__ does the work
        pass


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
