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
from dataclasses import dataclass
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


def paste_parts(chain: Any) -> tuple[list[str], str | None]:
    """(lines, node) to append to a path's paste for the TUI: the ovn-trace after the hops."""
    lt = getattr(chain, "logical", None)
    if lt is None or not lt.text:
        return [], None
    return [f"# ovntrace path: ovn-trace on {lt.node} ({lt.ct}): {lt.command}", lt.text.rstrip("\n"), ""], lt.node


__all__ = ["CT_NEXT_MAX", "LogicalTrace", "argv", "ct_options", "datapath_name", "expression", "paste_parts",
           "run_logical"]
