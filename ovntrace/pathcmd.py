"""``ovntrace path SRC DST``: trace a packet from a pod to a destination across nodes, over SSH.

Reads NB/SB on the central node and every node's conf.db (``ovntrace.sources.collect``), builds the source
microflow, runs ``ofproto/trace`` on the source node (conntrack ``trk,new`` and ``--ct-next trk,est``),
follows a tunnel verdict to the remote chassis with the packet as it arrives there, and stitches one path.
See docs/path.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ovntrace.correlate import path as P

SCHEMA = "ovntrace.path/1"
CT_STATES = ("trk,new", "trk,est")
MAX_HOPS = 4


class PathUsageError(Exception):
    """Bad input (unknown pod, missing inventory): exit 2."""


@dataclass
class NodeTrace:
    node: str
    ct: str  # "trk,new" (OVS's default) or "trk,est" (--ct-next)
    flow: str
    command: str
    text: str
    result: Any  # ParseResult
    ovn: Any  # TraceOvn | None
    seconds: float = 0.0

    @property
    def trace(self) -> Any:
        return self.result.traces[0]


@dataclass
class Chain:
    ct: str
    traces: list[NodeTrace] = field(default_factory=list)
    segments: list[str] = field(default_factory=list)  # node-local runs joined by " ⇒ "
    verdict: dict[str, Any] = field(default_factory=dict)

    @property
    def line(self) -> str:
        return " ⇒ ".join(self.segments)


@dataclass
class PathResult:
    src: P.Endpoint
    dst: P.Endpoint
    src_node: str
    chains: list[Chain]
    stats: dict[str, Any]
    reverse: Reply | None = None
    context: Any = None  # the ClusterContext the path was built from (the TUI re-correlates with it)


def _default_inventory() -> Path:
    from ovntrace.lab.lab import default_dir

    return default_dir() / "inventory.toml"


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


class NeedsTrace(Exception):
    """Offline: the path needs a trace on a node that was not given (``--trace NODE=FILE``)."""

    def __init__(self, node: str, ct: str, command: str, flow: str) -> None:
        super().__init__(node)
        self.node, self.ct, self.command, self.flow = node, ct, command, flow


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


def _trace(env: Env, node: str, flow: str, ct: str) -> NodeTrace:
    import shlex

    from ovntrace.parser import parse
    from ovntrace.sources import collect

    t0 = time.monotonic()
    ct_next = () if ct == "trk,new" else (ct,)
    argv = collect.argv("trace", ct_next, bridge="br-int", flow=flow)
    if env.on_step is not None:
        env.steps += 1
        env.on_step(env.steps, 0, f"{node}: ofproto/trace ({ct})")
    text = env.trace_text(node, ct, argv, flow)
    result = parse(text)
    if not result.traces:
        raise P.PathError(f"{node}: ofproto/trace printed no trace: {text.strip()[:200]}")
    ovn = env.correlator(node).annotate(result.traces[0])
    return NodeTrace(node, ct, flow, shlex.join(argv), text, result, ovn, time.monotonic() - t0)


def _dp_word(h: Any) -> str:
    dp = h.datapath
    if dp is None:
        return str(h.text)
    return f"{dp.type or 'datapath'} {dp.name or dp.key}"


def _endpoint_word(ep: P.Endpoint, node: str | None) -> str:
    return f"{ep.label} @ {node}" if node else ep.label


def _verdict(env: Env, nt: NodeTrace, dst: P.Endpoint) -> dict[str, Any]:
    v = nt.ovn.verdict if nt.ovn is not None else None
    tv = nt.trace.verdict
    kind = v.kind if v is not None else tv.kind.value
    cause = v.cause if v is not None else tv.reason
    out: dict[str, Any] = {"kind": kind, "cause": cause, "node": nt.node, "line": tv.line}
    outport = v.outport if v is not None else None
    if outport is None and nt.ovn is not None:
        outs = [h.outport for h in nt.ovn.path if h.kind == "pipeline" and h.outport]
        outport = outs[-1] if outs else None
    if outport:
        out["outport"] = outport
    if v is not None and v.acl:
        out["acl"] = dict(v.acl)
    targets = {dst.lsp} | set(dst.backends) if dst.lsp else set(dst.backends)
    out["delivered"] = kind == "output" and outport is not None and outport in targets
    if kind == "output" and not out["delivered"]:
        gw = P.gateway_patch(P.facts(env.ctx, nt.node), tv.ports, outport)
        if gw is not None:
            out["gateway"] = gw
            out["cause"] = (f"{cause}: leaves br-int through patch port {gw['port']} to the gateway bridge "
                            f"{gw['bridge'] or '?'}; the path stops here (ovntrace path traces br-int only)")
    if kind == "recirc" and dst.vip:
        out["cause"] = (f"{cause}: the load balancer {dst.vip['name']} picks a backend "
                        f"({', '.join(dst.vip['backends'])}) with an OpenFlow select group (hash, recirc), "
                        "which ofproto/trace does not follow")
    return out


def _follow(env: Env, src: P.Endpoint, dst: P.Endpoint, src_node: str, first_flow: P.Flow, ct: str) -> Chain:
    chain = Chain(ct)
    node, flow = src_node, first_flow
    seg = [_endpoint_word(src, src_node)]
    for _ in range(MAX_HOPS):
        try:
            nt = _trace(env, node, P.flow_text(flow), ct)
        except NeedsTrace as e:
            seg.append(f"⋯ needs a trace on {node}")
            chain.segments.append(" → ".join(seg))
            pass_flag = "" if ct == "trk,new" else f"@{ct}"
            chain.verdict = {"kind": "needs-trace", "node": node, "command": e.command, "delivered": False,
                             "cause": f"run `{e.command}` on {node} and pass --trace {node}{pass_flag}=FILE "
                                      "(or trace on the live cluster without --offline)"}
            return chain
        chain.traces.append(nt)
        hops = [(_dp_word(h), h.pipeline) for h in (nt.ovn.path if nt.ovn else ()) if h.kind == "pipeline"]
        seg += P.datapath_hops(hops)
        v = nt.ovn.verdict if nt.ovn is not None else None
        if v is None or v.kind != "tunnel":
            chain.verdict = _verdict(env, nt, dst)
            if dst.vip and ct != "trk,new" and not chain.verdict["delivered"]:
                chain.verdict["note"] = (f"with {ct} and no conntrack entry, ofproto/trace does not apply the load "
                                         f"balancer's DNAT: the packet is routed to the VIP {dst.ip} itself")
            if chain.verdict["delivered"]:
                dst_word = _endpoint_word(dst, node)
                if dst.vip and chain.verdict.get("outport"):
                    dst_word += f" (backend {chain.verdict['outport']})"
                seg.append(dst_word)
            else:
                if chain.verdict.get("acl") and seg and "(" not in seg[-1]:
                    seg[-1] += " (ACL)"
                elif chain.verdict.get("acl") and seg:
                    seg[-1] = seg[-1][:-1] + ", ACL)"
                gw = chain.verdict.get("gateway")
                if gw:
                    seg.append(f"patch {gw['port']} → bridge {gw['bridge'] or '?'} @ {node} (gateway: stops here)")
                elif chain.verdict["kind"] == "output":
                    seg.append(f"port {chain.verdict.get('outport') or '?'} @ {node} (not the destination)")
                else:
                    seg.append(f"✗ {chain.verdict['kind']}")
            chain.segments.append(" → ".join(seg))
            return chain
        chain.segments.append(" → ".join(seg))
        tun = nt.trace.verdict.tunnel
        remote_ip = str((v.chassis or {}).get("ip") or tun.get("dst"))
        local_ip = str(tun.get("src") or P.facts(env.ctx, node).encap_ip or "")
        if not local_ip:
            raise P.PathError(f"{node}: tunnel source IP unknown (no tnl_push src, no ovn-encap-ip)")
        rch = P.node_of_encap(env.ctx, remote_ip)
        rnode = P.node_of_chassis(env.ctx, rch, env.names)
        env.need(rnode)
        tport = P.tunnel_port(P.facts(env.ctx, rnode), local_ip)
        assert tport.ofport is not None
        md = (v.chassis or {}).get("metadata") or {}
        chain.segments.append(f"{tun.get('type') or 'tunnel'} {local_ip} → {remote_ip} "
                              f"(dp {md.get('datapath')}, in {md.get('inport')}, out {md.get('outport')})")
        flow = P.arriving_flow(flow, nt.trace, v, tport.ofport, local_ip, remote_ip)
        node = rnode
        seg = []
    raise P.PathError(f"more than {MAX_HOPS} tunnel hops: stopped")


def _chains(env: Env, src: P.Endpoint, dst: P.Endpoint, proto: str, dport: int | None, sport: int | None,
            cts: Sequence[str], reply: bool = False) -> tuple[str, list[Chain]]:
    if src.binding is None:
        raise P.PathError(f"{src.spec}: not a logical port")
    src_node = P.node_of_chassis(env.ctx, P.chassis_of(env.ctx, src.binding), env.names)
    env.need(src_node)
    assert src.lsp is not None
    iface = P.iface_port(P.facts(env.ctx, src_node), src.lsp)
    assert iface.ofport is not None
    flow = P.microflow(src, dst.ip, iface.ofport, P.destination_mac(env.ctx, src, dst), proto, dport, sport,
                       reply=reply)
    for n in env.names:  # build the indexes before the threads share them
        if n not in env.errors:
            env.correlator(n)
    with ThreadPoolExecutor(max_workers=len(cts)) as ex:
        chains = list(ex.map(lambda ct: _follow(env, src, dst, src_node, flow, ct), cts))
    return src_node, chains


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
             cts: Sequence[str] | None = None, on_step: Callable[[int, int, str], None] | None = None) -> PathResult:
    """Trace SRC -> DST: live over the inventory's SSH, or ``offline`` from a snapshot file (``traces``:
    (node, ct) -> an ofproto/trace output file, for the hops that need one). ``cts``: the conntrack states
    to trace (default: trk,new and trk,est; offline: those with traces). ``on_step(done, total, what)`` is
    called at each SSH command and trace (total 0 once collecting is over) and may raise to stop."""
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


@dataclass
class Reply:
    """The reply direction (``--reverse``): traced chains, or why it was not traced; and the comparison."""

    src: P.Endpoint | None
    dst: P.Endpoint | None
    src_node: str | None
    chains: list[Chain]
    note: str | None  # why not traced, if not
    disagree: str | None  # how the two directions differ, if they do


def _outcome(c: Chain) -> str:
    v = c.verdict
    head = "DELIVERED" if v.get("delivered") else str(v.get("kind", "?")).upper()
    return f"{head} on {v.get('node')}"


def _reverse(env: Env, src: P.Endpoint, dst: P.Endpoint, proto: str, dport: int | None, sport: int | None,
             cts: Sequence[str], forward: Chain) -> Reply:
    """The reply: from DST back to SRC, ICMP echo reply / TCP SYN-ACK / UDP with the ports swapped."""
    rsrc_spec = None
    if dst.binding is not None and dst.lsp:
        rsrc_spec = dst.lsp
    elif dst.vip and forward.verdict.get("delivered") and forward.verdict.get("outport"):
        rsrc_spec = str(forward.verdict["outport"])  # the backend that got it
    if rsrc_spec is None:
        why = (f"DST {dst.spec} is not a logical port (an address outside the cluster"
               f"{' or a service VIP whose backend the forward trace did not reach' if dst.vip else ''}): "
               "the reply would enter from outside; not traced")
        return Reply(None, None, None, [], why, None)
    rsrc = P.resolve_endpoint(env.ctx, rsrc_spec)
    rdst = P.Endpoint(src.spec, src.lsp, src.ip, src.mac, src.binding)
    if proto == "tcp":
        rs, rd = dport or 22, sport or 40000
    elif proto == "udp":
        rs, rd = dport or 53, sport or 40000
    else:
        rs = rd = 0
    rnode, chains = _chains(env, rsrc, rdst, proto, rd or None, rs or None, cts, reply=True)
    note = None
    if dst.vip:
        note = (f"the reply is traced from the backend {rsrc.lsp} ({rsrc.ip}): un-DNAT back to the VIP "
                "happens in conntrack, which ofproto/trace does not model")
    fwd, back = forward.verdict, chains[0].verdict
    disagree = None
    if bool(fwd.get("delivered")) != bool(back.get("delivered")) or fwd.get("kind") != back.get("kind"):
        disagree = (f"the two directions disagree: forward {_outcome(forward)} ({fwd.get('cause')}); "
                    f"reply {_outcome(chains[0])} ({back.get('cause')})")
    return Reply(rsrc, rdst, rnode, chains, note, disagree)


# -- output ---------------------------------------------------------------------------------------

def _ep(e: P.Endpoint) -> dict[str, Any]:
    out: dict[str, Any] = {"spec": e.spec, "logical_port": e.lsp, "ip": e.ip, "mac": e.mac, "label": e.label}
    if e.vip:
        out["vip"] = dict(e.vip)
        out["backends"] = list(e.backends)
    return out


def _chains_dict(chains: list[Chain]) -> list[dict[str, Any]]:
    from ovntrace.render.json import to_dict as explain_dict

    return [{"ct": c.ct, "path": c.line, "hops": c.segments, "verdict": c.verdict,
             "traces": [{"node": t.node, "ct": t.ct, "flow": t.flow, "command": t.command,
                         "seconds": round(t.seconds, 3),
                         "explain": explain_dict(t.result, ovn=[t.ovn])} for t in c.traces]}
            for c in chains]


def to_dict(r: PathResult) -> dict[str, Any]:
    main = r.chains[0]
    out: dict[str, Any] = {
        "schema": SCHEMA,
        "src": {**_ep(r.src), "node": r.src_node},
        "dst": _ep(r.dst),
        "path": main.line,
        "hops": main.segments,
        "verdict": main.verdict,
        "conntrack": _chains_dict(r.chains),
        "stats": r.stats,
    }
    if r.reverse is not None:
        rv = r.reverse
        rmain = rv.chains[0] if rv.chains else None
        out["reverse"] = {
            "src": {**_ep(rv.src), "node": rv.src_node} if rv.src else None,
            "dst": _ep(rv.dst) if rv.dst else None,
            "path": rmain.line if rmain else None, "hops": rmain.segments if rmain else [],
            "verdict": rmain.verdict if rmain else None, "conntrack": _chains_dict(rv.chains),
            "note": rv.note, "agree": rv.disagree is None if rv.chains else None, "disagree": rv.disagree,
        }
    return out


def _verdict_line(c: Chain) -> str:
    v = c.verdict
    head = "DELIVERED" if v.get("delivered") else "GATEWAY" if v.get("gateway") else str(v.get("kind", "?")).upper()
    return f"{head} on {v.get('node')}: {v.get('cause')}"


def _chain_lines(chains: list[Chain], markdown: bool, prefix: str = "") -> list[str]:
    from ovntrace.render.safe import escape, md_code, md_text

    md = md_text if markdown else escape  # names and causes come from the databases and the traces
    out: list[str] = []
    for c in chains:
        label = prefix + ("ct trk,new" if c.ct == "trk,new" else f"ct {c.ct} (--ct-next {c.ct})")
        if markdown:
            out += [f"**{md(label)}**: {md_code(c.line)}", "", f"verdict: {md(_verdict_line(c))}", ""]
        else:
            out += [f"{label}: {md(c.line)}", f"  verdict: {md(_verdict_line(c))}"]
        if c.verdict.get("note"):
            out.append(("" if markdown else "  ") + f"note: {md(c.verdict['note'])}")
    if chains[1:] and chains[1].verdict.get("kind") != chains[0].verdict.get("kind"):
        out.append(("" if markdown else "  ") + "note: established traffic ends differently from a new connection")
    return out


def render_text(r: PathResult, full: bool = False, markdown: bool = False) -> str:
    """The path as text or Markdown. Names, causes and errors come from the cluster: in Markdown each is
    escaped (:func:`ovntrace.render.safe.md_text`); in both, control characters show as ``\\x1b``."""
    from ovntrace.render.safe import escape, escape_lines, md_code, md_text

    md = md_text if markdown else escape
    ind = "" if markdown else "  "
    out = _chain_lines(r.chains, markdown)
    if r.reverse is not None:
        rv = r.reverse
        if rv.chains:
            out += _chain_lines(rv.chains, markdown, "reply, ")
        if rv.note:
            out.append(f"{ind}note: reply: {md(rv.note)}")
        if rv.disagree:
            out.append(f"{ind}note: {md(rv.disagree)}")
        elif rv.chains:
            out.append(f"{ind}note: both directions agree "
                       f"({md(_outcome(r.chains[0]))}, {md(_outcome(rv.chains[0]))})")
    s = r.stats
    for node, err in (s.get("not_collected") or {}).items():
        out.append(f"{ind}note: {md(node)} not collected: {md(str(err))}")
    if s.get("offline"):
        out.append(f"(offline, from snapshot {md(str(s['offline']))}: no command run)")
    else:
        out.append(f"({s['connections']} connections, {s['commands']} commands, {s['seconds']:.2f} s)")
    if full:
        all_chains = r.chains + (r.reverse.chains if r.reverse else [])
        for c in all_chains:
            for t in c.traces:
                out += ["", f"### {md(t.node)}, ct {t.ct}: {md_code(t.command)}" if markdown
                        else f"== {md(t.node)}, ct {t.ct}: {md(t.command)}"]
                if markdown:
                    from ovntrace.render import markdown as md_render

                    out.append(md_render.render(t.result, full=True, ovn=[t.ovn]))
                else:
                    from ovntrace.render import text as tr

                    buf = io.StringIO()
                    tr.render(t.result, buf, full=True, color=False, ovn=[t.ovn])
                    out.append(buf.getvalue().rstrip("\n"))
    return escape_lines("\n".join(out)) + "\n"


# -- command line ---------------------------------------------------------------------------------

def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``path`` and ``snapshot`` to the ``ovntrace`` command line."""
    p = subparsers.add_parser(
        "path",
        help="trace a packet from a pod across nodes over SSH (ofproto/trace on each hop)",
        description="Trace SRC -> DST on the real cluster of an inventory: NB/SB and each node's OVS read over "
        "SSH (read-only), ofproto/trace on the source node, then on the remote chassis after a tunnel, with "
        "conntrack trk,new and trk,est. SRC/DST: logical port, namespace/pod, or IP. With --offline SNAPSHOT: "
        "no SSH; the microflows are built from the snapshot and the traces given with --trace are followed. "
        "Exit: 0 traced, 1 error (SSH, OVS), 2 unknown name / bad usage.",
    )
    p.add_argument("src", metavar="SRC")
    p.add_argument("dst", metavar="DST")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--icmp", dest="proto", action="store_const", const="icmp", help="ICMP echo (default)")
    g.add_argument("--tcp", dest="proto", action="store_const", const="tcp", help="TCP SYN")
    g.add_argument("--udp", dest="proto", action="store_const", const="udp", help="UDP")
    p.add_argument("--dport", type=int, metavar="N")
    p.add_argument("--sport", type=int, metavar="N")
    p.add_argument("--reverse", action="store_true",
                   help="trace the reply too (DST -> SRC: ICMP echo reply, TCP SYN-ACK, ports swapped)")
    p.add_argument("--inventory", metavar="F",
                   help="inventory TOML (default: the lab's, $OVNTRACE_LAB_DIR or /tmp/ovntrace-lab-UID)")
    p.add_argument("--accept-new", action="store_true",
                   help="record unknown host keys in known_hosts (never a changed one)")
    p.add_argument("--offline", metavar="SNAPSHOT", help="no SSH: facts from an `ovntrace snapshot` file")
    p.add_argument("--trace", action="append", default=[], metavar="NODE[@CT]=FILE",
                   help="with --offline: NODE's ofproto/trace output for this path (CT: trk,new (default) or "
                   "trk,est); repeat per node")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    p.add_argument("--full", action="store_true", help="show each hop's explained trace")
    p.add_argument("--tui", action="store_true",
                   help="open the path in the TUI: traced in the background with progress (escape cancels), "
                   "c re-traces with another conntrack state, r re-traces")
    p.set_defaults(func=cmd_path, proto="icmp")

    s = subparsers.add_parser(
        "snapshot",
        help="collect NB, SB and every node's OVS facts over SSH into one portable file (secrets redacted)",
        description="Read-only: ovsdb-client dump of NB and SB on the central node and of each node's "
        "Open_vSwitch, written atomically as one JSON file (ovntrace.snapshot/1) that explain --context and "
        "path --offline accept. Columns and keys named like secrets (token, secret, password, private, auth, "
        "psk, api-key...) and secret-shaped values (PEM, Bearer, JWT, URL passwords) are redacted. "
        "A node that cannot be reached is recorded as such. "
        "Exit: 0 written (every node), 1 SSH error or some node missing (the file is still written), 2 usage.",
    )
    s.add_argument("--inventory", metavar="F",
                   help="inventory TOML (default: the lab's, $OVNTRACE_LAB_DIR or /tmp/ovntrace-lab-UID)")
    s.add_argument("-o", "--output", metavar="FILE", required=True)
    s.add_argument("--accept-new", action="store_true",
                   help="record unknown host keys in known_hosts (never a changed one)")
    s.set_defaults(func=cmd_snapshot)


