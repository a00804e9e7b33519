"""Regenerate ``fixtures/lab/ovn-trace/``: real ``ovn-trace`` output against the lab's NB/SB databases.

    python -m ovntrace.lab.ovntrace_fixtures [--out fixtures/lab/ovn-trace] [--db-dir fixtures/lab]

Copies the lab's ``ovnnb_db.db``/``ovnsb_db.db`` (made by ``python -m ovntrace.lab.fixtures``) next to
the traces, serves a copy of them read-only with the host's ``ovsdb-server`` on a Unix socket in a
temporary directory, runs the host's ``ovn-trace`` (Debian 12: OVN 23.03.1) for every case below in
the formats asked, and writes each output verbatim, preceded by the ``$ ovn-trace ...`` command line
(as a user would paste it). ``manifest.json`` lists file -> command -> what it shows.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ovntrace.lab.inventory import atomic_write

WEB1 = ("default_web-1", "0a:00:00:00:00:02", "192.168.2.4")
SSHD2 = ("default_sshd-2", "0a:00:00:00:00:01", "192.168.2.3")
CLIENT1 = ("default_client-1", "0a:00:00:00:00:03", "192.168.3.3")
RTOS_NODE1_MAC = "00:00:00:55:04:77"
RTOS_NODE2_MAC = "00:00:00:06:df:25"
VIP = "10.96.0.22"


@dataclass(frozen=True)
class Case:
    name: str
    datapath: str
    microflow: str
    shows: str
    options: tuple[str, ...] = ()
    formats: tuple[str, ...] = ("detailed", "summary", "minimal")


def _ip(src: tuple[str, str, str], dst_mac: str, dst_ip: str, l4: str) -> str:
    port, mac, ip = src
    return (f'inport == "{port}" && eth.src == {mac} && eth.dst == {dst_mac} && '
            f"ip4.src == {ip} && ip4.dst == {dst_ip} && ip.ttl == 64 && {l4}")


ICMP = "icmp4 && icmp4.type == 8 && icmp4.code == 0"
SSH = "tcp && tcp.src == 40000 && tcp.dst == 22 && tcp.flags == 0x2"

CASES: tuple[Case, ...] = (
    Case("same-node-icmp", "kube-node1", _ip(WEB1, SSHD2[1], SSHD2[2], ICMP),
         "web-1 -> sshd-2 on one switch (icmp): delivered to default_sshd-2"),
    Case("same-node-icmp-ct-est", "kube-node1", _ip(WEB1, SSHD2[1], SSHD2[2], ICMP),
         "the same with --ct=est,trk (every ct_next gets est)", ("--ct=est,trk",)),
    Case("router-hop-icmp", "kube-node2", _ip(CLIENT1, RTOS_NODE2_MAC, SSHD2[2], ICMP),
         "client-1 -> sshd-2 across the cluster router: switch, router, switch; delivered"),
    Case("acl-drop", "kube-node2", _ip(CLIENT1, RTOS_NODE2_MAC, SSHD2[2], SSH),
         "client-1 -> sshd-2 tcp/22: dropped by the to-lport ACL deny-ssh-from-client-1"),
    Case("acl-drop-ct-new", "kube-node2", _ip(CLIENT1, RTOS_NODE2_MAC, SSHD2[2], SSH),
         "the same with --ct=new,trk", ("--ct=new,trk",)),
    Case("lb-vip", "kube-node1", _ip(WEB1, RTOS_NODE1_MAC, VIP, SSH),
         "web-1 -> VIP 10.96.0.22:22 with ovn-trace's default ct_state (est): the LB stage does not apply, "
         "the packet is routed out of the gateway"),
    Case("lb-vip-ct-new-est", "kube-node1", _ip(WEB1, RTOS_NODE1_MAC, VIP, SSH),
         "the same with --ct=new,trk --ct=est,trk: load balanced (default_sshd-svc) to sshd-2",
         ("--ct=new,trk", "--ct=est,trk")),
    Case("port-security-drop", "kube-node2", _ip((CLIENT1[0], CLIENT1[1], "192.168.3.99"), RTOS_NODE2_MAC,
                                                  SSHD2[2], ICMP),
         "client-1 with spoofed source 192.168.3.99: dropped by port security"),
    Case("arp-flood", "kube-node1",
         f'inport == "{WEB1[0]}" && eth.src == {WEB1[1]} && eth.dst == ff:ff:ff:ff:ff:ff && arp.op == 1 && '
         f"arp.sha == {WEB1[1]} && arp.spa == {WEB1[2]} && arp.tha == 00:00:00:00:00:00 && arp.tpa == 192.168.2.99",
         "web-1 ARP request for an unknown address: flooded to the switch's ports (multicast group)"),
    Case("arp-gateway", "kube-node1",
         f'inport == "{WEB1[0]}" && eth.src == {WEB1[1]} && eth.dst == ff:ff:ff:ff:ff:ff && arp.op == 1 && '
         f"arp.sha == {WEB1[1]} && arp.spa == {WEB1[2]} && arp.tha == 00:00:00:00:00:00 && arp.tpa == 192.168.2.1",
         "web-1 ARP request for its gateway 192.168.2.1: answered"),
    Case("arp-reply-to-router", "kube-node1",
         f'inport == "{WEB1[0]}" && eth.src == {WEB1[1]} && eth.dst == {RTOS_NODE1_MAC} && arp.op == 2 && '
         f"arp.sha == {WEB1[1]} && arp.spa == {WEB1[2]} && arp.tha == {RTOS_NODE1_MAC} && arp.tpa == 192.168.2.1",
         "web-1 answers the router's ARP: the router learns the binding (put_arp, to ovn-controller)"),
    Case("ttl-expired", "kube-node2", _ip(CLIENT1, RTOS_NODE2_MAC, SSHD2[2], ICMP).replace("ip.ttl == 64",
                                                                                          "ip.ttl == 1"),
         "client-1 -> sshd-2 with TTL 1: the router answers with ICMP time exceeded (icmp4)"),
    Case("unknown-dst-mac", "kube-node1", _ip(WEB1, "0a:00:00:00:00:99", "192.168.2.99", ICMP),
         "web-1 -> an unknown MAC on its switch"),
)


def _wait_socket(path: Path, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > end:
            raise RuntimeError(f"ovsdb-server did not create {path}")
        time.sleep(0.05)


def command_line(case: Case, fmt: str, db: str) -> list[str]:
    return ["ovn-trace", f"--db={db}", f"--{fmt}", *case.options, case.datapath, case.microflow]


def generate(out: Path, db_dir: Path) -> list[dict[str, str]]:
    """Write every case's traces into ``out`` (with the db files); returns the manifest rows."""
    out.mkdir(parents=True, exist_ok=True)
    for db in ("ovnnb_db.db", "ovnsb_db.db"):
        if (db_dir / db).resolve() != (out / db).resolve():
            shutil.copyfile(db_dir / db, out / db)
    rows: list[dict[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="ovntrace-ovn-trace-") as tmp:
        t = Path(tmp)
        shutil.copyfile(out / "ovnsb_db.db", t / "sb.db")
        sock = t / "sb.sock"
        proc = subprocess.Popen(
            ["ovsdb-server", str(t / "sb.db"), f"--remote=punix:{sock}", f"--unixctl={t / 'ctl'}",
             "--no-chdir", f"--log-file={t / 'log'}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_socket(sock)
            version = subprocess.run(["ovn-trace", "--version"], capture_output=True, text=True,
                                     check=True).stdout.splitlines()[0]
            for case in CASES:
                for fmt in case.formats:
                    argv = command_line(case, fmt, f"unix:{sock}")
                    r = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
                    shown = ["ovn-trace", "--db=unix:sb.sock", *argv[2:]]
                    text = "$ " + shlex.join(shown) + "\n" + r.stdout + r.stderr
                    name = f"{case.name}-{fmt}.txt"
                    atomic_write(out / name, text)
                    rows.append({"file": name, "command": shlex.join(shown), "shows": case.shows,
                                 "version": version, "exit": str(r.returncode)})
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    atomic_write(out / "manifest.json", json.dumps(rows, indent=2) + "\n")
    return rows


OVS_CASES: tuple[tuple[str, Case], ...] = tuple(
    (node, c) for c in CASES for node in ("kube-node1" if c.datapath == "kube-node1" else "kube-node2",)
    if c.name in ("same-node-icmp", "router-hop-icmp", "acl-drop", "arp-flood") and not c.options)


def generate_ovs(lab: Any, out: Path) -> list[dict[str, str]]:
    """``ovn-trace --ovs`` needs the node's running ovs-vswitchd (it dumps br-int's flows for each
    lflow): run against a live lab (:class:`~ovntrace.lab.lab.Lab`), on the node holding the inport; the
    lab's NB/SB (compacted) are copied beside the traces, since lflow UUIDs differ from lab to lab."""
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, str]] = []
    central = lab.inventory.cluster.central
    for node, case in OVS_CASES:
        argv = ["ovn-trace", "--ovs", "--detailed", case.datapath, case.microflow]
        text = lab.run(node, argv)
        shown = "$ " + shlex.join(argv) + "\n"
        name = f"{case.name}-ovs-detailed.txt"
        atomic_write(out / name, shown + text)
        rows.append({"file": name, "node": node, "command": shlex.join(argv), "shows": case.shows + " (--ovs)"})
    d = lab.rnode_dir(central)
    for db in ("ovnnb_db.db", "ovnsb_db.db"):
        shutil.copyfile(lab.host_path(f"{d}/{db}"), out / db)
    atomic_write(out / "manifest.json", json.dumps(rows, indent=2) + "\n")
    return rows


# --ovs on the live lab: one case per shape (delivery, router hop, ACL drop, LB, flood)
LIVE_OVS = ("same-node-icmp", "router-hop-icmp", "acl-drop", "lb-vip-ct-new-est", "arp-flood")


def _inport_node(case: Case) -> str:
    return case.datapath  # the lab's pods are bound on the node their switch is named after


def generate_live(lab: Any, out: Path, pairs_only: bool = False) -> list[dict[str, str]]:
    """Every case of :data:`CASES` in every format, and the :data:`LIVE_OVS` cases with ``--ovs``, run by
    the lab's own ``ovn-trace`` (for a chroot lab: the release's binary, e.g. OVN 25.03) against its live SB
    (the central node's socket; ``--ovs`` on the node holding the inport, whose br-int flows it prints).
    The lab's NB/SB (compacted copies) are written beside the traces: lflow UUIDs differ from lab to lab."""
    out.mkdir(parents=True, exist_ok=True)
    central = lab.inventory.cluster.central
    version = lab.run(central, ["ovn-trace", "--version"]).splitlines()[0]
    rows: list[dict[str, str]] = []

    def one(node: str, name: str, argv: list[str], shows: str) -> None:
        r = lab.sh(node, shlex.join(argv) + " 2>&1; echo \"exit=$?\"", check=False)
        body, _, code = r.rstrip("\n").rpartition("\n")
        body = (body + "\n") if body else ""
        shown = "$ " + shlex.join(argv) + "\n"
        atomic_write(out / name, shown + body)
        rows.append({"file": name, "node": node, "command": shlex.join(argv), "shows": shows,
                     "version": version, "exit": code.removeprefix("exit=")})

    for case in () if pairs_only else CASES:
        for fmt in case.formats:
            one(central, f"{case.name}-{fmt}.txt", ["ovn-trace", f"--{fmt}", *case.options, case.datapath,
                                                    case.microflow], case.shows)
    for case in () if pairs_only else CASES:
        if case.name in LIVE_OVS:
            node = _inport_node(case)
            one(node, f"{case.name}-ovs-detailed.txt", ["ovn-trace", "--ovs", "--detailed", *case.options,
                                                          case.datapath, case.microflow], case.shows + " (--ovs)")
    rows += generate_pairs(lab, out, version)
    d = lab.rnode_dir(central)
    for db, sock in (("ovnnb_db.db", "ovnnb_db.sock"), ("ovnsb_db.db", "ovnsb_db.sock")):
        tmp = f"{d}/{db}.copy"
        lab.sh(central, f"ovsdb-client backup unix:{shlex.quote(d + '/' + sock)} > {shlex.quote(tmp)}")
        lab.run(central, ["ovsdb-tool", "compact", tmp])
        shutil.copyfile(lab.host_path(tmp), out / db)
        lab.run(central, ["rm", "-f", tmp])
    atomic_write(out / "manifest.json", json.dumps(rows, indent=2) + "\n")
    return rows


def _case(name: str) -> Case:
    return next(c for c in CASES if c.name == name)


def _pasted(argv: list[str], text: str) -> str:
    return "$ " + shlex.join(argv) + "\n" + text + ("" if text.endswith("\n") or not text else "\n")


def lflow_flows(lab: Any, node: str, uuid_prefix: str) -> list[str]:
    """``node``'s br-int flows whose cookie is the lflow's (the first 32 bits of its UUID), as
    ``ovs-ofctl --no-stats dump-flows`` prints them."""
    out = lab.run(node, ["ovs-ofctl", "--no-stats", "dump-flows", "br-int", f"cookie=0x{uuid_prefix}/-1"])
    return [ln.strip() for ln in out.splitlines() if ln.strip().startswith("cookie=")]


def delete_flow(lab: Any, node: str, flow: str) -> str:
    """``ovs-ofctl del-flows --strict`` of one dumped flow (its cookie and actions left out); the spec."""
    body = re.sub(r"^cookie=0x[0-9a-f]+,\s*", "", flow)
    spec = body.split(" actions=")[0].strip()
    lab.run(node, ["ovs-ofctl", "del-flows", "--strict", "br-int", spec])
    return spec


def restore_flow(lab: Any, node: str, flow: str) -> None:
    """Put back a flow :func:`delete_flow` deleted, as dumped (cookie, match, actions): ovn-controller's
    ``recompute`` does not, since what it believes installed did not change."""
    lab.run(node, ["ovs-ofctl", "add-flow", "br-int", flow])


def _stage_uuid(ovn_text: str, stage: str, match: str) -> str:
    for ln in ovn_text.splitlines():
        m = re.match(rf"\s*\d+\. {re.escape(stage)} \([^)]*\): (.*), priority \d+, uuid ([0-9a-f]+)$", ln)
        if m and m.group(1) == match:
            return m.group(2)
    raise RuntimeError(f"no stage {stage} with match {match} in the ovn-trace output")


def generate_pairs(lab: Any, out: Path, version: str) -> list[dict[str, str]]:
    """Pastes holding an ovn-trace and the ofproto/trace(s) of the same packet in the same lab (as
    ovnkube-trace prints them): the source node's trace, and after a tunnel the destination node's. Then a
    real divergence: one OpenFlow flow of the lflow that delivers to sshd-2 (``ls_in_l2_lkup``, eth.dst
    sshd-2) deleted on kube-node1 with ``ovs-ofctl del-flows --strict``, and the same pair traced again."""
    from ovntrace.lab.fixtures import tunnel_in_flow

    central = lab.inventory.cluster.central
    rows: list[dict[str, str]] = []

    def ovn(case: Case) -> tuple[list[str], str]:
        argv = ["ovn-trace", "--detailed", *case.options, case.datapath, case.microflow]
        return argv, lab.run(central, argv)

    def of(node: str, flow: str) -> tuple[list[str], str]:
        text = lab.trace(node, flow)
        return lab.trace_argv(node, flow), text

    def write(name: str, parts: list[tuple[list[str], str]], shows: str) -> None:
        atomic_write(out / name, "".join(_pasted(a, t) for a, t in parts))
        rows.append({"file": name, "command": " ; ".join(shlex.join(a) for a, _ in parts), "shows": shows,
                     "version": version, "exit": "0"})

    same = _case("same-node-icmp")
    f_same = lab.microflow("kube-node1", "web-1", SSHD2[2])
    write("pair-same-node-icmp.txt", [ovn(same), of("kube-node1", f_same)],
          "ovn-trace and ofproto/trace (kube-node1) of web-1 -> sshd-2: both deliver to sshd-2")
    for name, case, proto, dport, payload, shows in (
        ("pair-router-hop-icmp.txt", _case("router-hop-icmp"), "icmp", None,
         "icmp,nw_src=192.168.3.3,nw_dst=192.168.2.3,nw_ttl=63,icmp_type=8,icmp_code=0",
         "ovn-trace, then ofproto/trace on kube-node2 (tunnel) and on kube-node1 (delivered) of client-1 -> sshd-2"),
        ("pair-acl-drop.txt", _case("acl-drop"), "tcp", 22,
         "tcp,nw_src=192.168.3.3,nw_dst=192.168.2.3,nw_ttl=63,tp_src=40000,tp_dst=22,tcp_flags=syn",
         "ovn-trace, then ofproto/trace on kube-node2 and kube-node1 of client-1 -> sshd-2 tcp/22: both drop "
         "(ACL deny-ssh-from-client-1)"),
    ):
        f = lab.microflow("kube-node2", "client-1", SSHD2[2], proto=proto, dport=dport)
        a1, t1 = of("kube-node2", f)
        tin = tunnel_in_flow(lab, t1, "kube-node1", payload)
        write(name, [ovn(case), (a1, t1), of("kube-node1", tin)], shows)
    # the divergence
    argv, text = ovn(same)
    uuid = _stage_uuid(text, "ls_in_l2_lkup", f"eth.dst == {SSHD2[1]}")
    flows = lflow_flows(lab, "kube-node1", uuid)
    if len(flows) != 1:
        raise RuntimeError(f"lflow {uuid} has {len(flows)} flows on kube-node1, expected 1: {flows}")
    spec = delete_flow(lab, "kube-node1", flows[0])
    write("divergence-deleted-flow.txt", [(argv, text), of("kube-node1", f_same)],
          f"ovn-trace delivers web-1 -> sshd-2; on kube-node1 the OpenFlow flow of lflow {uuid} "
          f"(ls_in_l2_lkup, eth.dst == {SSHD2[1]}) was deleted (ovs-ofctl del-flows --strict br-int '{spec}'): "
          "ofproto/trace does not deliver")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("fixtures/lab/ovn-trace"))
    ap.add_argument("--db-dir", type=Path, default=Path("fixtures/lab"))
    ap.add_argument("--ovs", action="store_true",
                    help="bring a lab up and write the --ovs traces (and that lab's NB/SB) into OUT/ovs")
    ap.add_argument("--release", metavar="R",
                    help="bring a lab of OVN release R up (e.g. 25.03, from its Debian root) and write every case, "
                    "in every format and with --ovs, from its live databases into OUT/R")
    ap.add_argument("--pairs-only", action="store_true",
                    help="with --release: only the ovn-trace + ofproto/trace pairs and the divergence")
    ap.add_argument("--dir", default="/tmp/ovntrace-ovn-trace-lab")
    a = ap.parse_args(argv)
    if a.release:
        from ovntrace.lab.fixtures import fixed_inventory
        from ovntrace.lab.lab import Lab

        lab = Lab.up(fixed_inventory(), a.dir, release=a.release)
        try:
            rows = generate_live(lab, a.out / a.release, a.pairs_only)
        finally:
            lab.down()
        print(f"wrote {len(rows)} traces to {a.out / a.release}")
        return 0
    if a.ovs:
        from ovntrace.lab.fixtures import fixed_inventory
        from ovntrace.lab.lab import Lab

        lab = Lab.up(fixed_inventory(), a.dir)
        try:
            rows = generate_ovs(lab, a.out / "ovs")
        finally:
            lab.down()
        print(f"wrote {len(rows)} --ovs traces to {a.out / 'ovs'}")
        return 0
    rows = generate(a.out, a.db_dir)
    print(f"wrote {len(rows)} traces to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
