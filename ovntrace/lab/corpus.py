"""The truth corpus: real traces of one OVN release with that release's own oracles.

    python -m ovntrace.lab.corpus OUT --release 23.03|25.03 [--dir LAB_DIR]

brings a lab of that release up (the bundled inventory with the fixed system-ids of
``fixtures/lab``), traces every scenario of :data:`SCENARIOS`, and writes to ``OUT``
(``fixtures/truth/<release>/`` in the repository):

* ``<scenario>.txt``: ``ovs-appctl ofproto/trace br-int FLOW`` on the scenario's node;
* ``<scenario>.detrace.txt``: the real ``ovn-detrace --ovnsb=… --ovnnb=…`` *of that release* on it,
  against the live NB/SB (the oracle for stage names and logical flows);
* ``<phase>/ovnnb_db.db.gz``, ``<phase>/ovnsb_db.db.gz``: NB/SB after ``ovsdb-server/compact``, gzipped,
  for each phase (``geneve``: every scenario but VXLAN's; ``vxlan``: after kube-node1 and kube-node2
  switched to ``ovn-encap-type=vxlan``);
* ``<phase>/<node>/``: ``ovs-vsctl show``, ``ovs-ofctl show br-int``, ``ovs-appctl dpif/show`` and the
  compacted ``conf.db.gz`` of each node (the vxlan phase: the two VXLAN nodes);
* ``ovn-nbctl-show.txt``, ``ovn-sbctl-show.txt`` (geneve phase);
* ``ovn-debug.json`` (releases that ship ``ovn-debug``, 25.03): ``ovn-debug lflow-stage-to-oftable STAGE``
  and ``lflow-stage-to-ltable STAGE`` for every stage name of the SB and of ovntrace's stage list;
* ``manifest.json``: versions, every scenario (node, flow, phase, what it shows, the verdict it is built to
  show, checked here against OVS's own datapath actions) and every command.

Every scenario's expected verdict is checked against the trace while generating (a scenario that does not
show what it is built for fails the run), so the corpus never holds a trace that contradicts its label.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import shlex
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ovntrace.lab import runbook
from ovntrace.lab.errors import LabError
from ovntrace.lab.fixtures import EXTERNAL, VIP, fixed_inventory
from ovntrace.lab.inventory import atomic_write
from ovntrace.lab.lab import Lab

GHOST = ("default_ghost", "0a:00:00:00:00:99", "192.168.2.99")  # a logical port no chassis binds
FLOOD_TARGET = "192.168.2.77"  # no port has it: the ARP request floods
XNODE = "icmp,nw_src=192.168.3.3,nw_dst=192.168.2.3,nw_ttl=63,icmp_type=8,icmp_code=0"
SSH = "tcp,nw_src=192.168.3.3,nw_dst=192.168.2.3,nw_ttl=63,tp_src=40000,tp_dst=22,tcp_flags=syn"


@dataclass(frozen=True)
class Expect:
    """The verdict a scenario is built to show: ``kind`` as ovntrace's verdict (``ovn_kind`` when OVN
    meaning changes it), and what the last ``Datapath actions:`` line of the real trace must hold."""

    kind: str  # output | tunnel | drop | controller | recirc
    actions: str  # a regex the datapath actions line must match (checked while generating)
    note: str = ""


@dataclass(frozen=True)
class Scenario:
    name: str
    node: str
    flow: Callable[[Lab, dict[str, str]], str]  # (lab, traces so far) -> microflow
    shows: str
    expect: Expect
    phase: str = "geneve"
    covers: tuple[str, ...] = ()  # the scenario names this one stands for
    bridge: str = "br-int"


def _last_actions(trace: str) -> str:
    lines = [ln for ln in trace.splitlines() if ln.startswith("Datapath actions:")]
    return lines[-1][len("Datapath actions:") :].strip() if lines else ""


def tunnel_arrival(lab: Lab, src_trace: str, dst_node: str, payload: str) -> str:
    """The flow as it arrives on ``dst_node`` through the tunnel that ``src_trace`` ends in (geneve or
    vxlan ``tnl_push``): the tunnel port whose remote_ip is the source, the key, the Geneve option, the
    inner Ethernet addresses from the source's ``set(eth(...))``."""
    actions = _last_actions(src_trace)
    ip = re.search(r"tnl_push\(.*?ipv4\(src=([\d.]+),dst=([\d.]+),", actions)
    if not ip:
        raise LabError(f"no tnl_push in: {actions[:200]}")
    tun_src, tun_dst = ip.groups()
    gen = re.search(r"geneve\(crit,vni=(0x[0-9a-f]+),options\(\{[^}]*,(0x[0-9a-f]+)\}", actions)
    vx = re.search(r"vxlan\(flags=0x[0-9a-f]+,vni=(0x[0-9a-f]+)\)", actions)
    if gen:
        tun = f"tun_id={gen.group(1)},tun_src={tun_src},tun_dst={tun_dst},tun_metadata0={gen.group(2)}"
    elif vx:
        tun = f"tun_id={vx.group(1)},tun_src={tun_src},tun_dst={tun_dst}"
    else:
        raise LabError(f"neither geneve nor vxlan in: {actions[:300]}")
    port = lab.run(dst_node, ["ovs-vsctl", "--bare", "--columns=ofport", "find", "Interface",
                              f"options:remote_ip={runbook.atom(tun_src)}"]).strip()  # fmt: skip
    if not port.isdigit():
        raise LabError(f"no tunnel port for {tun_src} on {dst_node}: {port!r}")
    flow = f"in_port={port},{tun},{payload}"
    eth = re.search(r"set\(eth\(src=([0-9a-f:]+),dst=([0-9a-f:]+)\)\)", actions)
    if eth:
        flow += f",dl_src={eth.group(1)},dl_dst={eth.group(2)}"
    return flow


