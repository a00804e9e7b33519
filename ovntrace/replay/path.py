"""``path`` offline from incident bundles: the path engine (:mod:`ovntrace.path.stitch`) with each hop's
``ofproto/trace`` replayed on that node's sosreport (one private switch per node, built on first use, all
stopped at the end). For ``ovntrace path --offline BUNDLE SRC DST`` (the ``path`` command is wired by its
owner: call :func:`run_bundle_path` when :func:`ovntrace.sources.bundle.is_bundle` says the offline source is
a bundle).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ovntrace.path.model import PathResult, PathUsageError
from ovntrace.replay.engine import Built, build
from ovntrace.replay.switch import PrivateSwitch
from ovntrace.sources.bundle import Bundle, replayable

CT_STATES = ("trk,new", "trk,est")


@dataclass
class BundleEnv:
    """A :class:`ovntrace.path.model.TraceSource` whose traces are replays of the bundle's nodes."""

    ctx: Any
    bundle: Bundle
    names: list[str]
    errors: dict[str, str]
    on_step: Callable[[int, int, str], None] | None = None
    steps: int = 0
    correlators: dict[str, Any] = field(default_factory=dict)
    switches: dict[str, tuple[PrivateSwitch, Built]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def correlator(self, node: str) -> Any:
        from ovntrace.correlate import Correlator

        if node not in self.correlators:
            self.correlators[node] = Correlator(self.ctx, None, node)
        return self.correlators[node]

    def need(self, node: str) -> None:
        if node in self.errors:
            raise PathUsageError(f"the path needs {node}: {self.errors[node]} (replayable: "
                                 f"{', '.join(n for n in self.names if n not in self.errors) or 'none'})")

    def missing(self, node: str) -> str | None:
        """Why a hop's node cannot be replayed (no usable sosreport of it in the bundle), or None: a path that
        tunnels to such a node stops there (partial)."""
        if node in self.errors:
            return self.errors[node]
        return None if node in self.names else "no sosreport of it in the bundle"

    def _switch(self, node: str) -> PrivateSwitch:
        with self.lock:
            if node not in self.switches:
                rep = self.bundle.report(node)
                sw = PrivateSwitch()
                sw.__enter__()
                built = Built()
                self.switches[node] = (sw, built)
                build(sw, rep, built)
            return self.switches[node][0]

    def trace_text(self, node: str, ct: str, argv: list[str], flow: str) -> str:
        self.need(node)
        sw = self._switch(node)
        return sw.appctl(*argv[argv.index("ofproto/trace"):])

    def close(self) -> None:
        for sw, _ in self.switches.values():
            sw.stop()
        self.switches.clear()


def _node_reports(b: Bundle) -> tuple[list[str], dict[str, str]]:
    names: list[str] = []
    errors: dict[str, str] = {}
    for r in b.reports:
        if r.kind != "sosreport":
            continue
        names.append(r.name)
        ok, why = replayable(r)
        if not ok:
            errors[r.name] = "cannot replay: " + "; ".join(why)
    return names, errors


def run_bundle_path(paths: Sequence[str], src_spec: str, dst_spec: str, proto: str = "icmp",
                    dport: int | None = None, sport: int | None = None, reverse: bool = False,
                    cts: Sequence[str] = CT_STATES, context: Sequence[str] = ()) -> PathResult:
    """SRC -> DST from sosreports (every node the path crosses needs its own; the NB/SB from the central
    node's, a must-gather or ``context``). Every private switch started is stopped before it returns."""
    from ovntrace.correlate import path as P
    from ovntrace.path.model import Reply
    from ovntrace.path.stitch import _chains, _reverse
    from ovntrace.sources.bundle import REPLAY_KINDS, bundle_context, open_bundle
    from ovntrace.sources.load import load_context, merge_sources

    t0 = time.monotonic()
    b = open_bundle(paths, REPLAY_KINDS)
    ctx = bundle_context(b)
    for more in context:
        ctx = merge_sources(ctx, load_context(more))
    names, errors = _node_reports(b)
    # the cluster's other chassis are nodes too, without a sosreport: a path that tunnels to one stops there
    # (partial, EXIT_PARTIAL) instead of "not a node"
    for ch in getattr(ctx, "chassis", ()):
        if ch.hostname and ch.hostname not in names and not any(n.system_id == ch.name for n in ctx.nodes):
            names.append(ch.hostname)
            errors[ch.hostname] = "no sosreport of it in the bundle"
    env = BundleEnv(ctx, b, names, errors)
    try:
        src = P.resolve_endpoint(env.ctx, src_spec)
        dst = P.resolve_endpoint(env.ctx, dst_spec, external_ok=True)
        src_node, chains = _chains(env, src, dst, proto, dport, sport, cts)
        rev: Reply | None = None
        if reverse:
            rev = _reverse(env, src, dst, proto, dport, sport, cts, chains[0])
        built = {n: {"flows": bl.flows, "ports": len(bl.ports), "notes": bl.notes, "seconds": round(bl.seconds, 3)}
                 for n, (_, bl) in env.switches.items()}
    finally:
        env.close()
    stats: dict[str, Any] = {"offline": ", ".join(paths), "replayed": built,
                             "seconds": round(time.monotonic() - t0, 3)}
    if errors:
        stats["not_replayable"] = dict(errors)
    return PathResult(src, dst, src_node, chains, stats, rev, ctx)
