"""``ovntrace path`` runs ovn-trace too: the logical simulation of the same packet, on the node that holds
the NB/SB, over the same SSH connection, read-only (ovn-trace only reads the Southbound database); then
each conntrack chain's physical traces are lined up with it (:mod:`ovntrace.correlate.compare`).

Conntrack: ofproto/trace gives every recirculation ``trk,new`` unless ``--ct-next`` says otherwise (the
path's ``trk,est`` chain gives the first one ``est``); ovn-trace gives every ``ct_next`` ``est`` unless
``--ct`` says otherwise, one ``--ct`` per ``ct_next`` in order (utilities/ovn-trace.c, OVN 23.03-25.03).
So the ``trk,new`` chain is compared with ``--ct=new,trk`` given for :data:`CT_NEXT_MAX` ``ct_next``s, and
the ``trk,est`` chain with ``--ct=est,trk`` (then ``new`` for the rest, as ofproto/trace does). A
difference that comes from conntrack state is reported as unknown, never blamed on ovn-controller.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ovntrace.correlate import path as P

#: ``ct_next``s given a state: more than a path through a switch, a router and a switch executes
CT_NEXT_MAX = 8
#: the one command this module runs (read-only: ovn-trace reads the SB and prints)
OVN_TRACE = "ovn-trace"


@dataclass
class LogicalTrace:
    """The ovn-trace of one chain, its parse and the comparison with the chain's ofproto/traces."""

    ct: str
    node: str  # where ovn-trace ran (the central node)
    command: str
    text: str = ""
    result: Any = None  # ParseResult
    comparison: Any = None  # ovntrace.correlate.compare.Comparison
    error: str | None = None
    seconds: float = 0.0
    zone: str | None = None  # interconnect: the zone whose SB this half was traced against
    half: int | None = None  # interconnect: 1 (the source node), 2 (the receiving node), ...
    #: interconnect: the chain's logical traces, one per zone crossed (this object then only holds them)
    halves: list[LogicalTrace] = field(default_factory=list)

    @property
    def agree(self) -> bool | None:
        """Interconnect: True when every half agrees, False when one diverges, else None (unknown)."""
        votes = [h.comparison.agree if h.comparison is not None and h.error is None else None for h in self.halves]
        if any(v is False for v in votes):
            return False
        return True if votes and all(v is True for v in votes) else None

    @property
    def trace(self) -> Any:
        return self.result.traces[0] if self.result is not None and self.result.traces else None


def datapath_name(ctx: Any, src: P.Endpoint) -> str:
    """The logical switch of ``src`` as ovn-trace names it (the Datapath_Binding's name, else its UUID)."""
    if src.binding is None:
        raise P.PathError(f"{src.spec}: not a logical port")
    dp = next((d for d in ctx.datapaths if d.uuid == src.binding.datapath), None)
    if dp is None:
        raise P.PathError(f"{src.spec}: its datapath {src.binding.datapath} is not in the Southbound database")
    return str(dp.name or dp.uuid)


def expression(src: P.Endpoint, dst_ip: str, dl_dst: str, proto: str, dport: int | None, sport: int | None,
               ttl: int = 64) -> str:
    """The ovn-trace microflow of the packet :func:`ovntrace.correlate.path.microflow` builds."""
    if src.lsp is None or src.mac is None:
        raise P.PathError(f"{src.spec}: no logical port or MAC")
    head = (f'inport == "{src.lsp}" && eth.src == {src.mac} && eth.dst == {dl_dst} && ip4.src == {src.ip} && '
            f"ip4.dst == {dst_ip} && ip.ttl == {ttl}")
    if proto == "icmp":
        return head + " && icmp4 && icmp4.type == 8 && icmp4.code == 0"
    if proto == "tcp":
        return head + f" && tcp && tcp.src == {sport or 40000} && tcp.dst == {dport or 22} && tcp.flags == 0x2"
    if proto == "udp":
        return head + f" && udp && udp.src == {sport or 40000} && udp.dst == {dport or 53}"
    raise P.PathError(f"protocol {proto!r}: use icmp, tcp or udp")


