"""Stitching a path: the source microflow, each node's trace, the tunnel to the next chassis, the reply.

No I/O of its own: facts and trace texts come from a :class:`ovntrace.path.model.TraceSource`
(:class:`ovntrace.path.collect.Env`: SSH or a snapshot with given trace files).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ovntrace.correlate import path as P
from ovntrace.path.model import MAX_HOPS, Chain, NeedsTrace, NodeTrace, Reply
from ovntrace.path.model import TraceSource as Env


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


def _dp_word(h: Any, ix: Any = None) -> str:
    dp = h.datapath
    if dp is None:
        return str(h.text)
    full = ix.dp_by_uuid.get(dp.uuid) if ix is not None and dp.uuid else None
    if full is not None and full.transit:  # interconnect: the switch that joins the zones
        return f"transit switch {dp.name or dp.key}"
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
        ix = env.correlator(node).ix
        hops = [(_dp_word(h, ix), h.pipeline) for h in (nt.ovn.path if nt.ovn else ()) if h.kind == "pipeline"]
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
        zctx = env.ctx.for_node(node)  # the sending node's zone names the chassis and decodes the key
        rch = P.node_of_encap(zctx, remote_ip)
        rnode = P.node_of_chassis(zctx, rch, env.names)
        md = (v.chassis or {}).get("metadata") or {}
        key = (P.tunnel_key_words(ix, md) if env.ctx.zones else
               f"dp {md.get('datapath')}, in {md.get('inport')}, out {md.get('outport')}")
        tunnel_word = f"{tun.get('type') or 'tunnel'} {local_ip} → {remote_ip} ({key})"
        why = env.missing(rnode)
        if why is not None:  # the receiving node is down: the path as far as it got, and where it stopped
            chain.segments.append(tunnel_word)
            chain.segments.append(f"⋯ {rnode} not reached")
            chain.verdict = {"kind": "partial", "node": node, "missing": rnode, "delivered": False,
                             "line": nt.trace.verdict.line, "partial": True,
                             "cause": f"{v.cause}; the path stops there: {rnode}'s facts were not collected ({why}), "
                                      f"so the second half is not traced"}
            return chain
        tport = P.tunnel_port(P.facts(env.ctx, rnode), local_ip)
        assert tport.ofport is not None
        chain.segments.append(tunnel_word)
        flow = P.arriving_flow(flow, nt.trace, v, tport.ofport, local_ip, remote_ip)
        node = rnode
        seg = []
    raise P.PathError(f"more than {MAX_HOPS} tunnel hops: stopped")


def _chains(env: Env, src: P.Endpoint, dst: P.Endpoint, proto: str, dport: int | None, sport: int | None,
            cts: Sequence[str], reply: bool = False) -> tuple[str, list[Chain]]:
    if src.binding is None:
        if src.zone:  # interconnect: SRC's zone was not read (its node down): the one-line error names it
            env.need(src.zone)
        raise P.PathError(f"{src.spec}: not a logical port" + (
            f" whose facts were collected (zone {src.zone}: not read)" if src.zone else ""))
    zctx = P.zone_context(env.ctx, src.zone)  # interconnect: the source's own zone
    src_node = P.node_of_chassis(zctx, P.chassis_of(zctx, src.binding), env.names)
    env.need(src_node)
    assert src.lsp is not None
    iface = P.iface_port(P.facts(env.ctx, src_node), src.lsp)
    assert iface.ofport is not None
    flow = P.microflow(src, dst.ip, iface.ofport, P.destination_mac(zctx, src, dst), proto, dport, sport,
                       reply=reply)
    for n in env.names:  # build the indexes before the threads share them
        if n not in env.errors and n not in getattr(env, "skipped", ()):
            env.correlator(n)
    with ThreadPoolExecutor(max_workers=len(cts)) as ex:
        chains = list(ex.map(lambda ct: _follow(env, src, dst, src_node, flow, ct), cts))
    return src_node, chains

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
    rdst = P.Endpoint(src.spec, src.lsp, src.ip, src.mac, src.binding, zone=src.zone)
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
