"""OVSDB data and database files, read natively (no ovsdb-server): pure functions over bytes and JSON.

Facts used (Open vSwitch ``ovsdb(5)``, RFC 7047):

* A database file is a series of records of two lines each: ``OVSDB <magic> <length> <sha1>`` and then
  exactly ``length`` bytes of JSON (an object) whose SHA-1 is ``sha1``. ``magic`` is ``JSON`` for a
  standalone database and ``CLUSTER`` for a clustered (Raft) one. A final record cut short (a crash
  while writing) is ignored, as OVSDB itself does.
* Standalone: the first record is the schema; each later record is a transaction:
  ``{"<table>": {"<row uuid>": null | {"<column>": <value>}}, "_date": ms, "_comment": "...",
  "_is_diff": true}``. ``null`` deletes the row; an unknown row is inserted (omitted columns have their
  type's default); a known row is modified. With ``"_is_diff": true``, the value given for a column
  that can hold more than one element (a set or map whose maximum size is above 1) is a *difference*:
  a set element present in it is toggled; a map pair whose key is absent is added, whose key is present
  with another value replaces it, and whose key and value are both present is removed. Other columns
  take the new value. A record holding a schema instead of a transaction resets the database.
* Clustered: record 0 is the header (``server_id``, ``cluster_id``, ``name``, ``prev_index``,
  ``prev_servers``, and ``prev_data``: ``[schema, transaction]`` snapshot of the whole database);
  later records are Raft records; those with ``index`` and ``data`` are log entries whose ``data`` is
  ``[schema | null, transaction | null]`` (a schema resets the database to empty, then the transaction
  holds the full contents). A later entry with an index already seen truncates the log there.
* Values: atoms (string, integer, real, boolean, ``["uuid", u]``, ``["named-uuid", n]``), sets
  (``["set", [atom, ...]]``, or a lone atom for a one-element set) and maps (``["map", [[k, v], ...]]``).

Rows come out as *plain* values (see :func:`to_plain`): an atom as itself (UUIDs as lowercase strings), an
optional column (at most one element) as its value or ``None``, a set as a sorted list, a map as a dict
sorted by key. Every source produces rows in this one form, so one converter serves them all.
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ovntrace.sources.errors import SourceError

PlainRow = dict[str, Any]
Table = dict[str, PlainRow]  # row uuid -> row
# table name -> rows: a dict, or (db files, tables named ``lazy``) a LazyRows converting rows when read
Tables = dict[str, Mapping[str, PlainRow]]
# Which columns to keep per table (None: all columns); tables not named are skipped.
Wanted = Mapping[str, frozenset[str] | None]

ZERO_UUID = "00000000-0000-0000-0000-000000000000"
_ATOM_DEFAULTS: dict[str, Any] = {"s": "", "i": 0, "r": 0.0, "b": False, "u": ZERO_UUID}
_ATOM_CODES = {"string": "s", "integer": "i", "real": "r", "boolean": "b", "uuid": "u"}
_TXN_META = ("_date", "_comment", "_is_diff")


@contextmanager
def gc_paused() -> Iterator[None]:
    """Parsing big JSON builds millions of containers: the cyclic GC would rescan them again and again,
    and once more right after it is enabled again. So the objects alive at the end are moved to the
    permanent generation (``gc.freeze``): the rows hold no reference cycles, reference counting frees
    them, and no later collection walks them again."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.freeze()
            gc.enable()


# -- column types ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ColType:
    """A column's type, reduced to what decoding needs. ``kind``: atom | opt | set | map."""

    kind: str
    key: str  # atom code: s i r b u
    value: str | None = None  # maps only
    min: int = 1

    @property
    def composite(self) -> bool:
        return self.kind in ("set", "map")

    @property
    def code(self) -> str:
        if self.kind == "atom":
            return self.key
        if self.kind == "opt":
            return "?" + self.key
        if self.kind == "set":
            return ("+" if self.min else "*") + self.key
        return "{" + self.key + (self.value or "s") + "}"

    @staticmethod
    def from_code(code: str) -> ColType:
        """Inverse of :attr:`code`: ``s``, ``?u``, ``*s``, ``+u``, ``{ss}``."""
        if code.startswith("{"):
            return ColType("map", code[1], code[2], 0)
        if code.startswith("?"):
            return ColType("opt", code[1], None, 0)
        if code.startswith("*"):
            return ColType("set", code[1], None, 0)
        if code.startswith("+"):
            return ColType("set", code[1], None, 1)
        return ColType("atom", code, None, 1)

    @staticmethod
    def from_json(t: Any) -> ColType:
        """A column ``type`` from an OVSDB schema (RFC 7047 <type>)."""
        if isinstance(t, str):
            return ColType("atom", _ATOM_CODES.get(t, "s"))
        if not isinstance(t, dict):
            raise SourceError(f"bad column type in schema: {t!r}")
        key = _atom_code(t.get("key"))
        mn = int(t.get("min", 1))
        mx = t.get("max", 1)
        many = mx == "unlimited" or int(mx) > 1
        if "value" in t:
            return ColType("map", key, _atom_code(t["value"]), mn)
        if many:
            return ColType("set", key, None, mn)
        if mn == 0:
            return ColType("opt", key, None, 0)
        return ColType("atom", key, None, 1)


