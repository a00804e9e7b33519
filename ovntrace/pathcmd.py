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
from collections.abc import Sequence
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


def _default_inventory() -> Path:
    from ovntrace.lab.lab import default_dir

    return default_dir() / "inventory.toml"


def _pool(inv: Any, inv_path: Path, accept_new: bool) -> Any:
    from ovntrace.sources.ssh import LocalTransport, Pool, SshTransport, Transport, resolve_target

    configs = [inv_path.parent / "ssh_config", Path.home() / ".ssh" / "config"]
    transports: dict[str, Transport] = {}
    for n in inv.nodes:
        if n.ssh is None and not any(c.is_file() and f"Host {n.name}" in c.read_text() for c in configs):
            transports[n.name] = LocalTransport(n.name)
            continue
        transports[n.name] = SshTransport(resolve_target(n.name, n.ssh, configs, accept_new))
    return Pool(transports)


def _trace(pool: Any, ctx: Any, correlator: Any, node: str, flow: str, ct: str) -> NodeTrace:
    from ovntrace.parser import parse
    from ovntrace.sources import collect

    t0 = time.monotonic()
    ct_next = () if ct == "trk,new" else (ct,)
    argv = collect.argv("trace", ct_next, bridge="br-int", flow=flow)
    text: str = pool.run(node, argv)
    result = parse(text)
    if not result.traces:
        raise P.PathError(f"{node}: ofproto/trace printed no trace: {text.strip()[:200]}")
    ovn = correlator(node).annotate(result.traces[0])
    import shlex

    return NodeTrace(node, ct, flow, shlex.join(argv), text, result, ovn, time.monotonic() - t0)


def _dp_word(h: Any) -> str:
    dp = h.datapath
    if dp is None:
        return str(h.text)
    return f"{dp.type or 'datapath'} {dp.name or dp.key}"


def _endpoint_word(ep: P.Endpoint, node: str | None) -> str:
    return f"{ep.label} @ {node}" if node else ep.label


def _verdict(nt: NodeTrace, dst: P.Endpoint) -> dict[str, Any]:
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
    delivered = kind == "output" and outport is not None and outport == dst.lsp
    out["delivered"] = delivered
    return out


def _follow(pool: Any, ctx: Any, correlator: Any, inv_nodes: list[str], src: P.Endpoint, dst: P.Endpoint,
            src_node: str, first_flow: P.Flow, ct: str) -> Chain:
    chain = Chain(ct)
    node, flow = src_node, first_flow
    seg = [_endpoint_word(src, src_node)]
    for _ in range(MAX_HOPS):
        nt = _trace(pool, ctx, correlator, node, P.flow_text(flow), ct)
        chain.traces.append(nt)
        hops = [(_dp_word(h), h.pipeline) for h in (nt.ovn.path if nt.ovn else ()) if h.kind == "pipeline"]
        seg += P.datapath_hops(hops)
        v = nt.ovn.verdict if nt.ovn is not None else None
        if v is None or v.kind != "tunnel":
            chain.verdict = _verdict(nt, dst)
            if chain.verdict["delivered"]:
                seg.append(_endpoint_word(dst, node))
            else:
                if chain.verdict.get("acl") and seg and "(" not in seg[-1]:
                    seg[-1] += " (ACL)"
                elif chain.verdict.get("acl") and seg:
                    seg[-1] = seg[-1][:-1] + ", ACL)"
                if chain.verdict["kind"] == "output":
                    seg.append(f"port {chain.verdict.get('outport') or '?'} @ {node} (not the destination)")
                else:
                    seg.append(f"✗ {chain.verdict['kind']}")
            chain.segments.append(" → ".join(seg))
            return chain
        chain.segments.append(" → ".join(seg))
        tun = nt.trace.verdict.tunnel
        remote_ip = str((v.chassis or {}).get("ip") or tun.get("dst"))
        local_ip = str(tun.get("src") or P.facts(ctx, node).encap_ip or "")
        if not local_ip:
            raise P.PathError(f"{node}: tunnel source IP unknown (no tnl_push src, no ovn-encap-ip)")
        rch = P.node_of_encap(ctx, remote_ip)
        rnode = P.node_of_chassis(ctx, rch, inv_nodes)
        tport = P.tunnel_port(P.facts(ctx, rnode), local_ip)
        assert tport.ofport is not None
        md = (v.chassis or {}).get("metadata") or {}
        chain.segments.append(f"{tun.get('type') or 'tunnel'} {local_ip} → {remote_ip} "
                              f"(dp {md.get('datapath')}, in {md.get('inport')}, out {md.get('outport')})")
        flow = P.arriving_flow(flow, nt.trace, v, tport.ofport, local_ip, remote_ip)
        node = rnode
        seg = []
    raise P.PathError(f"more than {MAX_HOPS} tunnel hops: stopped")


