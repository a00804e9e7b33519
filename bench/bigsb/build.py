"""Build a big OVN Southbound on the one-machine lab: ``python bench/bigsb/build.py --dir D``.

Brings ``ovntrace lab`` up in ``D/lab`` (the bundled inventory: kube-master, kube-node1,
kube-node2) and adds ``--switches`` logical switches with ``--ports`` ports each, every switch
given a router port and a few ACLs (some with ``log``), all in a few big OVSDB transactions sent to
the NB server's unix socket while ``ovn-northd`` is paused, then one ``ovn-nbctl --wait=hv sync``.
Switches 0-2 join the cluster router (named after the central node), the others a second router
(``--one-router``: all on the cluster router), so that the ovn-controllers compute only the traced
path and northd alone carries the big SB. Port ``p2`` of switch 0 is bound to kube-node2 and port
``p2`` of switch 1 to kube-node1 (OVS internal ports with ``iface-id``), so a trace from one to
the other crosses a big switch, the cluster router and a geneve tunnel.

Keeps under ``D`` (outside the lab dir, so they survive ``lab down``):

* ``ovnsb_db.db``, ``ovnnb_db.db``: copies of the live databases after ``ovsdb-server/compact``;
* ``trace.txt``: ``ovs-appctl ofproto/trace`` of the cross-node packet on kube-node2;
* ``build.json``: counts, timings, the remotes, the flow and the lab dir.

The lab stays up (for live benchmarks) unless ``--down``; bring it down with
``ovntrace lab down --dir D/lab``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ovntrace.lab import runbook
from ovntrace.lab.lab import Lab

#: (node of the bound port, switch index, port index)
BOUND: tuple[tuple[str, int, int], ...] = (("kube-node2", 0, 2), ("kube-node1", 1, 2), ("kube-master", 2, 2))
#: the traced packet: from switch 0 port 2 (kube-node2) to switch 1 port 2 (kube-node1)
SRC, DST = (0, 2), (1, 2)


@dataclass(frozen=True)
class Port:
    switch: int
    index: int

    @property
    def name(self) -> str:
        return f"bigsb-s{self.switch}-p{self.index}"

    @property
    def iface(self) -> str:
        return f"bs{self.switch}p{self.index}"

    @property
    def ip(self) -> str:
        return f"{subnet_prefix(self.switch)}.{self.index + 3}"

    @property
    def mac(self) -> str:
        s = self.switch
        return f"0a:01:{s >> 8:02x}:{s & 0xFF:02x}:00:{self.index + 3:02x}"


def subnet_prefix(switch: int) -> str:
    """First three octets of switch ``switch``'s /24 (10.128.0.0/9, outside the lab's cluster /16)."""
    return f"10.{128 + (switch >> 8)}.{switch & 0xFF}"


def switch_name(i: int) -> str:
    return f"bigsb-s{i}"


#: switches joined to the cluster router; the others hang off FAR_ROUTER (see ``--far-router``)
NEAR = 3
FAR_ROUTER = "bigsb-far"
SWITCHES_PER_TXN = 100  # switches per NB transaction (~3,700 rows)


def _map(d: dict[str, str]) -> list[object]:
    return ["map", [[k, v] for k, v in sorted(d.items())]]


def _set(items: Sequence[object]) -> list[object]:
    return ["set", list(items)]


def switch_ops(router: str, i: int, ports: int) -> list[dict[str, object]]:
    """OVSDB operations creating switch ``i`` with its ports, ACLs and the port on ``router``.

    The same rows ``ovn-nbctl ls-add``/``lsp-add``/``lrp-add``/``acl-add`` would write (23.03): every
    switch's ACLs name its own ports/addresses so that northd cannot share their flows through a
    datapath group; two of them have ``log`` and a name."""
    sw = switch_name(i)
    pre = subnet_prefix(i)
    rtos, stor = f"rtos-{sw}", f"stor-{sw}"
    n = f"s{i}"
    ops: list[dict[str, object]] = [
        {"op": "insert", "table": "Logical_Router_Port", "uuid-name": f"{n}rtos",
         "row": {"name": rtos, "mac": runbook.router_mac(rtos), "networks": f"{pre}.1/24"}},
        {"op": "mutate", "table": "Logical_Router", "where": [["name", "==", router]],
         "mutations": [["ports", "insert", _set([["named-uuid", f"{n}rtos"]])]]},
        {"op": "insert", "table": "Logical_Switch_Port", "uuid-name": f"{n}stor",
         "row": {"name": stor, "type": "router", "addresses": "router", "options": _map({"router-port": rtos})}},
    ]  # fmt: skip
    lsps = [f"{n}stor"]
    for j in range(ports):
        p = Port(i, j)
        addr = f"{p.mac} {p.ip}"
        ops.append({"op": "insert", "table": "Logical_Switch_Port", "uuid-name": f"{n}p{j}",
                    "row": {"name": p.name, "addresses": addr, "port_security": addr}})  # fmt: skip
        lsps.append(f"{n}p{j}")
    p0, p1 = Port(i, 0).name, Port(i, 1).name
    acls: list[dict[str, object]] = [
        {"direction": "from-lport", "priority": 1002, "match": f'inport == "{p0}" && ip4.dst == {pre}.0/24',
         "action": "allow-related"},
        {"direction": "to-lport", "priority": 1001, "match": f'outport == "{p1}" && tcp.dst == 22', "action": "drop",
         "log": True, "name": f"deny-ssh-{sw}", "severity": "warning"},
        {"direction": "to-lport", "priority": 1000, "match": f"ip4.src == {pre}.0/24 && udp.dst == 53",
         "action": "allow"},
        {"direction": "from-lport", "priority": 1003, "match": f"ip4.src == {pre}.{ports + 3} && tcp.dst == 23",
         "action": "reject", "log": True, "name": f"reject-telnet-{sw}", "severity": "info"},
        {"direction": "to-lport", "priority": 900, "match": f"ip4.dst == {pre}.{ports + 4} && icmp4",
         "action": "drop"},
    ]  # fmt: skip
    for k, row in enumerate(acls):
        ops.append({"op": "insert", "table": "ACL", "uuid-name": f"{n}acl{k}", "row": row})
    ops.append({"op": "insert", "table": "Logical_Switch",
                "row": {"name": sw, "other_config": _map({"subnet": f"{pre}.0/24"}),
                        "ports": _set([["named-uuid", u] for u in lsps]),
                        "acls": _set([["named-uuid", f"{n}acl{k}"] for k in range(len(acls))])}})  # fmt: skip
    return ops


def router_of(i: int, cluster_router: str, far: bool) -> str:
    return FAR_ROUTER if far and i >= NEAR else cluster_router


def nb_transactions(cluster_router: str, switches: int, ports: int, far: bool) -> Iterator[list[dict[str, object]]]:
    """The NB load as a few big transactions (``SWITCHES_PER_TXN`` switches each)."""
    first: list[dict[str, object]] = []
    if far and switches > NEAR:
        first.append({"op": "insert", "table": "Logical_Router", "row": {"name": FAR_ROUTER}})
    for k in range(0, switches, SWITCHES_PER_TXN):
        ops = first + [
            op for i in range(k, min(switches, k + SWITCHES_PER_TXN)) for op in switch_ops(
                router_of(i, cluster_router, far), i, ports)
        ]  # fmt: skip
        first = []
        yield ops


def transact(sock: Path, db: str, ops: list[dict[str, object]], timeout: float = 900.0) -> list[object]:
    """One OVSDB ``transact`` over a unix socket (RFC 7047 JSON-RPC; echo requests answered)."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(sock))
        s.sendall(json.dumps({"method": "transact", "params": [db, *ops], "id": 1}).encode())
        dec = json.JSONDecoder()
        buf = ""
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                raise SystemExit(f"{sock}: connection closed before the transaction's reply")
            buf += chunk.decode()
            while buf:
                buf = buf.lstrip()
                try:
                    msg, end = dec.raw_decode(buf)
                except ValueError:
                    break
                buf = buf[end:]
                if msg.get("method") == "echo":
                    s.sendall(json.dumps({"result": msg.get("params", []), "error": None, "id": msg["id"]}).encode())
                    continue
                if msg.get("id") != 1:
                    continue
                if msg.get("error"):
                    raise SystemExit(f"{sock}: transaction failed: {msg['error']}")
                result = msg["result"]
                assert isinstance(result, list)
                bad = [r for r in result if isinstance(r, dict) and r.get("error")]
                if bad:
                    raise SystemExit(f"{sock}: transaction failed: {bad[:3]}")
                return result


