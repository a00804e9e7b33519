"""Regenerate ``fixtures/lab/``: real traces, show outputs and NB/SB databases from a fresh lab.

    python -m ovntrace.lab.fixtures [--out fixtures/lab] [--dir /tmp/ovntrace-fixtures-lab]

brings a lab up (the bundled inventory, with fixed system-ids so that names are stable), writes
every fixture, a ``manifest.json`` (file -> node, command, what it shows) and ``README.md``, then
takes the lab down.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
import sys
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from ovntrace.lab import inventory as inv_mod
from ovntrace.lab import runbook
from ovntrace.lab.errors import LabError
from ovntrace.lab.inventory import Inventory, atomic_write
from ovntrace.lab.lab import Lab

EXTERNAL = "203.0.113.10"  # TEST-NET-3: never a real host; nothing is sent anyway
VIP = "10.96.0.22"


@dataclass(frozen=True)
class Fixture:
    file: str
    node: str
    command: str
    shows: str


def fixed_inventory() -> inv_mod.Inventory:
    inv = inv_mod.load()
    nodes = tuple(
        replace(n, system_id=str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{n.name}.ovntrace-lab"))) for n in inv.nodes
    )
    return replace(inv, nodes=nodes)


def _versions(lab: Lab) -> tuple[str, str]:
    node = lab.inventory.cluster.central
    ovs = lab.run(node, ["ovs-vswitchd", "--version"]).splitlines()[0]
    ovn = lab.run(node, ["ovn-controller", "--version"]).splitlines()[0]
    return ovs, ovn


def tunnel_in_flow(lab: Lab, src_trace: str, dst_node: str, payload: str) -> str:
    """The flow as it arrives on ``dst_node`` from the tunnel that ``src_trace`` ends in.

    ``payload`` is the inner packet's match (e.g. ``icmp,nw_src=…,nw_dst=…,nw_ttl=63``); the
    Ethernet addresses, VNI and Geneve option come from the source trace's datapath actions."""
    actions = src_trace.strip().splitlines()[-1]
    m = re.search(
        r"ipv4\(src=([\d.]+),dst=([\d.]+),.*?geneve\(crit,vni=(0x[0-9a-f]+),options\(\{[^}]*,(0x[0-9a-f]+)\}",
        actions,
    )
    if not m:
        raise LabError(f"no geneve tnl_push in: {actions[:200]}")
    tun_src, tun_dst, vni, opt = m.groups()
    eth = re.search(r"set\(eth\(src=([0-9a-f:]+),dst=([0-9a-f:]+)\)\)", actions)
    port = lab.run(dst_node, ["ovs-vsctl", "--bare", "--columns=ofport", "find", "Interface",
                              f"options:remote_ip={runbook.atom(tun_src)}"]).strip()  # fmt: skip
    flow = f"in_port={port},tun_id={vni},tun_src={tun_src},tun_dst={tun_dst},tun_metadata0={opt},{payload}"
    if eth:
        flow += f",dl_src={eth.group(1)},dl_dst={eth.group(2)}"
    return flow