def _atom_code(t: Any) -> str:
    if isinstance(t, dict):
        t = t.get("type")
    return _ATOM_CODES.get(str(t), "s")


def new_row(defaults: Mapping[str, Any], rj: Mapping[str, Any],
            convs: Mapping[str, Callable[[Any], Any] | None]) -> dict[str, Any]:
    """A plain row from its OVSDB JSON ``rj`` (an insert or an ``update2`` initial row): the columns it
    leaves out hold their defaults; only the columns in ``convs`` are kept, converted (``None``: as is)."""
    row = dict(defaults)
    for c, v in rj.items():
        if c in convs:
            conv = convs[c]
            row[c] = v if conv is None else conv(v)
    return row


def default_plain(ct: ColType) -> Any:
    if ct.kind == "atom":
        return _ATOM_DEFAULTS[ct.key]
    if ct.kind == "opt":
        return None
    if ct.kind == "set":
        return [_ATOM_DEFAULTS[ct.key]] if ct.min else []
    return {}


# -- values -----------------------------------------------------------------------------------------


def atom_plain(v: Any, code: str) -> Any:
    if code == "u":
        if isinstance(v, list) and len(v) == 2 and v[0] in ("uuid", "named-uuid"):
            return str(v[1]).lower()
        if isinstance(v, str):
            return v.lower()
        raise SourceError(f"expected a UUID, got {v!r}")
    if code == "r" and isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, list):
        raise SourceError(f"expected an atom, got {v!r}")
    return v


def _elements(v: Any) -> list[Any]:
    if isinstance(v, list) and len(v) == 2 and v[0] == "set" and isinstance(v[1], list):
        return v[1]
    return [v]


def _sorted(items: list[Any]) -> list[Any]:
    try:
        return sorted(items)
    except TypeError:
        return items


def to_plain(v: Any, ct: ColType) -> Any:
    """An OVSDB JSON value of type ``ct`` as a plain Python value (see the module docstring)."""
    conv = converter(ct)
    return v if conv is None else conv(v)


def _uuid_atom(v: Any) -> Any:
    if isinstance(v, list) and len(v) == 2:
        if v[0] == "set":  # a one-element set written as a set
            return _uuid_atom(v[1][0]) if v[1] else ZERO_UUID
        return str(v[1]).lower()
    return atom_plain(v, "u")


def converter(ct: ColType) -> Callable[[Any], Any] | None:
    """A function turning a JSON value of type ``ct`` into its plain value; ``None`` when the JSON value
    already is the plain value (string, integer and boolean atoms)."""
    kind, key = ct.kind, ct.key
    if kind == "atom":
        if key == "u":
            return _uuid_atom
        if key == "r":
            return lambda v: float(v) if isinstance(v, int) else _scalar(v, "r")
        return None
    if kind == "opt":
        if key == "u":
            def opt_uuid(v: Any) -> Any:
                if isinstance(v, list) and len(v) == 2 and v[0] != "set":
                    return str(v[1]).lower()
                els = _elements(v)
                return atom_plain(els[0], "u") if els else None

            return opt_uuid

        def opt(v: Any) -> Any:
            if not isinstance(v, list):
                return v
            els = _elements(v)
            return atom_plain(els[0], key) if els else None

        return opt
    if kind == "set" and key in "sib":  # elements are their own plain value: checked, not converted
        def set_atoms(v: Any) -> Any:
            if type(v) is not list:  # a one-element set written as its atom (the usual case)
                return [v]
            els = _elements(v)
            for x in els:
                if isinstance(x, list):
                    raise SourceError(f"expected an atom, got {x!r}")
            if len(els) < 2:
                return list(els)
            try:
                return sorted(els)
            except TypeError:  # mixed types: as given, like _sorted
                return list(els)

        return set_atoms
    if kind == "set" and key == "u":
        def set_uuids(v: Any) -> Any:
            els = _elements(v)
            out = []
            for x in els:  # ["uuid", "..."] inline: atom_plain's checks for anything else
                out.append(x[1].lower() if type(x) is list and len(x) == 2 and x[0] == "uuid" and type(x[1]) is str
                           else atom_plain(x, "u"))
            out.sort()
            return out

        return set_uuids
    if kind == "set":
        def set_(v: Any) -> Any:
            return _sorted([atom_plain(x, key) for x in _elements(v)])

        return set_
    kc, vc = key, ct.value or "s"
    plain_pairs = kc in "sib" and vc in "sib"

    def map_(v: Any) -> Any:
        if not (isinstance(v, list) and len(v) == 2 and v[0] == "map"):
            raise SourceError(f"expected a map, got {v!r}")
        if plain_pairs:
            return dict(v[1])
        return {atom_plain(k, kc): atom_plain(x, vc) for k, x in v[1]}

    return map_


