"""The Textual app and its factory (one factory for the CLI, the tests and the benchmark)."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.screen import Screen

from ovntrace.render.safe import escape
from ovntrace.tui.source import Options, Source


class OvnTraceApp(App[int]):
    """``ovntrace tui``: a trace explained in panes (see docs/tui.md)."""

    CSS_PATH = "ovntrace.tcss"
    TITLE = "ovntrace"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Leave ovntrace"),
        Binding("question_mark", "help", "Help", id="app.help", tooltip="The keys"),
        Binding("T", "toggle_theme", "Theme", show=False, id="app.theme", tooltip="Light or dark theme"),
    ]

    def __init__(self, source: Source | None = None, options: Options | None = None) -> None:
        super().__init__()
        self.source = source
        self.options = options or Options()

    def get_default_screen(self) -> Screen[Any]:
        """The app's first screen (not one pushed over Textual's empty default: that one would be composed,
        styled and laid out for nothing, and the first frame drawn while the push is under way is
        thrown away)."""
        if self.options.live is not None:  # `ovntrace path SRC DST --tui`
            from ovntrace.tui.screens.explain import ExplainScreen

            return ExplainScreen(Source(name=self.options.live.title), self.options)
        if self.source is None or (self.source.text is None and self.source.path is None):
            from ovntrace.tui.screens.paste import PasteScreen

            return PasteScreen()
        from ovntrace.tui.screens.explain import ExplainScreen

        return ExplainScreen(self.source, self.options)

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Every notification (screens and widgets call this one): never markup, control characters shown
        escaped (messages quote trace lines, names, errors)."""
        super().notify(escape(message), title=escape(title), severity=severity, timeout=timeout, markup=False)

    def action_help(self) -> None:
        from ovntrace.tui.screens.help import HelpScreen  # imported when first asked for

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"


def create_app(source: Source | None = None, options: Options | None = None) -> OvnTraceApp:
    """The app for ``source`` (None: the paste screen)."""
    return OvnTraceApp(source, options)
