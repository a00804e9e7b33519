"""``ovntrace snapshot``: NB, SB and every node's OVS facts in one portable JSON file, secrets redacted.

The file (schema ``ovntrace.snapshot/2``, docs/json-contract.md; ``ovntrace/schemas/snapshot.v2.schema.json``)
keeps the ``ovsdb-client dump --format=json`` tables as they were read (one ``{"caption", "headings", "data"}``
object per table), so that it is converted exactly as a live collection is (:mod:`ovntrace.sources.collect`).
Every key is present (:func:`v2`): each node ``{"ovs", "error", "error_kind"}``, ``"zones"`` (``{}`` unless
interconnect), ``cluster.topology``, ``stats.bytes`` (null in the file: the size is known after writing).
Files of the older ``ovntrace.snapshot/1`` (optional keys left out) are still read, until ovntrace 0.4.0:
:func:`parse` turns either into the ``/2`` document. ``load_context`` recognises a snapshot by content
(:func:`is_snapshot_text`): ``explain --context FILE``, ``path --offline FILE`` and the TUI accept it.

Redaction (the one rule of :mod:`ovntrace.model.secrets`): a column or map key with a secret name
(``token``, ``password``, ``secret``, ``private``, ``auth``, ``psk``, ``credential``, key material such as
``api_key``/``ipsec_key``; not ``tunnel_key``) becomes ``"<redacted>"``, as does a kubeconfig; in any other
string the secret-shaped parts (PEM blocks, ``Bearer …``, JWTs, a URL's password, ``token=…``) become
``<redacted>``. The paths redacted are listed in the file.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ovntrace.model import secrets as secret_rule
from ovntrace.model.cluster import ClusterContext
from ovntrace.sources.errors import SourceError

SCHEMA = "ovntrace.snapshot/2"
SCHEMA_V1 = "ovntrace.snapshot/1"
READS = (SCHEMA, SCHEMA_V1)  # /1 is read until ovntrace 0.4.0 (docs/json-contract.md)
MARK = '"ovntrace.snapshot/'
REDACTED = "<redacted>"


def is_snapshot_text(text: str) -> bool:
    """A snapshot file: a JSON object whose first key is ``"schema": "ovntrace.snapshot/N"``."""
    head = text[:256].lstrip()
    return head.startswith("{") and MARK in head


def secret_name(name: str) -> bool:
    return secret_rule.secret_name(name)


def _tables(text: str, name: str) -> list[dict[str, Any]]:
    """The JSON objects of an ``ovsdb-client dump --format=json`` output, in order."""
    dec = json.JSONDecoder()
    out: list[dict[str, Any]] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            return out
        try:
            obj, i = dec.raw_decode(text, i)
        except json.JSONDecodeError as e:
            raise SourceError(f"{name}: not ovsdb-client JSON output: {e}") from None
        if not isinstance(obj, dict):
            raise SourceError(f"{name}: not ovsdb-client JSON output (a {type(obj).__name__})")
        out.append(obj)


def _redact_value(v: Any, where: str, whole: bool, found: list[str]) -> Any:
    """``v`` in OVSDB JSON notation with secrets replaced (``whole``: the column itself is a secret)."""
    if isinstance(v, str):
        if whole and v:
            found.append(where)
            return REDACTED
        red = secret_rule.redact_patterns(v, REDACTED)
        if red != v:
            found.append(where)
        return red
    if isinstance(v, list) and len(v) == 2 and v[0] == "map" and isinstance(v[1], list):
        pairs = []
        for pair in v[1]:
            if isinstance(pair, list) and len(pair) == 2:
                k, val = pair
                secret = whole or (isinstance(k, str) and secret_name(k))
                pairs.append([k, _redact_value(val, f"{where}:{k}", secret, found)])
            else:
                pairs.append(pair)
        return ["map", pairs]
    if isinstance(v, list) and len(v) == 2 and v[0] == "set" and isinstance(v[1], list):
        return ["set", [_redact_value(x, where, whole, found) for x in v[1]]]
    return v  # uuid / named-uuid / numbers / booleans


def redact_tables(tables: list[dict[str, Any]], db: str, found: list[str]) -> list[dict[str, Any]]:
    out = []
    for t in tables:
        headings = t.get("headings") or []
        caption = str(t.get("caption") or "?").removesuffix(" table")
        rows = []
        for row in t.get("data") or []:
            if not isinstance(row, list):
                rows.append(row)
                continue
            rows.append([_redact_value(v, f"{db}.{caption}.{h}", secret_name(str(h)), found)
                         for h, v in zip(headings, row, strict=False)] + row[len(headings):])
        out.append({**t, "data": rows})
    return out


def _text(tables: list[dict[str, Any]]) -> str:
    return "\n".join(json.dumps(t, separators=(",", ":")) for t in tables) + "\n"


@dataclass
class Snapshot:
    """A snapshot; ``doc`` is always the ``/2`` document (``read_schema``: the schema of the file it was read
    from, ``/1`` or ``/2``)."""

    doc: dict[str, Any]
    read_schema: str = SCHEMA

    @property
    def nodes(self) -> list[str]:
        return [str(n["name"]) for n in self.doc.get("cluster", {}).get("nodes", [])]

    @property
    def errors(self) -> dict[str, str]:
        return {k: str(v["error"]) for k, v in self.doc.get("nodes", {}).items() if v.get("error")}

    def context(self, name: str = "snapshot") -> ClusterContext:
        from ovntrace.model.cluster import Zone
        from ovntrace.sources.load import context_from_text_any

        d = self.doc
        ctx = ClusterContext()
        if d.get("nb") or d.get("sb") or not d.get("zones"):
            ctx = context_from_text_any(_text(d["nb"]), f"{name}: NB", "nb")
            ctx = ctx.merge(context_from_text_any(_text(d["sb"]), f"{name}: SB", "sb"))
        for node, v in d.get("nodes", {}).items():
            if v.get("ovs"):
                ctx = ctx.merge(context_from_text_any(_text(v["ovs"]), f"{name}: {node} conf.db", "ovs", node))
        # interconnect: a zone's facts are converted when first read (a trace is read with its node's zone
        # only); the release is read from each zone's NB_Global / SB_Global alone, in order, until one has it
        zones = []
        version = None
        for zname, z in (d.get("zones") or {}).items():
            nodes = tuple(str(n) for n in z.get("nodes") or (zname,))
            error = str(z["error"]) if z.get("error") else None
            if z.get("nb") and z.get("sb"):
                where = f"{name}: zone {zname}"
                zones.append(Zone(str(zname), nodes, error=error, load=functools.partial(_zone_facts, z, where)))
                version = version or _zone_version(z, where)
            else:
                zones.append(Zone(str(zname), nodes, ClusterContext(), error))
        if zones:
            import dataclasses

            ctx = dataclasses.replace(ctx, zones=tuple(zones), ovn_version=ctx.ovn_version or version)
        return ctx

    @property
    def zone_errors(self) -> dict[str, str]:
        """Interconnect: zone -> why its NB/SB are missing."""
        return {k: str(v["error"]) for k, v in (self.doc.get("zones") or {}).items() if v.get("error")}


def _zone_facts(z: dict[str, Any], where: str) -> ClusterContext:
    """An interconnect zone's NB and SB facts (its dump tables converted)."""
    from ovntrace.sources.load import context_from_text_any

    ctx = context_from_text_any(_text(z["nb"]), f"{where} NB", "nb")
    return ctx.merge(context_from_text_any(_text(z["sb"]), f"{where} SB", "sb"))