def _scalar(v: Any, code: str) -> Any:
    if isinstance(v, list) and len(v) == 2 and v[0] == "set":
        return atom_plain(v[1][0], code) if v[1] else _ATOM_DEFAULTS[code]
    return atom_plain(v, code)


def apply_diff(old: Any, diff: Any, ct: ColType) -> Any:
    """Apply a plain difference ``diff`` (decoded with :func:`to_plain`) to the plain value ``old``."""
    if ct.kind == "set":
        result = set(old) ^ set(diff)
        return _sorted(list(result))
    if ct.kind == "map":
        out = dict(old)
        for k, v in diff.items():
            if k not in out or out[k] != v:
                out[k] = v
            else:
                del out[k]
        return out
    return diff


# -- schema -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Schema:
    name: str
    version: str | None
    tables: Mapping[str, Mapping[str, ColType]]

    @staticmethod
    def from_json(obj: Any) -> Schema:
        if not is_schema(obj):
            raise SourceError("expected an OVSDB schema (name, tables)")
        tables: dict[str, dict[str, ColType]] = {}
        for tname, tdef in obj["tables"].items():
            cols = tdef.get("columns", {}) if isinstance(tdef, dict) else {}
            tables[tname] = {c: ColType.from_json(cdef.get("type")) for c, cdef in cols.items()}
        version = obj.get("version")
        return Schema(str(obj["name"]), str(version) if version is not None else None, tables)


def is_schema(obj: Any) -> bool:
    return (isinstance(obj, dict) and isinstance(obj.get("name"), str) and isinstance(obj.get("tables"), dict)
            and all(isinstance(t, dict) and "columns" in t for t in obj["tables"].values()))


# -- the database as replayed -----------------------------------------------------------------------


class LazyRows(Mapping[str, PlainRow]):
    """The rows of one big table as read from a file (Logical_Flow: ~50k rows in a large cluster), kept as
    their raw JSON until read: a row is converted to its plain form (see :func:`to_plain`; omitted columns
    get their type's default, unwanted columns are dropped) the first time it is looked up. As a mapping it
    is the same as the plain ``dict`` a dump or a live server gives."""

    __slots__ = ("_convs", "_defaults", "_plain", "_raw")

    def __init__(self, convs: Mapping[str, Callable[[Any], Any] | None], defaults: Mapping[str, Any]) -> None:
        self._raw: dict[str, dict[str, Any]] = {}  # uuid -> the row's JSON as inserted
        self._plain: dict[str, PlainRow] = {}  # uuid -> plain row (converted, or modified after insertion)
        self._convs = convs
        self._defaults = defaults

    def insert(self, uuid: str, rj: dict[str, Any]) -> None:
        self._plain.pop(uuid, None)
        self._raw[uuid] = rj

    def put_plain(self, uuid: str, row: PlainRow) -> None:
        self._raw.pop(uuid, None)
        self._plain[uuid] = row

    def delete(self, uuid: str) -> None:
        self._raw.pop(uuid, None)
        self._plain.pop(uuid, None)

    def __getitem__(self, uuid: str) -> PlainRow:
        row = self._plain.get(uuid)
        if row is not None:
            return row
        rj = self._raw[uuid]
        row = dict(self._defaults)
        convs = self._convs
        for c, v in rj.items():
            if c in convs:
                conv = convs[c]
                row[c] = v if conv is None else conv(v)
        del self._raw[uuid]
        self._plain[uuid] = row
        return row

    def for_update(self, uuid: str) -> PlainRow | None:
        """The plain row to modify in place, or ``None`` when there is no such row."""
        row = self._plain.get(uuid)
        if row is None and uuid in self._raw:
            row = self[uuid]
        return row

    def __contains__(self, uuid: object) -> bool:
        return uuid in self._raw or uuid in self._plain

    def __iter__(self) -> Iterator[str]:
        yield from self._raw
        yield from self._plain

    def __len__(self) -> int:
        return len(self._raw) + len(self._plain)

    def __repr__(self) -> str:
        return f"LazyRows({len(self)} rows)"


@dataclass
class Database:
    """Rows of the wanted tables after replaying a file (or decoding a dump), as plain values."""

    schema: Schema
    tables: Tables = field(default_factory=dict)
    format: str = "standalone"  # standalone | clustered | dump | list | live
    transactions: int = 0
    notes: list[str] = field(default_factory=list)  # what was tolerated (a cut final record ...)

    @property
    def name(self) -> str:
        return self.schema.name


