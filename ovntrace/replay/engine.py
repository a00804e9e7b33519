"""Replay: rebuild a node's bridges from its sosreport in a :class:`~ovntrace.replay.switch.PrivateSwitch` and
run the real ``ofproto/trace`` there.

Order (as a node's OVS got them): bridges and ports in the order of their datapath port numbers (from
``dpctl/show``, so the dummy datapath gives the same numbers), each interface with its type, options and
``ofport_request`` = its ofport; the underlay's addresses, routes and tunnel neighbours (``ovs/route/show``,
``tnl/neigh/show``) so that a tunnel's ``tnl_push`` is built as on the node; the Geneve TLV map; groups;
meters; then each bridge's flows (``ovs-ofctl -O OpenFlow15 --bundle add-flows`` of the dump, header lines
turned into comments so that an error names the dump's own line).
"""

from __future__ import annotations

import ipaddress
import re
import time
from dataclasses import dataclass, field
from typing import Any

from ovntrace.replay.switch import PrivateSwitch, ReplayError
from ovntrace.sources.bundle import Report

_SAFE_TYPES = frozenset({"", "internal", "geneve", "vxlan", "stt", "gre", "patch", "dummy", "dummy-internal",
                         "system"})
_TUNNEL_TYPES = frozenset({"geneve", "vxlan", "stt", "gre"})
_DP_PORT = re.compile(r"^\s*port (\d+): (\S+)(?: \(([^)]*)\))?")
_ROUTE = re.compile(r"^(?:User|Cached): (\S+) dev (\S+)(?: GW (\S+))? SRC (\S+)")
_NEIGH = re.compile(r"^(\S+)\s+([0-9a-fA-F:]{17})\s+(\S+)\s*$")
_TLV = re.compile(r"^\s*(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(\d+)\s+(tun_metadata\d+)\s*$")
_GROUP_REF = re.compile(r"\bgroup:(\d+)")
_METER_REF = re.compile(r"\bmeter:(\d+)")
#: OVN's Geneve option (ovn/lib/ovn-util.h of OVN 23.03: OVN_GENEVE_CLASS 0x0102, OVN_GENEVE_TYPE 0x80, len 4)
OVN_TLV = "{class=0x102,type=0x80,len=4}->tun_metadata0"

#: said with every replay
DIFFERENCES = (
    "no kernel datapath: the replay's datapath is OVS's userspace dummy; datapath actions are those of a "
    "userspace datapath (a kernel node's datapath flows, offloads and upcalls are not reproduced)",
    "conntrack: no connection state from the node; each ct() is resolved by --ct-next (default trk,new)",
    "meters and rate limits are not enforced in a trace (meters referenced by flows are recreated when "
    "dumped, else as placeholders)",
    "no real tunnels: a tunnel's encapsulation is computed from the bundle's routes and neighbours "
    "(ovs/route/show, tnl/neigh/show), nothing is sent; tunnel state (BFD) is not reproduced",
    "flows are the dump's at the time sos ran; ovn-controller may have changed them since",
)


@dataclass
class Built:
    bridges: list[str] = field(default_factory=list)
    ports: list[dict[str, Any]] = field(default_factory=list)
    flows: dict[str, int] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)
    tlv: str = "none"
    routes: list[str] = field(default_factory=list)
    neighbours: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class ReplayResult:
    node: str
    flow: str
    bridge: str
    trace: str
    built: Built
    differences: tuple[str, ...]
    ovs_version: str | None  # of the replaying OVS
    node_ovs_version: str | None
    trace_seconds: float = 0.0