def generate(lab: Lab, out: Path) -> list[Fixture]:
    out.mkdir(parents=True, exist_ok=True)
    fixtures: list[Fixture] = []

    def trace(
        file: str, node: str, flow: str, shows: str, ct_next: tuple[str, ...] = (), bridge: str = "br-int"
    ) -> str:
        text = lab.trace(node, flow, bridge=bridge, ct_next=ct_next)
        atomic_write(out / file, text)
        ct = "".join(f" --ct-next {shlex.quote(c)}" for c in ct_next)
        br = f" --bridge {bridge}" if bridge != "br-int" else ""
        fixtures.append(Fixture(file, node, f"ovntrace lab trace {node} {shlex.quote(flow)}{br}{ct}", shows))
        return text

    # cross-node pod -> pod (seed: kube-node2 -> sshd-2 on kube-node1)
    f = lab.microflow("kube-node2", "client-1", "192.168.2.3")
    src = trace(
        "xnode-icmp-src.txt",
        "kube-node2",
        f,
        "client-1 -> sshd-2 (icmp), source node: "
        "switch, cluster router, geneve tunnel to 172.17.42.31 (recirc: ct with default trk|new)",
    )
    trace(
        "xnode-icmp-src-ctnext.txt", "kube-node2", f, "the same with --ct-next trk,est", ct_next=("trk,est",)
    )
    payload = "icmp,nw_src=192.168.3.3,nw_dst=192.168.2.3,nw_ttl=63,icmp_type=8,icmp_code=0"
    tin = tunnel_in_flow(lab, src, "kube-node1", payload)
    trace(
        "xnode-icmp-dst.txt",
        "kube-node1",
        tin,
        "the same packet arriving on kube-node1 from the tunnel, delivered to sshd-2's port",
    )
    trace(
        "xnode-icmp-dst-ctnext.txt",
        "kube-node1",
        tin,
        "the same with --ct-next trk,est",
        ct_next=("trk,est",),
    )

    # ACL drop: tcp/22 from client-1 to sshd-2, dropped (and logged) by the to-lport ACL on kube-node1
    f = lab.microflow("kube-node2", "client-1", "192.168.2.3", proto="tcp", dport=22)
    src = trace(
        "acl-ssh-src.txt", "kube-node2", f, "client-1 -> sshd-2 tcp/22, source node: leaves by the tunnel"
    )
    tin = tunnel_in_flow(
        lab,
        src,
        "kube-node1",
        "tcp,nw_src=192.168.3.3,nw_dst=192.168.2.3,nw_ttl=63,tp_src=40000,tp_dst=22,tcp_flags=syn",
    )
    trace(
        "acl-drop-dst.txt",
        "kube-node1",
        tin,
        "the same arriving on kube-node1: dropped by the to-lport ACL deny-ssh-from-client-1 (log)",
    )

    # port security: client-1 sends with a spoofed source IP
    f = lab.microflow("kube-node2", "client-1", "192.168.2.3", src_ip="192.168.3.99")
    trace(
        "port-security-drop.txt",
        "kube-node2",
        f,
        "client-1 with spoofed source 192.168.3.99: dropped by port security",
    )

    # load balancer VIP
    f = lab.microflow("kube-node1", "web-1", VIP, proto="tcp", dport=22)
    trace(
        "lb-vip-same-node.txt",
        "kube-node1",
        f,
        f"web-1 -> VIP {VIP}:22 (load balancer default_sshd-svc -> sshd-2)",
    )
    trace(
        "lb-vip-same-node-ctnext.txt",
        "kube-node1",
        f,
        "the same with --ct-next trk,new then trk,est",
        ct_next=("trk,new", "trk,est"),
    )
    f = lab.microflow("kube-node2", "client-1", VIP, proto="tcp", dport=22)
    trace(
        "lb-vip-cross-node.txt",
        "kube-node2",
        f,
        f"client-1 -> VIP {VIP}:22 from kube-node2: DNAT then the tunnel",
    )

    # same-node pod -> pod
    f = lab.microflow("kube-node1", "web-1", "192.168.2.3")
    trace("same-node-icmp.txt", "kube-node1", f, "web-1 -> sshd-2 on the same node and switch")
    f = lab.microflow("kube-node1", "web-1", "192.168.2.3", proto="tcp", dport=22)
    trace(
        "same-node-tcp22.txt",
        "kube-node1",
        f,
        "web-1 -> sshd-2 tcp/22 (allowed: the ACL only drops client-1)",
    )

    # pod -> external through the gateway router on kube-master
    f = lab.microflow("kube-node2", "client-1", EXTERNAL)
    src = trace(
        "external-src.txt",
        "kube-node2",
        f,
        f"client-1 -> {EXTERNAL} (outside the cluster), source node: "
        "cluster router, join switch, tunnel to the gateway chassis kube-master",
    )
    tin = tunnel_in_flow(
        lab, src, "kube-master", f"icmp,nw_src=192.168.3.3,nw_dst={EXTERNAL},nw_ttl=63,icmp_type=8"
    )
    trace(
        "external-gw.txt",
        "kube-master",
        tin,
        "the same arriving on kube-master: GR_kube-master SNAT to "
        "172.17.42.30, external switch, localnet port to breth0",
    )

    # ARP for the gateway, answered by OVN
    f = lab.microflow("kube-node1", "sshd-2", "192.168.2.1", proto="arp")
    trace("arp-gateway.txt", "kube-node1", f, "sshd-2 ARPs for its gateway 192.168.2.1: OVN's ARP responder")
    f = lab.microflow("kube-node1", "sshd-2", "192.168.2.4", proto="arp")
    trace("arp-pod.txt", "kube-node1", f, "sshd-2 ARPs for web-1 192.168.2.4: answered by the ARP responder")

    # unknown in_port
    trace(
        "unknown-in-port.txt",
        "kube-node1",
        "in_port=999,ip,nw_src=10.0.0.1,nw_dst=10.0.0.2",
        "a packet from an in_port that does not exist",
    )

    generate_context(lab, out, fixtures)
    return fixtures