def run_path(src_spec: str, dst_spec: str, inventory: str | Path | None = None, proto: str = "icmp",
             dport: int | None = None, sport: int | None = None, accept_new: bool = False) -> PathResult:
    from ovntrace.correlate import Correlator
    from ovntrace.lab import inventory as inv_mod
    from ovntrace.lab.errors import LabError
    from ovntrace.sources import collect

    t0 = time.monotonic()
    inv_path = Path(inventory) if inventory else _default_inventory()
    if not inv_path.is_file():
        raise PathUsageError(f"no inventory at {inv_path} (--inventory F, or `ovntrace lab up`)")
    try:
        inv = inv_mod.load(inv_path)
    except LabError as e:
        raise PathUsageError(str(e)) from None
    names = [n.name for n in inv.nodes]
    central = inv.cluster.central or next((n.name for n in inv.nodes if n.role == "central"), names[0])
    db = inv.cluster.db_address or inv.node(central).ip
    with _pool(inv, inv_path, accept_new) as pool:
        ctx = collect.collect_dbs(pool, central, f"tcp:{db}:{inv.cluster.nb_port}",
                                  f"tcp:{db}:{inv.cluster.sb_port}", names)
        t_collect = time.monotonic() - t0
        src = P.resolve_endpoint(ctx, src_spec)
        dst = P.resolve_endpoint(ctx, dst_spec, external_ok=True)
        if src.binding is None:
            raise P.PathError(f"{src_spec}: not a logical port")
        src_node = P.node_of_chassis(ctx, P.chassis_of(ctx, src.binding), names)
        assert src.lsp is not None
        iface = P.iface_port(P.facts(ctx, src_node), src.lsp)
        assert iface.ofport is not None
        flow = P.microflow(src, dst.ip, iface.ofport, P.destination_mac(ctx, src, dst), proto, dport, sport)
        correlators: dict[str, Any] = {}

        def correlator(node: str) -> Any:
            if node not in correlators:
                correlators[node] = Correlator(ctx, None, node)
            return correlators[node]

        for n in names:  # build the indexes before the threads share them
            correlator(n)
        with ThreadPoolExecutor(max_workers=len(CT_STATES)) as ex:
            chains = list(ex.map(lambda ct: _follow(pool, ctx, correlator, names, src, dst, src_node, flow, ct),
                                 CT_STATES))
        stats = {"connections": pool.connections, "commands": pool.commands,
                 "collect_seconds": round(t_collect, 3), "seconds": round(time.monotonic() - t0, 3)}
    return PathResult(src, dst, src_node, chains, stats)


# -- output ---------------------------------------------------------------------------------------

def to_dict(r: PathResult) -> dict[str, Any]:
    from ovntrace.render.json import to_dict as explain_dict

    def ep(e: P.Endpoint) -> dict[str, Any]:
        return {"spec": e.spec, "logical_port": e.lsp, "ip": e.ip, "mac": e.mac, "label": e.label}

    main = r.chains[0]
    return {
        "schema": SCHEMA,
        "src": {**ep(r.src), "node": r.src_node},
        "dst": ep(r.dst),
        "path": main.line,
        "hops": main.segments,
        "verdict": main.verdict,
        "conntrack": [{"ct": c.ct, "path": c.line, "hops": c.segments, "verdict": c.verdict,
                       "traces": [{"node": t.node, "ct": t.ct, "flow": t.flow, "command": t.command,
                                   "seconds": round(t.seconds, 3),
                                   "explain": explain_dict(t.result, ovn=[t.ovn])} for t in c.traces]}
                      for c in r.chains],
        "stats": r.stats,
    }