class _Replayer:
    def __init__(self, schema: Schema, wanted: Wanted | None, lazy: frozenset[str] = frozenset()) -> None:
        self.wanted = wanted
        self.lazy = lazy
        self.db = Database(schema)
        self._prep(schema)

    def _prep(self, schema: Schema) -> None:
        self.db.schema = schema
        self.cols: dict[str, dict[str, ColType]] = {}
        self.convs: dict[str, dict[str, Callable[[Any], Any] | None]] = {}
        self.defaults: dict[str, dict[str, Any]] = {}
        self.plain_tables: dict[str, Table] = {}
        self.lazy_tables: dict[str, LazyRows] = {}
        for tname, cols in schema.tables.items():
            if self.wanted is not None and tname not in self.wanted:
                continue
            keep = self.wanted.get(tname) if self.wanted is not None else None
            chosen = {c: t for c, t in cols.items() if keep is None or c in keep}
            self.cols[tname] = chosen
            self.convs[tname] = {c: converter(t) for c, t in chosen.items()}
            self.defaults[tname] = {c: default_plain(t) for c, t in chosen.items()}
            if tname in self.lazy:
                self.db.tables[tname] = self.lazy_tables[tname] = LazyRows(self.convs[tname], self.defaults[tname])
            else:
                self.db.tables[tname] = self.plain_tables[tname] = {}

    def reset(self, schema: Schema) -> None:
        self.db.tables = {}
        self._prep(schema)

    def convert(self, schema: Schema) -> None:
        """A schema change with no data: keep the rows, drop columns the new schema lacks."""
        old = self.db.tables
        self.db.tables = {}
        self._prep(schema)
        for tname, rows in old.items():
            if tname in self.cols:
                cols = self.cols[tname]
                defaults = self.defaults[tname]
                for u, r in rows.items():
                    row = {c: r.get(c, defaults[c]) for c in cols}
                    if tname in self.lazy_tables:
                        self.lazy_tables[tname].put_plain(u, row)
                    else:
                        self.plain_tables[tname][u] = row

    def apply(self, txn: Any) -> None:
        if not isinstance(txn, dict):
            raise SourceError("a transaction record is not a JSON object")
        is_diff = txn.get("_is_diff") is True
        self.db.transactions += 1
        for tname, trows in txn.items():
            cols = self.cols.get(tname)
            if cols is None or not isinstance(trows, dict):
                continue
            lazy = self.lazy_tables.get(tname)
            if lazy is not None:
                self._apply_lazy(lazy, trows, cols, is_diff)
                continue
            table = self.plain_tables[tname]
            defaults = self.defaults[tname]
            convs = self.convs[tname]
            for uuid, rj in trows.items():
                if rj is None:
                    table.pop(uuid, None)
                    continue
                row = table.get(uuid)
                if row is None:
                    table[uuid] = new_row(defaults, rj, convs)
                    continue
                _update(row, rj, cols, is_diff)

    @staticmethod
    def _apply_lazy(table: LazyRows, trows: dict[str, Any], cols: Mapping[str, ColType], is_diff: bool) -> None:
        """New rows stay raw JSON; a modified row is converted first, then changed as in :meth:`apply`."""
        for uuid, rj in trows.items():
            if rj is None:
                table.delete(uuid)
                continue
            row = table.for_update(uuid)
            if row is None:
                table.insert(uuid, rj)
                continue
            _update(row, rj, cols, is_diff)


def _update(row: dict[str, Any], rj: Mapping[str, Any], cols: Mapping[str, ColType], is_diff: bool) -> None:
    """Apply one transaction's new values (or, in ``_is_diff`` files, diffs of composite columns) to a row."""
    for c, v in rj.items():
        ct = cols.get(c)
        if ct is None:
            continue
        if is_diff and ct.composite:
            row[c] = apply_diff(row[c], to_plain(v, ct), ct)
        else:
            row[c] = to_plain(v, ct)


# -- records ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Record:
    magic: str  # JSON | CLUSTER
    offset: int
    data: Any


def is_db_file(head: bytes) -> bool:
    return head.startswith((b"OVSDB JSON ", b"OVSDB CLUSTER "))


