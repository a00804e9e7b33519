"""Hand-written parsers for the two small grammars, ``actions.lark`` and ``kv.lark``, used before lark.

Each builds the tree lark would (same rule names, children, and for actions the same source spans).
:func:`action_tree` answers ``None`` when it is not sure (a text with whitespace, anything the
grammar might reject, any shape it does not know): "ask the grammar", so the grammar stays the
definition and lark is imported only for the rare action text it does not take. :func:`kv_tree`
is the whole of its small grammar: ``None`` is a rejection. tests/parser/test_quick.py checks both
against lark on every action and flow text of the fixtures, and on mutated ones.

Why not lark every time: importing lark and loading a grammar costs ~60 ms at start-up, more than
parsing a whole 400-line trace; and a parse through it costs ~20x what these cost.
"""

from __future__ import annotations

import re
from typing import Any


class Meta:
    __slots__ = ("end_pos", "start_pos")
    empty = False

    def __init__(self, start: int, end: int) -> None:
        self.start_pos = start
        self.end_pos = end


class Tree:
    """The part of ``lark.Tree`` the builders read: ``data``, ``children`` (trees and ``str`` tokens), ``meta``."""

    __slots__ = ("children", "data", "meta")

    def __init__(self, data: str, children: list[Any], start: int = 0, end: int = 0) -> None:
        self.data = data
        self.children = children
        self.meta = Meta(start, end)

    def __repr__(self) -> str:
        return f"Tree({self.data!r}, {self.children!r})"


class _Bail(Exception):
    """Not sure: let the grammar decide."""


# -- actions.lark ---------------------------------------------------------------------------------

# tokens: "->", one of "(),=", or TEXT (the grammar's /(?:[^(),=\s\-]|-(?!>))+/); nothing else (no
# whitespace: the grammar ignores spaces, these do not try)
_ACTION_TOKEN = re.compile(r"(->)|([(),=])|((?:[^(),=\s\-]|-(?!>))+)")
_ARROW, _PUNCT, _TEXT = 1, 2, 3
_KEYWORDS = ("set_field:", "load:", "move:")


def _action_tokens(text: str) -> list[tuple[int, str, int, int]]:
    out: list[tuple[int, str, int, int]] = []
    pos, n = 0, len(text)
    match = _ACTION_TOKEN.match
    while pos < n:
        m = match(text, pos)
        if m is None:
            raise _Bail
        kind = m.lastindex or 0
        end = m.end()
        out.append((kind, m.group(kind), pos, end))
        pos = end
    return out


class _Actions:
    def __init__(self, text: str) -> None:
        self.toks = _action_tokens(text)
        self.i = 0

    def _peek(self) -> tuple[int, str, int, int] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def _take(self, kind: int, value: str | None = None) -> tuple[int, str, int, int]:
        tok = self._peek()
        if tok is None or tok[0] != kind or (value is not None and tok[1] != value):
            raise _Bail
        self.i += 1
        return tok

    def start(self) -> Tree:
        acts = [self.action()]
        while self._peek() is not None:
            self._take(_PUNCT, ",")
            acts.append(self.action())
        return Tree("start", acts, acts[0].meta.start_pos, acts[-1].meta.end_pos)

    def action(self) -> Tree:
        _kind, value, s, e = self._take(_TEXT)
        # a keyword, where the grammar's lexer tries it first (it has a higher priority than TEXT)
        for kw in _KEYWORDS:
            if value.startswith(kw):
                rest = value[len(kw):]
                if not rest:
                    raise _Bail
                k = s + len(kw)
                name = kw[:-1]
                if name == "move":
                    src = rest
                    self._take(_ARROW)
                    dst = self._take(_TEXT)
                    return Tree("move", [kw, src, dst[1]], s, dst[3])
                val = self._value_from(rest, k, e)
                self._take(_ARROW)
                dst = self._take(_TEXT)
                return Tree(name, [kw, val, dst[1]], s, dst[3])
        nxt = self._peek()
        if value == "check_pkt_larger" and nxt is not None and nxt[1] == "(" and nxt[2] == e:
            self.i += 1
            size = self._take(_TEXT)
            self._take(_PUNCT, ")")
            self._take(_ARROW)
            dst = self._take(_TEXT)
            return Tree("check_pkt_larger", ["check_pkt_larger(", size[1], dst[1]], s, dst[3])
        if nxt is not None and nxt[1] == "(":
            self.i += 1
            items, end = self._items()
            return Tree("call", [value, *items], s, end)
        return Tree("word", [value], s, e)

    def _value_from(self, text: str, s: int, e: int) -> Tree:
        """``value`` whose first TEXT token is ``text`` (already taken)."""
        nxt = self._peek()
        if nxt is not None and nxt[1] == "(":
            self.i += 1
            items, end = self._items()
            return Tree("value", [text, *items], s, end)
        return Tree("value", [text], s, e)

    def value(self) -> Tree:
        tok = self._peek()
        if tok is None:
            raise _Bail
        if tok[0] == _TEXT:
            self.i += 1
            return self._value_from(tok[1], tok[2], tok[3])
        if tok[1] == "(":
            self.i += 1
            items, end = self._items()
            return Tree("value", items, tok[2], end)
        raise _Bail

    def _items(self) -> tuple[list[Any], int]:
        """``item? ("," item?)* ")"`` after a ``(``: the items and the end of the ``)``."""
        items: list[Any] = []
        while True:
            tok = self._peek()
            if tok is None:
                raise _Bail
            if tok[1] == ")":
                self.i += 1
                return items, tok[3]
            if tok[1] == ",":
                self.i += 1
                continue
            items.append(self.item())
            tok = self._peek()
            if tok is None or tok[1] not in (",", ")"):
                raise _Bail

    def item(self) -> Tree:
        tok = self._peek()
        nxt = self.toks[self.i + 1] if self.i + 1 < len(self.toks) else None
        if (tok is not None and tok[0] == _TEXT and nxt is not None and nxt[1] == "="
                and not tok[1].startswith(_KEYWORDS)):
            self.i += 2
            val = self.value()
            return Tree("kv", [tok[1], val], tok[2], val.meta.end_pos)
        return self.action()