def _bridges_and_ports(r: Report) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Bridges (name -> columns) and their interfaces, from the node's Open_vSwitch rows, else from
    ``ovs-vsctl show`` + ``ovs-ofctl show``."""
    tables = r.ovs_tables()
    bridges: dict[str, dict[str, Any]] = {}
    ports: list[dict[str, Any]] = []
    if tables and tables.get("Bridge") and tables.get("Interface"):
        port_rows = tables.get("Port") or {}
        ifaces = tables.get("Interface") or {}
        for br in (tables.get("Bridge") or {}).values():
            name = str(br.get("name") or "")
            bridges[name] = br
            for pu in br.get("ports") or ():
                for iu in (port_rows.get(pu) or {}).get("interfaces") or ():
                    i = ifaces.get(iu)
                    if i is not None and i.get("name") != name:
                        ports.append({"bridge": name, "name": i.get("name"), "type": i.get("type") or "",
                                      "ofport": i.get("ofport"), "options": dict(i.get("options") or {})})
        return bridges, ports
    from ovntrace.sources.bundle import node_facts_of

    nf = node_facts_of(r)
    if nf is None:
        raise ReplayError(f"{r.name}: the bundle has neither the node's conf.db / ovsdb-client dump nor its "
                          "ovs-vsctl show and ovs-ofctl show br-int: ports and ofport numbers are unknown")
    for i in nf.interfaces:
        br = i.bridge or "br-int"
        bridges.setdefault(br, {"name": br, "datapath_type": "system", "fail_mode": "secure" if br == "br-int"
                                else None, "other_config": {}})
        if i.name != br:
            ports.append({"bridge": br, "name": i.name, "type": i.type, "ofport": i.ofport,
                          "options": dict(i.options)})
    return bridges, ports


def _dp_order(r: Report) -> dict[str, int]:
    text = r.text(r.best("dpctl-show")) or ""
    out: dict[str, int] = {}
    for ln in text.splitlines():
        m = _DP_PORT.match(ln)
        if m:
            out[m.group(2)] = int(m.group(1))
    return out


def _flow_file(text: str) -> tuple[str, int, set[int], set[int]]:
    """The dump with every line that is not a flow turned into a comment (line numbers kept), the number of
    flows, and the groups and meters the flows use."""
    out = []
    n = 0
    groups: set[int] = set()
    meters: set[int] = set()
    for ln in text.splitlines():
        if "actions=" in ln and not ln.lstrip().startswith(("OFPST_", "NXST_", "#")):
            out.append(ln)
            n += 1
            groups.update(int(g) for g in _GROUP_REF.findall(ln))
            meters.update(int(g) for g in _METER_REF.findall(ln))
        else:
            out.append("# " + ln if ln.strip() else "")
    return "\n".join(out) + "\n", n, groups, meters


def build(sw: PrivateSwitch, r: Report, built: Built) -> None:
    t0 = time.monotonic()
    bridges, ports = _bridges_and_ports(r)
    if "br-int" not in bridges:
        raise ReplayError(f"{r.name}: no br-int in the bundle (bridges: {', '.join(sorted(bridges)) or 'none'})")
    order = _dp_order(r)
    created: set[str] = set()
    route_srcs = {m.group(4) for m in (_ROUTE.match(ln.strip()) for ln in
                                      (r.text(r.best("route-show")) or "").splitlines()) if m}

    def add_br(name: str) -> None:
        if name in created:
            return
        br = bridges[name]
        argv = ["ovs-vsctl", "add-br", name, "--", "set", "Bridge", name, "datapath_type=system"]
        if br.get("datapath_type") not in (None, "", "system"):
            built.notes.append(f"bridge {name}: datapath_type {br.get('datapath_type')} replayed on the dummy "
                               "datapath")
        if br.get("fail_mode"):
            argv.append(f"fail_mode={br['fail_mode']}")
        hw = (br.get("other_config") or {}).get("hwaddr")
        if hw:
            argv.append(f"other_config:hwaddr=\"{hw}\"")
        sw.run(argv)
        created.add(name)
        built.bridges.append(name)

    def add_port(p: dict[str, Any]) -> None:
        add_br(p["bridge"])
        typ = p["type"]
        if typ not in _SAFE_TYPES:
            built.notes.append(f"port {p['name']}: type {typ} replayed as a dummy port")
            typ = "dummy"
        if typ in ("", "system"):
            typ = "dummy"  # a NIC of the node: never a device of this machine
        argv = ["ovs-vsctl", "add-port", p["bridge"], p["name"], "--", "set", "Interface", p["name"],
                f"type={typ}"]
        if isinstance(p.get("ofport"), int) and 0 < p["ofport"] < 65280:
            argv.append(f"ofport_request={p['ofport']}")
        options = dict(p.get("options") or {})
        if typ in _TUNNEL_TYPES and options.get("local_ip") in route_srcs:
            # OVS before 3.2 resolves a tunnel with local_ip only through a kernel "local" route, which a
            # replay cannot have; the route's source is the same address, so the tunnel leaves from it anyway
            del options["local_ip"]
            if not any("local_ip" in n for n in built.notes):
                built.notes.append("tunnel ports: options:local_ip left out (it is the source address of the "
                                   "bundle's route to the peers, which the replay uses instead)")
        for k, v in sorted(options.items()):
            argv.append(f"options:{k}=\"{v}\"")
        sw.run(argv)
        built.ports.append({"bridge": p["bridge"], "name": p["name"], "type": typ, "ofport": p.get("ofport")})

    # bridges and ports in the order of their datapath port numbers (then the rest)
    items: list[tuple[int, str, dict[str, Any] | None]] = []
    for name in bridges:
        items.append((order.get(name, 1 << 20), name, None))
    for p in ports:
        dp = order.get(p["name"])
        if p["type"] in _TUNNEL_TYPES:
            dp = None
        items.append((dp if dp is not None else 1 << 21, p["name"], p))
    for _, name, item in sorted(items, key=lambda t: (t[0], t[1])):
        if item is None:
            add_br(name)
        else:
            add_port(item)
    _underlay(sw, r, built, created)
    # the TLV map, then groups, meters and flows of each bridge
    for br in sorted(created):
        fm = r.best("flows", br)
        ftext = r.text(fm)
        if fm is None or ftext is None:
            if br == "br-int":
                raise ReplayError(f"{r.name}: no dump-flows of br-int in the bundle")
            continue
        body, count, used_groups, used_meters = _flow_file(ftext)
        if "tun_metadata" in ftext or "TUN_METADATA" in ftext:
            tm = r.best("tlv-map", br)
            maps = [f"{{class={m.group(1)},type={m.group(2)},len={m.group(3)}}}->{m.group(4)}"
                    for m in (_TLV.match(ln) for ln in (r.text(tm) or "").splitlines()) if m]
            if maps:
                built.tlv = f"from {tm.path if tm else 'the bundle'}"
            else:
                maps = [OVN_TLV]
                built.tlv = "assumed (no dump-tlv-map in the bundle): OVN's Geneve option " + OVN_TLV
                built.notes.append(f"{br}: no dump-tlv-map in the bundle (sos 4.0 does not collect it): assumed "
                                   f"OVN's {OVN_TLV}")
            sw.run(["ovs-ofctl", "add-tlv-map", br, ",".join(maps)])
        _groups(sw, r, br, used_groups, built)
        _meters(sw, r, br, used_meters, built)
        sw.run(["ovs-ofctl", "-O", "OpenFlow15", "--bundle", "add-flows", br, "-"], stdin=body)
        got = sum(1 for ln in sw.run(["ovs-ofctl", "-O", "OpenFlow15", "dump-flows", br]).splitlines()
                  if "actions=" in ln)
        built.flows[br] = got
        if got != count:
            built.notes.append(f"{br}: {count} flows in the dump, {got} in the replay (flows with the same match "
                               "and priority are one flow)")
    built.seconds = time.monotonic() - t0


def _underlay(sw: PrivateSwitch, r: Report, built: Built, created: set[str]) -> None:
    """Addresses and routes of the bridges (``ovs/route/show``), tunnel neighbours (``tnl/neigh/show``)."""
    routes = r.text(r.best("route-show")) or ""
    addrs: set[tuple[str, str]] = set()
    seen: set[tuple[str, str, str | None]] = set()
    for ln in routes.splitlines():
        m = _ROUTE.match(ln.strip())
        if not m:
            continue
        prefix, dev, gw, src = m.groups()
        if dev not in created or (prefix, dev, gw) in seen:
            continue
        try:
            net = ipaddress.ip_network(prefix, strict=False)
        except ValueError:
            continue
        addr = f"{src}/{net.prefixlen}"
        if (dev, addr) not in addrs:  # the bridge's address (OVS 3.5 lists its own route as "Cached: … local")
            addrs.add((dev, addr))
            sw.appctl("netdev-dummy/ip4addr" if net.version == 4 else "netdev-dummy/ip6addr", dev, addr)
        if ln.strip().endswith(" local"):
            continue
        seen.add((prefix, dev, gw))
        sw.appctl(*(["ovs/route/add", prefix, dev] + ([gw] if gw else [])))
        built.routes.append(f"{prefix} dev {dev}" + (f" via {gw}" if gw else "") + f" src {src}")
    neigh = r.text(r.best("tnl-neigh")) or ""
    for ln in neigh.splitlines():
        m = _NEIGH.match(ln.strip())
        if m and m.group(3) in created:
            sw.appctl("tnl/neigh/set", m.group(3), m.group(1), m.group(2))
            built.neighbours.append(f"{m.group(1)} {m.group(2)} on {m.group(3)}")
    if not built.routes and any(p["type"] in _TUNNEL_TYPES for p in built.ports):
        built.notes.append("no route of the underlay in the bundle (ovs/route/show): a tunnel's output cannot be "
                           "encapsulated as on the node")


def _groups(sw: PrivateSwitch, r: Report, br: str, used: set[int], built: Built) -> None:
    gm = r.best("groups", br)
    gtext = r.text(gm)
    have: set[int] = set()
    if gm is not None and gtext is not None:
        lines = [ln.strip() for ln in gtext.splitlines() if ln.strip().startswith("group_id=")]
        if lines:
            version = gm.openflow or "OpenFlow15"
            sw.run(["ovs-ofctl", "-O", version if version >= "OpenFlow11" else "OpenFlow15", "add-groups", br, "-"],
                   stdin="\n".join(lines) + "\n")
            have = {int(m.group(1)) for m in (re.match(r"group_id=(\d+)", ln) for ln in lines) if m}
        built.groups[br] = len(have)
    missing = sorted(used - have)
    if missing:
        for g in missing:
            sw.run(["ovs-ofctl", "-O", "OpenFlow15", "add-group", br, f"group_id={g},type=all"])
        built.notes.append(
            f"{br}: group(s) {', '.join(map(str, missing))} used by the flows are not in the bundle "
            f"({'no dump-groups: sos 4.0 does not collect it' if gm is None else 'missing from dump-groups'}): "
            "replayed as EMPTY groups, so a trace that reaches one stops there (a drop that the node would not "
            "do: on the node it goes on to the group's buckets, e.g. a load balancer's backends)")


def _meters(sw: PrivateSwitch, r: Report, br: str, used: set[int], built: Built) -> None:
    if not used:
        return
    for m in sorted(used):
        sw.run(["ovs-ofctl", "-O", "OpenFlow15", "add-meter", br, f"meter={m},pktps,band=type=drop,rate=1000000"],
               check=False)
    built.notes.append(f"{br}: meter(s) {', '.join(map(str, sorted(used)))} recreated as placeholders (a trace "
                       "does not apply meters)")


def replay(r: Report, flow: str, bridge: str = "br-int", ct_next: tuple[str, ...] = (),
           dummy: str = "system") -> ReplayResult:
    """Rebuild ``r``'s node and trace ``flow`` on ``bridge``; everything started is stopped and removed."""
    from ovntrace.sources.bundle import replayable

    ok, why = replayable(r)
    if not ok:
        raise ReplayError(f"{r.name}: cannot replay: {'; '.join(why)}", exit_code=2)
    built = Built()
    with PrivateSwitch(dummy) as sw:
        build(sw, r, built)
        version = None
        m = re.search(r"\(Open vSwitch\) (\S+)", sw.run(["ovs-vswitchd", "--version"]))
        if m:
            version = m.group(1)
        t0 = time.monotonic()
        argv = ["ofproto/trace", bridge, flow]
        for ct in ct_next:
            argv += ["--ct-next", ct]
        trace = sw.appctl(*argv)
        dt = time.monotonic() - t0
    node_version = r.ovs_version
    if version and node_version and version != node_version:
        built.notes.append(f"replayed with OVS {version}; the node ran OVS {node_version}: a newer OVS's trace text "
                           "and datapath actions may differ")
    return ReplayResult(r.name, flow, bridge, trace, built, DIFFERENCES, version, node_version, dt)