def _ghost_flow(lab: Lab, _t: dict[str, str]) -> str:
    web = lab.inventory.pod("web-1")
    port = lab.ofport("kube-node1", web.iface)
    return (f"in_port={port},icmp,dl_src={web.mac},dl_dst={GHOST[1]},nw_src={web.ip},nw_dst={GHOST[2]},"
            "nw_ttl=64,icmp_type=8,icmp_code=0")  # fmt: skip


def _external_in(lab: Lab, _t: dict[str, str]) -> str:
    n = lab.inventory.node("kube-master")
    assert n.gateway is not None
    gw_ip = n.gateway.physical_ip.split("/")[0]
    return (f"in_port=1,icmp,dl_src={runbook.ip_mac(n.gateway.default_gw)},"
            f"dl_dst={runbook.router_mac('rtoe-GR_kube-master')},nw_src={EXTERNAL},nw_dst={gw_ip},nw_ttl=64,"
            "icmp_type=8,icmp_code=0")  # fmt: skip


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("xnode-icmp-src", "kube-node2", lambda lab, t: lab.microflow("kube-node2", "client-1", "192.168.2.3"),
             "client-1 -> sshd-2 icmp, source node: switch, cluster router, switch ingress, geneve tunnel",
             Expect("tunnel", r"tnl_push\(.*dst=172\.17\.42\.31.*geneve\("), covers=("cross-node",)),
    Scenario("xnode-icmp-dst", "kube-node1",
             lambda lab, t: tunnel_arrival(lab, t["xnode-icmp-src"], "kube-node1", XNODE),
             "the same arriving on kube-node1 from the geneve tunnel: egress pipeline, delivered to sshd-2",
             Expect("output", r"(^|,)\d+$"), covers=("cross-node",)),
    Scenario("same-node-icmp", "kube-node1", lambda lab, t: lab.microflow("kube-node1", "web-1", "192.168.2.3"),
             "web-1 -> sshd-2 on the same node and switch", Expect("output", r"(^|,)\d+$"), covers=("same-node",)),
    Scenario("acl-ssh-src", "kube-node2",
             lambda lab, t: lab.microflow("kube-node2", "client-1", "192.168.2.3", proto="tcp", dport=22),
             "client-1 -> sshd-2 tcp/22, source node: leaves by the tunnel (the ACL is to-lport)",
             Expect("tunnel", r"tnl_push\(")),
    Scenario("acl-drop-dst", "kube-node1", lambda lab, t: tunnel_arrival(lab, t["acl-ssh-src"], "kube-node1", SSH),
             "the same arriving on kube-node1: dropped and logged by the to-lport ACL deny-ssh-from-client-1",
             Expect("drop", r"userspace\(.*controller", "OVS sends the log to the controller; OVN's verdict: drop"),
             covers=("ACL drop with log",)),
    Scenario("port-security-drop", "kube-node2",
             lambda lab, t: lab.microflow("kube-node2", "client-1", "192.168.2.3", src_ip="192.168.3.99"),
             "client-1 with the spoofed source 192.168.3.99: dropped by port security",
             Expect("drop", r"^drop$"), covers=("port security",)),
    Scenario("lb-vip-cross-node", "kube-node2",
             lambda lab, t: lab.microflow("kube-node2", "client-1", VIP, proto="tcp", dport=22),
             f"client-1 -> VIP {VIP}:22: the load balancer's stages up to its select group, whose "
             "hash+recirc ofproto/trace does not follow",
             Expect("recirc", r"hash\(.*recirc\(0x[0-9a-f]+\)$", "the trace stops at the LB group's recirc"),
             covers=("LB VIP",)),
    Scenario("external-src", "kube-node2", lambda lab, t: lab.microflow("kube-node2", "client-1", EXTERNAL),
             f"client-1 -> {EXTERNAL}, source node: cluster router, join switch, tunnel to the gateway kube-master",
             Expect("tunnel", r"tnl_push\(.*dst=172\.17\.42\.30"), covers=("gateway to external",)),
    Scenario("external-gw", "kube-master",
             lambda lab, t: tunnel_arrival(lab, t["external-src"], "kube-master",
                                           f"icmp,nw_src=192.168.3.3,nw_dst={EXTERNAL},nw_ttl=63,icmp_type=8"),
             "the same arriving on kube-master: GR_kube-master SNAT, external switch, localnet port to breth0",
             Expect("output", r"(^|,)\d+$"), covers=("gateway to external",)),
    Scenario("external-in", "kube-master", _external_in,
             f"{EXTERNAL} pings GR_kube-master's external address, arriving on breth0's NIC (traced on breth0): "
             "NORMAL, patch to br-int, localnet, GR_kube-master answers; the reply floods out of breth0",
             Expect("output", r"(^|,)\d+$"), covers=("gateway from external",), bridge="breth0"),
    Scenario("arp-gateway", "kube-node1",
             lambda lab, t: lab.microflow("kube-node1", "sshd-2", "192.168.2.1", proto="arp"),
             "sshd-2 ARPs for its gateway 192.168.2.1: OVN's ARP responder answers on the same port",
             Expect("output", r"set\(arp\(.*\)\),\d+$|(^|,)\d+$"), covers=("ARP",)),
    Scenario("unknown-in-port", "kube-node1", lambda lab, t: "in_port=999,ip,nw_src=10.0.0.1,nw_dst=10.0.0.2",
             "a packet from an in_port that does not exist", Expect("drop", r"^drop$"), covers=("unknown port",)),
    Scenario("unbound-port", "kube-node1", _ghost_flow,
             f"web-1 -> {GHOST[2]}, the logical port {GHOST[0]} that no chassis binds: dropped",
             Expect("drop", r"^(?!.*tnl_push)(?!.*(^|,)\d+($|,)).*$", "committed to conntrack, output nowhere"),
             covers=("unbound port",)),
    Scenario("ttl-expired", "kube-node2",
             lambda lab, t: lab.microflow("kube-node2", "client-1", "192.168.2.3", ttl=1),
             "client-1 -> sshd-2 with TTL 1: the cluster router's icmp4 time exceeded (to ovn-controller)",
             Expect("controller", r".*", "OVN's controller action (pause): no output"), covers=("TTL expiry",)),
    Scenario("flood-arp", "kube-node1",
             lambda lab, t: lab.microflow("kube-node1", "sshd-2", FLOOD_TARGET, proto="arp"),
             f"sshd-2 ARPs for {FLOOD_TARGET}, which no port has: flooded to the switch's other ports",
             Expect("output", r"\d+,.*\d+$"), covers=("flood",)),
    Scenario("vxlan-icmp-src", "kube-node2",
             lambda lab, t: lab.microflow("kube-node2", "client-1", "192.168.2.3"),
             "client-1 -> sshd-2 icmp with kube-node1 and kube-node2 on VXLAN: the tunnel is vxlan",
             Expect("tunnel", r"tnl_push\(.*dst=172\.17\.42\.31.*vxlan\("), phase="vxlan", covers=("VXLAN",)),
    Scenario("vxlan-icmp-dst", "kube-node1",
             lambda lab, t: tunnel_arrival(lab, t["vxlan-icmp-src"], "kube-node1", XNODE),
             "the same arriving on kube-node1 from the VXLAN tunnel (no logical inport in the key)",
             Expect("output", r"(^|,)\d+$"), phase="vxlan", covers=("VXLAN",)),
)  # fmt: skip
VXLAN_NODES = ("kube-node1", "kube-node2")


