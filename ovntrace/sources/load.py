"""Loading sources: paths, directories, text and live remotes, recognised by content. All file I/O is here."""

from __future__ import annotations

import dataclasses
import os
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ovntrace.model.cluster import ClusterContext, LoadedColumns, NodeFacts
from ovntrace.sources.convert import context_of, node_facts
from ovntrace.sources.errors import SourceError
from ovntrace.sources.limits import InputTooLarge, decompress_stream, is_compressed, read_path
from ovntrace.sources.limits import read_stream as _read_stream
from ovntrace.sources.ovsdb import (
    Database,
    Keep,
    PerDatapath,
    Record,
    is_db_file,
    keep_per_datapath,
    replay,
    split_records,
)
from ovntrace.sources.tables import LAZY_TABLES, NB, OVS, READ, SB

# jsondump and paste (Lark grammars) are imported where text needs them: a db file does not.

REMOTE_PREFIXES = ("tcp:", "ssl:", "unix:")
_DB_HINTS = {
    "nb": NB, "northbound": NB, NB.lower(): NB,
    "sb": SB, "southbound": SB, SB.lower(): SB,
    "ovs": OVS, "node": OVS, "conf": OVS, OVS.lower(): OVS,
}
_DIR_SKIP_SUFFIXES = (".tar", ".tgz", ".zip", ".pcap", ".png", ".jpg", ".so", ".pyc")
_COMPRESSED_SUFFIXES = (".gz", ".xz", ".bz2")
_DIR_MAX_FILES = 20_000


def _db_hint(hint: str | None) -> str | None:
    return _DB_HINTS.get(hint.lower()) if hint else None


def _kind_hint(hint: str | None) -> str | None:
    if not hint:
        return None
    from ovntrace.sources.paste import DESCRIPTIONS

    h = hint.lower().replace("_", "-")
    for kind, desc in DESCRIPTIONS.items():
        if h in (kind, desc, desc.replace(" ", "-")) or h == desc.split()[0]:
            return kind
    return None


# -- databases --------------------------------------------------------------------------------------


def read_db_bytes(data: bytes, name: str, db_hint: str | None = None, keep: Keep | None = None) -> Database:
    """A database file's contents, decoding only the tables (and columns) the model needs (and with ``keep``,
    only those rows of its table: :data:`ovntrace.sources.ovsdb.Keep`)."""
    records, notes = split_records(data, name, keep)
    return db_from_records(records, notes, name, db_hint)


def db_from_records(records: list[Record], notes: list[str], name: str, db_hint: str | None = None) -> Database:
    """The :class:`Database` of a file's records (:func:`ovntrace.sources.ovsdb.split_records`)."""
    first = records[0].data
    # The schema's name (standalone) or the Raft header's name (clustered) says which tables matter.
    schema_name = first.get("name") if isinstance(first, dict) else None
    wanted = READ.get(str(schema_name)) or (READ.get(db_hint) if db_hint else None)
    db = replay(records, wanted, name, LAZY_TABLES)
    if notes:
        rows = sum(len(t) for t in db.tables.values())
        left = "no rows at all" if not rows else f"{rows} rows"
        notes[-1] += (f"; read the database as it was before that record ({db.transactions} transaction(s), "
                      f"{left}): names and flows may be missing or out of date")
    db.notes.extend(notes)
    return db


def _db_context(db: Database, name: str, db_hint: str | None, node: str | None) -> ClusterContext:
    _check_db(db.name, db_hint, name)
    ctx = context_of(db.name, db.tables, _describe(db, name), node)
    return dataclasses.replace(ctx, notes=ctx.notes + tuple(db.notes)) if db.notes else ctx