def _zone_version(z: dict[str, Any], where: str) -> str | None:
    """The release :func:`_zone_facts` would find (its NB's, else its SB's), from the NB_Global and SB_Global
    tables alone."""
    from ovntrace.sources.jsondump import _table_of_caption
    from ovntrace.sources.load import context_from_text_any

    tables = [t for db in ("nb", "sb") for t in z[db]]
    if any(not isinstance(t, dict) or _table_of_caption(t.get("caption")) is None for t in tables):
        return _zone_facts(z, where).ovn_version  # a table known by its headings only: read it all
    for db, table in (("nb", "NB_Global"), ("sb", "SB_Global")):
        found = [t for t in z[db] if _table_of_caption(t.get("caption")) == table]
        if found:
            version = context_from_text_any(_text(found), f"{where} {db.upper()}", db).ovn_version
            if version:
                return version
    return None


def build(collected: Any, central: str | None, nodes: list[tuple[str, str]], stats: dict[str, Any]) -> Snapshot:
    """A snapshot of a :class:`ovntrace.sources.collect.Collected` (``nodes``: (name, role) in inventory order)."""
    found: list[str] = []
    node_docs: dict[str, Any] = {}
    for name, _role in nodes:
        if name in collected.ovs:
            node_docs[name] = {"ovs": redact_tables(_tables(collected.ovs[name], f"{name} conf.db"),
                                                    f"{name}:Open_vSwitch", found)}
        else:
            err = collected.errors.get(name)
            node_docs[name] = {"error": str(err) if err else "not collected",
                               "error_kind": getattr(err, "kind", None)}
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cluster": {"central": central, "nodes": [{"name": n, "role": r} for n, r in nodes]},
        # a command holds the node's prefix, which may carry a credential (``kubectl --token …``)
        "commands": [{"node": n, "command": secret_rule.redact_patterns(c, REDACTED)} for n, c in collected.commands],
        "nb": redact_tables(_tables(collected.nb, "NB dump"), "OVN_Northbound", found),
        "sb": redact_tables(_tables(collected.sb, "SB dump"), "OVN_Southbound", found),
        "nodes": node_docs,
        "redacted": found,
        "stats": stats,
    }
    zones = getattr(collected, "zones", None) or {}
    if zones:  # interconnect: each zone's own NB/SB (an added key: "nb"/"sb" stay, empty)
        zdocs: dict[str, Any] = {}
        for zname, z in zones.items():
            zd: dict[str, Any] = {"node": z.spec.node, "nodes": list(z.spec.nodes)}
            if z.error is not None:
                zd["error"], zd["error_kind"] = str(z.error), getattr(z.error, "kind", None)
            else:
                zd["nb"] = redact_tables(_tables(z.dump_text("OVN_Northbound"), f"zone {zname} NB dump"),
                                         f"{zname}:OVN_Northbound", found)
                zd["sb"] = redact_tables(_tables(z.dump_text("OVN_Southbound"), f"zone {zname} SB dump"),
                                         f"{zname}:OVN_Southbound", found)
            zdocs[zname] = zd
        doc["zones"] = zdocs
    return Snapshot(v2(doc))


