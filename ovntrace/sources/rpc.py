"""Read a live OVSDB server with one read-only ``transact`` of ``select`` operations (RFC 7047).

Why not the IDL: ovsdbapp's IDL (the ``live.py`` client) replicates the database row by row in Python;
on a 50k-logical-flow Southbound that takes ~20 s, longer than ovn-detrace. A single ``select`` of only
the columns ovntrace uses returns the same rows in one JSON reply, decoded here with the same converters
as a database file (Logical_Flow rows stay raw until a cookie asks for them), so a live server and its
database file give the same :class:`ClusterContext`. Only ``get_schema``, ``transact`` with ``select`` and
one ``monitor_cond`` are sent: nothing is ever written. Followers of a clustered database answer reads
themselves.

The tables read whole come in one ``monitor_cond`` (ovsdb-server(7), OVS 2.6+) rather than ``select``s: its
initial ``update2`` leaves out the columns that hold their default (most of a logical switch port's), and
ovsdb-server composes it at less than half the CPU of a ``select`` of the same rows (9,313 ports of the 50k
build: 0.42 s against 1.0 s of server CPU). The connection is closed right after that first reply. A server
that refuses ``monitor_cond`` is read with ``select``s. The tables read in part (a trace's datapaths' ports,
multicast groups and flow UUIDs) come in one ``transact`` after it, the cookies' flows in one more.

Remotes: ``tcp:IP:PORT``, ``unix:PATH``, ``ssl:IP:PORT`` (private key, certificate and CA files);
several remotes separated by commas are tried in turn.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from typing import Any

from ovntrace.sources.errors import SourceError
from ovntrace.sources.limits import max_input_size, too_large
from ovntrace.sources.ovsdb import LazyRows, Schema, Tables, converter, default_plain, gc_paused, new_row
from ovntrace.sources.tables import LAZY_TABLES, NB, OVS, READ, SB, WANTED


def _connect(remote: str, timeout: float, key: str | None, cert: str | None, ca: str | None) -> socket.socket:
    kind, _, rest = remote.partition(":")
    if kind == "unix":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(rest)
        return s
    if kind in ("tcp", "ssl"):
        host, _, port = rest.rpartition(":")
        host = host.strip("[]")
        if not host or not port.isdigit():
            raise SourceError(f"{remote}: expected {kind}:IP:PORT")
        raw = socket.create_connection((host, int(port)), timeout=timeout)
        if kind == "tcp":
            return raw
        missing = [n for n, v in (("private key", key), ("certificate", cert), ("CA certificate", ca)) if not v]
        if missing:
            raw.close()
            raise SourceError(f"{remote}: ssl needs {', '.join(missing)} "
                              "(OVNTRACE_SSL_KEY, OVNTRACE_SSL_CERT, OVNTRACE_SSL_CA)")
        import ssl  # loading OpenSSL costs ~60 ms: only for an ssl: remote

        ctx = ssl.create_default_context(cafile=ca)
        ctx.check_hostname = False  # OVN's PKI certificates name chassis, not addresses; the CA is checked
        ctx.load_cert_chain(cert or "", key)
        return ctx.wrap_socket(raw)
    raise SourceError(f"{remote}: not a remote (tcp:IP:PORT, ssl:IP:PORT, unix:PATH)")


_QUOTES_BRACES = bytes(b for b in range(256) if b not in b'"{}')
_SPACE = re.compile(rb"[ \t\r\n]*")


class JsonFramer:
    """Splits a byte stream of JSON-RPC messages (JSON objects, one after another, RFC 7047) into decoded
    objects in time linear in the bytes, whatever the chunking: a message is decoded once, when its closing
    brace has arrived. Finding that brace costs a few passes of C byte operations per chunk and no Python
    work per string or per row: escapes are removed (``\\\\`` then ``\\"``), so that the quotes left
    delimit strings; only quotes and braces are kept; adjacent quote pairs (strings without braces) are
    dropped; the braces outside strings are counted. A message larger than ``limit`` bytes is an error
    before it fills the memory (a server streaming forever)."""

    def __init__(self, where: str, limit: int | None = None) -> None:
        self.where = where
        self.limit = max_input_size() if limit is None else limit
        self.buf = bytearray()
        self.start = -1  # offset of the message being read (-1: between messages)
        self.scan = 0  # bytes of the message before this are counted (never in the middle of an escape)
        self.depth = 0  # brace depth at ``scan``
        self.in_string = False  # whether ``scan`` is inside a string
        self.decoder = json.JSONDecoder()

    def feed(self, data: bytes) -> list[Any]:
        """The messages ``data`` completes, in order."""
        self.buf += data
        out = []
        while True:
            obj = self._next()
            if obj is None:
                break
            out.append(obj)
        pending = len(self.buf) - max(self.start, 0)
        if pending > self.limit:
            raise too_large(f"{self.where}: a reply", self.limit)
        return out

    def _next(self) -> Any:
        buf = self.buf
        if self.start < 0:
            i = _SPACE.match(buf, self.scan).end()  # type: ignore[union-attr]
            if i >= len(buf):
                del buf[:]
                self.scan = 0
                return None
            if buf[i] != 0x7B:  # "{"
                raise SourceError(f"{self.where}: not a JSON-RPC message (starts with {bytes(buf[i:i + 40])!r})")
            self.start, self.scan, self.depth, self.in_string = i, i + 1, 1, False
        end = len(buf)
        while end > self.scan and buf[end - 1] == 0x5C:  # keep a trailing backslash run with what follows it
            end -= 1
        if end <= self.scan:
            return None
        span = bytes(buf[self.scan:end]).replace(b"\\\\", b"").replace(b'\\"', b"")
        marks = span.translate(None, _QUOTES_BRACES).replace(b'""', b"")
        if self.in_string:
            marks = b'"' + marks
        pieces = marks.split(b'"')
        in_string = len(pieces) % 2 == 0
        braces = b"".join(pieces[0::2])
        reduced, passes = braces, 0
        while b"{}" in reduced and passes < 64:
            reduced, passes = reduced.replace(b"{}", b""), passes + 1
        if passes >= 64:  # very deep nesting: count the few braces left one by one
            low = run = 0
            for c in reduced:
                run += 1 if c == 0x7B else -1
                low = min(low, run)
            closes, opens = -low, run - low
        else:
            closes = len(reduced) - len(reduced.lstrip(b"}"))
            opens = len(reduced) - closes
        if closes < self.depth:
            self.depth += opens - closes
            self.scan, self.in_string = end, in_string
            return None
        # the message ends inside this span: decode it once (outside strings it is ASCII; a UTF-8 sequence
        # cut at ``end`` can only follow the message), then carry on after it
        raw = bytes(buf[self.start:end])
        try:
            text = raw.decode("utf-8", "surrogateescape")
            obj, idx = self.decoder.raw_decode(text)
            used = idx if len(text) == len(raw) else len(text[:idx].encode("utf-8", "surrogateescape"))
            if used != idx:
                raw[:used].decode("utf-8")  # the message itself must be UTF-8
        except (UnicodeDecodeError, ValueError) as e:
            raise SourceError(f"{self.where}: a reply that is not valid JSON: {e}") from None
        del buf[:self.start + used]
        self.start, self.scan, self.depth, self.in_string = -1, 0, 0, False
        return obj


class _Session:
    def __init__(self, sock: socket.socket, remote: str, timeout: float) -> None:
        self.sock = sock
        self.remote = remote
        self.deadline = time.monotonic() + timeout
        self.framer = JsonFramer(remote)
        self.pending: list[Any] = []
        self.next_id = 0

    def call(self, method: str, params: list[Any]) -> Any:
        self.next_id += 1
        req_id = self.next_id
        self.sock.sendall(json.dumps({"method": method, "params": params, "id": req_id}).encode())
        while True:
            msg = self._read()
            if msg.get("method") == "echo":  # keep-alive from the server
                self.sock.sendall(json.dumps({"result": msg.get("params", []), "error": None,
                                              "id": msg.get("id")}).encode())
                continue
            if msg.get("id") != req_id:
                continue  # a notification: not ours
            if msg.get("error"):
                raise SourceError(f"{self.remote}: {method} failed: {msg['error']}")
            return msg.get("result")

    def _read(self) -> dict[str, Any]:
        while not self.pending:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise SourceError(f"{self.remote}: no answer in time")
            self.sock.settimeout(left)
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise SourceError(f"{self.remote}: connection closed")
            with gc_paused():
                self.pending += self.framer.feed(chunk)
        obj = self.pending.pop(0)
        if not isinstance(obj, dict):
            raise SourceError(f"{self.remote}: not a JSON-RPC message")
        return obj


def fetch_tables(
    remote: str, db: str, timeout: float = 30.0, private_key: str | None = None, certificate: str | None = None,
    ca_cert: str | None = None, lflow_datapath_keys: set[int] | None = None,
    lflow_cookies: set[str] | None = None,
) -> tuple[Schema, Tables]:
    """The wanted tables (and columns) of ``db`` on ``remote`` as plain rows, and the server's schema.

    ``lflow_datapath_keys``: read only the Logical_Flow rows of the datapaths with these tunnel keys
    (their own flows and those of the datapath groups they belong to). ``lflow_cookies``: 8-hex-digit
    UUID prefixes (a trace's cookies): only those rows are sent whole, after a first select of UUIDs."""
    wanted = READ.get(db)
    if wanted is None:
        raise SourceError(f"{db}: not a database ovntrace reads ({SB}, {NB}, {OVS})")
    key = private_key or os.environ.get("OVNTRACE_SSL_KEY")
    cert = certificate or os.environ.get("OVNTRACE_SSL_CERT")
    ca = ca_cert or os.environ.get("OVNTRACE_SSL_CA")
    errors = []
    for one in (r.strip() for r in remote.split(",") if r.strip()):
        try:
            sock = _connect(one, timeout, key, cert, ca)
        except OSError as e:  # ssl.SSLError is an OSError
            errors.append(f"{one}: {e}")
            continue
        try:
            return _fetch(_Session(sock, one, timeout), db, wanted, lflow_datapath_keys, lflow_cookies)
        except OSError as e:  # ssl.SSLError is an OSError
            errors.append(f"{one}: {e}")
        finally:
            sock.close()
    raise SourceError(f"cannot read {db}: " + "; ".join(errors))


def _select(session: _Session, db: str, schema: Schema, table: str, cols: frozenset[str] | None,
            wheres: list[list[Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    return _select_many(session, db, schema, [(table, cols, wheres)])[0]


def _select_many(session: _Session, db: str, schema: Schema,
                 plans: list[tuple[str, frozenset[str] | None, list[list[Any]]]],
                 ) -> list[tuple[list[str], list[dict[str, Any]]]]:
    """For each (table, columns, conditions) of ``plans``: the columns selected (schema order) and the rows
    matching any of the conditions (each row once), all in one read-only ``transact`` (no round trip at all
    when no plan has a condition)."""
    chosen = [[c for c in schema.tables[t] if cols is None or c in cols] for t, cols, _ in plans]
    ops = [{"op": "select", "table": t, "where": w, "columns": ["_uuid", *cs]}
           for (t, _, wheres), cs in zip(plans, chosen, strict=True) for w in wheres]
    results = session.call("transact", [db, *ops]) if ops else []
    if not isinstance(results, list) or len(results) < len(ops):
        raise SourceError(f"{session.remote}: unexpected transact reply")
    out: list[tuple[list[str], list[dict[str, Any]]]] = []
    at = 0
    for (table, _, wheres), cs in zip(plans, chosen, strict=True):
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()
        for res in results[at:at + len(wheres)]:
            if not isinstance(res, dict) or "rows" not in res:
                raise SourceError(f"{session.remote}: select on {table} failed: {res}")
            for row in res["rows"]:
                if row["_uuid"][1] not in seen:
                    seen.add(row["_uuid"][1])
                    rows.append(row)
        at += len(wheres)
        out.append((cs, rows))
    return out


def _dp_uuids(session: _Session, db: str, schema: Schema, keys: set[int],
              known: Tables | None = None) -> list[str]:
    """The UUIDs of the datapaths with these tunnel keys: from ``known`` (the tables already read whole, plain
    rows), else a select."""
    dps = (known or {}).get("Datapath_Binding")
    if dps is not None:
        return sorted(u for u, r in dps.items() if r.get("tunnel_key") in keys)
    _, rows = _select(session, db, schema, "Datapath_Binding", frozenset({"tunnel_key"}), [[]])
    return [r["_uuid"][1] for r in rows if r.get("tunnel_key") in keys]


_ANY_GROUP: list[Any] = [["logical_dp_group", "!=", ["set", []]]]


def _lflow_wheres(session: _Session, db: str, schema: Schema, keys: set[int],
                  known: Tables | None = None, groups_at_once: bool = False) -> list[list[Any]]:
    """Conditions selecting the logical flows of the datapaths with tunnel keys ``keys``.

    ``groups_at_once`` (the datapath groups known, several of them): the flows of every datapath group in
    one condition (:data:`_ANY_GROUP`: one scan of the table, not one per group; OVSDB has no OR in a
    ``select``), to be kept by :func:`_in_groups`."""
    uuids = _dp_uuids(session, db, schema, keys, known)
    wheres: list[list[Any]] = [[["logical_datapath", "==", ["uuid", u]]] for u in uuids]
    if "Logical_DP_Group" in schema.tables and "logical_dp_group" in schema.tables["Logical_Flow"]:
        plain = (known or {}).get("Logical_DP_Group")
        if plain is not None:
            on = set(uuids)
            ours = [gu for gu, row in sorted(plain.items()) if on & set(row.get("datapaths") or ())]
            if groups_at_once and len(ours) > 1:
                return [*wheres, _ANY_GROUP]
            wheres += [[["logical_dp_group", "==", ["uuid", gu]]] for gu in ours]
            return wheres
        _, groups = _select(session, db, schema, "Logical_DP_Group", frozenset({"datapaths"}), [[]])
        for g in groups:
            members = g.get("datapaths")
            found = [m[1] for m in members[1]] if isinstance(members, list) and members[0] == "set" else (
                [members[1]] if isinstance(members, list) and members[0] == "uuid" else [])
            if set(found) & set(uuids):
                wheres.append([["logical_dp_group", "==", ["uuid", g["_uuid"][1]]]])
    return wheres


_PER_DATAPATH = frozenset({"Port_Binding", "Multicast_Group"})


def _fetch(session: _Session, db: str, wanted: dict[str, frozenset[str] | None],
           lflow_datapath_keys: set[int] | None = None, lflow_cookies: set[str] | None = None,
           ) -> tuple[Schema, Tables]:
    schema = Schema.from_json(session.call("get_schema", [db]))
    with gc_paused():
        tables: Tables = {}
        whole = [(t, c) for t, c in wanted.items() if t in schema.tables
                 and not (lflow_datapath_keys is not None and (t == "Logical_Flow" or t in _PER_DATAPATH))
                 and not (t == "Logical_Flow" and lflow_cookies is not None)]
        tables.update(_monitor_whole(session, db, schema, whole))
        # the rest (the trace's datapaths' ports, groups and flows) in one transact, the cookies' flows after
        plans: list[tuple[str, frozenset[str] | None, list[list[Any]]]] = []
        for table, cols in wanted.items():
            if table not in schema.tables or table in tables:
                continue  # an older schema (e.g. no Logical_DP_Group before OVN 20.12), or read whole above
            wheres: list[list[Any]] = [[]]
            if table == "Logical_Flow" and lflow_datapath_keys is not None:
                wheres = _lflow_wheres(session, db, schema, lflow_datapath_keys, tables,
                                       groups_at_once=lflow_cookies is not None)
            elif table in _PER_DATAPATH and lflow_datapath_keys is not None:
                # only the ports and groups of the datapaths the trace visits
                wheres = [[["datapath", "==", ["uuid", u]]]
                          for u in _dp_uuids(session, db, schema, lflow_datapath_keys, tables)]
            if table == "Logical_Flow" and lflow_cookies is not None:
                # UUIDs first (cheap to serialise), then whole rows only for the cookies; with every datapath
                # group's flows in one condition, their group too, to keep the trace's groups' only
                cols = frozenset({"logical_dp_group"}) if _ANY_GROUP in wheres else frozenset()
            plans.append((table, cols, wheres))
        for (table, _cols, wheres), (chosen, found) in zip(plans, _select_many(session, db, schema, plans),
                                                           strict=True):
            if table == "Logical_Flow" and lflow_cookies is not None:
                if _ANY_GROUP in wheres:
                    found = _in_groups(found, tables.get("Logical_DP_Group") or {},
                                       _dp_uuids(session, db, schema, lflow_datapath_keys or set(), tables))
                hits = [[["_uuid", "==", ["uuid", r["_uuid"][1]]]] for r in found
                        if r["_uuid"][1][:8] in lflow_cookies]
                chosen, found = _select_many(session, db, schema, [(table, wanted[table], hits)])[0]
            tables[table] = _convert_rows(schema, table, chosen, found)
    return schema, tables


def _in_groups(rows: list[dict[str, Any]], groups: Any, datapaths: list[str]) -> list[dict[str, Any]]:
    """The flow ``rows`` (``_uuid`` and ``logical_dp_group``) of no datapath group (a datapath's own) or of a
    group holding one of ``datapaths`` (``groups``: the Logical_DP_Group plain rows)."""
    on = set(datapaths)
    wanted = {gu for gu, row in groups.items() if on & set(row.get("datapaths") or ())}
    out = []
    for r in rows:
        g = r.get("logical_dp_group")
        if not (isinstance(g, list) and len(g) == 2 and g[0] == "uuid") or g[1] in wanted:
            out.append(r)
    return out


def _monitor_whole(session: _Session, db: str, schema: Schema,
                   whole: list[tuple[str, frozenset[str] | None]]) -> Tables:
    """Every row of the ``whole`` tables, from the initial reply of one ``monitor_cond`` (see the module
    docstring); empty when the server refuses it (the caller then selects them)."""
    if not whole:
        return {}
    chosen = {t: [c for c in schema.tables[t] if cols is None or c in cols] for t, cols in whole}
    try:
        reply = session.call("monitor_cond", [db, "ovntrace", {t: [{"columns": cs}] for t, cs in chosen.items()}])
    except SourceError:
        return {}
    if not isinstance(reply, dict):
        raise SourceError(f"{session.remote}: unexpected monitor_cond reply")
    out: Tables = {}
    for t, cs in chosen.items():
        found = []
        for uuid, upd in (reply.get(t) or {}).items():
            row = upd.get("initial") if isinstance(upd, dict) else None
            if not isinstance(row, dict):
                raise SourceError(f"{session.remote}: monitor_cond: a {t} row without its initial contents")
            row["_uuid"] = ["uuid", uuid]
            found.append(row)
        out[t] = _convert_rows(schema, t, cs, found, defaults=True)
    return out


def _convert_rows(schema: Schema, table: str, chosen: list[str], found: list[dict[str, Any]],
                  defaults: bool = False) -> LazyRows | dict[str, dict[str, Any]]:
    """Rows of a ``select`` reply (OVSDB JSON notation, with ``_uuid``) as plain rows (consumes ``found``)."""
    types = schema.tables[table]
    convs = {c: converter(types[c]) for c in chosen}
    if table in LAZY_TABLES:
        lazy = LazyRows(convs, {c: default_plain(types[c]) for c in chosen})
        for row in found:
            uuid = row.pop("_uuid")[1]
            lazy.insert(uuid, row)
        return lazy
    rows: dict[str, dict[str, Any]] = {}
    if defaults:  # columns left out hold their default (update2 "initial")
        base = {c: default_plain(types[c]) for c in chosen}
        for row in found:
            uuid = row.pop("_uuid")[1]
            rows[uuid] = new_row(base, row, convs)
        return rows
    for row in found:
        uuid = row.pop("_uuid")[1]
        plain = {}
        for c in chosen:
            v = row.get(c)
            conv = convs[c]
            plain[c] = v if conv is None else conv(v)
        rows[uuid] = plain
    return rows


# -- the same select, run elsewhere (``ovsdb-client query`` on a node over SSH) -------------------------


def select_plan(schema: Schema, db: str) -> list[tuple[str, list[str]]]:
    """(table, columns) of every wanted table of ``db`` the schema has, columns in schema order."""
    wanted = WANTED.get(db)
    if wanted is None:
        raise SourceError(f"{db}: not a database ovntrace reads ({SB}, {NB}, {OVS})")
    return [(t, [c for c in schema.tables[t] if cols is None or c in cols])
            for t, cols in wanted.items() if t in schema.tables]


def select_transaction(db: str, plan: list[tuple[str, list[str]]]) -> list[Any]:
    """The params of one read-only ``transact``: a ``select`` of every row of each table of ``plan``."""
    return [db, *({"op": "select", "table": t, "where": [], "columns": ["_uuid", *cols]} for t, cols in plan)]


def check_results(plan: list[tuple[str, list[str]]], results: Any, where: str) -> list[list[dict[str, Any]]]:
    if not isinstance(results, list) or len(results) < len(plan):
        raise SourceError(f"{where}: unexpected transact reply")
    out = []
    for (table, _), res in zip(plan, results, strict=False):
        if not isinstance(res, dict) or not isinstance(res.get("rows"), list):
            raise SourceError(f"{where}: select on {table} failed: {str(res)[:200]}")
        out.append(res["rows"])
    return out


def tables_from_select_results(schema: Schema, plan: list[tuple[str, list[str]]], results: Any,
                               where: str = "transact") -> Tables:
    """The plain rows of a :func:`select_transaction` reply (``results``: the transact's result list), as
    :func:`fetch_tables` converts them live."""
    tables: Tables = {}
    with gc_paused():
        for (table, cols), rows in zip(plan, check_results(plan, results, where), strict=True):
            tables[table] = _convert_rows(schema, table, cols, [dict(r) for r in rows])
    return tables


def select_results_as_dump(plan: list[tuple[str, list[str]]], results: Any, where: str = "transact",
                           ) -> list[dict[str, Any]]:
    """The same reply as ``ovsdb-client dump --format=json`` tables (``{"caption", "headings", "data"}``,
    values in OVSDB JSON notation), the form a snapshot keeps."""
    return [{"caption": f"{table} table", "headings": ["_uuid", *cols],
             "data": [[r.get("_uuid"), *(r.get(c) for c in cols)] for r in rows]}
            for (table, cols), rows in zip(plan, check_results(plan, results, where), strict=True)]
