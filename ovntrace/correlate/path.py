"""Pure helpers of ``ovntrace path``: endpoints, the source microflow, and the packet as the next chassis
receives it after a tunnel verdict. No I/O: everything comes from a :class:`ClusterContext` and parsed traces.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ovntrace.model.cluster import Chassis, ClusterContext, Interface, NodeFacts, PortBinding
from ovntrace.model.odp import DatapathAction
from ovntrace.model.ovn import OvnVerdict
from ovntrace.model.trace import Trace


class PathError(Exception):
    """A name or address that does not resolve, or a flow that cannot be built (exit 2 on the CLI)."""


@dataclass(frozen=True)
class Endpoint:
    spec: str  # as given
    lsp: str | None  # logical port name, None for an address outside the cluster
    ip: str
    mac: str | None = None
    binding: PortBinding | None = None
    backends: tuple[str, ...] = ()  # a service VIP: the logical ports of its backends
    vip: Mapping[str, Any] | None = field(default=None, hash=False, compare=False)  # {name, vip, backends}
    zone: str | None = field(default=None, compare=False)  # interconnect: the zone whose NB/SB has the port

    @property
    def label(self) -> str:
        if self.vip:
            return f"vip {self.vip['vip']} ({self.vip['name']})"
        if self.lsp and "_" in self.lsp and self.binding is not None and self.binding.type == "":
            ns, _, name = self.lsp.partition("_")
            return f"pod {ns}/{name}" if not self.lsp.startswith(("k8s-", "stor-", "rtos-")) else f"port {self.lsp}"
        return f"port {self.lsp}" if self.lsp else f"address {self.ip}"


def _addresses(pb: PortBinding) -> list[tuple[str, list[str]]]:
    """(MAC, [IP or IP/len ...]) of each entry of the ``mac`` column ("MAC IP..." strings)."""
    out = []
    for entry in pb.mac:
        parts = entry.split()
        if parts and parts[0] not in ("unknown", "router", "dynamic"):
            out.append((parts[0], parts[1:]))
    return out


def _ip_of(addr: str) -> str:
    return addr.split("/")[0]


def zone_context(ctx: ClusterContext, zone: str | None) -> ClusterContext:
    """The facts of interconnect zone ``zone`` (every node's OVS facts beside); ``ctx`` without zones."""
    return ctx.for_zone(ctx.zone(zone)) if ctx.zones else ctx


def resolve_endpoint(ctx: ClusterContext, spec: str, *, external_ok: bool = False,
                     zone: str | None = None) -> Endpoint:
    """``spec`` is a logical port name, ``namespace/pod`` (port ``namespace_pod``) or an IP address.

    Interconnect (``ctx.zones``): the zone whose own NB/SB has the port (bound there, not a ``remote`` port of
    another zone); ``zone``: the zone an outside address or a VIP is looked up in (the source's)."""
    if not ctx.zones:
        return _resolve(ctx, spec, external_ok=external_ok)
    found: list[Endpoint] = []
    first_error: PathError | None = None
    for z in ctx.zones:
        try:
            ep = _resolve(ctx.for_zone(z), spec)
        except PathError as e:
            first_error = first_error or e
            continue
        if ep.binding is not None and ep.binding.remote:
            continue
        found.append(dataclasses.replace(ep, zone=z.name))
    bound = [e for e in found if e.binding is not None and e.binding.chassis]
    hits = bound or found
    if len({(e.lsp, e.ip) for e in hits}) == 1:
        return hits[0]
    if len(hits) > 1:
        raise PathError(f"{spec!r}: found in several zones ({', '.join(e.zone or '?' for e in hits)}) as "
                        f"{', '.join(sorted({e.lsp or e.ip for e in hits}))}: give the logical port name")
    if external_ok:
        return dataclasses.replace(_resolve(zone_context(ctx, zone), spec, external_ok=True), zone=zone)
    missing = [z.name for z in ctx.zones if z.error]
    if first_error is not None and missing:
        raise PathError(f"{first_error} (in the zones read; not read: {', '.join(missing)})")
    raise first_error or PathError(f"{spec}: no logical port has this address in any zone")


def _resolve(ctx: ClusterContext, spec: str, *, external_ok: bool = False) -> Endpoint:
    by_name = {pb.logical_port: pb for pb in ctx.port_bindings}
    name = spec.replace("/", "_", 1) if "/" in spec and spec not in by_name else spec
    pb = by_name.get(name)
    if pb is not None:
        for mac, ips in _addresses(pb):
            v4 = [_ip_of(a) for a in ips if ":" not in a]
            if v4:
                return Endpoint(spec, pb.logical_port, v4[0], mac, pb)
        raise PathError(f"logical port {pb.logical_port} has no IPv4 address in Port_Binding mac {list(pb.mac)}")
    try:
        ip = str(ipaddress.IPv4Address(spec))
    except ValueError:
        known = sorted(n for n, b in by_name.items() if b.type == "" and "_" in n and not n.startswith("k8s-"))
        hint = f" (pods: {', '.join(known[:12])})" if known else ""
        raise PathError(f"{spec!r}: no logical port {name!r} in the Southbound Port_Binding table and not an "
                        f"IPv4 address{hint}") from None
    for pb in ctx.port_bindings:
        if pb.type not in ("", "l3gateway", "localport"):
            continue
        for mac, ips in _addresses(pb):
            if ip in (_ip_of(a) for a in ips):
                return Endpoint(spec, pb.logical_port, ip, mac, pb)
    if external_ok:
        lb = load_balancer_of(ctx, ip)
        if lb is not None:
            backends = []
            for b in lb["backends"]:
                bip = b.rsplit(":", 1)[0] if b.count(":") == 1 else b
                with contextlib.suppress(PathError):
                    backends.append(_resolve(ctx, bip).lsp or "")
            return Endpoint(spec, None, ip, backends=tuple(x for x in backends if x), vip=lb)
        return Endpoint(spec, None, ip)
    raise PathError(f"{spec}: no logical port has this address")


def _map(v: Any) -> dict[str, str]:
    if isinstance(v, Mapping):
        return {str(k): str(x) for k, x in v.items()}
    if isinstance(v, list) and len(v) == 2 and v[0] == "map":
        return {str(k): str(x) for k, x in v[1]}
    return {}


def load_balancer_of(ctx: ClusterContext, ip: str) -> dict[str, Any] | None:
    """The NB Load_Balancer with a VIP on ``ip``: {name, vip, backends, protocol}."""
    for row in sorted(ctx.nb_rows, key=lambda r: r.uuid):
        if row.table != "Load_Balancer":
            continue
        for vip, backs in sorted(_map(row.columns.get("vips")).items()):
            host = vip.rsplit(":", 1)[0].strip("[]") if vip.count(":") == 1 or vip.startswith("[") else vip
            if host == ip:
                name = row.columns.get("name")
                proto = row.columns.get("protocol")
                return {"name": str(name) if name else row.uuid, "vip": vip,
                        "backends": [b.strip() for b in backs.split(",") if b.strip()],
                        "protocol": proto if isinstance(proto, str) else None}
    return None


def gateway_patch(nf: NodeFacts, ports: Sequence[str], outport: str | None) -> dict[str, Any] | None:
    """The patch port from br-int to a gateway bridge (localnet, ``breth0``) the packet left by, if it did:
    {port, peer, bridge, localnet}. ``ports``: the OVS ports of the trace's output; ``outport``: logical."""
    by_name = {i.name: i for i in nf.interfaces}
    for i in nf.interfaces:
        if i.type != "patch":
            continue
        localnet = i.external_ids.get("ovn-localnet-port") or i.external_ids.get("ovn-l3gateway-port")
        if i.name in ports or (outport and (localnet == outport or i.name == f"patch-br-int-to-{outport}")):
            peer = i.options.get("peer")
            pi = by_name.get(peer or "")
            return {"port": i.name, "peer": peer, "bridge": pi.bridge if pi is not None else None,
                    "localnet": localnet or outport}
    return None


def router_port_for(ctx: ClusterContext, ip: str) -> tuple[str, str, ipaddress.IPv4Network] | None:
    """(logical port, MAC, network) of the router port whose subnet holds ``ip`` (the pod's gateway)."""
    addr = ipaddress.IPv4Address(ip)
    for pb in sorted(ctx.port_bindings, key=lambda p: p.logical_port):
        for mac, ips in _addresses(pb):
            for a in ips:
                if "/" not in a or ":" in a:
                    continue
                net = ipaddress.IPv4Interface(a).network
                if addr in net and _ip_of(a) != ip:
                    return pb.logical_port, mac, net
    return None


def chassis_of(ctx: ClusterContext, pb: PortBinding) -> Chassis:
    for ch in ctx.chassis:
        if ch.uuid == pb.chassis:
            return ch
    raise PathError(f"logical port {pb.logical_port} is not bound to any chassis (Port_Binding chassis empty)")


def node_of_chassis(ctx: ClusterContext, ch: Chassis, names: Iterable[str]) -> str:
    """The inventory node of a chassis: by the node's system-id, else by hostname."""
    names = list(names)
    for n in ctx.nodes:
        if n.system_id == ch.name and n.name in names:
            return n.name
    if ch.hostname in names:
        return ch.hostname
    raise PathError(f"chassis {ch.hostname or ch.name} is not a node of the inventory ({', '.join(names)})")


def node_of_encap(ctx: ClusterContext, ip: str) -> Chassis:
    for ch in ctx.chassis:
        if any(e.ip == ip for e in ch.encaps):
            return ch
    raise PathError(f"no chassis has encap IP {ip}")


def facts(ctx: ClusterContext, node: str) -> NodeFacts:
    for n in ctx.nodes:
        if n.name == node:
            return n
    raise PathError(f"no OVS facts collected for node {node}")


def iface_port(nf: NodeFacts, lsp: str) -> Interface:
    for i in nf.interfaces:
        if i.iface_id == lsp and i.ofport and i.ofport > 0:
            return i
    raise PathError(f"node {nf.name} has no OVS interface with external_ids:iface-id={lsp}")


def tunnel_port(nf: NodeFacts, remote_ip: str) -> Interface:
    for i in nf.interfaces:
        if i.remote_ip == remote_ip and i.ofport and i.ofport > 0:
            return i
    raise PathError(f"node {nf.name} has no tunnel port with options:remote_ip={remote_ip}")


# -- flows ------------------------------------------------------------------------------------------

Flow = list[tuple[str, str]]


def flow_text(flow: Flow) -> str:
    return ",".join(f"{k}={v}" if v != "" else k for k, v in flow)


def microflow(src: Endpoint, dst_ip: str, in_port: int, dl_dst: str, proto: str = "icmp",
              dport: int | None = None, sport: int | None = None, ttl: int = 64, reply: bool = False) -> Flow:
    """The packet ``src`` sends to ``dst_ip``, as an OVN engineer writes it for ofproto/trace; ``reply``: the
    answer to it (ICMP echo reply, TCP SYN-ACK)."""
    if src.mac is None:
        raise PathError(f"{src.spec}: no MAC known")
    f: Flow = [("in_port", str(in_port)), (proto, ""), ("dl_src", src.mac), ("dl_dst", dl_dst),
               ("nw_src", src.ip), ("nw_dst", dst_ip), ("nw_ttl", str(ttl))]
    if proto == "icmp":
        f += [("icmp_type", "0" if reply else "8"), ("icmp_code", "0")]
    elif proto in ("tcp", "udp"):
        f += [(f"{proto}_src", str(sport or 40000)), (f"{proto}_dst", str(dport or (22 if proto == "tcp" else 53)))]
        if proto == "tcp":
            f.append(("tcp_flags", "syn|ack" if reply else "syn"))
    else:
        raise PathError(f"protocol {proto!r}: use icmp, tcp or udp")
    return f


def destination_mac(ctx: ClusterContext, src: Endpoint, dst: Endpoint) -> str:
    """The destination's MAC on the source's subnet, else the MAC of the source subnet's router port."""
    rp = router_port_for(ctx, src.ip)
    if rp is not None and ipaddress.IPv4Address(dst.ip) not in rp[2]:
        return rp[1]
    if dst.mac:
        return dst.mac
    if rp is not None:
        return rp[1]
    raise PathError(f"no MAC for {dst.spec} and no router port for {src.ip}")


_SET_FIELDS = {
    ("eth", "src"): "dl_src", ("eth", "dst"): "dl_dst",
    ("ipv4", "src"): "nw_src", ("ipv4", "dst"): "nw_dst", ("ipv4", "ttl"): "nw_ttl", ("ipv4", "tos"): "nw_tos",
    ("tcp", "src"): "tcp_src", ("tcp", "dst"): "tcp_dst", ("udp", "src"): "udp_src", ("udp", "dst"): "udp_dst",
}


def rewrites(trace: Trace) -> dict[str, str]:
    """Packet fields the datapath actions set before the packet leaves (``set(eth(...))``, ``set(ipv4(...))``,
    ``set(tcp(...))``...), in order, across the trace's passes; stops at the first ``tnl_push``/output."""
    out: dict[str, str] = {}

    def walk(acts: Sequence[DatapathAction]) -> bool:
        for a in acts:
            if a.name in ("set", "set_masked"):
                for proto, val in a.args.items():
                    if isinstance(val, dict):
                        for k, v in val.items():
                            key = _SET_FIELDS.get((proto, k))
                            if key:
                                out[key] = str(v).split("/")[0]
            elif a.name == "tnl_push" or (a.inner and walk(a.inner)):
                return True
        return False

    for p in trace.passes:
        if p.datapath_actions_parsed and walk(p.datapath_actions_parsed):
            break
    return out


def tunnel_key_words(ix: Any, md: Mapping[str, Any]) -> str:
    """The tunnel key decoded against the sending zone's facts (``ix``: its ClusterIndex):
    ``dp 16711683 transit switch transit_switch, in 2 tstor-kube-node2, out 3 tstor-kube-node1 (remote,
    chassis kube-node1)``; a number the facts do not know stays a number."""
    from ovntrace.correlate.verdict import datapath_words, port_words

    bits: list[str] = []
    dp = None
    with contextlib.suppress(TypeError, ValueError):
        dp = ix.datapath(int(md["datapath"])) if md.get("datapath") is not None else None
    bits.append(f"dp {md.get('datapath')}" + (f" {datapath_words(dp)}" if dp is not None else ""))
    for key, label in (("inport", "in"), ("outport", "out")):
        pb = None
        with contextlib.suppress(TypeError, ValueError):
            pb = ix.port(dp, int(md[key])) if dp is not None and md.get(key) is not None else None
        bits.append(f"{label} {md.get(key)}" + (f" {port_words(ix, pb)}" if pb is not None else ""))
    return ", ".join(bits)


def geneve_metadata(v: OvnVerdict) -> tuple[int, int]:
    """(tun_id, tun_metadata0) of a tunnel verdict: datapath key, and inport << 16 | outport (OVN Geneve)."""
    md = (v.chassis or {}).get("metadata") or {}
    try:
        dp, inport, outport = int(md["datapath"]), int(md["inport"]), int(md["outport"])
    except (KeyError, TypeError, ValueError):
        raise PathError(f"tunnel verdict without decoded OVN metadata ({v.cause})") from None
    return dp, (inport << 16) | outport


def arriving_flow(first: Flow, trace: Trace, v: OvnVerdict, in_port: int, tun_src: str, tun_dst: str) -> Flow:
    """The packet as the remote chassis receives it: its tunnel port, tun_id/tun_src/tun_dst/tun_metadata0,
    and the inner packet of ``first`` after the source side's rewrites (MACs, TTL, NAT)."""
    key = next((o.get("key") for o in v.outputs if o.get("kind") == "tunnel" and o.get("key")), None)
    rw = rewrites(trace)
    if key is not None and str(key.get("encap", "")).startswith("vxlan") and key.get("tun_id"):
        # VXLAN: the VNI as written (outport << 12 | datapath), no Geneve option
        out: Flow = [("in_port", str(in_port)), ("tun_id", str(key["tun_id"])), ("tun_src", tun_src),
                     ("tun_dst", tun_dst)]
    else:
        tun_id, md0 = geneve_metadata(v)
        out = [("in_port", str(in_port)), ("tun_id", hex(tun_id)), ("tun_src", tun_src), ("tun_dst", tun_dst),
               ("tun_metadata0", hex(md0))]
    for k, val in first:
        if k == "in_port":
            continue
        out.append((k, rw.get(k, val)))
    return out


# -- the stitched path ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Segment:
    text: str
    kind: str  # endpoint | pipeline | tunnel


def datapath_hops(hops: Sequence[tuple[str, str | None]]) -> list[str]:
    """``[(datapath text, pipeline)]`` -> one word per datapath visited in a row; "(egress)" when a datapath
    is only seen in its egress pipeline (the packet arrived from a tunnel)."""
    out: list[tuple[str, set[str]]] = []
    for name, pipeline in hops:
        if out and out[-1][0] == name:
            out[-1][1].add(pipeline or "")
        else:
            out.append((name, {pipeline or ""}))
    return [f"{n} (egress)" if p == {"egress"} else n for n, p in out]
