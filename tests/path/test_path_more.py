"""``ovntrace path``: a node whose sshd is down, snapshots and --offline, --reverse, VIP and gateway paths.

Against the session's lab (tests/conftest.py), over its real sshd; a down node is a copy of the inventory
pointing that node at a closed loopback port (the shared lab is left as it is)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from ovntrace.cli import run as cli_run
from ovntrace.lab import inventory as inv_mod
from ovntrace.lab.lab import Lab
from ovntrace.lab.sshd import free_port
from ovntrace.path import run_path
from ovntrace.pathcmd import main
from ovntrace.sources import load_context
from ovntrace.sources import snapshot as S

SRC, DST = "default/client-1", "default/sshd-2"
DELIVERED_LINE = (
    "pod default/client-1 @ kube-node2 → switch kube-node2 → router kube-master → switch kube-node1 ⇒ "
    "geneve 172.17.42.32 → 172.17.42.31 (dp 4, in 1, out 3) ⇒ switch kube-node1 (egress) → "
    "pod default/sshd-2 @ kube-node1"
)


def _run(fn: object, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = fn(list(argv))  # type: ignore[operator]
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture
def lab_n(lab: Lab) -> Lab:
    """The lab's dummy underlay: make sure the nodes still know their peers' MACs (as `lab trace` does)."""
    for n in ("kube-node1", "kube-node2"):
        lab._refresh_neighbors(n)
    return lab


def _inventory_with_down_node(lab: Lab, tmp_path: Path, node: str) -> Path:
    """A copy of the lab's inventory where ``node``'s sshd is a loopback port nothing listens on."""
    port = inv_mod.load(lab.inventory_path).node(node).ssh.port  # type: ignore[union-attr]
    text = lab.inventory_path.read_text()
    assert text.count(f"port = {port}\n") == 1
    inv = tmp_path / "inventory.toml"
    inv.write_text(text.replace(f"port = {port}\n", f"port = {free_port()}\n"))
    return inv


# -- 1. a node whose sshd is down ---------------------------------------------------------------------

@pytest.mark.lab
def test_down_node_other_nodes_still_collected(lab_n: Lab, tmp_path: Path) -> None:
    inv = _inventory_with_down_node(lab_n, tmp_path, "kube-node2")
    # a same-node path on kube-node1 does not need kube-node2: traced, and the missing node is reported
    rc, out, err = _run(main, "path", "default/web-1", DST, "--inventory", str(inv))
    assert rc == 0, err
    assert "→ pod default/sshd-2 @ kube-node1" in out
    assert "note: kube-node2 not collected: kube-node2: cannot connect to [127.0.0.1]:" in out
    assert "[Errno" not in out and "connection refused" in out  # in words (issue 16), not paramiko's text
    # a path from kube-node2: one clear line naming it, and which nodes were collected
    rc, out, err = _run(main, "path", SRC, DST, "--inventory", str(inv), "-q")  # -q: only the error
    assert rc == 1 and not out
    assert err.startswith("ovntrace path: kube-node2: the path needs this node") and "cannot connect" in err
    assert "(collected: kube-master, kube-node1)" in err and len(err.splitlines()) == 1
    # a path that tunnels *to* the down node: printed up to the tunnel, and exit 3 ("partial", issue 16)
    rc, out, err = _run(main, "path", "default/web-1", SRC, "--inventory", str(inv))
    assert rc == 3, (rc, out, err)
    first = out.splitlines()[0]
    assert first.startswith("ct trk,new: pod default/web-1 @ kube-node1 → switch kube-node1 → router kube-master")
    assert "⇒ geneve 172.17.42.31 → 172.17.42.32 (dp " in first and first.endswith("⇒ ⋯ kube-node2 not reached")
    assert "verdict: PARTIAL on kube-node1: tunnelled to chassis" in out
    assert "the path stops there: kube-node2's facts were not collected (kube-node2: cannot connect to" in out
    rc, out, err = _run(main, "path", "default/web-1", SRC, "--inventory", str(inv), "-f", "json")
    doc = json.loads(out)
    assert rc == 3 and doc["partial"] is True
    assert doc["verdict"]["kind"] == "partial" and doc["verdict"]["missing"] == "kube-node2"
    assert [t["node"] for t in doc["conntrack"][0]["traces"]] == ["kube-node1"]


@pytest.mark.lab
def test_snapshot_with_a_down_node_keeps_the_others(lab_n: Lab, tmp_path: Path) -> None:
    inv = _inventory_with_down_node(lab_n, tmp_path, "kube-node1")
    snap = tmp_path / "snap.json"
    rc, out, err = _run(main, "snapshot", "--inventory", str(inv), "-o", str(snap))
    assert rc == 1 and "2 of 3 nodes (kube-master, kube-node2)" in out
    assert "kube-node1 not collected" in err and "cannot connect" in err
    doc = json.loads(snap.read_text())
    assert doc["nodes"]["kube-node1"]["error_kind"] == "connect" and doc["nodes"]["kube-node1"]["ovs"] is None
    assert {"kube-master", "kube-node2"} <= {n for n, v in doc["nodes"].items() if v.get("ovs")}


# -- 2. snapshot, explain --context, path --offline -----------------------------------------------------

@pytest.fixture
def snap_file(lab_n: Lab, tmp_path: Path) -> Path:
    snap = tmp_path / "cluster.snapshot.json"
    rc, out, err = _run(main, "snapshot", "--inventory", str(lab_n.inventory_path), "-o", str(snap))
    assert rc == 0, err
    assert "NB, SB and 3 of 3 nodes" in out and "3 connections, 7 commands" in out
    return snap


@pytest.mark.lab
def test_snapshot_file_is_recognised_by_content(lab_n: Lab, snap_file: Path, tmp_path: Path) -> None:
    text = snap_file.read_text()
    assert text.startswith('{"schema":"ovntrace.snapshot/2"')
    assert not list(tmp_path.glob(".*"))  # atomic write: no temp file left
    doc = json.loads(text)
    assert [n["name"] for n in doc["cluster"]["nodes"]] == ["kube-master", "kube-node1", "kube-node2"]
    # NB/SB: the schema, then one read-only query of only the tables needed; each node's conf.db dumped
    assert [c["command"].split()[:2] for c in doc["commands"]] == (
        [["ovsdb-client", "get-schema"], ["ovsdb-client", "query"]] * 2 + [["ovsdb-client", "dump"]] * 3)
    # the lab's node1 carries a k8s API token in Open_vSwitch external_ids: redacted, never written
    token = lab_n.run("kube-node1", ["ovs-vsctl", "get", "Open_vSwitch", ".", "external_ids:k8s-api-token"])
    token = token.strip().strip('"')
    assert token and token not in text
    assert "kube-node1:Open_vSwitch.Open_vSwitch.external_ids:k8s-api-token" in doc["redacted"]
    # any name: recognised by content, not by suffix
    other = tmp_path / "bug-report-attachment"
    other.write_text(text)
    ctx = load_context(other)
    assert {"default_client-1", "default_sshd-2", "default_web-1"} <= {pb.logical_port for pb in ctx.port_bindings}
    assert sorted(n.name for n in ctx.nodes) == ["kube-master", "kube-node1", "kube-node2"]
    assert any(r.table == "Load_Balancer" for r in ctx.nb_rows)


@pytest.mark.lab
def test_offline_path_from_snapshot_and_given_traces(lab_n: Lab, snap_file: Path, tmp_path: Path) -> None:
    base = ("path", SRC, DST, "--offline", str(snap_file), "--format", "json")
    # nothing given: the microflow is built from the snapshot, and the command to run is said
    rc, out, err = _run(main, *base)
    assert rc == 0, err
    v = json.loads(out)["verdict"]
    assert v["kind"] == "needs-trace" and v["node"] == "kube-node2"
    assert "--trace kube-node2=FILE" in v["cause"]
    argv = v["command"].split()
    assert argv[:3] == ["ovs-appctl", "ofproto/trace", "br-int"]
    t2 = tmp_path / "node2.txt"
    t2.write_text(lab_n.run("kube-node2", argv))
    # the source trace given: followed through the tunnel, the next command is the arriving packet
    rc, out, err = _run(main, *base, "--trace", f"kube-node2={t2}")
    assert rc == 0, err
    v = json.loads(out)["verdict"]
    assert v["kind"] == "needs-trace" and v["node"] == "kube-node1" and "tun_metadata0=0x10003" in v["command"]
    t1 = tmp_path / "node1.txt"
    t1.write_text(lab_n.run("kube-node1", v["command"].split()))
    rc, out, err = _run(main, "path", SRC, DST, "--offline", str(snap_file), "--trace", f"kube-node2={t2}",
                        "--trace", f"kube-node1={t1}")
    assert rc == 0, err
    assert out.splitlines()[0] == f"ct trk,new: {DELIVERED_LINE}"
    assert "no command run" in out
    # and the same as the live path says
    live = run_path(SRC, DST, lab_n.inventory_path)
    assert live.chains[0].line == DELIVERED_LINE


@pytest.mark.lab
def test_explain_with_snapshot_context(lab_n: Lab, snap_file: Path, tmp_path: Path) -> None:
    r = run_path(SRC, DST, lab_n.inventory_path)
    t = tmp_path / "trace.txt"
    t.write_text(r.chains[0].traces[1].text)  # kube-node1, arriving from the tunnel
    out_io, err_io = io.StringIO(), io.StringIO()
    rc = cli_run(["explain", str(t), "--context", str(snap_file), "--on", "kube-node1", "--color", "never"],
                 io.StringIO(), out_io, err_io)
    out, err = out_io.getvalue(), err_io.getvalue()
    assert rc == 0, err
    # OVN meaning from the snapshot: logical stages, ports, and the node's interface of the pod
    assert "ls_out_apply_port_sec @ switch kube-node1" in out
    assert "to interface a06e273070d1122 (logical port default_sshd-2)" in out


def test_redaction() -> None:
    tables = [{"caption": "SSL table", "headings": ["_uuid", "private_key", "certificate", "bootstrap_ca_cert"],
               "data": [[["uuid", "u1"], "/etc/ovn/key.pem", "-----BEGIN CERTIFICATE-----\nxx", False]]},
              {"caption": "Port_Binding table", "headings": ["_uuid", "tunnel_key", "external_ids", "options"],
               "data": [[["uuid", "u2"], 3, ["map", [["k8s-api-token", "abc"], ["name", "p"]]],
                         ["map", [["ipsec_psk", "s3cret"], ["requested-chassis", "n1"]]]]]}]
    found: list[str] = []
    out = S.redact_tables(tables, "DB", found)
    assert out[0]["data"][0][1:] == [S.REDACTED, S.REDACTED, False]
    assert out[1]["data"][0][1] == 3  # tunnel_key is not a secret
    assert out[1]["data"][0][2] == ["map", [["k8s-api-token", S.REDACTED], ["name", "p"]]]
    assert out[1]["data"][0][3] == ["map", [["ipsec_psk", S.REDACTED], ["requested-chassis", "n1"]]]
    assert found == ["DB.SSL.private_key", "DB.SSL.certificate", "DB.Port_Binding.external_ids:k8s-api-token",
                     "DB.Port_Binding.options:ipsec_psk"]
    assert tables[0]["data"][0][1] == "/etc/ovn/key.pem"  # the input is left as it is
    assert S.is_snapshot_text('{"schema":"ovntrace.snapshot/2","nb":[]}') and not S.is_snapshot_text('{"headings"')


# -- 3. --reverse ----------------------------------------------------------------------------------------

@pytest.mark.lab
def test_reverse_icmp_both_directions_delivered(lab_n: Lab) -> None:
    r = run_path(SRC, DST, lab_n.inventory_path, "icmp", reverse=True)
    assert r.reverse is not None and r.reverse.disagree is None
    back = r.reverse.chains[0]
    assert back.line.startswith("pod default/sshd-2 @ kube-node1 → switch kube-node1 → router kube-master")
    assert back.line.endswith("→ pod default/client-1 @ kube-node2") and back.verdict["delivered"]
    assert "icmp_type=0" in back.traces[0].flow and "nw_src=192.168.2.3,nw_dst=192.168.3.3" in back.traces[0].flow


@pytest.mark.lab
def test_reverse_tcp_disagrees_on_the_acl(lab_n: Lab) -> None:
    rc, out, err = _run(main, "path", SRC, DST, "--tcp", "--dport", "22", "--reverse",
                        "--inventory", str(lab_n.inventory_path))
    assert rc == 0, err
    assert "note: the two directions disagree: forward DROP on kube-node1" in out
    assert "reply, ct trk,new: pod default/sshd-2 @ kube-node1" in out
    r = run_path(SRC, DST, lab_n.inventory_path, "tcp", dport=22, reverse=True)
    assert r.reverse is not None
    flow = r.reverse.chains[0].traces[0].flow
    assert "tcp_src=22,tcp_dst=40000,tcp_flags=syn|ack" in flow


# -- 4. service VIP, external through the gateway --------------------------------------------------------

@pytest.mark.lab
def test_pod_to_service_vip(lab_n: Lab) -> None:
    r = run_path("default/web-1", "10.96.0.22", lab_n.inventory_path, "tcp", dport=22, reverse=True)
    assert r.dst.vip is not None and r.dst.vip["name"] == "default_sshd-svc"
    assert r.dst.backends == ("default_sshd-2",) and r.dst.label == "vip 10.96.0.22:22 (default_sshd-svc)"
    new = r.chains[0]
    # the backend is chosen by a select group (hash + recirc): ofproto/trace stops there, and the path says why
    assert new.verdict["kind"] == "recirc" and new.line.endswith("✗ recirc")
    assert "load balancer default_sshd-svc" in new.verdict["cause"] and "192.168.2.3:22" in new.verdict["cause"]
    # no backend reached: no reply traced, and it says why
    assert r.reverse is not None and not r.reverse.chains and "service VIP" in (r.reverse.note or "")
    # trk,est without a conntrack entry: no DNAT, routed to the VIP address itself; said so
    assert "does not apply the load balancer's DNAT" in r.chains[1].verdict["note"]


@pytest.mark.lab
def test_pod_to_external_stops_at_the_gateway_bridge(lab_n: Lab) -> None:
    rc, out, err = _run(main, "path", SRC, "203.0.113.10", "--inventory", str(lab_n.inventory_path),
                        "--format", "json", "--reverse")
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["dst"]["logical_port"] is None and doc["dst"]["label"] == "address 203.0.113.10"
    v = doc["verdict"]
    assert v["node"] == "kube-master" and v["kind"] == "output" and not v["delivered"]
    assert v["gateway"]["bridge"] == "breth0" and v["gateway"]["port"].startswith("patch-br-int-to-")
    assert "gateway bridge breth0" in v["cause"] and "stops here" in v["cause"]
    assert doc["path"].startswith("pod default/client-1 @ kube-node2 → switch kube-node2 → router kube-master")
    assert "⇒ switch join (egress) → router GR_kube-master → switch ext_kube-master → patch" in doc["path"]
    assert doc["path"].endswith("→ bridge breth0 @ kube-master (gateway: stops here)")
    assert doc["reverse"]["note"].startswith("DST 203.0.113.10 is not a logical port")