def db_file_context(path: Path, name: str, hint: str | None = None, keep: Keep | None = None,
                    node: str | None = None, per_dp: PerDatapath | None = None) -> ClusterContext:
    """A file by its content, like :func:`context_from_bytes`; a database file's bytes are let go as soon as
    its records are decoded (a 250 MB Southbound is not held while its rows are converted). ``per_dp``: only
    the ports and multicast groups of the trace's datapaths (:func:`ovntrace.sources.ovsdb.keep_per_datapath`)."""
    data = read_path(path, name)
    if not is_db_file(data):
        return context_from_bytes(data, name, hint, node, keep)
    db_hint = _db_hint(hint)
    records, notes = split_records(data, name, keep, per_dp)
    del data
    db = db_from_records(records, notes, name, db_hint)
    if per_dp is not None:
        keep_per_datapath(db.tables, per_dp)
    return _db_context(db, name, db_hint, node)


def _describe(db: Database, name: str) -> str:
    version = f" {db.schema.version}" if db.schema.version else ""
    return f"{db.name}{version} from {name} ({db.format}, {db.transactions} transactions)"


def context_from_bytes(data: bytes, name: str, hint: str | None = None, node: str | None = None,
                       keep: Keep | None = None) -> ClusterContext:
    """Recognise and convert one input by its content: database file, JSON dump/list, or show outputs."""
    db_hint = _db_hint(hint)
    if is_compressed(data[:8]):
        import io

        with decompress_stream(io.BytesIO(data), data[:8]) as f:
            try:
                data = _read_stream(f, name)
            except (EOFError, OSError) as e:
                raise SourceError(f"{name}: a compressed input that is cut short or damaged: {e}") from None
    if is_db_file(data):
        return _db_context(read_db_bytes(data, name, db_hint, keep), name, db_hint, node)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SourceError(f"{name}: not UTF-8 text nor an OVSDB database file") from e
    return context_from_text_any(text, name, hint, node)


def context_from_text_any(text: str, name: str, hint: str | None = None, node: str | None = None) -> ClusterContext:
    from ovntrace.sources.jsondump import decode_json_tables, looks_like_json_tables
    from ovntrace.sources.paste import context_from_text, looks_like_show

    db_hint = _db_hint(hint)
    if text[:256].lstrip().startswith("{") and '"ovntrace.snapshot/' in text[:256]:
        from ovntrace.sources.snapshot import context_from_snapshot  # `ovntrace snapshot` output

        return context_from_snapshot(text, name)
    if text.startswith(("OVSDB JSON ", "OVSDB CLUSTER ")):
        return context_from_bytes(text.encode("utf-8"), name, hint, node)
    if looks_like_json_tables(text):
        notes: list[str] = []
        db_name, tables = decode_json_tables(text, db_hint, _table_hint(hint), name, notes)
        _check_db(db_name, db_hint, name)
        ctx = context_of(db_name, tables, f"{db_name} JSON tables from {name} ({', '.join(sorted(tables))})", node)
        return dataclasses.replace(ctx, notes=ctx.notes + tuple(notes)) if notes else ctx
    kind = _kind_hint(hint)
    if kind is not None or looks_like_show(text):
        ctx = context_from_text(text, kind, node, name)
        if ctx.sources:
            return ctx
    first = [ln.strip() for ln in text.splitlines() if ln.strip()][:2]
    raise SourceError(
        f"{name}: not a recognised source (expected an OVSDB database file, ovsdb-client dump / ovn-*ctl "
        f"--format=json output, or ovs-vsctl show / ovs-ofctl show / ovs-appctl dpif/show / ovn-nbctl show / "
        f"ovn-sbctl show output); it starts with: {' | '.join(s[:60] for s in first) or '(nothing)'}")


def _table_hint(hint: str | None) -> str | None:
    if hint and hint[:1].isupper() and _db_hint(hint) is None:
        return hint
    return None


def _check_db(found: str, wanted: str | None, name: str) -> None:
    if wanted and found != wanted:
        raise SourceError(f"{name}: expected the {wanted} database, this is {found}")


# -- public entry points ----------------------------------------------------------------------------


def is_remote(src: str) -> bool:
    return src.startswith(REMOTE_PREFIXES) and not os.path.exists(src)


