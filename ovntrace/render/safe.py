"""Text from traces and databases made safe to show: the one place control characters and markup are escaped.

A pasted trace, an SB name or an error message can hold terminal control sequences (``ESC ] 2 ; … BEL``
retitles the terminal, ``ESC [ 2 J`` clears it, ``ESC ] 8`` makes a link), other C0/C1 controls, DEL,
line/paragraph separators, and invisible format characters (bidi overrides such as U+202E, zero-width
characters, BOMs) that make a terminal or a Markdown reader show something else than the text.

- :func:`escape` shows every such character as a Python-style escape (``\\x1b``, ``\\u202e``,
  ``\\U000e0001``); only the tab is kept (whitespace, it changes no terminal state). It is idempotent:
  its output holds no character it would escape. Backslashes are left as they are (the display is for
  reading, not for parsing back: JSON keeps the exact text).
- :func:`escape_lines` does the same but keeps line feeds (a multi-line text such as the raw input).
- :class:`SafeText` is a :class:`rich.text.Text` whose strings are escaped as they go in: the text
  renderer and the TUI build every label with it, never with markup, so ``[bold]`` prints as itself.
- :func:`md_text` and :func:`md_code` make a field safe in Markdown outside a fenced block (HTML and
  Markdown punctuation escaped; an inline code span whose backtick fence is longer than any run inside);
  :func:`md_fence` picks the fence of a block.
- :func:`json_text` writes the control and format characters of a JSON document as ``\\uXXXX``
  escapes: the strings are the same once parsed, the bytes hold nothing a terminal acts on.

Pure: no I/O; every renderer, the CLI's stderr messages and the TUI's widgets use these.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ovntrace.render.safetext import SafeText as SafeText

# Unicode categories Cc (C0 but tab, DEL, C1), Cf (format: bidi controls, zero-width, BOM, soft hyphen,
# interlinear annotation, tags ...), Zl/Zp (line and paragraph separators) and Cs (lone surrogates, which
# cannot even be encoded). tests/hostile/test_safe.py checks this class against unicodedata.
_OTHER = (  # DEL, C1, and the rest: the same in every context
    "\x7f-\x9f\xad"
    "\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f"
    "\ud800-\udfff\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)


# The patterns are compiled on first use (a few milliseconds of every start-up otherwise; most text is printable
# and never needs them). ``safe.CONTROL`` and ``safe.CONTROL_BUT_LF`` are these, through :func:`__getattr__`.
@functools.cache
def control() -> re.Pattern[str]:
    """Every character :func:`escape` escapes: all but the tab."""
    return re.compile(f"[\x00-\x08\x0a-\x1f{_OTHER}]")


@functools.cache
def control_but_lf() -> re.Pattern[str]:
    """All but the tab and the line feed (:func:`escape_lines`)."""
    return re.compile(f"[\x00-\x08\x0b-\x1f{_OTHER}]")


@functools.cache
def _json_raw() -> re.Pattern[str]:
    return re.compile(f"[{_OTHER}]")  # json.dumps writes C0 in strings as escapes already


def _code(m: re.Match[str]) -> str:
    c = ord(m.group())
    if c < 0x100:
        return f"\\x{c:02x}"
    if c < 0x10000:
        return f"\\u{c:04x}"
    return f"\\U{c:08x}"


def escape(text: str) -> str:
    """``text`` with every control/format character shown as an escape (a line feed too: one line).
    A printable string (``str.isprintable``: no character of the categories Other or Separator but the
    space, a superset of what is escaped) is returned as it is without a regex search."""
    if text.isprintable():
        return text
    pat = control()
    return pat.sub(_code, text) if pat.search(text) else text


def escape_lines(text: str) -> str:
    """Like :func:`escape`, keeping line feeds (the lines of a multi-line text)."""
    if text.isprintable():
        return text
    pat = control_but_lf()
    return pat.sub(_code, text) if pat.search(text) else text


def layout(text: str) -> str:
    """Escape ``text`` but keep the line feeds around it: they are ours (a pane's line ends), not content."""
    if text.isprintable():
        return text
    if "\n" not in text:
        return escape(text)
    core = text.strip("\n")
    if not core:
        return text
    head = text[: len(text) - len(text.lstrip("\n"))]
    tail = text[len(text.rstrip("\n")):]
    return head + escape(core) + tail


def __getattr__(name: str) -> Any:
    """:class:`SafeText` is defined in :mod:`ovntrace.render.safetext` (it imports Rich), loaded on first use:
    plain output never imports Rich."""
    if name == "SafeText":
        from ovntrace.render.safetext import SafeText

        return SafeText
    if name == "CONTROL":
        return control()
    if name == "CONTROL_BUT_LF":
        return control_but_lf()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_PICTURES = {c: 0x2400 + c for c in range(0x20) if c not in (0x09, 0x0a)} | {0x7f: 0x2421}


def pictures(text: str) -> str:
    """One character for one: a C0 control as its Unicode control picture (ESC as ``␛``), DEL as ``␡``,
    any other control or format character as ``�``. For an editable text (the TUI's paste box), whose
    columns must stay the document's; line feeds and tabs are kept."""
    if not control_but_lf().search(text):
        return text
    return control_but_lf().sub(lambda m: chr(_PICTURES.get(ord(m.group()), 0xFFFD)), text)


# -- Markdown -----------------------------------------------------------------------------------------

# ``_`` only where it can open or close emphasis (``ct_state`` stays readable); ``|`` cannot make a table
# in a one-line field
_MD_SPECIAL = re.compile(r"([\\`*\[\]{}#~!]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
_MD_LEAD = re.compile(r"^(\s*)(\d*)([-+=>.)])")


def md_text(text: str) -> str:
    """One Markdown inline field: controls escaped, HTML as entities, Markdown punctuation backslashed,
    a leading list/quote/heading marker neutralised (the field may start a line)."""
    s = escape(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _MD_SPECIAL.sub(r"\\\1", s)
    m = _MD_LEAD.match(s)
    if m is None or (m.group(2) and m.group(3) not in ".)") or (not m.group(2) and m.group(3) in ".)"):
        return s
    return s[: m.start(3)] + "\\" + s[m.start(3):]  # "\- item", "1\. item": text, not a list


def _longest_run(text: str, char: str = "`") -> int:
    return max((len(m) for m in re.findall(f"{re.escape(char)}+", text)), default=0)


def md_code(text: str) -> str:
    """``text`` as one inline code span: its fence is longer than any backtick run inside, padded with a
    space when the text starts or ends with a backtick (CommonMark strips one space each side)."""
    s = escape(text)
    fence = "`" * (_longest_run(s) + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or (s.startswith(" ") and s.endswith(" ") and s.strip()) \
        else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def md_fence(body: str) -> str:
    """The fence of a code block holding ``body``: longer than any backtick run in it, at least three."""
    return "`" * max(3, _longest_run(body) + 1)


# -- JSON ---------------------------------------------------------------------------------------------



def _json_code(m: re.Match[str]) -> str:
    c = ord(m.group())
    if c < 0x10000:
        return f"\\u{c:04x}"
    c -= 0x10000
    return f"\\u{0xd800 + (c >> 10):04x}\\u{0xdc00 + (c & 0x3ff):04x}"


def json_text(document: str) -> str:
    """A ``json.dumps(..., ensure_ascii=False)`` document with DEL, C1 and format characters written as
    ``\\uXXXX`` (json already escapes C0). Only string contents can hold them, so the data is unchanged."""
    if document.isascii() and "\x7f" not in document:  # ASCII but DEL holds none of them
        return document
    pat = _json_raw()
    return pat.sub(_json_code, document) if pat.search(document) else document