def rss_mb(pidfile: Path) -> dict[str, float]:
    """Current and peak resident memory (MB) of the daemon in ``pidfile`` (empty if gone)."""
    try:
        pid = int(pidfile.read_text().strip())
        status = Path(f"/proc/{pid}/status").read_text()
    except (OSError, ValueError):
        return {}
    out = {}
    for line in status.splitlines():
        key, _, val = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = round(int(val.split()[0]) / 1024, 1)
    return out


class Builder:
    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.central = lab.inventory.cluster.central

    def env(self, node: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OVS_", "OVN_"))}
        env.update(self.lab.env(node))
        return env

    def run(self, node: str, argv: Sequence[str], timeout: float = 900.0) -> str:
        res = subprocess.run(
            list(argv), env=self.env(node), capture_output=True, text=True, timeout=timeout, check=False
        )
        if res.returncode != 0:
            raise SystemExit(f"on {node}: {' '.join(argv)[:300]} failed ({res.returncode}): {res.stderr.strip()[:500]}")
        return res.stdout

    def count(self, table: str) -> int:
        out = self.run(self.central, ["ovn-sbctl", "--format=csv", "--no-headings", "--columns=_uuid", "list", table])
        return sum(1 for line in out.splitlines() if line.strip())

    def ctl(self, db: str) -> str:
        return str(self.lab.node_dir(self.central) / f"{db}.ctl")


def remotes(lab: Lab) -> dict[str, str]:
    c = lab.inventory.cluster
    return {"sb": f"tcp:{c.db_address}:{c.sb_port}", "nb": f"tcp:{c.db_address}:{c.nb_port}"}


def trace_flow(lab: Lab, node: str) -> str:
    sp, dp = Port(*SRC), Port(*DST)
    in_port = lab.ofport(node, sp.iface)
    return (
        f"in_port={in_port},icmp,dl_src={sp.mac},dl_dst={runbook.router_mac('rtos-' + switch_name(sp.switch))},"
        f"nw_src={sp.ip},nw_dst={dp.ip},nw_ttl=64,icmp_type=8,icmp_code=0"
    )


def wait_chassis(b: Builder, node: str, timeout: float = 3600.0) -> None:
    """Until ``node``'s ovn-controller has caught up with the NB (its Chassis_Private ``nb_cfg``)."""
    b.run(b.central, ["ovn-nbctl", "--timeout=900", "--wait=sb", "sync"])
    want = int(b.run(b.central, ["ovn-nbctl", "get", "NB_Global", ".", "nb_cfg"]).strip())
    chassis = b.run(node, ["ovs-vsctl", "get", "Open_vSwitch", ".", "external_ids:system-id"]).strip().strip('"')
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = b.run(b.central, ["ovn-sbctl", "--bare", "--columns=nb_cfg", "find", "Chassis_Private",
                                f"name={chassis}"]).strip()
        if got and int(got) >= want:
            return
        time.sleep(5)
    raise SystemExit(f"{node}'s ovn-controller did not catch up in {timeout:.0f}s")


def build(
    out: Path, switches: int, ports: int, down: bool, one_chassis: bool = False, far: bool = True
) -> dict[str, object]:
    if switches < 2 or ports < 3:
        raise SystemExit("need at least 2 switches and 3 ports per switch")
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    t_all = time.monotonic()
    t0 = time.monotonic()
    lab = Lab.up(None, out / "lab")
    timings["lab_up"] = time.monotonic() - t0
    print(f"lab up in {timings['lab_up']:.1f}s ({lab.dir})", flush=True)
    ok = False
    try:
        b = Builder(lab)
        router = b.central  # the cluster router is named after the central node
        before = b.count("Logical_Flow")
        # 1. NB: a few big transactions straight to the NB server, northd paused (one recompute at the end)
        t0 = time.monotonic()
        b.run(b.central, ["ovn-appctl", "-t", "ovn-northd", "pause"])
        nb_sock = lab.node_dir(b.central) / "ovnnb_db.sock"
        n_txn = n_ops = 0
        for ops in nb_transactions(router, switches, ports, far):
            transact(nb_sock, "OVN_Northbound", ops)
            n_txn += 1
            n_ops += len(ops)
        timings["nb_load"] = time.monotonic() - t0
        print(f"NB: {n_ops} operations in {n_txn} transactions, {timings['nb_load']:.1f}s", flush=True)
        # 2. bind a few ports to the lab nodes (OVS internal ports with iface-id)
        t0 = time.monotonic()
        for k, (node, s, j) in enumerate(BOUND):
            if s >= switches:
                continue
            p = Port(s, j)
            b.run(
                node,
                [
                    "ovs-vsctl", "--may-exist", "add-port", "br-int", p.iface, "--",
                    "set", "Interface", p.iface, "type=internal", f"mac={runbook.atom(p.mac)}",
                    f"external_ids:iface-id={runbook.atom(p.name)}", f"ofport_request={200 + k}",
                ],
            )  # fmt: skip
        node = BOUND[0][0]  # the trace runs here
        running = list(lab.inventory.node_names)
        if one_chassis:  # only the traced node computes its OpenFlow flows (see --one-chassis)
            for n in lab.inventory.node_names:
                if n != node:
                    b.run(n, ["ovn-appctl", "-t", "ovn-controller", "exit"])
            running = [node]
        # no inactivity probes: on a loaded machine a controller's poll loop takes longer than the SB's 5 s
        # probe, the SB drops it, and every reconnection starts its full recompute over (it never catches up)
        b.run(b.central, ["ovn-sbctl", "set", "connection", ".", "inactivity_probe=0"])
        for n in running:
            b.run(n, ["ovs-vsctl", "set", "Open_vSwitch", ".", "external_ids:ovn-remote-probe-interval=0",
                      "external_ids:ovn-openflow-probe-interval=0"])
        # 3. northd computes the SB once; then every chassis catches up
        t0 = time.monotonic()
        b.run(b.central, ["ovn-appctl", "-t", "ovn-northd", "resume"])
        cdir = lab.node_dir(b.central)
        daemons = {"ovn-northd": cdir / "ovn-northd.pid", "sb-server": cdir / "ovnsb_db.pid",
                   "nb-server": cdir / "ovnnb_db.pid"}  # fmt: skip
        with subprocess.Popen(["ovn-nbctl", "--timeout=3000", "--wait=sb", "sync"], env=b.env(b.central),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) as sync:  # fmt: skip
            while sync.poll() is None:
                mem = {k: rss_mb(v) for k, v in daemons.items()}
                print(f"  {time.monotonic() - t0:6.0f}s  " + "  ".join(
                    f"{k} {m.get('VmRSS', 0):.0f}/{m.get('VmHWM', 0):.0f} MB" for k, m in mem.items()), flush=True)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    sync.wait(10)
            if sync.returncode != 0:
                raise SystemExit(f"ovn-nbctl --wait=sb sync failed: {sync.stderr.read() if sync.stderr else ''}")
        timings["northd_sb"] = time.monotonic() - t0
        peak_mb = {k: rss_mb(v).get("VmHWM", 0.0) for k, v in daemons.items()}
        print(f"northd -> SB in {timings['northd_sb']:.1f}s", flush=True)
        t0 = time.monotonic()
        if one_chassis:
            wait_chassis(b, node)
        else:
            b.run(b.central, ["ovn-nbctl", "--timeout=1800", "--wait=hv", "sync"], timeout=1900)
        timings["hv_sync"] = time.monotonic() - t0
        print(f"chassis in sync in {timings['hv_sync']:.1f}s", flush=True)
        counts = {
            "logical_flows": b.count("Logical_Flow"),
            "logical_flows_before": before,
            "datapaths": b.count("Datapath_Binding"),
            "port_bindings": b.count("Port_Binding"),
            "dp_groups": b.count("Logical_DP_Group"),
        }
        openflows = {}
        for n in running:
            dump = b.run(n, ["ovs-ofctl", "dump-aggregate", "br-int"])
            openflows[n] = int(dump.split("flow_count=")[1].split()[0]) if "flow_count=" in dump else -1
        # 4. the cross-node trace (on kube-node2, like the seed's)
        flow = trace_flow(lab, node)
        t0 = time.monotonic()
        trace = lab.trace(node, flow)
        timings["trace"] = time.monotonic() - t0
        (out / "trace.txt").write_text(trace)
        # 5. the databases, compacted, copied out of the lab dir
        t0 = time.monotonic()
        for db in ("ovnsb_db", "ovnnb_db"):
            b.run(b.central, ["ovs-appctl", "-t", b.ctl(db), "ovsdb-server/compact"])
            shutil.copyfile(lab.node_dir(b.central) / f"{db}.db", out / f"{db}.db")
        timings["db_copy"] = time.monotonic() - t0
        timings["total"] = time.monotonic() - t_all
        info: dict[str, object] = {
            "switches": switches,
            "ports_per_switch": ports,
            "acls_per_switch": 5,
            "one_chassis": one_chassis,
            "counts": counts,
            "openflow_flows": openflows,
            "far_router": far,
            "peak_rss_mb_after_northd": peak_mb,
            "timings_s": {k: round(v, 2) for k, v in timings.items()},
            "lab_dir": str(lab.dir),
            "remotes": remotes(lab),
            "trace": {"node": node, "flow": flow, "file": "trace.txt", "lines": trace.count("\n")},
            "db_files": {"sb": "ovnsb_db.db", "nb": "ovnnb_db.db"},
            "db_sizes": {db: (out / f"{db}.db").stat().st_size for db in ("ovnsb_db", "ovnnb_db")},
            "versions": versions(),
        }
        (out / "build.json").write_text(json.dumps(info, indent=1) + "\n")
        ok = True
        return info
    finally:
        if down or not ok:
            left = lab.down()
            print(f"lab down ({'left: ' + str(left) if left else 'all stopped'})", flush=True)


def versions() -> dict[str, str]:
    out = {}
    for tool in ("ovn-northd", "ovs-vswitchd"):
        try:
            res = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=10, check=False)
            out[tool] = res.stdout.splitlines()[0] if res.stdout else ""
        except OSError:
            out[tool] = ""
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--dir", required=True, type=Path, help="output dir (the lab runs in DIR/lab)")
    ap.add_argument("--switches", type=int, default=300)
    ap.add_argument("--ports", type=int, default=30)
    ap.add_argument("--down", action="store_true", help="bring the lab down at the end (files are kept)")
    ap.add_argument("--one-chassis", action="store_true",
                    help="stop the ovn-controllers of the nodes other than the traced one (kube-node2) before northd "
                    "runs, and wait for that one only: on a loaded 2-core machine three controllers computing ~100k "
                    "OpenFlow flows each did not catch up in 30 min. The destination port then has no chassis, so "
                    "the trace ends at the remote output instead of a tunnel; the SB is the same")
    ap.add_argument("--one-router", action="store_true",
                    help="join every switch to the cluster router (the first builds' shape). By default only "
                    f"switches 0-{NEAR - 1} are (the traced path) and the others hang off a second router "
                    f"{FAR_ROUTER!r}: the ovn-controllers (conditional monitoring) then compute only the traced "
                    "path's datapaths, and northd alone carries the big SB")
    args = ap.parse_args(argv)
    info = build(args.dir.absolute(), args.switches, args.ports, args.down, args.one_chassis, not args.one_router)
    c = info["counts"]
    assert isinstance(c, dict)
    print(
        f"{c['logical_flows']} logical flows, {c['datapaths']} datapaths, {c['port_bindings']} port bindings, "
        f"{c['dp_groups']} datapath groups"
    )
    print(f"OpenFlow flows on br-int: {info['openflow_flows']}")
    print(f"timings (s): {info['timings_s']}")
    print(f"files in {args.dir}: build.json trace.txt ({info['trace']['lines']} lines) ovnsb_db.db ovnnb_db.db")  # type: ignore[index]
    if not args.down:
        print(f"lab still up: ovntrace lab down --dir {info['lab_dir']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
