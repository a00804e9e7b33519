"""Collecting what a path needs: the inventory, the SSH pool, NB/SB and each node's OVS facts, the traces
(live over SSH, or offline from a snapshot and trace files); :func:`run_path` and :func:`run_snapshot`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ovntrace.correlate import path as P
from ovntrace.path.model import CT_STATES, NeedsTrace, PathResult, PathUsageError, Reply
from ovntrace.path.stitch import _chains, _reverse


def _pool(inv: Any, inv_path: Path, accept_new: bool) -> Any:
    from ovntrace.sources.ssh import LocalTransport, Pool, SshTransport, Transport, resolve_target, split_prefix

    configs = [inv_path.parent / "ssh_config", Path.home() / ".ssh" / "config"]
    transports: dict[str, Transport] = {}
    for n in inv.nodes:
        if n.ssh is None and not any(c.is_file() and f"Host {n.name}" in c.read_text() for c in configs):
            transports[n.name] = LocalTransport(n.name, split_prefix(getattr(n.ssh, "prefix", "")))
            continue
        transports[n.name] = SshTransport(resolve_target(n.name, n.ssh, configs, accept_new))
    return Pool(transports)

@dataclass
class Env:
    """Where facts and traces come from: a live cluster (SSH pool) or a snapshot with given traces."""

    ctx: Any
    names: list[str]
    errors: dict[str, str]  # node -> why its OVS facts are missing (sshd down, ...)
    pool: Any = None  # live
    traces: dict[tuple[str, str], Path] = field(default_factory=dict)  # offline: (node, ct) -> trace file
    correlators: dict[str, Any] = field(default_factory=dict)
    on_step: Callable[[int, int, str], None] | None = None  # progress of the traces (may raise to stop)
    steps: int = 0
    # live, interconnect: nodes (and their zones) not read yet, because the path was not expected to need
    # them; read on first need (:meth:`ensure`)
    skipped: set[str] = field(default_factory=set)
    zone_specs: list[Any] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ensure(self, nodes: Sequence[str] | None = None) -> None:
        """Read the skipped ``nodes`` (all skipped ones: ``None``) and their zones now: the path reached a
        node it was not expected to (or a name did not resolve in the zones read)."""
        if not self.skipped or self.pool is None:
            return
        from ovntrace.sources import collect

        with self.lock:
            todo = sorted(self.skipped if nodes is None else self.skipped & set(nodes))
            if not todo:
                return
            specs = [z for z in self.zone_specs if set(z.nodes) & set(todo)]
            got = collect.collect_raw(self.pool, None, "", "", todo, zones=specs)
            more = got.context()
            import dataclasses

            self.ctx = dataclasses.replace(self.ctx, nodes=self.ctx.nodes + more.nodes,
                                           zones=self.ctx.zones + more.zones, sources=self.ctx.sources + more.sources)
            self.errors.update({n: str(e) for n, e in got.errors.items()})
            self.skipped -= set(todo)
            self.correlators = {}  # they read the facts as they were

    def correlator(self, node: str) -> Any:
        from ovntrace.correlate import Correlator

        if node not in self.correlators:
            self.correlators[node] = Correlator(self.ctx, None, node)
        return self.correlators[node]

    def need(self, node: str) -> None:
        """Raise a clear error when ``node``'s facts were not collected."""
        self.ensure([node])
        if node in self.errors:
            ok = [n for n in self.names if n not in self.errors]
            from ovntrace.sources.ssh import SshError

            raise SshError(node, f"the path needs this node, whose OVS facts were not collected: "
                           f"{self.errors[node]} (collected: {', '.join(ok) or 'none'})", kind="connect")

    def missing(self, node: str) -> str | None:
        """Why ``node``'s facts are missing (its OVS facts, or in an interconnect cluster its zone's NB/SB),
        or None: a path that tunnels to such a node stops there (partial)."""
        self.ensure([node])
        if node in self.errors:
            return self.errors[node]
        z = self.ctx.zone_of(node) if self.ctx.zones else None
        if self.ctx.zones and (z is None or z.error):
            return f"its zone's NB/SB: {z.error}" if z is not None else "no zone holds it"
        return None

    def trace_text(self, node: str, ct: str, argv: list[str], flow: str) -> str:
        import shlex

        if self.pool is not None:
            text: str = self.pool.run(node, argv)
            return text
        f = self.traces.get((node, ct))
        if f is None:
            raise NeedsTrace(node, ct, shlex.join(argv), flow)
        from ovntrace.sources.errors import SourceError
        from ovntrace.sources.limits import InputTooLarge, read_path

        try:
            return read_path(f, f"--trace {node}={f}").decode("utf-8", "replace")  # capped, .gz too
        except InputTooLarge:
            raise
        except SourceError as e:
            raise PathUsageError(str(e)) from None

