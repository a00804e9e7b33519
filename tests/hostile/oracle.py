"""What "nothing raw reaches the terminal" means, checked independently of ``ovntrace.render.safe``.

The character classes come from :mod:`unicodedata` (not from the code under test); Markdown is checked by
rendering it with a real CommonMark parser (markdown-it-py, with raw HTML enabled as on GitHub, plus the
GFM strikethrough and table rules) and reading the HTML back.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser
from typing import Any

from markdown_it import MarkdownIt

UNSAFE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs"}
SGR = re.compile(r"\x1b\[[0-9;]*m")


def unsafe(text: str, keep: str = "\t\n") -> list[tuple[int, str]]:
    """(position, character) of every control/format character in ``text`` but those in ``keep``."""
    return [(i, c) for i, c in enumerate(text) if c not in keep and unicodedata.category(c) in UNSAFE_CATEGORIES]


def assert_plain(text: str, what: str) -> None:
    bad = unsafe(text)
    assert not bad, f"{what}: raw control/format characters {[(i, hex(ord(c))) for i, c in bad[:8]]} " \
                    f"near {text[max(0, bad[0][0] - 40):bad[0][0] + 20]!r}"


def assert_sgr_only(text: str, what: str) -> None:
    """With colours: every ESC starts a pure SGR sequence (``ESC [ digits;… m``); the rest is plain."""
    for m in re.finditer("\x1b", text):
        assert SGR.match(text, m.start()), f"{what}: ESC not starting an SGR: {text[m.start():m.start() + 24]!r}"
    assert_plain(SGR.sub("", text), what)


def visible(text: str) -> str:
    """How a reader should see ``text``: each control/format character (but the tab) as a Python-style
    escape. An independent statement of the display rule, for the tests."""
    out = []
    for c in text:
        if c != "\t" and unicodedata.category(c) in UNSAFE_CATEGORIES:
            n = ord(c)
            out.append(f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}")
        else:
            out.append(c)
    return "".join(out)


# -- Markdown -------------------------------------------------------------------------------------------

MD = MarkdownIt("commonmark", {"html": True}).enable(["strikethrough", "table"])
ALLOWED_TAGS = {"h2", "h3", "p", "strong", "code", "pre", "details", "summary", "ul", "li", "br"}


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.ends: list[str] = []
        self.text: list[str] = []
        self.outside: list[str] = []  # the text outside the code blocks (<pre>)
        self.code: list[str] = []  # the text of each <code> (inline and in <pre>)
        self._in_code = 0
        self._in_pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_pre += tag == "pre"
        if tag == "code":
            self._in_code += 1
            self.code.append("")

    def handle_endtag(self, tag: str) -> None:
        self.ends.append(tag)
        self._in_pre -= tag == "pre"
        if tag == "code":
            self._in_code -= 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if not self._in_pre:
            self.outside.append(data)
        if self._in_code:
            self.code[-1] += data


def markdown_html(source: str) -> tuple[str, _Html]:
    html = MD.render(source)
    p = _Html()
    p.feed(html)
    p.close()
    return html, p


def assert_markdown_safe(source: str, what: str, blocks: int | None = None) -> _Html:
    """No raw control character; once rendered, only our own tags (no ``<img>``, ``<a>``, ``<script>``,
    emphasis, links, headings from the data), ``<details>`` balanced, and ``blocks`` code blocks."""
    assert_plain(source, what)
    html, p = markdown_html(source)
    extra = set(p.tags) - ALLOWED_TAGS
    assert not extra, f"{what}: live HTML/Markdown from the data: {sorted(extra)}\n{html[:3000]}"
    assert p.tags.count("details") == p.ends.count("details") <= 1, f"{what}: <details> broken\n{html[-2000:]}"
    if blocks is not None:
        assert p.tags.count("pre") == blocks, f"{what}: {p.tags.count('pre')} code blocks, expected {blocks}"
    return p


def strings(value: Any) -> list[str]:
    """Every string in a decoded JSON document (keys and values)."""
    out: list[str] = []
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, dict):
            out.extend(k for k in v)
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return out
