"""Load the ``.lark`` grammars once per process, with an on-disk cache outside the package dir.

Lark itself is imported only when a grammar is first needed: the line grammars' terminals are read
straight from their ``.lark`` text (:func:`line_terminals`), and the common action and flow shapes
are parsed without a grammar (``actions.py``, ``kv.py``), so most inputs never import it.

Building an LALR table costs tens of milliseconds per grammar; a serialized parser loads in a few.
The cache lives in ``$OVNTRACE_CACHE_DIR`` or ``$XDG_CACHE_HOME/ovntrace`` (``~/.cache/ovntrace``),
keyed by the grammar's hash and lark's version, and is written atomically. Any cache problem falls
back to building the parser: the cache is an optimisation, never a requirement.
"""

from __future__ import annotations

import functools
import os
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    import lark

# next to this module (importlib.resources and pathlib are not imported for it: together they cost
# more at start-up than reading the grammars)
_GRAMMARS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "grammars")
# a terminal definition of the one-line-per-token grammars: NAME[.PRIORITY]: /REGEX/
_TERMINAL_RE = re.compile(r"^(?P<name>[A-Z_][A-Z0-9_]*)(?:\.(?P<prio>-?\d+))?: /(?P<re>.*)/$")


def grammar_text(name: str) -> str:
    with open(os.path.join(_GRAMMARS, f"{name}.lark"), encoding="utf-8") as f:
        return f.read()


def _unescape(regex: str) -> str:
    """``\\n``/``\\t``/``\\r`` as the characters (as lark reads a ``/.../`` literal); other escapes kept."""
    out: list[str] = []
    i = 0
    while i < len(regex):
        c = regex[i]
        if c == "\\" and i + 1 < len(regex):
            nxt = regex[i + 1]
            out.append({"n": "\n", "t": "\t", "r": "\r"}.get(nxt, c + nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


@functools.cache
def line_terminals(name: str) -> tuple[tuple[str, int, str], ...]:
    """``(name, priority, regex)`` of each ``*_LINE`` terminal of ``grammars/<name>.lark`` (``lines``,
    ``ovntrace``), in the order a lexer tries them: highest priority first, then as written.

    Read from the grammar text (every such terminal is one ``NAME.P: /REGEX/`` line), without lark:
    tests/parser/test_lazy_lark.py checks it equals what lark makes of the same grammar.
    """
    found: list[tuple[str, int, str]] = []
    for line in grammar_text(name).splitlines():
        m = _TERMINAL_RE.match(line.strip())
        if m and m.group("name").endswith("_LINE"):
            found.append((m.group("name"), int(m.group("prio") or 0), _unescape(m.group("re"))))
    order = {t[0]: i for i, t in enumerate(found)}
    return tuple(sorted(found, key=lambda t: (-t[1], order[t[0]])))


def cache_dir() -> Path | None:
    from pathlib import Path

    explicit = os.environ.get("OVNTRACE_CACHE_DIR")
    if explicit == "":
        return None  # OVNTRACE_CACHE_DIR= disables the cache
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ovntrace"


def _options(name: str) -> dict[str, Any]:
    if name == "lines":
        return {"parser": "lalr", "lexer": "basic"}
    opts: dict[str, Any] = {"parser": "lalr", "lexer": "contextual", "maybe_placeholders": False}
    if name == "actions":
        opts["propagate_positions"] = True  # nested action texts are sliced from the line as printed
    return opts


@functools.cache
def grammar(name: str) -> lark.Lark:
    """The Lark parser for ``grammars/<name>.lark`` (``lines``, ``actions``, ``kv``)."""
    import hashlib

    import lark

    text = grammar_text(name)
    opts = _options(name)
    digest = hashlib.sha256((text + repr(sorted(opts.items())) + lark.__version__).encode()).hexdigest()[:16]
    directory = cache_dir()
    path = directory / f"{name}-{digest}.lark" if directory else None
    if path is not None:
        try:
            with path.open("rb") as f:
                return lark.Lark.load(f)
        except Exception:
            pass
    parser = lark.Lark(text, **opts)
    if path is not None:
        _save(parser, path)
    return parser


def parse_or_none(name: str, text: str) -> Any:
    """``grammar(name).parse(text)``, or None when the grammar rejects ``text``."""
    import lark

    try:
        return grammar(name).parse(text)
    except lark.exceptions.LarkError:
        return None


def _save(parser: lark.Lark, path: Path) -> None:
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                parser.save(f)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except Exception:
        pass