def _verdict_line(c: Chain) -> str:
    v = c.verdict
    head = "DELIVERED" if v.get("delivered") else str(v.get("kind", "?")).upper()
    return f"{head} on {v.get('node')}: {v.get('cause')}"


def render_text(r: PathResult, full: bool = False, markdown: bool = False) -> str:
    out: list[str] = []
    main = r.chains[0]
    for c in r.chains:
        label = "ct trk,new" if c.ct == "trk,new" else f"ct {c.ct} (--ct-next {c.ct})"
        if markdown:
            out += [f"**{label}**: `{c.line}`", "", f"verdict: {_verdict_line(c)}", ""]
        else:
            out += [f"{label}: {c.line}", f"  verdict: {_verdict_line(c)}"]
    if r.chains[1:] and r.chains[1].verdict.get("kind") != main.verdict.get("kind"):
        out.append(("" if markdown else "  ") + "note: established traffic ends differently from a new connection")
    s = r.stats
    out.append(f"({s['connections']} connections, {s['commands']} commands, {s['seconds']:.2f} s)")
    if full:
        for c in r.chains:
            for t in c.traces:
                out += ["", f"{'### ' if markdown else '== '}{t.node}, ct {t.ct}: {t.command}"]
                if markdown:
                    from ovntrace.render import markdown as md

                    out.append(md.render(t.result, full=True, ovn=[t.ovn]))
                else:
                    from ovntrace.render import text as tr

                    buf = io.StringIO()
                    tr.render(t.result, buf, full=True, color=False, ovn=[t.ovn])
                    out.append(buf.getvalue().rstrip("\n"))
    return "\n".join(out) + "\n"


# -- command line ---------------------------------------------------------------------------------

def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``path`` to the ``ovntrace`` command line."""
    p = subparsers.add_parser(
        "path",
        help="trace a packet from a pod across nodes over SSH (ofproto/trace on each hop)",
        description="Trace SRC -> DST on the real cluster of an inventory: NB/SB and each node's OVS read over "
        "SSH (read-only), ofproto/trace on the source node, then on the remote chassis after a tunnel, with "
        "conntrack trk,new and trk,est. SRC/DST: logical port, namespace/pod, or IP. Exit: 0 traced, "
        "1 error (SSH, OVS), 2 unknown name / bad usage.",
    )
    p.add_argument("src", metavar="SRC")
    p.add_argument("dst", metavar="DST")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--icmp", dest="proto", action="store_const", const="icmp", help="ICMP echo (default)")
    g.add_argument("--tcp", dest="proto", action="store_const", const="tcp", help="TCP SYN")
    g.add_argument("--udp", dest="proto", action="store_const", const="udp", help="UDP")
    p.add_argument("--dport", type=int, metavar="N")
    p.add_argument("--sport", type=int, metavar="N")
    p.add_argument("--inventory", metavar="F",
                   help="inventory TOML (default: the lab's, $OVNTRACE_LAB_DIR or /tmp/ovntrace-lab-UID)")
    p.add_argument("--accept-new", action="store_true",
                   help="record unknown host keys in known_hosts (never a changed one)")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    p.add_argument("--full", action="store_true", help="show each hop's explained trace")
    p.set_defaults(func=cmd_path, proto="icmp")


def cmd_path(args: argparse.Namespace, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    from ovntrace.sources.errors import SourceError
    from ovntrace.sources.ssh import SshError

    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    try:
        r = run_path(args.src, args.dst, args.inventory, args.proto, args.dport, args.sport, args.accept_new)
    except (PathUsageError, P.PathError) as e:
        stderr.write(f"ovntrace path: {e}\n")
        return 2
    except (SshError, SourceError) as e:
        stderr.write(f"ovntrace path: {e}\n")
        return 1
    if args.format == "json":
        stdout.write(json.dumps(to_dict(r), separators=(",", ":")) + "\n")
    else:
        stdout.write(render_text(r, full=args.full, markdown=args.format == "markdown"))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ovntrace")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv) if argv is not None else sys.argv[1:])
    return cmd_path(args)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
