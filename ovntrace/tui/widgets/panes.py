"""Scrollable text panes (details, runbook); the raw input view is in :mod:`ovntrace.tui.widgets.raw`."""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len
from rich.console import ConsoleOptions
from rich.highlighter import Highlighter
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.events import Resize
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from ovntrace.render.safe import pictures


class TextPane(ScrollView, can_focus=True):
    """A focusable, scrollable pane holding one Rich Text (j/k scroll like less).

    Drawn line by line (as ``RichLog`` does), not as a ``Static`` in a scroll container: a new text
    changes only this pane's virtual height, so showing the selection repaints this pane alone instead
    of laying out (and so repainting) the whole screen, which cost most of a keypress on a 10k-line
    trace (bench/bench_tui.py). The vertical scrollbar is always there (``overflow-y: scroll``): its
    coming and going is what would need a layout.

    Only what is drawn is rendered: the text is split into its lines once per ``show``; a line that
    fits the width takes one row (counted, not rendered), a longer one is wrapped alone to count its
    rows; a line's strips are rendered when a row of it is first drawn, and kept until the next
    ``show`` or a new width (``_lines_at``: one text's rendering, dropped with it). The rows are those
    of the whole text rendered at the pane's width (tests/tui/test_panes.py checks it).
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
        self._lines: list[Text] = []  # the text's lines (as Rich's wrap splits them)
        self._rows: list[tuple[int, int]] = []  # per row drawn: (line, row within that line)
        self._lines_at: dict[int, list[Strip]] = {}  # a line's rows, rendered at self._width
        self._width = -1  # the width the rows were counted at
        self._wrap_options: tuple[int, ConsoleOptions] | None = None  # for a line longer than the width
        self._frame_style = Style()  # this widget's style while one frame is drawn (render_lines)

    def show(self, text: Text, copy: str | None = None) -> None:
        self.text = text
        self.shown = text.plain
        self.plain = text.plain if copy is None else copy
        self._lines = list(text.split("\n", allow_blank=True))
        self._rows = []
        self._lines_at = {}
        self._width = -1
        self._count_rows()
        self.scroll_to(0, 0, animate=False, immediate=True)
        self.refresh()

    def _options(self, width: int) -> ConsoleOptions:
        return self.app.console.options.update(width=width, min_width=width, max_width=width, highlight=False,
                                               no_wrap=False, overflow="fold")

    def _count_rows(self) -> None:
        width = self.scrollable_content_region.width
        if width <= 0 or width == self._width or not self.is_attached:
            return
        self._width = width
        self._lines_at = {}
        rows: list[tuple[int, int]] = []
        for i, line in enumerate(self._lines):
            plain = line.plain
            if "\t" not in plain and cell_len(plain) <= width:
                rows.append((i, 0))  # fits: one row, rendered when drawn
            else:  # wrapped alone to count its rows
                strips = self._render_line_rows(i)
                rows.extend((i, k) for k in range(len(strips)))
        self._rows = rows
        size = Size(width, len(rows))
        if size != self.virtual_size:
            # no layout: nothing around this pane depends on its content (the scrollbar is always shown)
            self.set_reactive(Widget.virtual_size, size)
            self._scroll_update(size)

    def _render_line_rows(self, i: int) -> list[Strip]:
        strips = self._lines_at.get(i)
        if strips is None:
            width = self._width
            line = self._lines[i]
            plain = line.plain
            console = self.app.console
            if "\t" not in plain and (n := cell_len(plain)) <= width:
                # what Rich's wrap does with a line that fits (no division, "default" justify), padded
                strips = [Strip(list(line.render(console)), n).extend_cell_length(width)]
            else:
                if self._wrap_options is None or self._wrap_options[0] != width:
                    self._wrap_options = (width, self._options(width))
                strips = [Strip(segs, width)
                          for segs in console.render_lines(line, self._wrap_options[1], pad=True)]
            self._lines_at[i] = strips
        return strips

    def on_resize(self, event: Resize) -> None:
        self._count_rows()
        self.refresh()

    def render_lines(self, crop: Region) -> list[Strip]:
        self._frame_style = self.rich_style  # walks every ancestor's styles: once per frame, not per row
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self._width
        style = self._frame_style
        index = self.scroll_offset.y + y
        if 0 <= index < len(self._rows) and width > 0:
            line, k = self._rows[index]
            strips = self._render_line_rows(line)
            strip = strips[k] if k < len(strips) else Strip.blank(width, style)
        else:
            strip = Strip.blank(max(width, 0), style)
        return strip.apply_style(style)


class ControlPictures(Highlighter):
    """For an ``Input``: draws its control characters as visible ones, one for one (a search pasted from a
    trace); the value itself is left as typed."""

    def __call__(self, text: str | Text) -> Text:
        plain = text.plain if isinstance(text, Text) else text
        out = Text(pictures(plain), no_wrap=True, overflow="ignore", end="")
        return out

    def highlight(self, text: Text) -> None:  # pragma: no cover - __call__ does the work
        pass
