"""Loading sources: paths, directories, text and live remotes, recognised by content. All file I/O is here."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ovntrace.model.cluster import ClusterContext
from ovntrace.sources.convert import context_of, node_facts
from ovntrace.sources.errors import SourceError
from ovntrace.sources.ovsdb import Database, is_db_file, replay, split_records
from ovntrace.sources.tables import LAZY_TABLES, NB, OVS, SB, WANTED

# jsondump and paste (Lark grammars) are imported where text needs them: a db file does not.

REMOTE_PREFIXES = ("tcp:", "ssl:", "unix:")
_DB_HINTS = {
    "nb": NB, "northbound": NB, NB.lower(): NB,
    "sb": SB, "southbound": SB, SB.lower(): SB,
    "ovs": OVS, "node": OVS, "conf": OVS, OVS.lower(): OVS,
}
_MAX_FILE = 2 << 30
_DIR_SKIP_SUFFIXES = (".gz", ".xz", ".bz2", ".tar", ".zip", ".pcap", ".png", ".jpg", ".so", ".pyc")
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


def read_db_bytes(data: bytes, name: str, db_hint: str | None = None) -> Database:
    """A database file's contents, decoding only the tables (and columns) the model needs."""
    records, notes = split_records(data, name)
    first = records[0].data
    # The schema's name (standalone) or the Raft header's name (clustered) says which tables matter.
    schema_name = first.get("name") if isinstance(first, dict) else None
    wanted = WANTED.get(str(schema_name)) or (WANTED.get(db_hint) if db_hint else None)
    db = replay(records, wanted, name, LAZY_TABLES)
    db.notes.extend(notes)
    return db


def _describe(db: Database, name: str) -> str:
    version = f" {db.schema.version}" if db.schema.version else ""
    return f"{db.name}{version} from {name} ({db.format}, {db.transactions} transactions)"


def context_from_bytes(data: bytes, name: str, hint: str | None = None, node: str | None = None) -> ClusterContext:
    """Recognise and convert one input by its content: database file, JSON dump/list, or show outputs."""
    db_hint = _db_hint(hint)
    if is_db_file(data):
        db = read_db_bytes(data, name, db_hint)
        _check_db(db.name, db_hint, name)
        return context_of(db.name, db.tables, _describe(db, name), node)
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
        db_name, tables = decode_json_tables(text, db_hint, _table_hint(hint), name)
        _check_db(db_name, db_hint, name)
        return context_of(db_name, tables, f"{db_name} JSON tables from {name} ({', '.join(sorted(tables))})", node)
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


def load_context(src: str | os.PathLike[str], hint: str | None = None, node: str | None = None) -> ClusterContext:
    """Any source, recognised by content: a path (database file, JSON dump/list, show output, or a
    directory of those, as in a sosreport or must-gather), a live remote (``tcp:``/``ssl:``/``unix:``),
    or the text itself. ``hint``: ``nb``/``sb``/``node``, a show kind (``vsctl`` ...) or a table name."""
    s = os.fspath(src)
    if is_remote(s):
        db = _db_hint(hint)
        if db is None:
            raise SourceError(f"{s}: a live remote needs to know the database (--nb or --sb)")
        from ovntrace.sources.live import load_remote

        return load_remote(s, db)
    path = Path(s)
    if "\n" not in s and len(s) < 4096 and path.is_dir():
        return load_directory(path, hint)
    if "\n" not in s and len(s) < 4096 and path.exists():
        if path.stat().st_size > _MAX_FILE:
            raise SourceError(f"{s}: larger than {_MAX_FILE >> 30} GiB")
        try:
            data = path.read_bytes()
        except OSError as e:
            raise SourceError(f"{s}: {e.strerror or e}") from e
        return context_from_bytes(data, s, hint, node)
    if "\n" in s or s.startswith(("{", "OVSDB ")):
        return context_from_text_any(s, "text", hint, node)
    raise SourceError(f"{s}: no such file or directory")


def load_nb(src: str | os.PathLike[str]) -> ClusterContext:
    """The Northbound database: a db file, a JSON dump/list, ``ovn-nbctl show`` output, or a remote."""
    return load_context(src, NB)