def ct_options(ct: str) -> list[str]:
    if ct == "trk,new":
        return ["--ct=new,trk"] * CT_NEXT_MAX
    return ["--ct=est,trk"] + ["--ct=new,trk"] * (CT_NEXT_MAX - 1)


def argv(datapath: str, expr: str, ct: str, sb_remote: str | None) -> list[str]:
    db = [f"--db={sb_remote}"] if sb_remote else []
    return [OVN_TRACE, *db, "--detailed", *ct_options(ct), datapath, expr]


def sb_remote(inv: Any, central: str) -> str:
    """The SB address ``ovntrace path`` reads the SB at (:func:`ovntrace.path.collect._open_live`)."""
    db = inv.cluster.db_address or inv.node(central).ip
    return f"tcp:{db}:{inv.cluster.sb_port}"


def run_logical(env: Any, central: str, sb_remote: str | None, src: P.Endpoint, dst: P.Endpoint, proto: str,
                dport: int | None, sport: int | None, chains: Sequence[Any]) -> None:
    """Run ovn-trace on ``central`` for each chain's conntrack state, parse it, compare it with the chain's
    ofproto/traces; the result goes in ``chain.logical`` (a :class:`LogicalTrace`, with ``error`` set when
    ovn-trace could not run: the path itself is not affected)."""
    from ovntrace.correlate.compare import Physical, compare
    from ovntrace.parser import parse
    from ovntrace.sources.ssh import SshError

    try:
        dp = datapath_name(env.ctx, src)
        expr = expression(src, dst.ip, P.destination_mac(env.ctx, src, dst), proto, dport, sport)
    except P.PathError as e:
        for c in chains:
            c.logical = LogicalTrace(c.ct, central, "", error=f"ovn-trace not run: {e}")
        return
    for c in chains:
        a = argv(dp, expr, c.ct, sb_remote)
        lt = LogicalTrace(c.ct, central, shlex.join(a))
        c.logical = lt
        if env.on_step is not None:
            env.steps += 1
            env.on_step(env.steps, 0, f"{central}: ovn-trace ({c.ct})")
        t0 = time.monotonic()
        try:
            lt.text = env.pool.run(central, a)
        except SshError as e:
            lt.error = f"ovn-trace on {central} failed: {e}"
            continue
        finally:
            lt.seconds = time.monotonic() - t0
        lt.result = parse(lt.text)
        if lt.trace is None:
            lt.error = f"ovn-trace on {central} printed no trace: {lt.text.strip()[:200]}"
            continue
        physical = [Physical(nt.node, nt.trace, nt.ovn, None) for nt in c.traces]
        if physical:
            lt.comparison = compare(lt.trace, physical, None)


def _flow_fields(flow: str) -> dict[str, str]:
    """``k=v,...`` of an ofproto/trace microflow; a bare word (``icmp``, ``tcp``) maps to ``""``."""
    out: dict[str, str] = {}
    for part in flow.split(","):
        k, _, v = part.partition("=")
        out[k.strip()] = v.strip()
    return out


def flow_expression(inport: str, flow: str, proto: str) -> str:
    """The ovn-trace microflow of the packet an ofproto/trace microflow ``flow`` describes, entering by
    logical port ``inport``: its inner headers as given (MACs, addresses, TTL, L4 ports), so that both name
    the same packet (hop 2 of an interconnect path: after hop 1's rewrites)."""
    f = _flow_fields(flow)
    need = ["dl_src", "dl_dst", "nw_src", "nw_dst", "nw_ttl"]
    lacking = [k for k in need if not f.get(k)]
    if lacking:
        raise P.PathError(f"the microflow {flow!r} has no {', '.join(lacking)}")
    head = (f'inport == "{inport}" && eth.src == {f["dl_src"]} && eth.dst == {f["dl_dst"]} && '
            f'ip4.src == {f["nw_src"]} && ip4.dst == {f["nw_dst"]} && ip.ttl == {int(f["nw_ttl"], 0)}')
    if proto == "icmp":
        return head + f" && icmp4 && icmp4.type == {f.get('icmp_type') or 8} && icmp4.code == {f.get('icmp_code') or 0}"
    if proto in ("tcp", "udp"):
        src, dst = f.get(f"{proto}_src") or f.get("tp_src"), f.get(f"{proto}_dst") or f.get("tp_dst")
        if not src or not dst:
            raise P.PathError(f"the microflow {flow!r} has no {proto} ports")
        tail = f" && {proto} && {proto}.src == {src} && {proto}.dst == {dst}"
        if proto == "tcp":
            flags = f.get("tcp_flags")
            tail += " && tcp.flags == " + {"syn": "0x2", "syn|ack": "0x12", "+syn": "0x2"}.get(flags or "syn", "0x2")
        return head + tail
    raise P.PathError(f"protocol {proto!r}: use icmp, tcp or udp")