def load_context(src: str | os.PathLike[str], hint: str | None = None, node: str | None = None,
                 lflow_cookies: Iterable[str] | None = None) -> ClusterContext:
    """Any source, recognised by content: a path (database file, JSON dump/list, show output, or a
    directory of those, as in a sosreport or must-gather), a live remote (``tcp:``/``ssl:``/``unix:``),
    or the text itself. ``hint``: ``nb``/``sb``/``node``, a show kind (``vsctl`` ...) or a table name.
    ``lflow_cookies`` (a trace's cookie prefixes): of a database file, or of each Southbound file in a
    bundle, only those logical flows are decoded (as :func:`load_sb`); cookies are UUIDs, so this holds
    for every zone of an interconnect bundle alike."""
    keep = ("Logical_Flow", frozenset(lflow_cookies)) if lflow_cookies is not None else None
    s = os.fspath(src)
    if is_remote(s):
        db = _db_hint(hint)
        if db is None:
            raise SourceError(f"{s}: a live remote needs to know the database (--nb or --sb)")
        from ovntrace.sources.live import load_remote

        return load_remote(s, db)
    path = Path(s)
    if "\n" not in s and len(s) < 4096 and _bundle_hook(s):  # a sosreport / must-gather (sources/bundle.py)
        from ovntrace.sources.bundle import load_bundle

        return load_bundle(s, lflow_cookies)
    if "\n" not in s and len(s) < 4096 and path.is_dir():
        return load_directory(path, hint)
    if "\n" not in s and len(s) < 4096 and path.exists():
        # read with the size cap, whatever stat says (a device or a FIFO has no size); .gz/.xz/.bz2 decompressed
        return db_file_context(path, s, hint, keep, node=node)
    if "\n" in s or s.startswith(("{", "OVSDB ")):
        return context_from_text_any(s, "text", hint, node)
    raise SourceError(f"{s}: no such file or directory")


def _bundle_hook(s: str) -> bool:
    """``s`` is an incident bundle (sosreport or must-gather, folder or archive; ``PATH@ZONE``): read by
    :mod:`ovntrace.sources.bundle`, by sos's and must-gather's own names, not as a folder of outputs."""
    from ovntrace.sources.bundle import is_bundle

    if os.path.exists(s):
        return is_bundle(s)
    return "@" in s and is_bundle(s.rsplit("@", 1)[0])


def load_nb(src: str | os.PathLike[str]) -> ClusterContext:
    """The Northbound database: a db file, a JSON dump/list, ``ovn-nbctl show`` output, or a remote."""
    return load_context(src, NB)


def load_sb(src: str | os.PathLike[str], lflow_datapath_keys: Iterable[int] | None = None,
            lflow_cookies: Iterable[str] | None = None) -> ClusterContext:
    """The Southbound database: a db file, a JSON dump/list, ``ovn-sbctl show`` output, or a remote.

    ``lflow_datapath_keys``: for a live remote, read only the logical flows of these datapaths (their
    own and their datapath groups'): a trace visits a few datapaths, and serialising all of a large
    SB's ~50k logical flows costs ovsdb-server seconds. ``lflow_cookies`` (8-hex UUID prefixes of a
    trace's cookies): for a live remote, send whole only those flows; from a database file, decode only
    those flows (the others are skipped unread: :func:`ovntrace.sources.ovsdb.split_records`).
    """
    s = os.fspath(src)
    if lflow_cookies is not None and "\n" not in s and len(s) < 4096 and os.path.isfile(s) and not is_remote(s):
        per_dp = None
        if lflow_datapath_keys is not None:  # as a live read selects them (sources/rpc.py)
            per_dp = (frozenset(lflow_datapath_keys), frozenset(lflow_cookies))
        return db_file_context(Path(s), s, SB, keep=("Logical_Flow", frozenset(lflow_cookies)), per_dp=per_dp)
    if (lflow_datapath_keys is not None or lflow_cookies is not None) and is_remote(s):
        from ovntrace.sources.live import load_remote

        return load_remote(s, SB, lflow_datapath_keys=set(lflow_datapath_keys) if lflow_datapath_keys is not None
                           else None, lflow_cookies=set(lflow_cookies) if lflow_cookies is not None else None)
    return load_context(src, SB)