def load_sb(src: str | os.PathLike[str], lflow_datapath_keys: Iterable[int] | None = None,
            lflow_cookies: Iterable[str] | None = None) -> ClusterContext:
    """The Southbound database: a db file, a JSON dump/list, ``ovn-sbctl show`` output, or a remote.

    ``lflow_datapath_keys``: for a live remote, read only the logical flows of these datapaths (their
    own and their datapath groups'): a trace visits a few datapaths, and serialising all of a large
    SB's ~50k logical flows costs ovsdb-server seconds. ``lflow_cookies`` (8-hex UUID prefixes of a
    trace's cookies): for a live remote, send whole only those flows. Both are ignored for files (read
    lazily anyway).
    """
    s = os.fspath(src)
    if (lflow_datapath_keys is not None or lflow_cookies is not None) and is_remote(s):
        from ovntrace.sources.live import load_remote

        return load_remote(s, SB, lflow_datapath_keys=set(lflow_datapath_keys) if lflow_datapath_keys is not None
                           else None, lflow_cookies=set(lflow_cookies) if lflow_cookies is not None else None)
    return load_context(src, SB)


def load_node(name: str, src: str | os.PathLike[str]) -> ClusterContext:
    """One node's OVS facts, named ``name``: its ``conf.db`` (file, dump or ``unix:``/``tcp:`` remote of its
    ovsdb-server), or ``ovs-vsctl show`` / ``ovs-ofctl show`` / ``ovs-appctl dpif/show`` output."""
    s = os.fspath(src)
    if is_remote(s):
        from ovntrace.sources.live import load_remote

        ctx = load_remote(s, OVS, node=name)
    else:
        ctx = load_context(s, None, node=name)
    if ctx.datapaths or ctx.logical_flows or ctx.nb_rows:
        raise SourceError(f"{s}: an OVN database, not a node's OVS facts")
    from ovntrace.sources.paste import combine_nodes

    nodes = tuple(dataclasses.replace(n, name=name) for n in ctx.nodes)
    return ClusterContext(chassis=ctx.chassis, nodes=tuple(combine_nodes(nodes)), sources=ctx.sources)


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
    with ThreadPoolExecutor(max_workers=max(1, len(remote))) as pool:
        futures = [pool.submit(fn, *a, **kw) for fn, a, kw in remote]
        for fn, a, kw in local:
            ctx = ctx.merge(fn(*a, **kw))
        for fut in futures:
            ctx = ctx.merge(fut.result())
    for name, src in nodes:
        ctx = ctx.merge(load_node(name, src))
    for src in contexts:
        ctx = ctx.merge(load_context(src))
    if len({n.name for n in ctx.nodes}) < len(ctx.nodes):
        from ovntrace.sources.paste import combine_nodes

        ctx = dataclasses.replace(ctx, nodes=tuple(combine_nodes(ctx.nodes)))
    return ctx


def load_directory(root: Path, hint: str | None = None) -> ClusterContext:
    """Every recognised file under ``root`` (sosreport, must-gather, a folder of outputs). Files that are
    none of the sources are skipped; a recognised file that is broken is an error."""
    ctx = ClusterContext()
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
                with p.open("rb") as f:
                    head = f.read(4096)
            except OSError:
                continue
            if not _maybe_source(head):
                continue
            try:
                part = context_from_bytes(p.read_bytes(), str(p), None)
            except SourceError as e:
                if is_db_file(head) or head.lstrip().startswith(b"{"):
                    raise
                if "not a recognised source" in str(e):
                    continue
                raise
            ctx = ctx.merge(part)
    if not ctx.sources:
        raise SourceError(f"{root}: no recognised source in this directory")
    from ovntrace.sources.paste import combine_nodes

    return ClusterContext(
        datapaths=ctx.datapaths, port_bindings=ctx.port_bindings, logical_flows=ctx.logical_flows,
        datapath_groups=ctx.datapath_groups, chassis=ctx.chassis, multicast_groups=ctx.multicast_groups,
        mac_bindings=ctx.mac_bindings, nb_rows=ctx.nb_rows, nodes=tuple(combine_nodes(ctx.nodes)),
        ovn_version=ctx.ovn_version, sources=ctx.sources)


def _maybe_source(head: bytes) -> bool:
    return is_db_file(head) or b"\x00" not in head


__all__ = ["is_remote", "load_context", "load_directory", "load_nb", "load_node", "load_sb", "node_facts"]
