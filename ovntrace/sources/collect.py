"""The read-only commands ``ovntrace path`` runs on nodes, and what their outputs become.

Every command is an argv template in :data:`COMMANDS` (shown in docs/path.md); arguments are filled in and
the line is ``shlex``-quoted by the transport. Nothing here writes to any database or switch.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TextIO

from ovntrace.model.cluster import ClusterContext
from ovntrace.sources import rpc
from ovntrace.sources.convert import context_of
from ovntrace.sources.errors import SourceError
from ovntrace.sources.load import context_from_text_any
from ovntrace.sources.ovsdb import Schema, Tables
from ovntrace.sources.ssh import Pool, SshError
from ovntrace.sources.tables import NB, SB

#: name -> argv template ({placeholders} filled per call). All read-only.
COMMANDS: dict[str, tuple[str, ...]] = {
    # on the central node, for NB and SB: the schema, then one read-only transaction (``query`` aborts it
    # even if it held a write) of ``select`` ops for exactly the tables/columns ovntrace reads (tables.WANTED)
    "schema": ("ovsdb-client", "get-schema", "{remote}", "{db}"),
    "query": ("ovsdb-client", "query", "{remote}", "{transaction}"),
    # on every node: its conf.db (bridges, ports, interfaces: ofports, iface-ids, tunnel remote_ip)
    "ovs": ("ovsdb-client", "dump", "--format=json", "Open_vSwitch"),
    # on a node: trace a microflow (conntrack state of the first recirculation with --ct-next)
    "trace": ("ovs-appctl", "ofproto/trace", "{bridge}", "{flow}"),
}


def argv(name: str, ct_next: Sequence[str] = (), **values: str) -> list[str]:
    """The argv of command ``name`` with its placeholders filled (each value stays one argument)."""
    out = [part.format(**values) for part in COMMANDS[name]]
    if name == "trace":
        for ct in ct_next:
            out += ["--ct-next", ct]
    return out


class Progress:
    """A one-line progress display on ``stream`` (stderr), only when it is a terminal: ``collecting 3/5:
    kube-node1 conf.db``, rewritten in place and erased at the end. Nothing at all otherwise."""

    def __init__(self, stream: TextIO | None, label: str = "collecting",
                 callback: Callable[[int, int, str], None] | None = None) -> None:
        isatty = getattr(stream, "isatty", None)
        self.callback = callback  # (done, total, what) at each step, e.g. the TUI's progress (may raise to stop)
        self.stream = stream if stream is not None and callable(isatty) and isatty() else None
        self.label = label
        self.total = 0
        self.done = 0
        self.lock = threading.Lock()
        self.t0 = time.monotonic()

    def start(self, total: int) -> None:
        self.total = total
        self._show("")

    def step(self, what: str) -> None:
        with self.lock:
            self.done += 1
            self._show(what)

    def _show(self, what: str) -> None:
        if self.callback is not None:
            self.callback(self.done, self.total, what)
        if self.stream is None:
            return
        line = f"{self.label} {self.done}/{self.total} ({time.monotonic() - self.t0:.1f} s)"
        self.stream.write("\r\x1b[K" + (f"{line}: {what}" if what else line)[:120])
        self.stream.flush()

    def finish(self) -> None:
        if self.stream is not None:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


@dataclass
class DbRead:
    """NB or SB as read by :func:`read_db`: the schema and the select reply (and what they become)."""

    db: str
    remote: str
    schema: Schema
    plan: list[tuple[str, list[str]]]
    results: list[Any]

    def tables(self) -> Tables:
        return rpc.tables_from_select_results(self.schema, self.plan, self.results, f"{self.db} at {self.remote}")

    def dump_text(self) -> str:
        """As ``ovsdb-client dump --format=json`` would print those tables and columns."""
        tables = rpc.select_results_as_dump(self.plan, self.results, f"{self.db} at {self.remote}")
        return "\n".join(json.dumps(t, separators=(",", ":")) for t in tables) + "\n"

    def context(self, name: str = "") -> ClusterContext:
        version = f" {self.schema.version}" if self.schema.version else ""
        return context_of(self.db, self.tables(), f"{self.db}{version} from {name}{self.remote} (ovsdb-client query)")


def _json(text: str, node: str, line: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise SshError(node, f"not JSON output: {e}: {text.strip()[:120]!r}", line, "failed") from None


def read_db(pool: Pool, node: str, remote: str, db: str, lines: list[tuple[str, str]] | None = None) -> DbRead:
    """``db`` (NB or SB) at ``remote``, read on ``node`` with ``ovsdb-client``: its schema, then one
    read-only ``query`` of the wanted tables and columns."""
    cmd = argv("schema", remote=remote, db=db)
    line = pool.line(node, cmd)
    if lines is not None:
        lines.append((node, line))
    try:
        schema = Schema.from_json(_json(pool.run(node, cmd), node, line))
    except SourceError as e:
        raise SshError(node, str(e), line, "failed") from None
    plan = rpc.select_plan(schema, db)
    cmd = argv("query", remote=remote,
               transaction=json.dumps(rpc.select_transaction(db, plan), separators=(",", ":")))
    line = pool.line(node, cmd)
    if lines is not None:
        lines.append((node, line))
    results = _json(pool.run(node, cmd), node, line)
    try:
        rpc.check_results(plan, results, f"{db} at {remote}")
    except SourceError as e:
        raise SshError(node, str(e), line, "failed") from None
    return DbRead(db, remote, schema, plan, results)


@dataclass(frozen=True)
class ZoneSpec:
    """Where an interconnect zone's NB and SB are read: on ``node`` (over its SSH), at these remotes."""

    name: str
    node: str
    nb_remote: str
    sb_remote: str
    nodes: tuple[str, ...]