@dataclass
class Writer:
    out: Path
    files: list[dict[str, str]] = field(default_factory=list)

    def text(self, rel: str, text: str, node: str, command: str, shows: str) -> None:
        p = self.out / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(p, text)
        self.files.append({"file": rel, "node": node, "command": command, "shows": shows})

    def gz(self, rel: str, src: Path, node: str, command: str, shows: str) -> None:
        p = self.out / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        data = gzip.compress(src.read_bytes(), compresslevel=9, mtime=0)
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(p)
        self.files.append({"file": rel, "node": node, "command": command, "shows": shows})


def _remotes(lab: Lab) -> tuple[str, str]:
    c = lab.inventory.cluster
    return f"tcp:{c.db_address}:{c.sb_port}", f"tcp:{c.db_address}:{c.nb_port}"


def detrace(lab: Lab, trace: str) -> str:
    """The release's own ``ovn-detrace`` on ``trace`` (in the lab's chroot for a chroot lab)."""
    sb, nb = _remotes(lab)
    out = lab.run(lab.inventory.cluster.central, ["ovn-detrace", f"--ovnsb={sb}", f"--ovnnb={nb}"], stdin=trace)
    if out.startswith("ERROR:"):
        raise LabError(f"ovn-detrace: {out[:300]}")
    return out