def _load_inventory(inventory: str | Path | None) -> tuple[Any, Path]:
    """(Inventory, its path), selected as plan, apply and doctor select it (:func:`ovntrace.lab.selection.select`:
    ``--inventory``, ``$OVNTRACE_INVENTORY``, the XDG config file's, the lab's); a missing or bad one is a usage
    error."""
    from ovntrace.lab import inventory as inv_mod
    from ovntrace.lab.errors import LabError
    from ovntrace.lab.selection import select

    try:
        inv_path = select(inventory).path
    except LabError as e:
        raise PathUsageError(str(e)) from None
    if inv_path is None or not inv_path.is_file():
        raise PathUsageError(f"no inventory at {inv_path} (--inventory F, or `ovntrace lab up`)")
    try:
        return inv_mod.load(inv_path), inv_path
    except LabError as e:
        raise PathUsageError(str(e)) from None


def zone_specs(inv: Any) -> list[Any]:
    """Interconnect (``[cluster] topology = "interconnect"``): each node's own zone, its NB/SB read on that
    node over its SSH at the node's ``db_address``/``nb_port``/``sb_port`` (``Inventory.zone_db``); none for
    the central topology."""
    from ovntrace.sources.collect import ZoneSpec

    if not getattr(inv, "interconnect", False):
        return []
    out = []
    for n in inv.nodes:
        addr, nb_port, sb_port = inv.zone_db(n.name)
        out.append(ZoneSpec(n.name, n.name, f"tcp:{addr}:{nb_port}", f"tcp:{addr}:{sb_port}", (n.name,)))
    return out


def path_nodes(inv: Any, specs: Sequence[str]) -> list[str] | None:
    """Interconnect: the nodes a path between ``specs`` needs, from the inventory (a pod's node; an IP in a
    node's pod subnet): at most two zones for pod to pod, one for pod to outside (its own gateway router).
    None when a spec is neither (a VIP, an unknown pod): then every zone is read. Tunnels to another node
    read that node on demand (:meth:`Env.ensure`)."""
    import ipaddress

    out: list[str] = []
    for spec in specs:
        node = next((p.node for p in getattr(inv, "pods", ()) if spec in (p.ref, p.lsp, p.ip)), None)
        if node is None:
            try:
                ip = ipaddress.IPv4Address(spec)
            except ValueError:
                return None
            node = next((n.name for n in inv.nodes if n.subnet and ip in n.network), None)
            if node is None and spec is specs[0]:
                return None
        if node is not None and node not in out:
            out.append(node)
    return out or None


def _inventory_endpoint(inv: Any, spec: str) -> P.Endpoint | None:
    """A pod of the inventory whose zone was not read (its node is down): enough to trace towards it."""
    for pod in getattr(inv, "pods", ()):
        if spec in (pod.ref, pod.lsp, pod.ip):
            return P.Endpoint(spec, pod.lsp, pod.ip, pod.mac, None, zone=pod.node)
    return None


def _open_live(inventory: str | Path | None, accept_new: bool, progress: TextIO | None = None,
               on_step: Callable[[int, int, str], None] | None = None,
               specs: Sequence[str] | None = None) -> tuple[Any, Any, str, Any]:
    """(inventory, pool, central, collected) of a live cluster (``progress``: where a one-line progress
    display goes while collecting, when it is a terminal; ``on_step(done, total, what)``: called at each
    command, and may raise to stop). ``specs`` (SRC, DST), interconnect: read only the nodes and zones
    :func:`path_nodes` expects the path to need (``collected.skipped``: the others)."""
    from ovntrace.sources import collect

    inv, inv_path = _load_inventory(inventory)
    names = [n.name for n in inv.nodes]
    zones = zone_specs(inv)
    wanted = path_nodes(inv, specs) if zones and specs else None
    skipped: list[str] = []
    if wanted is not None:
        skipped = [n for n in names if n not in wanted]
        names = [n for n in names if n in wanted]
        zones = [z for z in zones if set(z.nodes) & set(wanted)]
    central = inv.cluster.central or next((n.name for n in inv.nodes if n.role == "central"), names[0])
    db = inv.cluster.db_address or inv.node(central).ip
    pool = _pool(inv, inv_path, accept_new)
    try:
        got = collect.collect_raw(pool, None if zones else central, f"tcp:{db}:{inv.cluster.nb_port}",
                                  f"tcp:{db}:{inv.cluster.sb_port}", names,
                                  collect.Progress(progress, callback=on_step), zones=zones)
    except BaseException:
        pool.close()
        raise
    got.skipped = skipped
    return inv, pool, central, got