@dataclass
class ZoneRead:
    """One zone's NB and SB as read (or why not: the node that serves them is down)."""

    spec: ZoneSpec
    dbs: dict[str, DbRead] = field(default_factory=dict)
    error: SshError | None = None

    def dump_text(self, db: str) -> str:
        read = self.dbs.get(db)
        return read.dump_text() if read is not None else ""

    def context(self, name: str = "") -> ClusterContext:
        if self.error is not None or NB not in self.dbs or SB not in self.dbs:
            return ClusterContext()
        return self.dbs[NB].context(name).merge(self.dbs[SB].context(name))


@dataclass
class Collected:
    """The raw outputs of one collection: NB and SB (as dump text), each node's conf.db dump, and the nodes
    that failed. Interconnect: ``zones`` holds each zone's NB/SB and ``nb``/``sb`` are empty."""

    nb: str
    sb: str
    ovs: dict[str, str] = field(default_factory=dict)
    errors: dict[str, SshError] = field(default_factory=dict)  # node -> why its conf.db was not read
    commands: list[tuple[str, str]] = field(default_factory=list)  # (node, command line) as run
    dbs: dict[str, DbRead] = field(default_factory=dict)  # NB/SB as read by ``ovsdb-client query``
    zones: dict[str, ZoneRead] = field(default_factory=dict)  # interconnect: zone -> its NB/SB
    skipped: list[str] = field(default_factory=list)  # nodes not read on purpose (a path that does not need them)

    def context(self, name: str = "") -> ClusterContext:
        """One ClusterContext of everything collected (the failed nodes are absent); interconnect: each
        zone's NB/SB in ``zones``, the nodes' OVS facts at the top."""
        from ovntrace.model.cluster import Zone

        ctx = ClusterContext()
        if self.nb or self.sb or self.dbs:
            parts = []
            for db, text, hint in ((NB, self.nb, "nb"), (SB, self.sb, "sb")):
                read = self.dbs.get(db)
                parts.append(read.context(name) if read else context_from_text_any(text, f"{name}{hint}", hint))
            ctx = parts[0].merge(parts[1])
        for node, text in self.ovs.items():
            ctx = ctx.merge(context_from_text_any(text, f"{name}{node}:ovs", "ovs", node))
        if self.zones:
            zones = tuple(Zone(z.spec.name, z.spec.nodes, z.context(f"zone {z.spec.name}: {name}"),
                               str(z.error) if z.error is not None else None) for z in self.zones.values())
            ctx = ClusterContext(nodes=ctx.nodes, sources=ctx.sources, notes=ctx.notes, zones=zones,
                                 ovn_version=next((z.context.ovn_version for z in zones if z.context.ovn_version),
                                                  None))
        return ctx