def _compact_copy(lab: Lab, node: str, ctl: str, db: str, w: Writer, rel: str, shows: str) -> None:
    d = lab.rnode_dir(node)
    lab.run(node, ["ovs-appctl", "-t", f"{d}/{ctl}", "ovsdb-server/compact"])
    w.gz(rel, lab.host_path(f"{d}/{db}"), node, f"ovsdb-server/compact; gzip < {db}", shows)


def _ovsdb_server_ctl(lab: Lab, node: str) -> str:
    pid = (lab.host_path(lab.rnode_dir(node)) / "ovsdb-server.pid").read_text().strip()
    return f"ovsdb-server.{pid}.ctl"


def dump_phase(lab: Lab, w: Writer, phase: str, nodes: tuple[str, ...]) -> None:
    central = lab.inventory.cluster.central
    for db in ("ovnnb_db", "ovnsb_db"):
        which = "Northbound" if db == "ovnnb_db" else "Southbound"
        _compact_copy(lab, central, f"{db}.ctl", f"{db}.db", w, f"{phase}/{db}.db.gz", f"the {which} database")
    for n in nodes:
        for argv, name in ((["ovs-vsctl", "show"], "ovs-vsctl-show.txt"),
                           (["ovs-ofctl", "show", "br-int"], "ovs-ofctl-show-br-int.txt"),
                           (["ovs-appctl", "dpif/show"], "dpif-show.txt")):  # fmt: skip
            w.text(f"{phase}/{n}/{name}", lab.run(n, argv), n, shlex.join(argv), f"{n}: {' '.join(argv)}")
        _compact_copy(lab, n, _ovsdb_server_ctl(lab, n), "conf.db", w, f"{phase}/{n}/conf.db.gz",
                      f"{n}'s Open_vSwitch database")  # fmt: skip