def generate_context(lab: Lab, out: Path, fixtures: list[Fixture]) -> None:
    """The show outputs of every node and the NB/SB database files: the db context of a set's traces."""

    def show(file: str, node: str, argv: list[str], shows: str) -> None:
        atomic_write(out / file, lab.run(node, argv))
        fixtures.append(Fixture(file, node, shlex.join(argv), shows))

    central = lab.inventory.cluster.central
    show("ovn-nbctl-show.txt", central, ["ovn-nbctl", "show"], "the NB topology (compare with the seed)")
    show("ovn-sbctl-show.txt", central, ["ovn-sbctl", "show"], "chassis, encaps and port bindings")
    show("ovn-nbctl-acl-list.txt", central, ["ovn-nbctl", "acl-list", "kube-node1"], "the ACL on kube-node1")
    show("ovn-nbctl-lb-list.txt", central, ["ovn-nbctl", "lb-list"], "the load balancer")
    for n in lab.inventory.node_names:
        show(f"{n}-ovs-vsctl-show.txt", n, ["ovs-vsctl", "show"], f"bridges and ports of {n}")
        show(
            f"{n}-ovs-ofctl-show-br-int.txt",
            n,
            ["ovs-ofctl", "show", "br-int"],
            f"OpenFlow port numbers of {n}",
        )
        show(f"{n}-ovs-appctl-dpif-show.txt", n, ["ovs-appctl", "dpif/show"], f"datapath port numbers of {n}")

    # the NB and SB databases (compacted first)
    d = lab.node_dir(central)
    for db in ("ovnnb_db", "ovnsb_db"):
        lab.run(central, ["ovs-appctl", "-t", str(d / f"{db}.ctl"), "ovsdb-server/compact"])
        shutil.copyfile(d / f"{db}.db", out / f"{db}.db")
        fixtures.append(
            Fixture(
                f"{db}.db",
                central,
                f"cp {db}.db (after ovsdb-server/compact)",
                f"the {'Northbound' if db == 'ovnnb_db' else 'Southbound'} database file",
            )
        )


# ---------------------------------------------------------------------------------------------
# further sets (issue 11: verdicts): each in its own folder with its own db context, since a
# trace's cookies are the UUIDs of the lab it was taken in


class _Recorder:
    """Writes the traces of one set and records what each one is."""

    def __init__(self, lab: Lab, out: Path) -> None:
        self.lab, self.out = lab, out
        self.fixtures: list[Fixture] = []
        out.mkdir(parents=True, exist_ok=True)

    def trace(self, file: str, node: str, flow: str, shows: str, ct_next: tuple[str, ...] = (),
              bridge: str = "br-int") -> str:
        text = self.lab.trace(node, flow, bridge=bridge, ct_next=ct_next)
        atomic_write(self.out / file, text)
        ct = "".join(f" --ct-next {shlex.quote(c)}" for c in ct_next)
        br = f" --bridge {bridge}" if bridge != "br-int" else ""
        self.fixtures.append(Fixture(file, node, f"ovntrace lab trace {node} {shlex.quote(flow)}{br}{ct}", shows))
        return text

    def nb(self, argv: list[str], shows: str) -> None:
        """A change to the NB database made before the traces that need it (recorded in the manifest)."""
        central = self.lab.inventory.cluster.central
        self.lab.run(central, argv)
        self.lab.run(central, ["ovn-nbctl", "--wait=hv", "--timeout=30", "sync"])
        self.fixtures.append(Fixture("-", central, shlex.join(argv), shows))