def collect_raw(pool: Pool, central: str | None, nb_remote: str, sb_remote: str, nodes: Iterable[str],
                progress: Progress | None = None, zones: Sequence[ZoneSpec] = ()) -> Collected:
    """NB and SB from the central node and each node's conf.db, in parallel; interconnect (``zones``, and
    ``central`` None): each zone's NB and SB on its own node instead.

    A node whose conf.db cannot be read (sshd down, auth, OVS not running) is recorded in ``errors`` and the
    others are still collected; NB/SB failing (the central node) raises :class:`SshError`. A zone whose NB/SB
    cannot be read is recorded in its :class:`ZoneRead` (a node down takes its zone with it)."""
    node_list = list(nodes)
    lines: dict[str, list[tuple[str, str]]] = {NB: [], SB: []}
    zone_lines: dict[tuple[str, str], list[tuple[str, str]]] = {(z.name, db): [] for z in zones for db in (NB, SB)}
    jobs: list[tuple[str, str, str]] = [(central, NB, ""), (central, SB, "")] if central is not None else []
    jobs += [(z.node, db, z.name) for z in zones for db in (NB, SB)]
    n_db = len(jobs)
    jobs += [(n, "ovs", "") for n in node_list]
    ovs_cmd = argv("ovs")
    by_zone = {z.name: z for z in zones}

    def one(job: tuple[str, str, str]) -> DbRead | str | SshError:
        node, what, zone = job
        try:
            if what == "ovs":
                return pool.run(node, ovs_cmd)
            if zone:
                z = by_zone[zone]
                return read_db(pool, node, z.nb_remote if what == NB else z.sb_remote, what,
                               zone_lines[(zone, what)])
            return read_db(pool, node, nb_remote if what == NB else sb_remote, what, lines[what])
        except SshError as e:
            return e
        finally:
            if progress is not None:
                progress.step(f"{node} {'conf.db' if what == 'ovs' else what}")

    if progress is not None:
        progress.start(len(jobs))
    try:
        with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as ex:
            outs = list(ex.map(one, jobs))
    finally:
        if progress is not None:
            progress.finish()
    if central is not None:
        for out in outs[:2]:
            if isinstance(out, SshError):
                raise out
        nb, sb = outs[0], outs[1]
        assert isinstance(nb, DbRead) and isinstance(sb, DbRead)
        got = Collected(nb.dump_text(), sb.dump_text(), dbs={NB: nb, SB: sb}, commands=lines[NB] + lines[SB])
        zone_outs = outs[2:n_db]
    else:
        got = Collected("", "")
        zone_outs = outs[:n_db]
    for (_node, what, zone), out in zip(jobs[n_db - len(zone_outs):n_db], zone_outs, strict=True):
        zr = got.zones.setdefault(zone, ZoneRead(by_zone[zone]))
        got.commands += zone_lines[(zone, what)]
        if isinstance(out, SshError):
            zr.error = zr.error or out
        else:
            assert isinstance(out, DbRead)
            zr.dbs[what] = out
    got.commands += [(n, pool.line(n, ovs_cmd)) for n in node_list]
    for node, out in zip(node_list, outs[n_db:], strict=True):
        if isinstance(out, SshError):
            got.errors[node] = out
        else:
            assert isinstance(out, str)
            got.ovs[node] = out
    return got


def collect_dbs(pool: Pool, central: str, nb_remote: str, sb_remote: str,
                nodes: Iterable[str]) -> ClusterContext:
    """NB and SB from the central node and each node's conf.db, in parallel, as one ClusterContext.
    Any failure raises :class:`SshError` (see :func:`collect_raw` to keep the nodes that answered)."""
    got = collect_raw(pool, central, nb_remote, sb_remote, nodes)
    for err in got.errors.values():
        raise err
    return got.context(f"{central}:")


def trace(pool: Pool, node: str, flow: str, bridge: str = "br-int", ct_next: Sequence[str] = ()) -> str:
    return pool.run(node, argv("trace", ct_next, bridge=bridge, flow=flow))
