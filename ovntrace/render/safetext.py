"""A Rich ``Text`` that escapes what goes in (:func:`ovntrace.render.safe.layout`): the one Rich part of
:mod:`ovntrace.render.safe`, imported only by what renders with Rich (``from ovntrace.render.safe import
SafeText`` loads it)."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from ovntrace.render.safe import control_but_lf, layout


class SafeText(Text):
    """A Rich ``Text`` that escapes every string put in it (:func:`escape`; line feeds before or after a
    string are kept as line breaks). Build labels from data with it; never with markup."""

    def __init__(self, text: str = "", *args: Any, **kwargs: Any) -> None:
        super().__init__(layout(text), *args, **kwargs)

    def append(self, text: str | Text, style: Any = None) -> SafeText:
        if isinstance(text, str):
            text = layout(text)
        elif not isinstance(text, SafeText) and control_but_lf().search(text.plain):
            text = SafeText(text.plain, style=text.style)
        super().append(text, style)
        return self
