"""Collecting what a path needs: the inventory, the SSH pool, NB/SB and each node's OVS facts, the traces
(live over SSH, or offline from a snapshot and trace files); :func:`run_path` and :func:`run_snapshot`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ovntrace.correlate import path as P
from ovntrace.path.model import CT_STATES, NeedsTrace, PathResult, PathUsageError, Reply
from ovntrace.path.stitch import _chains, _reverse


def _default_inventory() -> Path:
    from ovntrace.lab.inventory import lab_dir

    return lab_dir() / "inventory.toml"


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

    def correlator(self, node: str) -> Any:
        from ovntrace.correlate import Correlator

        if node not in self.correlators:
            self.correlators[node] = Correlator(self.ctx, None, node)
        return self.correlators[node]

    def need(self, node: str) -> None:
        """Raise a clear error when ``node``'s facts were not collected."""
        if node in self.errors:
            ok = [n for n in self.names if n not in self.errors]
            from ovntrace.sources.ssh import SshError

            raise SshError(node, f"the path needs this node, whose OVS facts were not collected: "
                           f"{self.errors[node]} (collected: {', '.join(ok) or 'none'})", kind="connect")

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
    """(Inventory, its path): ``inventory`` or the lab's; a missing or bad one is a usage error."""
    from ovntrace.lab import inventory as inv_mod
    from ovntrace.lab.errors import LabError

    inv_path = Path(inventory) if inventory else _default_inventory()
    if not inv_path.is_file():
        raise PathUsageError(f"no inventory at {inv_path} (--inventory F, or `ovntrace lab up`)")
    try:
        return inv_mod.load(inv_path), inv_path
    except LabError as e:
        raise PathUsageError(str(e)) from None


def _open_live(inventory: str | Path | None, accept_new: bool, progress: TextIO | None = None,
               on_step: Callable[[int, int, str], None] | None = None) -> tuple[Any, Any, str, Any]:
    """(inventory, pool, central, collected) of a live cluster (``progress``: where a one-line progress
    display goes while collecting, when it is a terminal; ``on_step(done, total, what)``: called at each
    command, and may raise to stop)."""
    from ovntrace.sources import collect

    inv, inv_path = _load_inventory(inventory)
    names = [n.name for n in inv.nodes]
    central = inv.cluster.central or next((n.name for n in inv.nodes if n.role == "central"), names[0])
    db = inv.cluster.db_address or inv.node(central).ip
    pool = _pool(inv, inv_path, accept_new)
    try:
        got = collect.collect_raw(pool, central, f"tcp:{db}:{inv.cluster.nb_port}",
                                  f"tcp:{db}:{inv.cluster.sb_port}", names,
                                  collect.Progress(progress, callback=on_step))
    except BaseException:
        pool.close()
        raise
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
    if offline is not None:
        from ovntrace.sources import snapshot

        snap = snapshot.load(offline)
        env = Env(snap.context(str(offline)), snap.nodes, snap.errors, traces=dict(traces or {}), on_step=on_step)
        if cts is None:
            cts = ("trk,new",) + (("trk,est",) if any(ct == "trk,est" for _n, ct in env.traces) else ())
    else:
        _inv, pool, _central, got = _open_live(inventory, accept_new, progress, on_step)
        names = [n.name for n in _inv.nodes]
        env = Env(got.context(f"{_central}:"), names, {n: str(e) for n, e in got.errors.items()}, pool=pool,
                  on_step=on_step)
        cts = CT_STATES if cts is None else cts
    try:
        t_collect = time.monotonic() - t0
        src = P.resolve_endpoint(env.ctx, src_spec)
        dst = P.resolve_endpoint(env.ctx, dst_spec, external_ok=True)
        src_node, chains = _chains(env, src, dst, proto, dport, sport, cts)
        if logical and pool is not None:
            from ovntrace.path.logical import run_logical, sb_remote

            run_logical(env, _central, sb_remote(_inv, _central), src, dst, proto, dport, sport, chains)
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
    snap = snapshot.build(got, central, [(n.name, n.role) for n in inv.nodes], stats)
    try:
        size = snapshot.write(snap, out)
    except OSError as e:
        from ovntrace.sources.errors import SourceError

        raise SourceError(f"-o {output}: cannot write the snapshot: {e.strerror or e}") from None
    snap.doc["stats"]["bytes"] = size
    return snap