def zone_sb_remote(inv: Any, node: str) -> str:
    """Interconnect: the SB of ``node``'s own zone, as ``ovntrace path`` reads it (``Inventory.zone_db``)."""
    addr, _nb, sb = inv.zone_db(node)
    return f"tcp:{addr}:{sb}"


def _arrival(nt: Any) -> dict[str, Any]:
    v = nt.ovn.verdict if getattr(nt, "ovn", None) is not None else None
    return dict(getattr(v, "arrival", None) or {}) if v is not None else {}


def _handoff(traces: Sequence[Any], i: int) -> str | None:
    """The remote port by which hop ``i`` leaves its zone: as the next hop's arrival decodes it, else (the
    path stopped at the tunnel) as this hop's own tunnel verdict names it; None when neither says."""
    if i + 1 < len(traces):
        return _arrival(traces[i + 1]).get("outport_name")
    v = traces[i].ovn.verdict if getattr(traces[i], "ovn", None) is not None else None
    return v.outport if v is not None and v.kind == "tunnel" and v.outport else None


def run_logical_zones(env: Any, inv: Any, src: P.Endpoint, proto: str, chains: Sequence[Any]) -> None:
    """Interconnect (one NB/SB per node): each chain's ovn-trace per zone crossed. Half 1 on the source node
    against its zone's SB, from SRC's port, the packet of hop 1's ofproto/trace; half N on the receiving node
    against its own zone's SB, entering the transit switch (the datapath the arriving tunnel key decodes to in
    that zone) from the sending node's ``tstor-*`` port, with the inner headers hop N's ofproto/trace
    carries (hop 1's rewrites: routed MACs, TTL). Each half is compared with its own node's ofproto/trace
    only: a half that leaves by the transit switch agrees when the node tunnels for the remote port that
    ovn-trace outputs to; a receiving half's first ingress pipeline ran on the sender (``remote``).
    ``chain.logical`` holds the halves (:attr:`LogicalTrace.halves`); a half that cannot be built or run says
    why (``error``), never a guess."""
    from concurrent.futures import ThreadPoolExecutor

    from ovntrace.correlate.compare import Physical, compare
    from ovntrace.parser import parse
    from ovntrace.sources.ssh import SshError

    # 1. build every half (what cannot be built says why); 2. run them, the nodes in parallel (one thread
    # per node, its halves in turn: as the collection runs its commands); 3. parse and compare each
    todo: list[tuple[Any, int, LogicalTrace, list[str], str | None]] = []
    for c in chains:
        holder = LogicalTrace(c.ct, c.traces[0].node if c.traces else "", "")
        c.logical = holder
        for i, nt in enumerate(c.traces):
            node = nt.node
            zone = getattr(nt, "zone", None) or node
            lt = LogicalTrace(c.ct, node, "", zone=zone, half=i + 1)
            holder.halves.append(lt)
            arrival = _arrival(nt) if i else {}
            dp: Any
            inport: Any
            try:
                if i == 0:
                    z = env.ctx.zone_of(node) if env.ctx.zones else None
                    if z is None or z.error:
                        raise P.PathError(f"zone of {node} not read" + (f": {z.error}" if z is not None else ""))
                    dp = datapath_name(z.context, src)
                    if src.lsp is None:
                        raise P.PathError(f"{src.spec}: not a logical port")
                    inport = src.lsp
                else:
                    dp, inport = arrival.get("datapath"), arrival.get("inport_name")
                    if not dp or not inport:
                        raise P.PathError(f"the arriving tunnel key does not decode to a datapath and inport in "
                                          f"zone {zone} ({arrival.get('key') or 'no key'})")
                expr = flow_expression(inport, nt.flow, proto)
                sb = zone_sb_remote(inv, node)
            except (P.PathError, KeyError, ValueError) as e:
                lt.error = f"ovn-trace not run in zone {zone} (hop {i + 1}): {e}"
                continue
            a = argv(str(dp), expr, c.ct, sb)
            lt.command = shlex.join(a)
            todo.append((c, i, lt, a, str(dp) if i else None))
            if env.on_step is not None:
                env.steps += 1
                env.on_step(env.steps, 0, f"{node}: ovn-trace zone {zone} ({c.ct})")
        missing = c.verdict.get("missing") if isinstance(c.verdict, dict) and c.verdict.get("partial") else None
        if missing:  # the path stopped at a tunnel: the receiving half is not traced, so not known
            holder.halves.append(LogicalTrace(c.ct, str(missing), "", zone=str(missing), half=len(c.traces) + 1,
                                              error=f"ovn-trace not run: the path stops before {missing} "
                                                    "(its facts were not collected)"))

    def run_node(jobs: list[tuple[LogicalTrace, list[str]]]) -> None:
        for lt, a in jobs:
            t0 = time.monotonic()
            try:
                lt.text = env.pool.run(lt.node, a)
            except SshError as e:
                lt.error = f"ovn-trace on {lt.node} (zone {lt.zone}) failed: {e}"
            finally:
                lt.seconds = time.monotonic() - t0

    by_node: dict[str, list[tuple[LogicalTrace, list[str]]]] = {}
    for _c, _i, lt, a, _dp in todo:
        by_node.setdefault(lt.node, []).append((lt, a))
    if by_node:
        with ThreadPoolExecutor(max_workers=len(by_node)) as ex:
            for f in [ex.submit(run_node, jobs) for jobs in by_node.values()]:
                f.result()
    for c, i, lt, _a, sent in todo:
        if lt.error:
            continue
        lt.result = parse(lt.text)
        if lt.trace is None:
            lt.error = f"ovn-trace on {lt.node} (zone {lt.zone}) printed no trace: {lt.text.strip()[:200]}"
            continue
        nt = c.traces[i]
        handoff = _handoff(c.traces, i)
        lt.comparison = compare(lt.trace, [Physical(nt.node, nt.trace, nt.ovn, None)], None,
                                handoff=handoff, sent_ingress=sent)
    for c in chains:
        holder = c.logical
        holder.seconds = sum(h.seconds for h in holder.halves)
        # what a reader of ``command`` alone (the TUI's note) sees: every half's, by zone
        holder.command = "; ".join(f"zone {h.zone}: {h.command or h.error}" for h in holder.halves)


def paste_parts(chain: Any) -> tuple[list[str], str | None]:
    """(lines, node) to append to a path's paste for the TUI: the ovn-trace after the hops."""
    lt = getattr(chain, "logical", None)
    if lt is not None and lt.halves:
        lines: list[str] = []
        for h in lt.halves:
            if h.text:
                lines += [f"# ovntrace path: ovn-trace on {h.node}, zone {h.zone} ({h.ct}): {h.command}",
                          h.text.rstrip("\n"), ""]
        return lines, lt.halves[0].node if lines else None
    if lt is None or not lt.text:
        return [], None
    return [f"# ovntrace path: ovn-trace on {lt.node} ({lt.ct}): {lt.command}", lt.text.rstrip("\n"), ""], lt.node


__all__ = ["CT_NEXT_MAX", "LogicalTrace", "argv", "ct_options", "datapath_name", "expression", "flow_expression",
           "paste_parts", "run_logical", "run_logical_zones", "zone_sb_remote"]