_ZONE_DB = {"nb:": NB, "sb:": SB}


def load_node(name: str, src: str | os.PathLike[str], lflow_cookies: Iterable[str] | None = None) -> ClusterContext:
    """One node's OVS facts, named ``name``: its ``conf.db`` (file, dump or ``unix:``/``tcp:`` remote of its
    ovsdb-server), or ``ovs-vsctl show`` / ``ovs-ofctl show`` / ``ovs-appctl dpif/show`` output.

    Interconnect: an NB or SB database given for a node (a file, or ``nb:REMOTE`` / ``sb:REMOTE`` for a live
    one) is that node's own zone's: it goes into ``zones`` (zone named after the node), never beside
    another zone's facts."""
    s = os.fspath(src)
    db = next((d for p, d in _ZONE_DB.items() if s.startswith(p)), None)
    if db is not None:
        rest = s[3:]
        if is_remote(rest):
            from ovntrace.sources.live import load_remote

            zctx = load_remote(rest, db)
        else:
            zctx = load_context(rest, db, lflow_cookies=lflow_cookies)
        return _zone_context(name, zctx)
    if is_remote(s):
        from ovntrace.sources.live import load_remote

        ctx = load_remote(s, OVS, node=name)
    else:
        ctx = load_context(s, None, node=name)
    if ctx.datapaths or ctx.logical_flows or ctx.nb_rows:
        if ctx.nodes:
            raise SourceError(f"{s}: OVN databases and a node's OVS facts together; give them one by one")
        return _zone_context(name, ctx)
    from ovntrace.sources.paste import combine_nodes

    nodes = tuple(dataclasses.replace(n, name=name) for n in ctx.nodes)
    return ClusterContext(chassis=ctx.chassis, nodes=tuple(combine_nodes(nodes)), sources=ctx.sources)


def _zone_context(node: str, zctx: ClusterContext) -> ClusterContext:
    from ovntrace.model.cluster import Zone

    return ClusterContext(zones=(Zone(node, (node,), zctx),), sources=zctx.sources, notes=zctx.notes)


def combine_zones(ctx: ClusterContext) -> ClusterContext:
    """Zones of the same name (a zone's NB and SB given one by one) as one, each row once."""
    if len({z.name for z in ctx.zones}) == len(ctx.zones):
        return ctx
    from ovntrace.model.cluster import Zone

    by: dict[str, Zone] = {}
    for z in ctx.zones:
        old = by.get(z.name)
        by[z.name] = z if old is None else Zone(z.name, tuple(dict.fromkeys(old.nodes + z.nodes)),
                                                 merge_sources(old.context, z.context), old.error or z.error)
    return dataclasses.replace(ctx, zones=tuple(by.values()))