def _trace_args(specs: Sequence[str]) -> dict[tuple[str, str], Path]:
    out: dict[tuple[str, str], Path] = {}
    for spec in specs:
        key, sep, f = spec.partition("=")
        node, _, ct = key.partition("@")
        if not sep or not node or not f or (ct and ct not in CT_STATES):
            raise PathUsageError(f"--trace {spec!r}: expected NODE=FILE or NODE@trk,est=FILE")
        out[(node, ct or "trk,new")] = Path(f)
    return out


def cmd_path(args: argparse.Namespace, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    from ovntrace.render.safe import escape
    from ovntrace.sources.errors import SourceError
    from ovntrace.sources.ssh import SshError

    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    if args.tui:
        try:
            return _path_tui(args)
        except PathUsageError as e:
            stderr.write(f"ovntrace path: {escape(str(e))}\n")
            return 2
    try:
        if args.trace and not args.offline:
            raise PathUsageError("--trace NODE=FILE goes with --offline SNAPSHOT")
        r = run_path(args.src, args.dst, args.inventory, args.proto, args.dport, args.sport, args.accept_new,
                     reverse=args.reverse, offline=args.offline, traces=_trace_args(args.trace), progress=stderr)
    except (PathUsageError, P.PathError) as e:
        stderr.write(f"ovntrace path: {escape(str(e))}\n")
        return 2
    except (SshError, SourceError) as e:
        stderr.write(f"ovntrace path: {escape(str(e))}\n")
        return 1
    if args.format == "json":
        stdout.write(json.dumps(to_dict(r), separators=(",", ":")) + "\n")
    else:
        stdout.write(render_text(r, full=args.full, markdown=args.format == "markdown"))
    return 0


def _path_tui(args: argparse.Namespace) -> int:
    """``path --tui``: checks what can be checked before the screen opens, then traces inside the TUI."""
    if args.reverse or args.format != "text":
        raise PathUsageError("--tui shows one direction in the terminal UI; --reverse and --format are for the "
                             "printed path")
    if args.trace and not args.offline:
        raise PathUsageError("--trace NODE=FILE goes with --offline SNAPSHOT")
    traces = tuple((n, ct, str(f)) for (n, ct), f in _trace_args(args.trace).items())
    inventory = None
    inv_path: Path | None = None
    if args.offline is None or args.inventory:
        inventory, inv_path = _load_inventory(args.inventory)
    from ovntrace.tui.app import create_app
    from ovntrace.tui.live import PathRequest
    from ovntrace.tui.source import Options

    request = PathRequest(args.src, args.dst, str(inv_path) if inv_path else None, args.proto, args.dport,
                          args.sport, args.accept_new, args.offline, traces)
    app = create_app(None, Options(inventory=inventory, live=request, doctor=False))
    return int(app.run() or 0)


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


def cmd_snapshot(args: argparse.Namespace, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    from ovntrace.sources.errors import SourceError
    from ovntrace.sources.ssh import SshError

    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    try:
        snap = run_snapshot(args.inventory, args.output, args.accept_new, progress=stderr)
    except PathUsageError as e:
        stderr.write(f"ovntrace snapshot: {e}\n")
        return 2
    except (SshError, SourceError) as e:
        stderr.write(f"ovntrace snapshot: {e}\n")
        return 1
    st = snap.doc["stats"]
    ok = [n for n in snap.nodes if n not in snap.errors]
    stdout.write(f"wrote {args.output}: NB, SB and {len(ok)} of {len(snap.nodes)} nodes ({', '.join(ok)}); "
                 f"{len(snap.doc['redacted'])} values redacted; {st['bytes']} bytes "
                 f"({st['connections']} connections, {st['commands']} commands, {st['seconds']:.2f} s)\n")
    for node, err in snap.errors.items():
        stderr.write(f"ovntrace snapshot: {node} not collected: {err}\n")
    return 1 if snap.errors else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ovntrace")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv) if argv is not None else sys.argv[1:])
    rc: int = args.func(args)
    return rc


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