def action_tree(text: str) -> Tree | None:
    """The ``start`` tree of ``actions.lark`` for ``text`` (stripped), or None: ask the grammar."""
    if not text:
        return None
    try:
        return _Actions(text).start()
    except (_Bail, RecursionError):
        return None


# -- kv.lark --------------------------------------------------------------------------------------

# tokens: one of "(){},=" or WORD (the grammar's /[^(){},=\s]+/); the grammar also skips spaces and
# TABs, so these do too (any other whitespace: not sure)
_KV_TOKEN = re.compile(r"[ \t]*(?:([(){},=])|([^(){},=\s]+))")


def _kv_tokens(text: str) -> list[tuple[bool, str]]:
    out: list[tuple[bool, str]] = []
    pos, n = 0, len(text)
    match = _KV_TOKEN.match
    while pos < n:
        m = match(text, pos)
        if m is None:
            if not text[pos:].strip(" \t"):
                break
            raise _Bail
        punct = m.group(1)
        out.append((True, punct) if punct is not None else (False, m.group(2)))
        pos = m.end()
    return out


class _Kv:
    def __init__(self, text: str) -> None:
        self.toks = _kv_tokens(text)
        self.i = 0

    def start(self) -> Tree:
        items = self._items(None)
        if self.i != len(self.toks):
            raise _Bail
        return Tree("start", items)

    def _items(self, close: str | None) -> list[Any]:
        """``item? ("," item?)*`` up to ``close`` (taken) or the end."""
        items: list[Any] = []
        toks = self.toks
        while True:
            if self.i >= len(toks):
                if close is not None:
                    raise _Bail
                return items
            punct, value = toks[self.i]
            if punct and value == close:
                self.i += 1
                return items
            if punct and value == ",":
                self.i += 1
                continue
            items.append(self.item())
            if self.i < len(toks):
                punct, value = toks[self.i]
                if not punct or value not in (",", close):
                    raise _Bail
            elif close is not None:
                raise _Bail

    def _next(self) -> tuple[bool, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def item(self) -> Tree:
        punct, value = self.toks[self.i]
        self.i += 1
        if not punct:
            nxt = self._next()
            if nxt == (True, "="):
                self.i += 1
                return Tree("kv", [value, self.value()])
            if nxt == (True, "("):
                self.i += 1
                return Tree("call", [value, *self._items(")")])
            return Tree("word", [value])
        if value == "{":
            return Tree("braces", self._items("}"))
        if value == "(":
            return Tree("group", self._items(")"))
        raise _Bail

    def value(self) -> Tree:
        tok = self._next()
        if tok is None:
            raise _Bail
        punct, value = tok
        self.i += 1
        if not punct:
            if self._next() == (True, "("):
                self.i += 1
                return Tree("call", [value, *self._items(")")])
            return Tree("atom", [value])
        if value == "(":
            return Tree("group", self._items(")"))
        if value == "{":
            return Tree("braces", self._items("}"))
        raise _Bail


def kv_tree(text: str) -> Tree | None:
    """The ``start`` tree of ``kv.lark`` for ``text`` (stripped), or None: the grammar rejects it.

    Unlike :func:`action_tree` this one is the whole grammar (it is LL(1), and its tokens do not
    depend on where they are), so None is an answer, not a deferral; callers bound the nesting.
    """
    try:
        return _Kv(text).start()
    except (_Bail, RecursionError):
        return None