class _Read(threading.Thread):
    """One source read in a thread of its own, started at once (a live server answers while the others are
    read); :meth:`result` waits for it and raises what it raised. (A thread, not concurrent.futures: that
    package costs ~10 ms to import, for two reads.)"""

    def __init__(self, fn: Callable[..., ClusterContext], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        super().__init__(daemon=True)
        self.fn, self.args_, self.kwargs_ = fn, args, kwargs
        self.got: ClusterContext | None = None
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self.got = self.fn(*self.args_, **self.kwargs_)
        except BaseException as e:  # handed to the caller by result()
            self.error = e

    def result(self) -> ClusterContext:
        self.join()
        if self.error is not None:
            raise self.error
        assert self.got is not None
        return self.got


def load_cluster(
    nb: Sequence[str] = (), sb: Sequence[str] = (), nodes: Sequence[tuple[str, str]] = (),
    contexts: Sequence[str] = (), lflow_datapath_keys: Iterable[int] | None = None,
    lflow_cookies: Iterable[str] | None = None,
) -> ClusterContext:
    """Everything given on a command line (``--nb``, ``--sb``, ``--node NAME=SRC``, ``--context``), merged.

    Live NB and SB are separate servers: they are read at the same time (a large SB keeps its server busy
    for a while); files are CPU work and are read one after the other. Several sources for one node
    (conf.db + ``ovs-ofctl show`` ...) become one :class:`NodeFacts`.
    """
    keys = set(lflow_datapath_keys) if lflow_datapath_keys else None
    cookies = set(lflow_cookies) if lflow_cookies is not None else None
    jobs: list[tuple[Callable[..., ClusterContext], tuple[Any, ...], dict[str, Any]]] = [
        (load_nb, (src,), {}) for src in nb]
    jobs += [(load_sb, (src,), {"lflow_datapath_keys": keys, "lflow_cookies": cookies}) for src in sb]
    remote = [j for j in jobs if is_remote(str(j[1][0]))]
    local = [j for j in jobs if j not in remote]
    ctx = ClusterContext()
    running = [_Read(fn, a, kw) for fn, a, kw in remote]
    try:
        for fn, a, kw in local:
            ctx = merge_sources(ctx, fn(*a, **kw))
        for read in running:
            ctx = merge_sources(ctx, read.result())
    finally:
        for read in running:
            read.join()
    for name, src in nodes:
        ctx = ctx.merge(load_node(name, src, cookies))
    for src in contexts:
        ctx = merge_sources(ctx, load_context(src, lflow_cookies=cookies))
    if len({n.name for n in ctx.nodes}) < len(ctx.nodes):
        from ovntrace.sources.paste import combine_nodes

        ctx = dataclasses.replace(ctx, nodes=tuple(combine_nodes(ctx.nodes)))
    ctx = combine_zones(ctx)
    if ctx.zones and not ctx.ovn_version:
        ctx = dataclasses.replace(ctx, ovn_version=next(
            (z.context.ovn_version for z in ctx.zones if z.context.ovn_version), None))
    return ctx


_SOS_DIRS = frozenset({
    "etc", "var", "run", "proc", "sys", "usr", "lib", "boot", "dev", "opt", "home", "root", "tmp", "sos_commands",
    "sos_logs", "sos_reports", "sos_strings", "openvswitch", "ovn", "logs", "log", "must-gather", "network_logs",
    "namespaces", "nodes", "db", "dbs", "data", "output", "outputs", "ovs", "ovsdb"})
# words of a file name that say which output it holds; what comes before them is the node (NODE-ovs-vsctl-show.txt)
_KIND_WORDS = re.compile(r"[._-](?:ovs-vsctl|ovs-ofctl|ovs-appctl|ovs-dpctl|ovsdb-client|ovn-nbctl|ovn-sbctl|"
                         r"vsctl|ofctl|dpif|conf\.db|conf-db|ovs-dump|ovs_vsctl|ovs_ofctl|ovs_appctl)", re.I)


@dataclass
class _Part:
    ctx: ClusterContext
    rel: tuple[str, ...]  # path relative to the root, split
    path: str


def load_directory(root: Path, hint: str | None = None) -> ClusterContext:
    """Every recognised file under ``root`` (sosreport, must-gather, a folder of outputs), compressed ones
    (``.gz``, ``.xz``, ``.bz2``) too. Files that are none of the sources are skipped (a JSON file that is not
    OVSDB's, such as a ``pod.json``, with a note); a recognised file that is broken is an error. The same
    database given twice (a db file and its dump, a clustered and a standalone copy) is used once. Node
    outputs are tied to their node by name (``NODE.ovs-vsctl-show.txt``, ``NODE-ovs-ofctl-show.txt``,
    ``NODE/...``) or by content (system-id, hostname, the node's interfaces); see docs/sources.md."""
    parts: list[_Part] = []
    notes: list[str] = []
    count = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for fn in sorted(filenames):
            p = Path(dirpath) / fn
            if fn.startswith(".") or fn.endswith(_DIR_SKIP_SUFFIXES) or not p.is_file() or p.is_symlink():
                continue
            count += 1
            if count > _DIR_MAX_FILES:
                raise SourceError(f"{root}: more than {_DIR_MAX_FILES} files")
            try:
                head = read_path(p, head_only=4096)
            except SourceError as e:
                if fn.endswith(_COMPRESSED_SUFFIXES):
                    notes.append(f"{e}; skipped it")
                continue
            if not _maybe_source(head):
                continue
            try:
                got = context_from_bytes(read_path(p), str(p), None)
            except InputTooLarge as e:  # a huge log of a sosreport: the rest of the folder is still read
                notes.append(f"{e}; skipped it")
                continue
            except SourceError as e:
                if is_db_file(head):
                    raise
                looks_json = head.lstrip()[:1] in (b"{", b"[")
                if "not a recognised source" in str(e) or (looks_json and not _ovsdb_json(head)):
                    if looks_json:
                        notes.append(f"{p}: skipped: JSON that is not an OVSDB dump or ovn-*ctl/ovs-vsctl "
                                     "--format=json list")
                    continue
                raise
            parts.append(_Part(got, p.relative_to(root).parts, str(p)))
    ctx = ClusterContext()
    for one in sorted(_tie_nodes(parts, notes), key=_kind_rank):
        ctx = merge_sources(ctx, one.ctx)
    if not ctx.sources:
        raise SourceError(f"{root}: no recognised source in this directory" + (
            f" ({'; '.join(notes)})" if notes else ""))
    from ovntrace.sources.paste import combine_nodes

    return dataclasses.replace(ctx, nodes=tuple(combine_nodes(ctx.nodes)), notes=ctx.notes + tuple(notes))


def _ovsdb_json(head: bytes) -> bool:
    """The start of a JSON file looks like OVSDB's (a dump or list table, a snapshot, a schema)."""
    return any(k in head for k in (b'"headings"', b'"caption"', b'"ovntrace.snapshot/'))


# -- the same database twice ------------------------------------------------------------------------


def _richness(r: Any) -> tuple[int, int]:
    """How much a row says (a db row says more than the same row in a show output: a database's Northbound
    row, though it holds only the columns read, is richer than a show output's of any width)."""
    cols = getattr(r, "columns", None)
    if isinstance(cols, LoadedColumns):
        return 1, len(cols)
    if isinstance(cols, dict):
        return 0, len(cols)
    return 0, sum(1 for f in dataclasses.fields(r) if getattr(r, f.name) not in (None, "", (), {}))


def _dedupe(old: Sequence[Any], new: Sequence[Any], key: Callable[[Any], str],
            ) -> tuple[tuple[Any, ...], tuple[Any, ...], int]:
    """(``old`` with a richer copy from ``new`` in place of its own, ``new``'s rows ``old`` does not have,
    how many rows with the same non-empty UUID both have)."""
    where = {key(r): i for i, r in enumerate(old)}
    kept_old = list(old)
    kept_new = []
    same = 0
    for r in new:
        i = where.get(key(r))
        if i is None:
            kept_new.append(r)
            continue
        o = kept_old[i]
        if getattr(r, "uuid", "") and getattr(r, "uuid", "") == getattr(o, "uuid", ""):
            same += 1
        if _richness(r) > _richness(o):
            kept_old[i] = r
    return tuple(kept_old), tuple(kept_new), same


def _nb_key(r: Any) -> str:
    """A Northbound row's identity: its UUID, else (a show output's port) its table, name and parent's UUID."""
    if r.uuid:
        return str(r.uuid)
    parent = None if isinstance(r.columns, LoadedColumns) else r.columns.get("_parent")  # a show output's
    return f"{r.table}:{r.columns.get('name')}:{parent}"


def _flow_uuids(flows: Sequence[Any]) -> set[str]:
    keys = getattr(flows, "uuids", None)
    return set(keys()) if callable(keys) else {f.uuid for f in flows}


def merge_sources(a: ClusterContext, b: ClusterContext) -> ClusterContext:
    """``a.merge(b)``, each row once: rows with the same UUID (the same database given twice: a db file and
    its dump, a clustered and a standalone copy), the same chassis name or logical port, or a show output's
    row (no UUID) of a named object the other has, are kept once, the richer copy (a database row rather than
    a show output's). A note says when a database was given twice."""
    if not a.sources:
        return b
    by_uuid = lambda r: r.uuid  # noqa: E731
    dps_a, dps, d1 = _dedupe(a.datapaths, b.datapaths, by_uuid)
    pbs_a, pbs, d2 = _dedupe(a.port_bindings, b.port_bindings, lambda r: r.logical_port or r.uuid)
    groups_a, groups, d3 = _dedupe(a.datapath_groups, b.datapath_groups, by_uuid)
    ch_a, chassis, d4 = _dedupe(a.chassis, b.chassis, lambda r: r.name or r.uuid)
    mc_a, mcast, d5 = _dedupe(a.multicast_groups, b.multicast_groups, by_uuid)
    mac_a, macs, d6 = _dedupe(a.mac_bindings, b.mac_bindings, by_uuid)
    nb_a, nbrows, d7 = _dedupe(
        a.nb_rows, b.nb_rows, _nb_key)
    flows: Sequence[Any] = b.logical_flows
    flows_a: Sequence[Any] = a.logical_flows
    d8 = 0
    if a.logical_flows and b.logical_flows:
        ua, ub = _flow_uuids(a.logical_flows), _flow_uuids(b.logical_flows)
        d8 = len(ua & ub)
        if ub <= ua:
            flows = ()
        elif ua <= ub:  # b holds all of a's flows and more: keep b's (lazy) sequence whole
            flows_a = ()
        else:
            flows = tuple(f for f in b.logical_flows if f.uuid not in ua)
    dup = d1 + d2 + d3 + d4 + d5 + d6 + d7 + d8
    notes = b.notes
    dbs_a, dbs_b = _db_sources(a.sources), _db_sources(b.sources)
    both = [db for db in dbs_b if db in dbs_a]
    if dup and both:
        for db in both:
            notes += (f"{', '.join(dbs_b[db])}: the same {db} as {', '.join(dbs_a[db])} (given twice; {dup} rows "
                      "in both): each row is used once",)
    a = dataclasses.replace(a, datapaths=dps_a, port_bindings=pbs_a, datapath_groups=groups_a, chassis=ch_a,
                            multicast_groups=mc_a, mac_bindings=mac_a, nb_rows=nb_a, logical_flows=flows_a)
    b = dataclasses.replace(b, datapaths=dps, port_bindings=pbs, datapath_groups=groups, chassis=chassis,
                            multicast_groups=mcast, mac_bindings=macs, nb_rows=nbrows, logical_flows=flows,
                            notes=notes)
    return a.merge(b)


_SCHEMAS = ("OVN_Southbound", "OVN_Northbound", "Open_vSwitch")


def _db_sources(sources: Sequence[str]) -> dict[str, list[str]]:
    """Database name -> the files/remotes it came from, of the database sources (not show outputs)."""
    out: dict[str, list[str]] = {}
    for src in sources:
        db = src.split(" ", 1)[0]
        if db in _SCHEMAS:
            where = src.split(" from ", 1)[1].split(" (", 1)[0] if " from " in src else src
            if where not in out.setdefault(db, []):
                out[db].append(where)
    return out


def _kind_rank(part: _Part) -> int:
    """Databases (files, dumps, snapshots) before show outputs: their rows are the complete ones."""
    src = part.ctx.sources[0] if part.ctx.sources else ""
    return 0 if src.startswith(("OVN_", "Open_vSwitch", "snapshot")) or " from " not in src else 1


# -- which node a file is about -----------------------------------------------------------------------


def _identities(parts: list[_Part]) -> dict[str, str]:
    """Every name a node is known by in the folder (conf.db system-id / hostname, SB Chassis name /
    hostname), lowercased -> the node name to use."""
    ids: dict[str, str] = {}
    for part in parts:
        for ch in part.ctx.chassis:
            if ch.name:
                ids.setdefault(ch.name.lower(), ch.hostname or ch.name)
                if ch.hostname:
                    ids.setdefault(ch.hostname.lower(), ch.hostname)
    for part in parts:
        for n in part.ctx.nodes:
            if n.name != part.path:
                for ident in (n.system_id, n.hostname, n.name):
                    if ident and ident != "node":  # "node": a conf.db with neither system-id nor hostname
                        ids[ident.lower()] = n.name
    return ids


def _name_in_path(rel: tuple[str, ...], ids: dict[str, str]) -> str | None:
    """A known node identity that a path component is, or starts with (then ``.``, ``-`` or ``_``)."""
    for comp in rel:
        low = comp.lower()
        best = None
        for ident, name in ids.items():
            hit = low == ident or (low.startswith(ident) and low[len(ident):len(ident) + 1] in (".", "-", "_"))
            if hit and (best is None or len(ident) > len(best[0])):
                best = (ident, name)
        if best is not None:
            return best[1]
    return None


def _name_by_convention(rel: tuple[str, ...]) -> str | None:
    """``NODE/file`` (NODE not a sosreport directory), or ``NODE.<output>`` / ``NODE-ovs-vsctl-show.txt``."""
    if len(rel) >= 2 and rel[0].lower() not in _SOS_DIRS and not rel[0].lower().startswith(("sosreport", "sos_")):
        return rel[0]
    fn = rel[-1]
    for suffix in _COMPRESSED_SUFFIXES:
        fn = fn.removesuffix(suffix)
    m = _KIND_WORDS.search(fn)
    if m and m.start() > 0:
        return fn[:m.start()]
    return None


def _name_by_interfaces(nf: NodeFacts, named: list[NodeFacts]) -> str | None:
    """The one named node whose interfaces (name, and ofport when both know it) include all of ``nf``'s."""
    mine = [(i.name, i.ofport) for i in nf.interfaces if i.name]
    if not mine:
        return None
    hits = []
    for other in named:
        theirs = {i.name: i.ofport for i in other.interfaces}
        if all(n in theirs and (o is None or theirs[n] is None or theirs[n] == o) for n, o in mine):
            hits.append(other.name)
    found = sorted(set(hits))
    return found[0] if len(found) == 1 else None


def _tie_nodes(parts: list[_Part], notes: list[str]) -> list[_Part]:
    """Name the node facts of each file: a conf.db by the path when it names a node, else by its content
    (hostname, system-id); a show output without a prompt naming its host by the path, by the node whose
    interfaces it shows, or (one node in the folder) by that node. Otherwise it stays unnamed, with a note."""
    ids = _identities(parts)
    named = [n for p in parts for n in p.ctx.nodes if n.name != p.path]
    single = sorted({n.name for n in named})
    out = []
    for part in parts:
        if not part.ctx.nodes:
            out.append(part)
            continue
        new_nodes = []
        for nf in part.ctx.nodes:
            from_content = nf.name != part.path  # a conf.db's hostname, or a prompt's host
            by_path = _name_in_path(part.rel, ids) or _name_by_convention(part.rel)
            name = nf.name
            if nf.system_id or nf.hostname:  # a conf.db: the path wins when it names a node (same hostnames)
                name = by_path or nf.name
            elif not from_content:
                name = by_path or _name_by_interfaces(nf, named) or (single[0] if len(single) == 1 else nf.name)
                if name == nf.name:
                    notes.append(f"{part.path}: a node's output not tied to any node (name the file "
                                 "NODE.ovs-vsctl-show.txt or put it in a folder NODE/)")
            new_nodes.append(dataclasses.replace(nf, name=name) if name != nf.name else nf)
        out.append(_Part(dataclasses.replace(part.ctx, nodes=tuple(new_nodes)), part.rel, part.path))
    return out


def _maybe_source(head: bytes) -> bool:
    return is_db_file(head) or b"\x00" not in head


__all__ = ["is_remote", "load_context", "load_directory", "load_nb", "load_node", "load_sb", "node_facts"]