def _switch_to_vxlan(lab: Lab) -> None:
    for n in VXLAN_NODES:
        lab.run(n, ["ovs-vsctl", "set", "Open_vSwitch", ".", "external_ids:ovn-encap-type=vxlan"])
    deadline = time.monotonic() + 30
    while True:
        kinds = {
            n: lab.run(n, ["ovs-vsctl", "--bare", "--columns=type", "find", "Interface",
                           f"options:remote_ip={runbook.atom(lab.inventory.node(o).encap_ip)}"]).strip()
            for n, o in (("kube-node2", "kube-node1"), ("kube-node1", "kube-node2"))
        }  # fmt: skip
        if all(k == "vxlan" for k in kinds.values()):
            break
        if time.monotonic() > deadline:
            raise LabError(f"kube-node1/kube-node2 tunnels did not become vxlan: {kinds}")
        time.sleep(0.2)
    lab.run(lab.inventory.cluster.central, ["ovn-nbctl", "--wait=hv", "--timeout=60", "sync"])


def stage_names(lab: Lab) -> list[str]:
    """Every stage name of the SB's logical flows and of ovntrace's list for this release."""
    from ovntrace.ovn.stages import stage_set

    out = lab.run(lab.inventory.cluster.central,
                  ["ovn-sbctl", "--bare", "--columns=external_ids", "list", "Logical_Flow"])  # fmt: skip
    names = set(re.findall(r"stage-name=([a-z0-9_]+)", out))
    ss = stage_set(lab.versions.get("ovn"))
    for dp in ("switch", "router"):
        for pl in ("ingress", "egress"):
            names |= set(ss.names(dp, pl))
    return sorted(names)


def ovn_debug(lab: Lab) -> dict[str, object]:
    node = lab.inventory.cluster.central
    stages: dict[str, dict[str, object]] = {}
    for name in stage_names(lab):
        row: dict[str, object] = {}
        for cmd, key in (("lflow-stage-to-oftable", "oftable"), ("lflow-stage-to-ltable", "ltable")):
            text = lab.sh(node, f"ovn-debug {cmd} {shlex.quote(name)} 2>&1", check=False).strip()
            row[key] = int(text) if text.isdigit() else None
            if not text.isdigit():
                row[key + "_error"] = text[:200]
        stages[name] = row
    return {"command": "ovn-debug lflow-stage-to-oftable STAGE; ovn-debug lflow-stage-to-ltable STAGE",
            "version": lab.run(node, ["ovn-debug", "--version"]).strip().splitlines()[0], "stages": stages}