def run_path(src_spec: str, dst_spec: str, inventory: str | Path | None = None, proto: str = "icmp",
             dport: int | None = None, sport: int | None = None, accept_new: bool = False,
             reverse: bool = False, offline: str | Path | None = None,
             traces: dict[tuple[str, str], Path] | None = None, progress: TextIO | None = None,
             cts: Sequence[str] | None = None, on_step: Callable[[int, int, str], None] | None = None,
             logical: bool = False) -> PathResult:
    """Trace SRC -> DST: live over the inventory's SSH, or ``offline`` from a snapshot file (``traces``:
    (node, ct) -> an ofproto/trace output file, for the hops that need one). ``cts``: the conntrack states
    to trace (default: trk,new and trk,est; offline: those with traces). ``on_step(done, total, what)`` is
    called at each SSH command and trace (total 0 once collecting is over) and may raise to stop. ``logical``
    (live only): ovn-trace on the central node too, compared with each chain (``chain.logical``,
    :mod:`ovntrace.path.logical`)."""
    t0 = time.monotonic()
    pool = None
    inv = None
    if offline is not None:
        from ovntrace.sources import snapshot

        snap = snapshot.load(offline)
        env = Env(snap.context(str(offline)), snap.nodes, snap.errors, traces=dict(traces or {}), on_step=on_step)
        if cts is None:
            cts = ("trk,new",) + (("trk,est",) if any(ct == "trk,est" for _n, ct in env.traces) else ())
    else:
        inv, pool, _central, got = _open_live(inventory, accept_new, progress, on_step, (src_spec, dst_spec))
        names = [n.name for n in inv.nodes]
        env = Env(got.context(f"{_central}:" if not got.zones else ""), names,
                  {n: str(e) for n, e in got.errors.items()}, pool=pool, on_step=on_step,
                  skipped=set(got.skipped), zone_specs=zone_specs(inv))
        cts = CT_STATES if cts is None else cts
    try:
        t_collect = time.monotonic() - t0
        zones_missing = any(z.error for z in env.ctx.zones)
        try:
            try:
                src = P.resolve_endpoint(env.ctx, src_spec)
            except P.PathError:
                if not env.skipped:
                    raise
                env.ensure()  # the inventory's pods were not where it said: read every zone
                src = P.resolve_endpoint(env.ctx, src_spec)
        except P.PathError:
            # interconnect, SRC's node down: its zone was not read; the inventory says which node it is on
            found = _inventory_endpoint(inv, src_spec) if zones_missing else None
            if found is None:
                raise
            src = found
        dst: P.Endpoint | None = None
        if env.skipped:
            try:
                dst = P.resolve_endpoint(env.ctx, dst_spec, zone=src.zone)
            except P.PathError:
                if path_nodes(inv, [dst_spec]) is not None:  # the inventory says it is a pod: read every zone
                    env.ensure()
        if dst is None and any(z.error for z in env.ctx.zones):
            # interconnect, DST's node down: its zone was not read; the inventory still knows its pods
            try:
                dst = P.resolve_endpoint(env.ctx, dst_spec, zone=src.zone)
            except P.PathError:
                dst = _inventory_endpoint(inv, dst_spec)
        if dst is None:
            dst = P.resolve_endpoint(env.ctx, dst_spec, external_ok=True, zone=src.zone)
        src_node, chains = _chains(env, src, dst, proto, dport, sport, cts)
        if logical and pool is not None and inv is not None and env.ctx.zones:
            # one NB/SB per node: ovn-trace per zone, each on its half (its node, its zone's SB)
            from ovntrace.path.logical import run_logical_zones

            run_logical_zones(env, inv, src, proto, chains)
        elif logical and pool is not None and inv is not None:
            from ovntrace.path.logical import run_logical, sb_remote

            run_logical(env, _central, sb_remote(inv, _central), src, dst, proto, dport, sport, chains)
        rev: Reply | None = None
        if reverse:
            rev = _reverse(env, src, dst, proto, dport, sport, cts, chains[0])
        stats: dict[str, Any] = {"connections": pool.connections if pool else 0,
                                 "commands": pool.commands if pool else 0,
                                 "collect_seconds": round(t_collect, 3), "seconds": round(time.monotonic() - t0, 3)}
        if offline is not None:
            stats["offline"] = str(offline)
        if env.errors:
            stats["not_collected"] = dict(env.errors)
        zone_errors = {z.name: z.error for z in env.ctx.zones if z.error}
        if zone_errors:
            stats["zones_not_collected"] = zone_errors
        if env.ctx.zones:
            stats["zones"] = [z.name for z in env.ctx.zones]
    finally:
        if pool is not None:
            pool.close()
    return PathResult(src, dst, src_node, chains, stats, rev, env.ctx)

def run_snapshot(inventory: str | Path | None, output: str | Path, accept_new: bool = False,
                 progress: TextIO | None = None) -> Any:
    """Collect and write a snapshot; returns the :class:`ovntrace.sources.snapshot.Snapshot`."""
    from ovntrace.sources import snapshot

    t0 = time.monotonic()
    out = Path(output)
    if out.is_dir():
        raise PathUsageError(f"-o {output}: a directory; give the snapshot file's name (e.g. {out / 'snapshot.json'})")
    if not out.parent.resolve().is_dir():
        raise PathUsageError(f"-o {output}: no such directory {out.parent}")
    inv, pool, central, got = _open_live(inventory, accept_new, progress)
    try:
        stats = {"connections": pool.connections, "commands": pool.commands,
                 "seconds": round(time.monotonic() - t0, 3)}
    finally:
        pool.close()
    snap = snapshot.build(got, None if got.zones else central, [(n.name, n.role) for n in inv.nodes], stats)
    try:
        size = snapshot.write(snap, out)
    except OSError as e:
        from ovntrace.sources.errors import SourceError

        raise SourceError(f"-o {output}: cannot write the snapshot: {e.strerror or e}") from None
    snap.doc["stats"]["bytes"] = size
    return snap