def tunnel_in_flow_any(lab: Lab, src_trace: str, src_node: str, dst_node: str, payload: str) -> str:
    """Like :func:`tunnel_in_flow` for any tunnel form: the key from the datapath actions
    (``tnl_push(...geneve(...))`` or ``vxlan(...,vni=...)``) or, for tunnels as plain dummy ports
    (no encapsulation in the datapath actions), from the trace tree's ``set_field:…->tun_id`` /
    ``->tun_metadata0`` of the remote-output table. Ethernet addresses from the last ``set(eth(...))``."""
    actions = src_trace.strip().splitlines()[-1]
    tun_src = lab.inventory.node(src_node).encap_ip
    tun_dst = lab.inventory.node(dst_node).encap_ip
    m = re.search(r"vxlan\(flags=0x[0-9a-f]+,vni=(0x[0-9a-f]+)\)", actions)
    if m:
        keys = f"tun_id={m.group(1)}"  # the 24-bit VNI (odp-util prints the field >> 8)
    else:
        m = re.search(r"geneve\(crit,vni=(0x[0-9a-f]+),options\(\{[^}]*,(0x[0-9a-f]+)\}", actions)
        if m:
            keys = f"tun_id={m.group(1)},tun_metadata0={m.group(2)}"
        else:
            tid = re.findall(r"set_field:(0x[0-9a-f]+)(?:/0x[0-9a-f]+)?->tun_id", src_trace)
            md = re.findall(r"set_field:(0x[0-9a-f]+)(?:/0x[0-9a-f]+)?->tun_metadata0", src_trace)
            if not tid:
                raise LabError(f"no tunnel key in the trace from {src_node}")
            opt = int(md[-1], 16) if md else None
            moved = re.findall(r"NXM_NX_TUN_METADATA0\[16\.\.30\] is now (0x[0-9a-f]+)", src_trace)
            if opt is not None and moved:  # the inport bits moved in from reg14 after the set_field
                opt = (opt & 0xFFFF) | (int(moved[-1], 16) << 16)
            keys = f"tun_id={tid[-1]}" + (f",tun_metadata0={opt:#x}" if opt is not None else "")
    eth = re.findall(r"set\(eth\(src=([0-9a-f:]+),dst=([0-9a-f:]+)\)\)", actions)
    port = lab.run(dst_node, ["ovs-vsctl", "--bare", "--columns=ofport", "find", "Interface",
                              f"options:remote_ip={runbook.atom(tun_src)}"]).strip()  # fmt: skip
    flow = f"in_port={port},{keys},tun_src={tun_src},tun_dst={tun_dst},{payload}"
    if eth:
        flow += f",dl_src={eth[-1][0]},dl_dst={eth[-1][1]}"
    return flow


GHOST = ("default_ghost", "0a:00:00:00:00:09", "192.168.2.9")  # a logical port no chassis binds
FLOOD_IP = "192.168.2.77"  # on kube-node1's subnet, owned by nobody: ARP for it is flooded
PUNT_IP = "192.168.2.50"  # on kube-node1's subnet, no MAC known: the router asks ovn-controller to ARP
NOROUTE_V6 = "2001:db8::1"  # the routers have no IPv6 route at all
FDB_MAC = "02:00:00:00:00:aa"  # a MAC put in breth0's MAC table on eth0 (fdb/add) for the NORMAL drop


