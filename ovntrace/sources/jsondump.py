"""``ovsdb-client dump --format=json`` and ``ovn-nbctl/ovn-sbctl/ovs-vsctl --format=json list TABLE`` outputs.
Pure: text in, plain rows out.

Facts: both print one JSON object per table, ``{"caption": "<Table> table", "headings": ["_uuid", ...],
"data": [[value, ...], ...]}`` (``list`` prints no caption), values in OVSDB's JSON notation. ``dump``
prints one object per line, one per table; several ``list`` outputs pasted one after another work too.
Neither carries the schema, so columns are typed with :mod:`ovntrace.sources.schema_spec`; the database
and, without a caption, the table are recognised from the table names and headings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ovntrace.sources.errors import SourceError
from ovntrace.sources.ovsdb import ColType, Tables, gc_paused, guess_plain, rows_from_table_json
from ovntrace.sources.schema_spec import SPEC
from ovntrace.sources.tables import NB, OVS, READ, SB

_META = {"_uuid", "_version"}


@dataclass(frozen=True)
class JsonTable:
    caption: str | None
    headings: list[str]
    data: list[list[Any]]


def looks_like_json_tables(text: str) -> bool:
    head = text.lstrip()[:400]
    return head.startswith("{") and '"headings"' in text[:200_000] and '"data"' in text[:200_000]


def split_json_tables(text: str, name: str = "input", notes: list[str] | None = None) -> list[JsonTable]:
    """Every ``{"headings", "data"}`` object in the text, in order. With ``notes``, a *last* object cut short
    (a dump truncated while copying) is left out with a note there, as a database file's cut last record."""
    dec = json.JSONDecoder()
    out: list[JsonTable] = []
    pos = 0
    n = len(text)
    with gc_paused():
        while True:
            while pos < n and text[pos] in " \t\r\n":
                pos += 1
            if pos >= n:
                break
            try:
                obj, pos = dec.raw_decode(text, pos)
            except ValueError as e:
                line = text.count("\n", 0, pos) + 1
                if notes is not None and out and "\n{" not in text[pos:].rstrip():
                    notes.append(f"{name}: the last JSON table (line {line}) is cut short ({e}); ignored it: "
                                 f"only the {len(out)} table(s) before it were read")
                    break
                raise SourceError(f"{name}: line {line}: expected a JSON table object "
                                  f"({{\"headings\": [...], \"data\": [...]}}): {e}") from e
            if not (isinstance(obj, dict) and isinstance(obj.get("headings"), list)
                    and isinstance(obj.get("data"), list)):
                line = text.count("\n", 0, pos) + 1
                raise SourceError(f"{name}: line {line}: a JSON object without \"headings\" and \"data\" "
                                  "(expected ovsdb-client dump --format=json or ovn-*ctl --format=json list)")
            caption = obj.get("caption")
            out.append(JsonTable(caption if isinstance(caption, str) else None, obj["headings"], obj["data"]))
    if not out:
        raise SourceError(f"{name}: no JSON table found")
    return out


def _table_of_caption(caption: str | None) -> str | None:
    if caption and caption.endswith(" table"):
        return caption[: -len(" table")]
    return None


def guess_database(tables: list[str], hint: str | None = None) -> str:
    """The database these table names belong to: the one holding most of them; ``hint`` breaks ties."""
    scores: dict[str, int] = {}
    for db in (SB, NB, OVS):
        known = SPEC[db]
        scores[db] = sum(1 for t in tables if t in known)
    best = max(scores.values())
    if best == 0:
        raise SourceError(f"tables {', '.join(sorted(tables)[:6])} belong to none of {SB}, {NB}, {OVS}")
    tied = [db for db, s in scores.items() if s == best]
    if hint in tied:
        return hint
    # The tables only one database has decide (e.g. Logical_Flow, ACL, Bridge).
    unique = {db: sum(1 for t in tables if t in SPEC[db] and all(t not in SPEC[o] for o in SPEC if o != db))
              for db in tied}
    return max(tied, key=lambda db: unique[db])


def guess_table(headings: list[str], db_hint: str | None = None) -> tuple[str, str]:
    """(database, table) whose columns best fit a caption-less ``list`` output's headings."""
    cols = [h for h in headings if h not in _META]
    best: tuple[float, int, str, str] | None = None
    for db, tables in SPEC.items():
        for table, spec in tables.items():
            hit = sum(1 for c in cols if c in spec)
            if not hit:
                continue
            score = hit / max(len(cols), 1)
            extra = len(spec) - hit
            key = (score, -extra + (1 if db == db_hint else 0), db, table)
            if best is None or key[:2] > best[:2]:
                best = key
    if best is None or best[0] < 0.5:
        raise SourceError(f"headings {', '.join(cols[:8])} match no table of {SB}, {NB} or {OVS}")
    return best[2], best[3]


def decode_json_tables(
    text: str, db_hint: str | None = None, table_hint: str | None = None, name: str = "input",
    notes: list[str] | None = None,
) -> tuple[str, Tables]:
    """(database name, plain rows per table) of a dump or of ``list`` outputs. ``notes``: see
    :func:`split_json_tables`."""
    parts = split_json_tables(text, name, notes)
    named: list[tuple[str | None, JsonTable]] = [(_table_of_caption(p.caption), p) for p in parts]
    captions = [t for t, _ in named if t]
    if captions:
        db = guess_database(captions, db_hint)
    elif table_hint:
        db = guess_database([table_hint], db_hint)
    else:
        db, _ = guess_table(parts[0].headings, db_hint)
    out: Tables = {}
    for table, part in named:
        if table is None:
            if table_hint and len(parts) == 1:
                table = table_hint
            else:
                db2, table = guess_table(part.headings, db)
                if db2 != db:
                    raise SourceError(f"{name}: a {table} list ({db2}) among tables of {db}")
        spec = SPEC.get(db, {}).get(table, {})
        types = {c: ColType.from_code(code) for c, code in spec.items()}
        try:
            rows = rows_from_table_json(part.headings, part.data, types, guess_plain, READ.get(db, {}).get(table))
        except SourceError as e:
            raise SourceError(f"{name}: table {table}: {e}") from e
        prev = out.get(table)
        out[table] = rows if prev is None else {**prev, **rows}
    return db, out