def split_records(data: bytes, name: str = "database file", keep: Keep | None = None,
                  per_dp: PerDatapath | None = None) -> tuple[list[Record], list[str]]:
    """The records of a database file, checksums verified. A cut or corrupt *final* record is left
    out with a note; anywhere else it is an error. ``keep`` (see :data:`Keep`): only those rows of its
    table are decoded and kept. ``per_dp``: a compacted file's one data record (the snapshot, nothing after it)
    may leave out rows :func:`keep_per_datapath` drops (the caller must still apply it)."""
    out: list[Record] = []
    notes: list[str] = []
    pos = 0
    n = len(data)
    with gc_paused():
        while pos < n:
            nl = data.find(b"\n", pos)
            header = data[pos:nl if nl >= 0 else n]
            parts = header.split(b" ")
            if len(parts) != 4 or parts[0] != b"OVSDB" or not parts[2].isdigit():
                if out and not data[pos:].strip():
                    break
                problem = f"{name}: bad record header (record {len(out) + 1}) at byte {pos}: {header[:60]!r}"
                if out:
                    notes.append(problem + " (a truncated or damaged file; ignored the rest)")
                    break
                raise SourceError(problem + " (expected 'OVSDB JSON|CLUSTER <length> <sha1>')")
            length = int(parts[2])
            start = nl + 1
            got = min(length, n - start) if nl >= 0 else 0
            if nl < 0 or got < length:
                notes.append(f"{name}: the last record (record {len(out) + 1}, byte {pos}) is cut short "
                             f"({got} of {length} bytes): the file is truncated; ignored it")
                break
            view = memoryview(data)[start:start + length]  # hashed in place, not copied
            digest = hashlib.sha1(view).hexdigest()
            view.release()
            if digest != parts[3].decode("ascii", "replace").lower():
                if start + length >= n - 1:
                    notes.append(f"{name}: the last record (record {len(out) + 1}, byte {pos}) fails its SHA-1 "
                                 "checksum; ignored it")
                    break
                raise SourceError(f"{name}: record at byte {pos} fails its SHA-1 checksum")
            try:
                if keep is None:
                    obj = json.loads(data[start:start + length])
                else:
                    only = per_dp is not None and len(out) == (0 if parts[1] == b"CLUSTER" else 1) and (
                        not data[start + length:].strip())  # the snapshot, and nothing after it
                    obj = _decode_keeping(data, keep, start, start + length, per_dp if only else None)
            except ValueError as e:
                raise SourceError(f"{name}: record at byte {pos} is not JSON: {e}") from e
            out.append(Record(parts[1].decode("ascii", "replace"), pos, obj))
            pos = start + length
    if not out:
        raise SourceError(f"{name}: no OVSDB records")
    return out, notes


# -- reading only the rows a trace needs ---------------------------------------------------------------

#: ``(table, uuid prefixes)``: of ``table`` (``Logical_Flow``) only the rows whose UUID starts with one of the
#: prefixes (8 lowercase hex digits: a trace's cookies) are decoded and kept. The others are left out of every
#: record alike (insert, change and delete of a row go together), as if the file never had them: rows of
#: other tables never refer to a logical flow.
Keep = tuple[str, frozenset[str]]
#: a record at least this big is searched for the rows to keep before any of it is decoded (a smaller one is
#: decoded whole, then filtered)
SKIM_MIN_BYTES = 1 << 20
#: ``(datapath tunnel keys, cookie prefixes)`` of a trace: see :func:`keep_per_datapath`
PerDatapath = tuple[frozenset[int], frozenset[str]]
#: the tables whose rows belong to one datapath (``datapath`` column) and that a live read selects per datapath
PER_DATAPATH = ("Port_Binding", "Multicast_Group")
_UUID_KEY_RE = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _decode_keeping(body: bytes, keep: Keep, lo: int = 0, hi: int | None = None,
                    per_dp: PerDatapath | None = None) -> Any:
    """One record's JSON (``body[lo:hi]``) with only the ``keep`` rows of its table (see :data:`Keep`).
    ``per_dp`` (only for a file's one and only data record): the rows of :data:`PER_DATAPATH` that
    :func:`keep_per_datapath` would drop later may be left undecoded too (never fewer rows than it keeps)."""
    hi = len(body) if hi is None else hi
    if hi - lo >= SKIM_MIN_BYTES:
        obj = _skim(body, keep, lo, hi, per_dp)
        if obj is not None:
            return obj
    obj = json.loads(body[lo:hi] if lo or hi != len(body) else body)
    table, prefixes = keep
    for txn in _transactions(obj):
        rows = txn.get(table)
        if isinstance(rows, dict):
            txn[table] = {u: r for u, r in rows.items() if u[:8] in prefixes}
    return obj


def _transactions(obj: Any) -> list[dict[str, Any]]:
    """The transaction objects of a decoded record: itself (standalone), ``data[1]`` (a Raft entry),
    ``prev_data[1]`` (a Raft header's snapshot). A schema has none (its tables sit under ``tables``)."""
    if not isinstance(obj, dict):
        return []
    for key in ("prev_data", "data"):
        if key in obj and ("server_id" in obj or "index" in obj or "term" in obj):
            d = obj[key]
            return [d[1]] if isinstance(d, list) and len(d) == 2 and isinstance(d[1], dict) else []
    return [] if is_schema(obj) else [obj]