def _xnode(rec: _Recorder, what: str) -> None:
    lab = rec.lab
    f = lab.microflow("kube-node2", "client-1", "192.168.2.3")
    src = rec.trace("xnode-icmp-src.txt", "kube-node2", f, f"client-1 -> sshd-2 (icmp) on kube-node2: {what}")
    payload = "icmp,nw_src=192.168.3.3,nw_dst=192.168.2.3,nw_ttl=63,icmp_type=8,icmp_code=0"
    tin = tunnel_in_flow_any(lab, src, "kube-node2", "kube-node1", payload)
    rec.trace("xnode-icmp-dst.txt", "kube-node1", tin,
              "the same arriving on kube-node1 from kube-node2's tunnel, delivered to sshd-2's port")
    f = lab.microflow("kube-node2", "client-1", EXTERNAL)
    rec.trace("external-src.txt", "kube-node2", f,
              f"client-1 -> {EXTERNAL}: cluster router, join switch, tunnel to the gateway chassis kube-master")


def generate_verdicts(lab: Lab, out: Path) -> list[Fixture]:
    """Every verdict class of issue 11 in one lab (real geneve vports)."""
    rec = _Recorder(lab, out)
    _xnode(rec, "geneve tunnel to kube-node1 (tnl_push)")
    f = lab.microflow("kube-node1", "web-1", "192.168.2.3")
    rec.trace("same-node-icmp.txt", "kube-node1", f, "web-1 -> sshd-2 on kube-node1: delivered to pod default/sshd-2")
    f = lab.microflow("kube-node2", "client-1", "192.168.2.3", proto="tcp", dport=22)
    src = lab.trace("kube-node2", f)
    tin = tunnel_in_flow_any(lab, src, "kube-node2", "kube-node1",
                             "tcp,nw_src=192.168.3.3,nw_dst=192.168.2.3,nw_ttl=63,tp_src=40000,tp_dst=22,tcp_flags=syn")
    rec.trace("acl-drop-dst.txt", "kube-node1", tin,
              "client-1 -> sshd-2 tcp/22 arriving on kube-node1: dropped and logged by ACL deny-ssh-from-client-1")
    f = lab.microflow("kube-node2", "client-1", "192.168.2.3", src_ip="192.168.3.99")
    rec.trace("port-security-drop.txt", "kube-node2", f, "client-1 spoofing 192.168.3.99: port security drop")
    c1 = lab.inventory.pod("client-1")
    f = (f"in_port={lab.ofport('kube-node2', c1.iface)},udp6,dl_src={c1.mac},"
         f"dl_dst={runbook.router_mac('rtos-kube-node2')},ipv6_src=fe80::800:ff:fe00:3,ipv6_dst={NOROUTE_V6},"
         "nw_ttl=64,udp_src=40000,udp_dst=53")
    rec.trace("port-security-v6.txt", "kube-node2", f,
              "client-1 sends IPv6 (its port security lists only 0a:00:00:00:00:03 192.168.3.3): dropped")
    mgmt = lab.inventory.node("kube-node2")
    f = (f"in_port={lab.ofport('kube-node2', 'k8s-kube-node2')},udp6,dl_src={runbook.mgmt_mac(mgmt)},"
         f"dl_dst={runbook.router_mac('rtos-kube-node2')},ipv6_src=fe80::858:c0ff:fea8:302,ipv6_dst={NOROUTE_V6},"
         "nw_ttl=64,udp_src=40000,udp_dst=53")
    rec.trace("no-route-v6.txt", "kube-node2", f,
              f"k8s-kube-node2 (no port security) -> {NOROUTE_V6}: the cluster router has no IPv6 route: dropped")
    f = lab.microflow("kube-node2", "client-1", "192.168.2.3", ttl=1)
    rec.trace("ttl-expiry.txt", "kube-node2", f,
              "client-1 -> sshd-2 with TTL 1: lr_in_ip_input of the cluster router, ICMP time exceeded "
              "via ovn-controller")
    f = lab.microflow("kube-node2", "client-1", PUNT_IP)
    rec.trace("arp-punt.txt", "kube-node2", f,
              f"client-1 -> {PUNT_IP} (no MAC known): the cluster router asks ovn-controller to ARP for it")
    f = lab.microflow("kube-node1", "sshd-2", FLOOD_IP, proto="arp")
    rec.trace("arp-flood.txt", "kube-node1", f,
              f"sshd-2 ARPs for {FLOOD_IP} (nobody's): flooded to every port of switch kube-node1")
    f = lab.microflow("kube-node1", "sshd-2", "192.168.2.1", proto="arp")
    rec.trace("arp-gateway.txt", "kube-node1", f,
              "sshd-2 ARPs for its gateway: the reply to sshd-2 plus the request flooded to the other ports")
    f = lab.microflow("kube-node1", "web-1", VIP, proto="tcp", dport=22)
    rec.trace("lb-vip.txt", "kube-node1", f, f"web-1 -> VIP {VIP}:22: load balancer default_sshd-svc, group select")
    rec.trace("lb-vip-ctnext.txt", "kube-node1", f, "the same with --ct-next trk,new",
              ct_next=("trk,new",))
    rec.trace("unknown-in-port.txt", "kube-node1", "in_port=999,ip,nw_src=10.0.0.1,nw_dst=10.0.0.2",
              "a packet from an in_port that does not exist")
    name, mac, ip = GHOST
    rec.nb(["ovn-nbctl", "--may-exist", "lsp-add", "kube-node1", name, "--", "lsp-set-addresses", name,
            f"{mac} {ip}"], f"{name}: a logical port on switch kube-node1 that no chassis binds")
    w1 = lab.inventory.pod("web-1")
    f = (f"in_port={lab.ofport('kube-node1', w1.iface)},icmp,dl_src={w1.mac},dl_dst={mac},nw_src={w1.ip},"
         f"nw_dst={ip},nw_ttl=64,icmp_type=8,icmp_code=0")
    rec.trace("unbound-outport.txt", "kube-node1", f,
              f"web-1 -> {name} ({ip}): the outport has no local or remote output flow (unbound)")
    central = lab.inventory.cluster.central
    lab.run(central, ["ovs-appctl", "fdb/add", "breth0", "eth0", "0", FDB_MAC])
    rec.fixtures.append(Fixture("-", central, f"ovs-appctl fdb/add breth0 eth0 0 {FDB_MAC}",
                                f"{FDB_MAC} in breth0's MAC table on eth0"))
    rec.trace("normal-learned-inport.txt", central, f"in_port=1,dl_src=02:00:00:00:00:bb,dl_dst={FDB_MAC}",
              "breth0 (plain OVS, NORMAL): the destination MAC was learned on the input port: dropped",
              bridge="breth0")
    generate_context(lab, out, rec.fixtures)
    return rec.fixtures


