"""Issue 14 acceptance, against the session labs and real sosreports of their nodes (see conftest.py).

Oracles: the live lab's databases and nodes (``explain`` with ``--nb/--sb/--node`` live remotes), and the real
``ofproto/trace`` of the live node's ovs-vswitchd for the same flow.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import tarfile
from pathlib import Path
from typing import Any

import pytest

from ovntrace.cli import run
from ovntrace.lab.fixtures import VIP, tunnel_in_flow
from ovntrace.lab.lab import Lab
from tests.bundle.conftest import make_must_gather
from tests.sources.test_context_folder_lab import explain, meaning


def cli(*argv: str) -> tuple[int, str, str]:
    """The real command line; bundle and replay write to sys.stdout/sys.stderr (as path does), captured."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = run(list(argv), io.StringIO(""), out, err)
    return rc, out.getvalue(), err.getvalue()


def live_sources(lab: Lab, node: str) -> list[str]:
    c = lab.node_dir(lab.inventory.cluster.central)
    return ["--sb", f"unix:{c / 'ovnsb_db.sock'}", "--nb", f"unix:{c / 'ovnnb_db.sock'}",
            "--node", f"{node}=unix:{lab.node_dir(node) / 'db.sock'}", "--on", node]


# -- what a bundle holds ----------------------------------------------------------------------------


def test_bundle_lists_real_sosreports(lab: Lab, sos_lab: dict[str, Path]) -> None:
    rc, out, err = cli("bundle", "--format", "json", *map(str, sos_lab.values()))
    assert rc == 0, err + out
    doc = json.loads(out)
    assert doc["schema"] == "ovntrace.bundle/2" and doc["problems"] == []
    nodes = {n["node"]: n for n in doc["nodes"]}
    assert sorted(nodes) == sorted(lab.inventory.node_names)
    for name, n in nodes.items():
        assert n["kind"] == "sosreport" and n["sos_version"] == "4.0"
        assert n["ovs_version"] == lab.versions["ovs"] and n["ovn_version"] == lab.versions["ovn"]
        assert n["system_id"] == lab.run(name, ["ovs-vsctl", "get", "Open_vSwitch", ".",
                                                "external_ids:system-id"]).strip().strip('"')
        assert n["replay"]["possible"]
        assert any("no dump-groups" in x for x in n["replay"]["notes"])  # what sos 4.0 lacks is said
        assert any("no dump-tlv-map" in x for x in n["replay"]["notes"])
        assert n["flows"]["br-int"]["openflow"] == "OpenFlow13"  # ovn_host's dump: the best sos 4.0 has
    central = nodes[lab.inventory.cluster.central]
    assert sorted(d["database"] for d in central["databases"]) == ["nb-db", "sb-db"]
    assert all(d["format"] == "standalone" and d["size"] > 0 for d in central["databases"])
    rc, text, _ = cli("bundle", str(sos_lab["kube-node1"]))
    assert rc == 0 and "node kube-node1: sosreport" in text and "damaged or missing: nothing" in text


# -- explain --context SOSREPORT.tar.xz = the live databases --------------------------------------------


def test_explain_with_sosreports_means_the_same_as_live(lab: Lab, sos_lab: dict[str, Path]) -> None:
    ctx = ["--context", str(sos_lab["kube-master"]), "--context", str(sos_lab["kube-node1"]),
           "--context", str(sos_lab["kube-node2"])]
    src = lab.trace("kube-node2", lab.microflow("kube-node2", "default/client-1", "192.168.2.3", proto="tcp",
                                                dport=22))
    tin = tunnel_in_flow(lab, src, "kube-node1", "tcp,nw_src=192.168.3.3,nw_dst=192.168.2.3,nw_ttl=63,"
                         "tp_src=40000,tp_dst=22,tcp_flags=syn")
    cases = [("kube-node2", src), ("kube-node1", lab.trace("kube-node1", tin)),
             ("kube-node1", lab.trace("kube-node1", lab.microflow("kube-node1", "default/web-1", VIP,
                                                                     proto="tcp", dport=22)))]
    for node, trace in cases:
        live, _ = explain(trace, *live_sources(lab, node))
        got, _ = explain(trace, *ctx, "--on", node)
        assert '"lflow_ambiguous": ["' not in json.dumps(got)  # explain/2: the key is always there
        assert meaning(got) == meaning(live), node
        assert live["traces"][0]["ovn"]  # there is an OVN meaning to compare
    acl = explain(cases[1][1], *ctx, "--on", "kube-node1")[0]
    assert "deny-ssh-from-client-1" in json.dumps(acl) or "drop" in json.dumps(acl["traces"][0]["verdict"])