def _skim(body: bytes, keep: Keep, lo: int = 0, hi: int | None = None,
          per_dp: PerDatapath | None = None) -> Any | None:
    """Decode ``body[lo:hi]`` (in place: a big file's record is not copied) without the rows of ``keep``'s
    table that are not kept (and, with ``per_dp``, without the rows of :data:`PER_DATAPATH` on datapaths the
    trace does not visit); ``None`` when the text is not in the shape this relies on (the caller then decodes
    it whole).

    OVSDB writes a transaction as ``{"<table>":{"<uuid>":{"<column>":<value>,...},...},...}`` and no value is
    an object, so outside strings (which hold no raw ``"``) ``":{`` only follows a table's or a row's key,
    ``},"`` only ends a row followed by the next one, and ``}},"`` only ends a table followed by the next key.
    A table's rows are found with ``bytes.find`` of ``},"`` in place (no copy of the table); a row not kept
    is never decoded. Checked: as many rows as row keys, no deleted row (``":null``), each kept row a JSON
    object, the rest of the record valid JSON with exactly one transaction to put the kept rows back in."""
    table, prefixes = keep
    hi = len(body) if hi is None else hi
    lf = _region(body, table, lo, hi)
    if lf is None:
        return None
    if _row_count(body, lf) is None:
        return None
    kept = _rows_at(body, lf, _prefixed(body, lf, prefixes))
    if kept is None:
        return None
    cuts = [(table, lf)]
    if per_dp is not None:
        for t in PER_DATAPATH:
            r = _region(body, t, lo, hi)
            if r is not None:
                cuts.append((t, r))
    cuts.sort(key=lambda c: c[1][0])
    if any(a[1][2] >= b[1][0] for a, b in itertools.pairwise(cuts)):
        return None  # overlapping regions: not the shape relied on
    spans: list[list[int]] = []  # [key of the first table, last row's "}" of the last]: adjacent tables as one
    for _, (start, _first, end) in cuts:
        if spans and start == spans[-1][1] + 3 and body[spans[-1][1] + 2:start] == b",":
            spans[-1][1] = end
        else:
            spans.append([start, end])
    view = memoryview(body)
    parts: list[memoryview] = []
    at = lo
    for start, end in spans:  # the record without the tables: one comma less for each span
        cut, resume = start, end + 2
        if resume < hi and body[resume:resume + 1] == b",":
            resume += 1
        elif cut > at and body[cut - 1:cut] == b",":
            cut -= 1
        parts.append(view[at:cut])
        at = resume
    parts.append(view[at:hi])
    try:
        obj = json.loads(b"".join(parts))
    except ValueError:
        return None
    txns = _transactions(obj)
    if len(txns) != 1 or any(t in txns[0] for t, _ in cuts):
        return None
    txns[0][table] = kept
    if len(cuts) > 1 and per_dp is not None:
        visited = _visited(txns[0].get("Datapath_Binding"), per_dp[0])
        for t, r in cuts:
            if t == table:
                continue
            n = _row_count(body, r)
            if n is None:
                return None
            _, first, end = r
            if visited is not None and body.count(_DP_KEY, first, end + 1) == n:
                # every row names its datapath (at most once: a row's key appears once): the rows of the
                # visited ones, found by that text, and the rows of the trace's cookies
                starts = _prefixed(body, r, per_dp[1])
                for dp in visited:
                    needle = _DP_KEY + dp + b'"'
                    i = body.find(needle, first, end + 1)
                    while i >= 0:
                        before = body.rfind(b'},"', first, i)  # the end of the row before it
                        starts.append(first if before < 0 else before + 3)
                        i = body.find(needle, i + len(needle), end + 1)
                rows = _rows_at(body, r, starts)
            else:  # a row without its datapath written, or a key with no datapath: every row kept
                rows = _rows(body, r, lambda _pos, _end: True)
            if rows is None:
                return None
            txns[0][t] = rows
    return obj


def _region(body: bytes, table: str, lo: int, hi: int) -> tuple[int, int, int] | None:
    """Where ``table``'s rows are in ``body[lo:hi]``: (its key, its first row's UUID, its last row's ``}``)."""
    key = b'"' + table.encode() + b'":{"'
    at = body.find(key, lo, hi)  # a table's key (a schema's table is followed by "columns", not a UUID)
    while at >= 0 and not _UUID_KEY_RE.match(body, at + len(key), hi):
        at = body.find(key, at + 1, hi)
    if at < 0:
        return None
    first = at + len(key)
    end = body.find(b'}},"', first, hi)
    if end < 0:
        last = hi
        while last > first and body[last - 1:last] in (b" ", b"\n", b"\r", b"\t"):
            last -= 1
        if last - 3 < first or body[last - 3:last] != b"}}}":
            return None
        end = last - 3  # the table is the transaction's last key (a standalone record)
    return at, first, end


_DP_KEY = b'"datapath":["uuid","'


def _row_count(body: bytes, region: tuple[int, int, int]) -> int | None:
    """How many rows a :func:`_region` holds, or ``None`` when it is not in the shape :func:`_skim` relies on:
    a deleted row (``":null``), or not one ``":{`` (a row's key) more than ``},"`` (a row's end)."""
    _, first, end = region
    stop = end + 1
    if body.find(b'":null', first, stop) >= 0:
        return None
    n = body.count(b'":{', first, stop)
    return n if n == body.count(b'},"', first, stop) + 1 else None


def _trie(words: list[bytes]) -> bytes:
    """A regular expression matching any of ``words`` (equal lengths), as a trie: each position is decided by
    one character (``re`` tries the branches of an alternation one by one)."""
    heads: dict[bytes, list[bytes]] = {}
    for w in words:
        heads.setdefault(w[:1], []).append(w[1:])
    alts = [re.escape(h) + (_trie(rest) if rest[0] else b"") for h, rest in sorted(heads.items())]
    return alts[0] if len(alts) == 1 else b"(?:" + b"|".join(alts) + b")"