def vxlan_inventory() -> Inventory:
    """The bundled inventory with every chassis on VXLAN only (OVN then packs datapath and outport
    into the 24-bit VNI)."""
    inv = fixed_inventory()
    nodes = tuple(replace(n, encap_type="vxlan") for n in inv.nodes)
    return replace(inv, cluster=replace(inv.cluster, encap_type="vxlan"), nodes=nodes)


def generate_vxlan(lab: Lab, out: Path) -> list[Fixture]:
    rec = _Recorder(lab, out)
    _xnode(rec, "VXLAN tunnel to kube-node1 (tnl_push vxlan)")
    generate_context(lab, out, rec.fixtures)
    return rec.fixtures


def generate_dummy(lab: Lab, out: Path) -> list[Fixture]:
    rec = _Recorder(lab, out)
    _xnode(rec, "geneve tunnel port as a plain dummy: the datapath actions show a plain port")
    generate_context(lab, out, rec.fixtures)
    return rec.fixtures


#: --set NAME: (inventory, tunnel form, generator, default --out, what the set is)
SETS = {
    "main": (fixed_inventory, "vport", generate, "fixtures/lab", "real geneve vports"),
    "verdicts": (fixed_inventory, "vport", generate_verdicts, "fixtures/lab/verdicts",
                 "every verdict class of issue 11, real geneve vports"),
    "vxlan": (vxlan_inventory, "vport", generate_vxlan, "fixtures/lab/vxlan", "every chassis on VXLAN"),
    "dummy": (fixed_inventory, "dummy", generate_dummy, "fixtures/lab/dummy",
              "tunnel ports as plain dummies (`--enable-dummy=override`): no encapsulation in the datapath actions"),
}