# -- replay = ofproto/trace on the live node -----------------------------------------------------------

_RECIRC = re.compile(r"recirc(?:_id=|\()(?:0x[0-9a-f]+|\d+)")


def normal(trace: str) -> str:
    """What may differ between two ovs-vswitchd's traces of the same flow and flow table: recirculation ids
    (allocated per daemon) and ``dec_ttl`` printed ``dec_ttl()`` by the daemon that ovn-controller programmed
    (a no-ids NXAST_DEC_TTL_CNT_IDS) vs ``dec_ttl`` after a text round trip through the dump."""
    return _RECIRC.sub("recirc(N)", trace).replace("dec_ttl()", "dec_ttl")


def tables(trace: str) -> list[str]:
    return re.findall(r"^\s*(\d+)\. ", trace, re.M)


def replay(bundle: Path, flow: str, *extra: str) -> tuple[int, str, str]:
    return cli("replay", str(bundle), flow, *extra)


def test_replay_equals_live_trace(lab: Lab, sos_aug: dict[str, Path]) -> None:
    """Cross-node, ACL drop, load balancer: replayed on the node's (augmented: + dump-groups, dump-tlv-map of
    the live node, as a newer sos collects them) sosreport = ofproto/trace on the live node."""
    x = lab.microflow("kube-node2", "default/client-1", "192.168.2.3")
    acl_src = lab.trace("kube-node2", lab.microflow("kube-node2", "default/client-1", "192.168.2.3", proto="tcp",
                                                    dport=22))
    acl = tunnel_in_flow(lab, acl_src, "kube-node1", "tcp,nw_src=192.168.3.3,nw_dst=192.168.2.3,nw_ttl=63,"
                         "tp_src=40000,tp_dst=22,tcp_flags=syn")
    lb = lab.microflow("kube-node1", "default/web-1", VIP, proto="tcp", dport=22)
    cases = [("cross-node", "kube-node2", x, ()), ("acl-drop", "kube-node1", acl, ()),
             ("lb", "kube-node1", lb, ("trk,new", "trk,est"))]
    for what, node, flow, ct in cases:
        live = lab.trace(node, flow, ct_next=ct)
        ctargs = [a for c in ct for a in ("--ct-next", c)]
        rc, got, err = replay(sos_aug[node], flow, "--raw", *ctargs)
        assert rc == 0, err
        assert tables(got) == tables(live), what
        assert normal(got.strip().splitlines()[-1]) == normal(live.strip().splitlines()[-1]), what  # datapath actions
        assert normal(got) == normal(live), what
    # explained with the central node's sosreport: the same verdict as the live trace explained live
    rc, out, err = replay(sos_aug["kube-node1"], acl, "--context", str(sos_aug["kube-master"]), "-f", "json")
    assert rc == 0, err
    doc = json.loads(out)
    live_doc, _ = explain(lab.trace("kube-node1", acl), *live_sources(lab, "kube-node1"))
    assert doc["explain"]["traces"][0]["verdict"] == live_doc["traces"][0]["verdict"]
    assert doc["explain"]["traces"][0]["ovn"] == live_doc["traces"][0]["ovn"]
    assert doc["built"]["groups"]["br-int"] >= 1 and "from" in doc["built"]["tlv_map"]
    assert any("conntrack" in d for d in doc["differences"]) and any("kernel" in d for d in doc["differences"])


