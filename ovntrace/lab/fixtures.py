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
from ovntrace.lab.inventory import atomic_write
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

    def show(file: str, node: str, argv: list[str], shows: str) -> None:
        atomic_write(out / file, lab.run(node, argv))
        fixtures.append(Fixture(file, node, shlex.join(argv), shows))

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

    # show outputs
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
    return fixtures


def write_readme(lab: Lab, out: Path, fixtures: list[Fixture]) -> None:
    ovs, ovn = _versions(lab)
    manifest = {
        "ovs_version": ovs,
        "ovn_version": ovn,
        "generator": "python -m ovntrace.lab.fixtures --out fixtures/lab",
        "files": [f.__dict__ for f in fixtures],
    }
    atomic_write(out / "manifest.json", json.dumps(manifest, indent=1) + "\n")
    lines = [
        "# Lab fixtures: real traces from `ovntrace lab`",
        "",
        f"- Open vSwitch: `{ovs}` (Debian bookworm `openvswitch-switch` 3.1.0)",
        f"- OVN: `{ovn}` (Debian bookworm `ovn-central`/`ovn-host` 23.03.1)",
        "- Datapath: `ovs-vswitchd --enable-dummy=system` (userspace dummy datapath, real geneve",
        "  vports: datapath actions show `tnl_push(...)` where the seed's kernel datapath shows",
        "  `set(tunnel(...))`).",
        "- Cluster: the bundled inventory (the seed's kube-master / kube-node1 / kube-node2), with fixed",
        "  system-ids (uuid5 of `<node>.ovntrace-lab`) so that tunnel port names are stable.",
        "",
        "Regenerate everything (brings a lab up in a temporary dir, then down):",
        "",
        "    python -m ovntrace.lab.fixtures --out fixtures/lab",
        "",
        "Every trace was made with `ovntrace lab trace NODE FLOW [--ct-next F]`, which runs",
        "`ovs-appctl ofproto/trace br-int FLOW [--ct-next F]` with that node's environment",
        "(`ovntrace lab env NODE`); the shows ran with the same environment on the node named.",
        "`manifest.json` has the same table in JSON.",
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
    ap.add_argument("--out", default="fixtures/lab")
    ap.add_argument("--dir", default="/tmp/ovntrace-fixtures-lab")
    args = ap.parse_args(argv)
    try:
        lab = Lab.up(fixed_inventory(), args.dir)
        try:
            out = Path(args.out)
            fixtures = generate(lab, out)
            write_readme(lab, out, fixtures)
        finally:
            lab.down()
    except LabError as e:
        print(f"ovntrace: {e}", file=sys.stderr)
        return e.exit_code
    print(f"wrote {len(fixtures)} fixtures to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