def write_readme(lab: Lab, out: Path, fixtures: list[Fixture], set_name: str = "main") -> None:
    ovs, ovn = _versions(lab)
    gen = "python -m ovntrace.lab.fixtures" + (f" --set {set_name}" if set_name != "main" else "")
    gen += f" --out {SETS[set_name][3]}"
    manifest = {
        "ovs_version": ovs,
        "ovn_version": ovn,
        "set": set_name,
        "tunnels": lab.tunnels,
        "generator": gen,
        "files": [f.__dict__ for f in fixtures],
    }
    atomic_write(out / "manifest.json", json.dumps(manifest, indent=1) + "\n")
    if set_name == "main":
        datapath = [
            "- Datapath: `ovs-vswitchd --enable-dummy=system` (userspace dummy datapath, real geneve",
            "  vports: datapath actions show `tnl_push(...)` where the seed's kernel datapath shows",
            "  `set(tunnel(...))`).",
        ]
    else:
        datapath = [f"- Set `{set_name}`: {SETS[set_name][4]}; tunnel ports: `{lab.tunnels}`."]
    lines = [
        "# Lab fixtures: real traces from `ovntrace lab`" + (f" (set {set_name})" if set_name != "main" else ""),
        "",
        f"- Open vSwitch: `{ovs}` (Debian bookworm `openvswitch-switch` 3.1.0)",
        f"- OVN: `{ovn}` (Debian bookworm `ovn-central`/`ovn-host` 23.03.1)",
        *datapath,
        "- Cluster: the bundled inventory (the seed's kube-master / kube-node1 / kube-node2), with fixed",
        "  system-ids (uuid5 of `<node>.ovntrace-lab`) so that tunnel port names are stable.",
        "",
        "Regenerate everything (brings a lab up in a temporary dir, then down):",
        "",
        f"    {gen}",
        "",
        "Every trace was made with `ovntrace lab trace NODE FLOW [--ct-next F]`, which runs",
        "`ovs-appctl ofproto/trace br-int FLOW [--ct-next F]` with that node's environment",
        "(`ovntrace lab env NODE`); the shows ran with the same environment on the node named.",
        "`manifest.json` has the same table in JSON. Rows with file `-` are changes made before the",
        "traces that follow them.",
        "",
        "| file | node | command | shows |",
        "| --- | --- | --- | --- |",
    ]
    for f in fixtures:
        cmd = f.command.replace("|", "\\|")
        lines.append(f"| `{f.file}` | {f.node} | `{cmd}` | {f.shows} |")
    atomic_write(out / "README.md", "\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ovntrace.lab.fixtures", description=__doc__)
    ap.add_argument("--set", default="main", choices=sorted(SETS),
                    help="which fixture set: main (fixtures/lab), verdicts, vxlan, dummy (fixtures/lab/SET)")
    ap.add_argument("--out", default=None, help="default: the set's folder")
    ap.add_argument("--dir", default="/tmp/ovntrace-fixtures-lab")
    args = ap.parse_args(argv)
    make_inv, tunnels, gen, default_out, _ = SETS[args.set]
    try:
        lab = Lab.up(make_inv(), args.dir, tunnels=tunnels)
        try:
            out = Path(args.out or default_out)
            fixtures = gen(lab, out)
            write_readme(lab, out, fixtures, args.set)
        finally:
            lab.down()
    except LabError as e:
        print(f"ovntrace: {e}", file=sys.stderr)
        return e.exit_code
    print(f"wrote {len(fixtures)} fixtures to {args.out or default_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
