"""Which terminal of a one-line-per-token grammar (``lines.lark``, ``ovntrace.lark``) a line is.

The answer is the first terminal, in the lexer's order, whose pattern matches the whole line. One
alternation of all of them (``fullmatch``) gives it, but tries every alternative on every line. Most
terminals can only start with a few characters (``Flow: ``, ``bridge(``, a digit, ``->`` ...), so the
alternation is cut, per first character after the indentation, to the terminals that can start with
it (computed from the patterns themselves, once per character seen): the same answer, fewer tries.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable, Iterable
from typing import Any

_sre: Any = importlib.import_module("re._parser")  # the stdlib's regex parser (re.compile uses it)

# (chars, digits): a match can only start with one of ``chars``, or a Unicode decimal digit if ``digits``
_First = tuple[frozenset[str], bool]
# a pattern's first characters are looked at for at most this many distinct first characters
_MAX_KEYS = 1024


def _first(items: list[Any]) -> _First | None:
    """What the first item of a parsed pattern can start with; None when unknown or when it can be
    empty (then it could start with whatever follows)."""
    if not items:
        return None
    op, av = items[0]
    if op is _sre.LITERAL:
        return frozenset((chr(av),)), False
    if op is _sre.IN:
        chars: set[str] = set()
        digits = False
        for o, a in av:
            if o is _sre.LITERAL:
                chars.add(chr(a))
            elif o is _sre.RANGE and a[1] - a[0] <= 256:
                chars.update(chr(x) for x in range(a[0], a[1] + 1))
            elif o is _sre.CATEGORY and a is _sre.CATEGORY_DIGIT:
                digits = True
            else:  # NEGATE, other categories
                return None
        return frozenset(chars), digits
    if op is _sre.SUBPATTERN:
        _group, add_flags, del_flags, sub = av
        return None if add_flags or del_flags else _first(list(sub))
    if op is _sre.BRANCH:
        chars = set()
        digits = False
        for branch in av[1]:
            got = _first(list(branch))
            if got is None:
                return None
            chars |= got[0]
            digits = digits or got[1]
        return frozenset(chars), digits
    if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):
        lo, _hi, sub = av
        return _first(list(sub)) if lo >= 1 else None
    return None


_BLANKS = {(_sre.LITERAL, 32), (_sre.LITERAL, 9)}


def _only_blanks(item: tuple[Any, Any]) -> bool:
    """True when ``item`` can only match spaces and TABs (or nothing): ``[ \t]*``, ``(\t|[ ]*)``."""
    op, av = item
    if op is _sre.LITERAL:
        return (op, av) in _BLANKS
    if op is _sre.IN:
        return bool(av) and all(x in _BLANKS for x in av)
    if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):
        return all(_only_blanks(x) for x in av[2])
    if op is _sre.SUBPATTERN:
        return not av[1] and not av[2] and all(_only_blanks(x) for x in av[3])
    if op is _sre.BRANCH:
        return all(all(_only_blanks(x) for x in branch) for branch in av[1])
    return False


def first_after_indent(regex: str) -> _First | None:
    """What a whole-line match of ``regex`` starts with after the line's leading spaces and TABs
    (None: anything). Leading parts that match only spaces and TABs are skipped; what follows them
    must then start the line's first other character (unless it could be a space or TAB itself)."""
    items = list(_sre.parse(regex))
    while items and _only_blanks(items[0]):
        items = items[1:]
    got = _first(items)
    if got is None or " " in got[0] or "\t" in got[0]:
        return None
    return got


class LineClassifier:
    """``kind(line)``: the name of the first of ``terminals`` (``(name, regex)``, in order) that
    matches all of ``line``, or ``default``."""

    def __init__(self, terminals: Iterable[tuple[str, str]], default: str = "OTHER_LINE") -> None:
        self._terms = [(name, regex, first_after_indent(regex)) for name, regex in terminals]
        self._default = default
        self._by_char: dict[str, Callable[[str], re.Match[str] | None]] = {}

    @functools.cached_property
    def _all(self) -> Callable[[str], re.Match[str] | None]:
        """Every terminal's alternation: rarely needed, so compiled on first use (~8 ms of start-up)."""
        return self._compile(self._terms)

    @staticmethod
    def _compile(terms: list[tuple[str, str, _First | None]]) -> Callable[[str], re.Match[str] | None]:
        return re.compile("|".join(f"(?P<{name}>{regex})" for name, regex, _ in terms)).fullmatch

    def _for_char(self, c: str) -> Callable[[str], re.Match[str] | None]:
        if len(self._by_char) >= _MAX_KEYS:
            return self._all
        fit = [t for t in self._terms if t[2] is None or c in t[2][0] or (t[2][1] and c.isdecimal())]
        got = self._compile(fit) if fit else _no_match
        self._by_char[c] = got
        return got

    def kind(self, line: str, first: str | None = None) -> str:
        """``first``: the line's first character after its spaces and TABs, when the caller has it."""
        c = line.lstrip(" \t")[:1] if first is None else first
        if not c:
            m = self._all(line)
        else:
            fm = self._by_char.get(c)
            m = (fm if fm is not None else self._for_char(c))(line)
        return (m.lastgroup or self._default) if m else self._default


def _no_match(line: str) -> None:
    return None
