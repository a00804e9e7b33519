"""Rich styles for the TUI: the renderer's style table, made readable on light themes too.

``ovntrace.render.styles`` picks ANSI colours for a terminal whose background we do not know;
in the TUI we know whether the theme is dark or light, so the colours that wash out on white
(yellow, cyan, bright_*) get a darker twin there. Styles stay data.
"""

from __future__ import annotations

from functools import lru_cache

from rich.style import Style

from ovntrace.render.styles import cookie_style, style_for

LIGHT_TWINS: dict[str, str] = {
    "yellow": "#8a6500",
    "cyan": "#006d7a",
    "green": "#1d6b1d",
    "magenta": "#8b1c8b",
    "blue": "#1f4fbf",
    "red": "#b00020",
    "bright_magenta": "#8b1c8b",
    "bright_cyan": "#006d7a",
    "bright_blue": "#1f4fbf",
}

DARK_TWINS: dict[str, str] = {
    "blue": "#6fa0ff",  # ANSI blue is too dark on a dark background
}

# TUI-only keys (the details pane)
EXTRA: dict[str, str] = {
    "section": "bold underline",
    "changed": "bold yellow",
    "added": "bold green",
    "removed": "bold red",
    "key": "bold",
    "lineno": "dim",
    "match": "reverse",
    "hint": "italic dim",
    "hop.pass": "bold",
    "stage": "bold green",  # a table's OVN stage, first in its row
}


def _twin(spec: str, dark: bool) -> str:
    table = DARK_TWINS if dark else LIGHT_TWINS
    return " ".join(table.get(word, word) for word in spec.split())


@lru_cache(maxsize=512)
def style(key: str, dark: bool = True) -> Style:
    """The Rich style of a row kind (``table``, ``action.set_field`` ...) or a TUI key (``changed``)."""
    spec = EXTRA.get(key) or style_for(key)
    return Style.parse(_twin(spec, dark)) if spec else Style.null()


@lru_cache(maxsize=512)
def cookie(value: str, dark: bool = True) -> Style:
    """A cookie's stable colour (the hash palette of ``explain``)."""
    return Style.parse(_twin(cookie_style(value), dark))
