"""The ``list`` text format of ``ovs-vsctl list TABLE`` and ``ovsdb-client -f list dump`` -> plain rows.

A sosreport made by an older sos (Debian 12's sos 4.0) holds no ``conf.db``, but its ``openvswitch`` plugin
runs ``ovsdb-client -f list dump`` (every table of the node's Open_vSwitch database) and ``ovs-vsctl list
Open_vSwitch``; this reads them into the same plain rows a db file gives (see :mod:`ovntrace.sources.ovsdb`),
so :func:`ovntrace.sources.convert.node_facts` makes the node's facts from them. Pure: text in.

The format (ovsdb-data.c ``ovsdb_datum_to_string`` of OVS 3.1): one ``column : value`` line per column,
records separated by a blank line, a ``NAME table`` heading per table in a dump; a value is an atom (a bare
word, a number, ``true``/``false``, a UUID, or a C-quoted string), a set ``[a, b]`` (the empty set ``[]`` is
also an empty optional column) or a map ``{k=v, k2=v2}``. Column types come from
:mod:`ovntrace.sources.schema_spec`; columns not there are kept as strings (sets and maps as such).
"""

from __future__ import annotations

import re
from typing import Any

from ovntrace.sources.ovsdb import Tables
from ovntrace.sources.schema_spec import SPEC

_HEADING = re.compile(r"^(\w+) table$")
_LINE = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s?(.*)$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class ListError(ValueError):
    """A line that is not ``column : value``; ``line`` is 1-based."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def _atoms(text: str, line: int) -> list[str | tuple[str, str]]:
    """Split the inside of ``[...]`` or ``{...}``: atoms, or ``(key, value)`` pairs for a map."""
    out: list[str | tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " ,":
            i += 1
        if i >= n:
            break
        key, i = _atom(text, i, line, "=,")
        if i < n and text[i] == "=":
            val, i = _atom(text, i + 1, line, ",")
            out.append((key, val))
        else:
            out.append(key)
    return out


def _atom(text: str, i: int, line: int, stops: str) -> tuple[str, int]:
    if i < len(text) and text[i] == '"':
        j = i + 1
        buf: list[str] = []
        while j < len(text) and text[j] != '"':
            if text[j] == "\\" and j + 1 < len(text):
                j += 1
                buf.append({"n": "\n", "t": "\t", "r": "\r"}.get(text[j], text[j]))
            else:
                buf.append(text[j])
            j += 1
        if j >= len(text):
            raise ListError(f"a quoted string that does not end: {text[i:i + 60]!r}", line)
        return "".join(buf), j + 1
    j = i
    while j < len(text) and text[j] not in stops:
        j += 1
    return text[i:j].strip(), j


def _convert(atom: str, code: str) -> Any:
    if code == "i":
        try:
            return int(atom)
        except ValueError:
            return atom
    if code == "r":
        try:
            return float(atom)
        except ValueError:
            return atom
    if code == "b":
        return atom == "true"
    return atom


def _value(raw: str, code: str | None, line: int) -> Any:
    raw = raw.strip()
    if code is not None and code.startswith("{"):
        kcode, vcode = code[1], code[2]
        inner = raw[1:-1] if raw.startswith("{") and raw.endswith("}") else raw
        return {str(_convert(k, kcode)): _convert(v, vcode)
                for k, v in (p for p in _atoms(inner, line) if isinstance(p, tuple))}
    if code is not None and code[0] in "?*+":
        base = code[1]
        if raw.startswith("[") and raw.endswith("]"):
            items = [a for a in _atoms(raw[1:-1], line) if isinstance(a, str)]
        else:
            items = [_atom(raw, 0, line, "")[0]]
        vals = [_convert(a, base) for a in items]
        if code[0] == "?":
            return vals[0] if vals else None
        return sorted(vals, key=str)
    if code is not None:
        return _convert(_atom(raw, 0, line, "")[0], code)
    # a column the spec does not know: keep its text (a map or a set as such, for display only)
    if raw.startswith("{") and raw.endswith("}"):
        return {k: v for k, v in (p for p in _atoms(raw[1:-1], line) if isinstance(p, tuple))}
    if raw.startswith("[") and raw.endswith("]"):
        return [a for a in _atoms(raw[1:-1], line) if isinstance(a, str)]
    return _atom(raw, 0, line, "")[0] if raw.startswith('"') else raw


def parse_list(text: str, table: str | None = None, db: str = "Open_vSwitch") -> Tables:
    """Plain rows of ``text``: a dump (``NAME table`` headings) or the records of one ``list`` of ``table``.
    Raises :class:`ListError` naming the line of a line that is neither a heading nor ``column : value``."""
    spec = SPEC.get(db, {})
    tables: dict[str, dict[str, Any]] = {}
    current = table
    row: dict[str, Any] = {}

    def flush() -> None:
        nonlocal row
        if row and current is not None:
            uuid = str(row.pop("_uuid", "") or f"row-{len(tables.get(current, {})) + 1}")
            tables.setdefault(current, {})[uuid] = row
        row = {}

    for no, ln in enumerate(text.splitlines(), 1):
        if not ln.strip():
            flush()
            continue
        m = _HEADING.match(ln)
        if m and ":" not in ln:
            flush()
            current = m.group(1)
            tables.setdefault(current, {})
            continue
        m = _LINE.match(ln)
        if not m:
            raise ListError(f"expected 'column : value' or 'TABLE table', got {ln[:80]!r}", no)
        if current is None:
            raise ListError("a record before any 'TABLE table' heading (name the table)", no)
        col, raw = m.group(1), m.group(2)
        if col == "_uuid":
            row["_uuid"] = raw.strip()
            continue
        row[col] = _value(raw, spec.get(current, {}).get(col), no)
    flush()
    return dict(tables.items())


def looks_like_list(text: str) -> bool:
    """The first non-blank line is ``_uuid : UUID`` or a ``NAME table`` heading."""
    for ln in text.splitlines()[:4]:
        if not ln.strip():
            continue
        m = _LINE.match(ln)
        if m and m.group(1) == "_uuid" and _UUID.match(m.group(2).strip()):
            return True
        return bool(_HEADING.match(ln))
    return False