def test_replay_of_sos40_says_what_it_lacks(lab: Lab, sos_lab: dict[str, Path]) -> None:
    """Plain sos 4.0: no groups, no TLV map. A cross-node trace still equals the live one (the TLV map is
    OVN's, assumed and said so); the load balancer's group is not in the bundle: said, never silently wrong."""
    x = lab.microflow("kube-node2", "default/client-1", "192.168.2.3")
    rc, got, err = replay(sos_lab["kube-node2"], x, "--raw")
    assert rc == 0, err
    assert normal(got) == normal(lab.trace("kube-node2", x))
    lb = lab.microflow("kube-node1", "default/web-1", VIP, proto="tcp", dport=22)
    rc, out, err = replay(sos_lab["kube-node1"], lb, "--color", "never")
    assert rc == 0, err
    assert "group(s) 1 used by the flows are not in the bundle" in out and "EMPTY" in out
    assert "assumed OVN's {class=0x102,type=0x80,len=4}->tun_metadata0" in out
    assert "where a replay can differ from the live node" in out


def test_replay_stops_everything(lab: Lab, sos_lab: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from ovntrace.replay import engine, switch

    started: list[switch.PrivateSwitch] = []
    dirs: list[Path] = []
    real_start = switch.PrivateSwitch.start

    def start(self: switch.PrivateSwitch) -> None:
        started.append(self)
        real_start(self)
        assert self.dir is not None and self.dir.is_dir()
        dirs.append(self.dir)

    monkeypatch.setattr(switch.PrivateSwitch, "start", start)
    # a flow ofproto/trace rejects: an error, one line, exit 1, and nothing left
    rc, _, err = replay(sos_lab["kube-node1"], "in_port=10,bogus_field=1")
    assert rc == 1 and "ofproto/trace" in err and "Traceback" not in err
    # Ctrl-C in the middle of the build (raised for real inside the build): the same
    real_build = engine.build

    def interrupted(sw: switch.PrivateSwitch, r: Any, built: Any) -> None:
        assert sw.alive() and len(sw.alive()) == 2
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "build", interrupted)
    rc, _, err = replay(sos_lab["kube-node1"], "in_port=10,ip")
    assert rc == 130
    monkeypatch.setattr(engine, "build", real_build)
    assert len(started) == 2
    for sw in started:
        assert sw.dir is None and not sw.alive() and sw.pids == []
    assert len(dirs) == 2 and not any(d.exists() for d in dirs)  # its temporary directory removed too