def _prefixed(body: bytes, region: tuple[int, int, int], prefixes: frozenset[str]) -> list[int]:
    """Where the rows of a checked :func:`_region` (:func:`_row_count`) whose UUID starts with one of
    ``prefixes`` (8 hex digits; no other can match a UUID's first 8) begin: found by a regular expression of
    ``},"`` and the prefixes (only a row's end is followed by ``,"``), no row visited one by one."""
    _, first, end = region
    words = sorted({p.encode() for p in prefixes if len(p) == 8})
    if not words:
        return []
    out = [first] if body[first:first + 8] in words else []
    rx = re.compile(rb'\},"' + _trie(words))
    out += [m.start() + 3 for m in rx.finditer(body, first, end + 1)]
    return out


def _rows_at(body: bytes, region: tuple[int, int, int], starts: list[int]) -> dict[str, Any] | None:
    """The rows of a checked :func:`_region` that begin at ``starts``, decoded (``None``: not the shape)."""
    _, _, end = region
    stop = end + 1
    kept: dict[str, Any] = {}
    for pos in sorted(set(starts)):
        nxt = body.find(b'},"', pos, stop)
        row = _row_at(body, pos, stop if nxt < 0 else nxt + 1)
        if row is None:
            return None
        kept[body[pos:pos + 36].decode("ascii")] = row
    return kept


def _row_at(body: bytes, pos: int, row_end: int) -> dict[str, Any] | None:
    """The row ``"<uuid>":{...}`` at ``body[pos:row_end]`` decoded; ``None`` when it is not in that shape."""
    if body[pos + 36:pos + 39] != b'":{' or not _UUID_KEY_RE.fullmatch(body, pos, pos + 36):
        return None
    try:
        row = json.loads(body[pos + 38:row_end])
    except ValueError:
        return None
    return row if isinstance(row, dict) else None


def _rows(body: bytes, region: tuple[int, int, int], wanted: Callable[[int, int], bool]) -> dict[str, Any] | None:
    """The rows of a :func:`_region` for which ``wanted(start, end)`` (the row's text is ``body[start:end]``,
    its UUID first), decoded; ``None`` when the region is not in the shape :func:`_skim` relies on."""
    _, first, end = region
    stop = end + 1
    if body.find(b'":null', first, stop) >= 0:
        return None
    kept: dict[str, Any] = {}
    rows = 0
    pos = first
    find = body.find
    while True:
        nxt = find(b'},"', pos, stop)
        row_end = stop if nxt < 0 else nxt + 1  # one past the row's closing brace
        rows += 1
        if wanted(pos, row_end):
            row = _row_at(body, pos, row_end)
            if row is None:
                return None
            kept[body[pos:pos + 36].decode("ascii")] = row
        if nxt < 0:
            break
        pos = nxt + 3
    if rows != body.count(b'":{', first, stop):
        return None
    return kept


def _visited(datapaths: Any, keys: frozenset[int]) -> set[bytes] | None:
    """The UUIDs (bytes) of the ``Datapath_Binding`` rows (JSON, as written) with these tunnel keys; ``None``
    when a key but 0 (no datapath yet) has none (then nothing is left out)."""
    if not isinstance(datapaths, dict):
        return None
    out: set[bytes] = set()
    found: set[int] = set()
    for u, r in datapaths.items():
        k = r.get("tunnel_key", 0) if isinstance(r, dict) else None
        if isinstance(k, int) and k in keys:
            out.add(u.encode())
            found.add(k)
    return out if found >= keys - {0} else None


def keep_per_datapath(tables: Tables, per_dp: PerDatapath) -> None:
    """Of the :data:`PER_DATAPATH` tables, keep only the rows on the datapaths with the trace's tunnel keys
    (and rows whose UUID starts with one of its cookies: a physical flow's), as a live read selects them
    (:mod:`ovntrace.sources.rpc`). Nothing is dropped when a key has no datapath here (not this cluster's
    trace) or there are no keys."""
    keys, cookies = per_dp
    keys = keys - {0}  # metadata 0: no datapath yet (a datapath's tunnel key is 1 to 2**24-1, ovn-sb(5))
    dps = tables.get("Datapath_Binding")
    if not keys or dps is None:
        return
    found = {r.get("tunnel_key"): u for u, r in dps.items()}
    if not all(k in found for k in keys):
        return
    visited = {u for u, r in dps.items() if r.get("tunnel_key") in keys}
    for t in PER_DATAPATH:
        rows = tables.get(t)
        if isinstance(rows, dict):
            tables[t] = {u: r for u, r in rows.items() if r.get("datapath") in visited or u[:8] in cookies}