def generate(lab: Lab, out: Path) -> dict[str, object]:
    out.mkdir(parents=True, exist_ok=True)
    w = Writer(out)
    central = lab.inventory.cluster.central
    # the unbound port: in NB (so northd gives it flows and a key) but bound on no chassis
    name, mac, ip = GHOST
    lab.run(central, ["ovn-nbctl", "--may-exist", "lsp-add", "kube-node1", name, "--",
                      "lsp-set-addresses", name, f"{mac} {ip}"])  # fmt: skip
    lab.run(central, ["ovn-nbctl", "--wait=hv", "--timeout=60", "sync"])
    traces: dict[str, str] = {}
    scenarios: list[dict[str, object]] = []
    for phase in ("geneve", "vxlan"):
        if phase == "vxlan":
            dump_phase(lab, w, "geneve", tuple(lab.inventory.node_names))
            for f, argv in (("ovn-nbctl-show.txt", ["ovn-nbctl", "show"]),
                            ("ovn-sbctl-show.txt", ["ovn-sbctl", "show"])):  # fmt: skip
                w.text(f, lab.run(central, argv), central, shlex.join(argv), " ".join(argv))
            _switch_to_vxlan(lab)
        for sc in (s for s in SCENARIOS if s.phase == phase):
            flow = sc.flow(lab, traces)
            trace = lab.trace(sc.node, flow, bridge=sc.bridge)
            actions = _last_actions(trace)
            if not re.search(sc.expect.actions, actions):
                raise LabError(f"scenario {sc.name}: datapath actions {actions[:300]!r} do not show "
                               f"{sc.expect.kind} (want /{sc.expect.actions}/)")  # fmt: skip
            traces[sc.name] = trace
            w.text(f"{sc.name}.txt", trace, sc.node, shlex.join(lab.trace_argv(sc.node, flow, sc.bridge)), sc.shows)
            det = detrace(lab, trace)
            w.text(f"{sc.name}.detrace.txt", det, central, f"ovn-detrace --ovnsb=SB --ovnnb=NB < {sc.name}.txt",
                   f"the release's own ovn-detrace on {sc.name}.txt")  # fmt: skip
            scenarios.append({"name": sc.name, "node": sc.node, "bridge": sc.bridge, "flow": flow, "phase": phase,
                              "shows": sc.shows,
                              "covers": list(sc.covers), "trace": f"{sc.name}.txt",
                              "detrace": f"{sc.name}.detrace.txt",
                              "expect": {"kind": sc.expect.kind, "datapath_actions": sc.expect.actions,
                                         "note": sc.expect.note},
                              "db": {"nb": f"{phase}/ovnnb_db.db.gz", "sb": f"{phase}/ovnsb_db.db.gz"}})  # fmt: skip
    dump_phase(lab, w, "vxlan", VXLAN_NODES)
    debug = None
    if lab.host_path("/usr/bin/ovn-debug").exists():
        debug = ovn_debug(lab)
        w.text("ovn-debug.json", json.dumps(debug, indent=1, sort_keys=True) + "\n", central,
               "ovn-debug lflow-stage-to-oftable/ltable STAGE", "every stage's OpenFlow and logical table")  # fmt: skip
    detrace_version = lab.run(central, ["ovn-detrace", "--version"]).strip().splitlines()[0]
    manifest: dict[str, object] = {
        "generator": f"python -m ovntrace.lab.corpus OUT --release {lab.release}",
        "release": lab.release,
        "versions": {**lab.versions, "ovn-detrace": detrace_version,
                     "root": "host packages" if lab.root is None else "chroot (ovntrace.lab.rootfs)"},
        "tunnels": lab.tunnels,
        "scenarios": scenarios,
        "files": w.files,
    }  # fmt: skip
    atomic_write(out / "manifest.json", json.dumps(manifest, indent=1) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ovntrace.lab.corpus", description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("out", type=Path, help="output directory (fixtures/truth/RELEASE)")
    ap.add_argument("--release", choices=["23.03", "25.03"], help="OVN release (default: the host's)")
    ap.add_argument("--dir", type=Path, help="the (temporary) lab dir (default: /tmp/ovntrace-corpus-RELEASE)")
    args = ap.parse_args(argv)
    lab_dir = args.dir or Path(f"/tmp/ovntrace-corpus-{args.release or 'host'}")
    try:
        lab = Lab.up(fixed_inventory(), lab_dir, release=args.release, progress=print)
        try:
            out = args.out.absolute()
            if out.exists():
                shutil.rmtree(out)
            m = generate(lab, out)
        finally:
            lab.down()
    except LabError as e:
        print(f"ovntrace: {e}", file=sys.stderr)
        return e.exit_code
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"wrote {len(m['scenarios'])} scenarios, {len(m['files'])} files, {total} bytes to {out}")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