def test_replay_unknown_node_and_missing_on(sos_lab: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "two"
    folder.mkdir()
    for n in ("kube-node1", "kube-node2"):
        shutil.copy(sos_lab[n], folder / sos_lab[n].name)
    rc, _, err = replay(folder, "in_port=1,ip")
    assert rc == 2 and "say which with --on NODE" in err
    rc, _, err = replay(folder, "in_port=1,ip", "--on", "kube-node9")
    assert rc == 2 and "kube-node9: no such node in the bundle; nodes: kube-node1, kube-node2" in err


# -- damaged bundles ---------------------------------------------------------------------------------


def test_bundle_names_what_is_damaged(sos_lab: dict[str, Path], tmp_path: Path) -> None:
    """Mutated copies of a real sosreport (named so): cut short, a db with a bad checksum, no manifest."""
    data = sos_lab["kube-master"].read_bytes()
    cut = tmp_path / "sosreport-cut.tar.xz"
    cut.write_bytes(data[: len(data) * 2 // 3])
    rc, out, _ = cli("bundle", str(cut))
    assert rc == 1
    assert "the archive is cut short or damaged after" in out and "the members before it are used" in out
    # extracted, with the SB file's middle byte changed and the manifest removed
    ex = tmp_path / "ex"
    with tarfile.open(sos_lab["kube-master"]) as tf:
        tf.extractall(ex, filter="data")
    (top,) = list(ex.iterdir())
    (sb,) = list(top.rglob("ovnsb_db.db"))
    raw = bytearray(sb.read_bytes())
    raw[len(raw) // 2] ^= 0x20
    sb.write_bytes(bytes(raw))
    (top / "sos_reports" / "manifest.json").unlink()
    rc, out, _ = cli("bundle", str(top))
    assert rc == 1
    assert f"{sb.relative_to(top).as_posix()}: a damaged database" in out
    assert "no sos_reports/manifest.json" in out
    rc, out, _ = cli("bundle", "--format", "json", str(top))
    doc = json.loads(out)
    assert {p["where"] for p in doc["problems"]} >= {sb.relative_to(top).as_posix(), top.name}
    rc, _, err = cli("bundle", str(tmp_path / "nothing-here"))
    assert rc == 2 and "no such file or directory" in err


# -- must-gather -------------------------------------------------------------------------------------


def test_must_gather_of_interconnect_lab(lab_ic: Lab, must_gather_ic: Path) -> None:
    """A must-gather-shaped archive (built here: must-gather needs OpenShift) of the interconnect lab's
    per-node (per-zone) clustered databases: each zone is found, named by its own chassis, and a zone's
    context gives the same OVN meaning as that zone's live databases."""
    store = next(must_gather_ic.rglob("ovnk_database_store.tar.gz"))
    for given in (must_gather_ic, store):
        rc, out, err = cli("bundle", "--format", "json", str(given))
        assert rc == 0, err + out
        doc = json.loads(out)
        zones = {n["node"]: n for n in doc["nodes"]}
        assert sorted(zones) == sorted(lab_ic.inventory.node_names)
        for n in zones.values():
            assert n["kind"] == "must-gather" and n["zone"].startswith("ovnkube-node-")
            assert sorted(d["format"] for d in n["databases"]) == ["clustered", "clustered"]
            assert not n["replay"]["possible"]
    node = "kube-node1"
    trace = lab_ic.trace(node, lab_ic.microflow(node, "default/web-1", "192.168.2.3"))
    zd = lab_ic.node_dir(node)
    live, _ = explain(trace, "--sb", f"unix:{zd / 'ovnsb_db.sock'}", "--nb", f"unix:{zd / 'ovnnb_db.sock'}")
    got, err = explain(trace, "--context", f"{must_gather_ic}@{node}")
    assert meaning(got) == meaning(live)
    _, err = explain(trace, "--context", str(store))
    assert "zones" in err and "--context PATH@ZONE" in err  # several zones at once: said


def test_must_gather_legacy_leader_dbs(lab: Lab, tmp_path: Path) -> None:
    mg = make_must_gather(lab, tmp_path, legacy=True)
    rc, out, err = cli("bundle", "--format", "json", str(mg))
    assert rc == 0, err + out
    (n,) = json.loads(out)["nodes"]
    assert n["zone"] == "leader" and sorted(d["format"] for d in n["databases"]) == ["clustered", "clustered"]
    trace = lab.trace("kube-node1", lab.microflow("kube-node1", "default/web-1", "192.168.2.3"))
    c = lab.node_dir(lab.inventory.cluster.central)
    live, _ = explain(trace, "--sb", f"unix:{c / 'ovnsb_db.sock'}", "--nb", f"unix:{c / 'ovnnb_db.sock'}")
    got, _ = explain(trace, "--context", str(mg))
    assert meaning(got) == meaning(live)


def test_sosreport_of_a_node_whose_ovs_is_down(tmp_path: Path) -> None:
    """A real sos 4.0 report of a "node" whose OVS does not answer (the environment points at an empty run
    directory, as on a node where ovsdb-server is down): the failed commands are named from the manifest,
    the replay is refused saying why, nothing crashes."""
    import os
    import subprocess

    from tests.bundle.conftest import SOS

    if SOS is None:
        pytest.skip("sos is not installed (apt-get install sosreport)")
    empty = tmp_path / "run"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OVS_", "OVN_"))}
    env.update({k: str(empty) for k in ("OVS_RUNDIR", "OVS_DBDIR", "OVS_LOGDIR", "OVN_RUNDIR", "OVN_DBDIR")})
    subprocess.run([SOS, "report", "--batch", "-o", "openvswitch,ovn_host", "--tmp-dir", str(tmp_path)], env=env,
                   check=True, capture_output=True, timeout=300)
    (report,) = tmp_path.glob("sosreport-*.tar.xz")
    rc, out, _ = cli("bundle", str(report))
    assert rc == 1
    assert "`ovs-ofctl -O OpenFlow13 dump-flows br-int` failed on the node (exit 1)" in out
    assert "replay: not possible" in out
    rc, _, err = cli("replay", str(report), "in_port=1,ip")
    assert rc == 2 and "cannot replay" in err and "failed on the node" in err


def test_path_from_bundles_equals_live_path(lab: Lab, sos_aug: dict[str, Path]) -> None:
    """``run_bundle_path`` (for ``path --offline BUNDLE SRC DST``): the path engine with every hop replayed on
    that node's sosreport (augmented as above) = the live path over SSH, hop by hop, verdict by verdict."""
    from ovntrace.path import run_path
    from ovntrace.replay.path import run_bundle_path

    bundles = [str(p) for p in sos_aug.values()]
    for proto, dport in (("icmp", None), ("tcp", 22)):
        live = run_path("default/client-1", "default/sshd-2", lab.inventory_path, proto, dport=dport)
        got = run_bundle_path(bundles, "default/client-1", "default/sshd-2", proto, dport=dport)
        assert got.src_node == live.src_node == "kube-node2"
        for a, b in zip(got.chains, live.chains, strict=True):
            assert a.ct == b.ct and a.segments == b.segments, (proto, a.ct)
            assert a.verdict == b.verdict, (proto, a.ct)
            assert [t.node for t in a.traces] == [t.node for t in b.traces]
            assert [normal(t.text) for t in a.traces] == [normal(t.text) for t in b.traces]
        assert set(got.stats["replayed"]) == {"kube-node1", "kube-node2"}


def test_ovn_25_03_sosreports(lab25: Lab, sos_lab25: dict[str, Path]) -> None:
    """OVN 25.03 / OVS 3.5.0 (the chroot lab), real sos 4.0 reports: releases found, explain with the reports
    = the live databases, and replayed here (the host's OVS 3.1.0, said so) = ofproto/trace on the live 3.5.0
    node, same-node and cross-node (no group needed: sos 4.0 has none)."""
    rc, out, err = cli("bundle", "--format", "json", *map(str, sos_lab25.values()))
    assert rc == 0, err
    for n in json.loads(out)["nodes"]:
        assert (n["ovs_version"], n["ovn_version"]) == (lab25.versions["ovs"], lab25.versions["ovn"])
    same = ("kube-node1", lab25.microflow("kube-node1", "default/web-1", "192.168.2.3"))
    cross = ("kube-node2", lab25.microflow("kube-node2", "default/client-1", "192.168.2.3"))
    for node, flow in (same, cross):
        live = lab25.trace(node, flow)
        rc, got, err = replay(sos_lab25[node], flow, "--raw")
        assert rc == 0, err
        assert tables(got) == tables(live) and normal(got) == normal(live), node
        c = lab25.node_dir(lab25.inventory.cluster.central)
        want, _ = explain(live, "--sb", f"unix:{c / 'ovnsb_db.sock'}", "--nb", f"unix:{c / 'ovnnb_db.sock'}",
                          "--node", f"{node}=unix:{lab25.node_dir(node) / 'db.sock'}", "--on", node)
        have, _ = explain(live, "--context", str(sos_lab25["kube-master"]), "--context", str(sos_lab25[node]),
                          "--on", node)
        assert meaning(have) == meaning(want), node
    rc, out, _ = replay(sos_lab25["kube-node1"], same[1], "--color", "never")
    assert "the node ran OVS 3.5.0" in out