def replay(
    records: list[Record], wanted: Wanted | None = None, name: str = "database file", lazy: frozenset[str] = frozenset()
) -> Database:
    """Replay standalone or clustered records into a :class:`Database` holding the wanted tables; the tables
    named in ``lazy`` are :class:`LazyRows` (rows converted when read)."""
    first = records[0]
    if first.magic == "CLUSTER":
        return _replay_cluster(records, wanted, name, lazy)
    if first.magic != "JSON":
        raise SourceError(f"{name}: unknown OVSDB file magic {first.magic!r}")
    rep = _Replayer(Schema.from_json(first.data), wanted, lazy)
    with gc_paused():
        for rec in records[1:]:
            if is_schema(rec.data):
                rep.reset(Schema.from_json(rec.data))
            else:
                rep.apply(rec.data)
    return rep.db


def _replay_cluster(records: list[Record], wanted: Wanted | None, name: str, lazy: frozenset[str]) -> Database:
    header = records[0].data
    if not isinstance(header, dict) or "server_id" not in header:
        raise SourceError(f"{name}: the first clustered record is not a Raft header (server_id, name ...)")
    if "remote_addresses" in header and "prev_data" not in header:
        raise SourceError(f"{name}: a server that has not joined its cluster yet (join-cluster): no data")
    prev_index = int(header.get("prev_index", 0))
    entries: dict[int, Any] = {}
    for rec in records[1:]:
        r = rec.data
        if not isinstance(r, dict) or "index" not in r:
            continue
        idx = int(r["index"])
        if idx <= prev_index:
            continue
        for stale in [i for i in entries if i >= idx]:  # Raft log truncation
            del entries[stale]
        entries[idx] = r.get("data")
    rep: _Replayer | None = None
    snap = header.get("prev_data")
    with gc_paused():
        if snap is not None:
            rep = _apply_cluster_data(None, snap, wanted, name, lazy)
        for idx in sorted(entries):
            data = entries[idx]
            if data is not None:
                rep = _apply_cluster_data(rep, data, wanted, name, lazy)
    if rep is None:
        raise SourceError(f"{name}: clustered database with no schema in its snapshot or log")
    rep.db.format = "clustered"
    return rep.db


def _apply_cluster_data(
    rep: _Replayer | None, data: Any, wanted: Wanted | None, name: str, lazy: frozenset[str]
) -> _Replayer:
    if not (isinstance(data, list) and len(data) == 2):
        raise SourceError(f"{name}: a Raft entry's data is not [schema, transaction]")
    schema_json, txn = data
    if schema_json is not None:
        schema = Schema.from_json(schema_json)
        if rep is None:
            rep = _Replayer(schema, wanted, lazy)
        elif txn is None:
            rep.convert(schema)
        else:
            rep.reset(schema)
    if rep is None:
        raise SourceError(f"{name}: a transaction before any schema")
    if txn is not None:
        rep.apply(txn)
    return rep


def read_database(data: bytes, wanted: Wanted | None = None, name: str = "database file") -> Database:
    """Parse a whole database file's bytes (standalone or clustered)."""
    records, notes = split_records(data, name)
    db = replay(records, wanted, name)
    db.notes.extend(notes)
    return db


def rows_from_table_json(
    columns: list[str], data: list[list[Any]], types: Mapping[str, ColType], guess: Callable[[Any], Any],
    keep: frozenset[str] | None = None,
) -> Table:
    """Rows of an ``ovsdb-client dump``/``ovn-*ctl list`` JSON table (``headings`` + ``data``) as plain rows:
    typed by ``types`` when the column is known, else by ``guess``; ``keep``: only those columns (the others
    are not converted)."""
    out: Table = {}
    try:
        ui = columns.index("_uuid")
    except ValueError:
        ui = -1
    convs: list[tuple[int, str, Callable[[Any], Any] | None]] = []
    for i, c in enumerate(columns):
        if c in ("_uuid", "_version") or (keep is not None and c not in keep):
            continue
        ct = types.get(c)
        convs.append((i, c, converter(ct) if ct is not None else guess))
    for n, values in enumerate(data):
        if not isinstance(values, list) or len(values) != len(columns):
            raise SourceError(f"row {n + 1} has {len(values) if isinstance(values, list) else 'no'} values for "
                              f"{len(columns)} headings")
        row: PlainRow = {}
        for i, c, conv in convs:
            v = values[i]
            row[c] = v if conv is None else conv(v)
        out[atom_plain(values[ui], "u") if ui >= 0 else f"row-{n + 1}"] = row
    return out


def guess_plain(v: Any) -> Any:
    """A value of an unknown column: a lone atom stays an atom, a set becomes a list."""
    if isinstance(v, list) and len(v) == 2:
        if v[0] == "map" and isinstance(v[1], list):
            return dict(sorted((atom_guess(k), atom_guess(x)) for k, x in v[1]))
        if v[0] == "set" and isinstance(v[1], list):
            return _sorted([atom_guess(x) for x in v[1]])
    return atom_guess(v)


def atom_guess(v: Any) -> Any:
    if isinstance(v, list) and len(v) == 2 and v[0] in ("uuid", "named-uuid"):
        return str(v[1]).lower()
    return v
