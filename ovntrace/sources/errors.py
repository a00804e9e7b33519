"""Errors of the sources: one line each, never a traceback for the user."""

from __future__ import annotations


class SourceError(Exception):
    """A source could not be read or understood (bad file, unknown format, unreachable remote)."""


class PasteError(SourceError):
    """A pasted ``show`` output has a line that does not fit the expected shape.

    ``line`` is 1-based within the text given; ``expected`` says what was expected there."""

    def __init__(self, what: str, line: int, expected: str, text: str = "") -> None:
        self.what = what
        self.line = line
        self.expected = expected
        self.text = text
        shown = f": {text.strip()[:80]!r}" if text.strip() else ""
        super().__init__(f"{what}: line {line}{shown}: expected {expected}")