def _table_list(v: Any) -> list[Any] | None:
    return list(v) if isinstance(v, list) else None


def v2(doc: dict[str, Any]) -> dict[str, Any]:
    """A snapshot document (``/1`` or ``/2``) in ``/2`` form: every key present, ``null`` when unknown
    (the tables themselves are kept as read). The one definition of the file's shape: :func:`build`
    writes it and :func:`parse` reads ``/1`` files through it."""
    nodes = {str(name): {"ovs": _table_list(v.get("ovs")), "error": v.get("error"),
                         "error_kind": v.get("error_kind")}
             for name, v in (doc.get("nodes") or {}).items()}
    zones = {}
    for zname, z in (doc.get("zones") or {}).items():
        err = z.get("error")
        zones[str(zname)] = {"node": z.get("node"), "nodes": [str(n) for n in z.get("nodes") or ()],
                             "nb": None if err else _table_list(z.get("nb")),
                             "sb": None if err else _table_list(z.get("sb")),
                             "error": err, "error_kind": z.get("error_kind")}
    s = doc.get("stats") or {}
    stats = {"connections": s.get("connections"), "commands": s.get("commands"), "seconds": s.get("seconds"),
             "bytes": s.get("bytes")}
    stats.update((k, v) for k, v in s.items() if k not in stats)
    cl = doc.get("cluster") or {}
    topology = cl.get("topology") or ("interconnect" if zones else "central")
    return {"schema": SCHEMA, "created": doc.get("created"),
            "cluster": {"central": cl.get("central"), "topology": topology,
                        "nodes": [{"name": n.get("name"), "role": n.get("role")} for n in cl.get("nodes") or ()]},
            "commands": [{"node": c.get("node"), "command": c.get("command")} for c in doc.get("commands") or ()],
            "nb": _table_list(doc.get("nb")) or [], "sb": _table_list(doc.get("sb")) or [],
            "nodes": nodes, "zones": zones, "redacted": [str(r) for r in doc.get("redacted") or ()],
            "stats": stats}


def write(snap: Snapshot, path: str | os.PathLike[str]) -> int:
    """Write atomically (temp file in the same directory, fsync, rename; mode 0600: it describes the whole
    cluster); the number of bytes written."""
    p = Path(path)
    data = json.dumps(snap.doc, separators=(",", ":")).encode("utf-8") + b"\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=str(p.parent.resolve()))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(data)


def parse(text: str, name: str = "snapshot") -> Snapshot:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise SourceError(f"{name}: broken ovntrace snapshot: {e}") from None
    if not isinstance(doc, dict) or not str(doc.get("schema", "")).startswith("ovntrace.snapshot/"):
        raise SourceError(f"{name}: not an ovntrace snapshot")
    if doc["schema"] not in READS:
        raise SourceError(f"{name}: snapshot schema {doc['schema']}, this ovntrace reads "
                          f"{' and '.join(sorted(READS))}")
    for k in ("nb", "sb", "nodes"):
        if k not in doc:
            raise SourceError(f"{name}: ovntrace snapshot without {k!r}")
    for k in ("nb", "sb"):
        if not isinstance(doc[k], list):
            raise SourceError(f"{name}: ovntrace snapshot: {k!r} is not a list of tables")
    if not isinstance(doc["nodes"], dict) or not all(isinstance(v, dict) for v in doc["nodes"].values()):
        raise SourceError(f"{name}: ovntrace snapshot: 'nodes' is not an object of nodes")
    if not isinstance(doc.get("zones") or {}, dict):
        raise SourceError(f"{name}: ovntrace snapshot: 'zones' is not an object of zones")
    return Snapshot(v2(doc), str(doc["schema"]))


def load(path: str | os.PathLike[str]) -> Snapshot:
    from ovntrace.sources.limits import read_path

    try:
        text = read_path(path).decode("utf-8")  # with the input size cap; .gz too
    except UnicodeDecodeError as e:
        raise SourceError(f"{path}: not UTF-8: {e}") from None
    if not is_snapshot_text(text):
        raise SourceError(f"{path}: not an ovntrace snapshot (`ovntrace snapshot -o FILE` writes one)")
    return parse(text, str(path))


def context_from_snapshot(text: str, name: str) -> ClusterContext:
    """The ClusterContext of a snapshot file's text (what ``load_context`` returns for it)."""
    return parse(text, name).context(name)
