"""``ovntrace path``, ``explain --on`` and ``snapshot`` on the interconnect lab (issue 13), both releases.

Every node is its own zone (its own NB, SB, ovn-northd); nodes are joined by ovn-kubernetes' transit switch.
Oracles: each zone's own databases, read with the real ``ovn-nbctl``/``ovn-sbctl`` of that zone, and the
real ``ofproto/trace`` of each node. Nothing is mocked; the lab is iclab's (``lab_ic``/``lab25_ic``).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from ovntrace.correlate import Correlator
from ovntrace.lab import inventory as inv_mod
from ovntrace.lab.inventory import TRANSIT_SWITCH, TRANSIT_SWITCH_KEY
from ovntrace.lab.lab import Lab
from ovntrace.parser import parse
from ovntrace.path import run_path
from ovntrace.pathcmd import main
from tests.path.test_path_more import _inventory_with_down_node

SRC, DST = "default/client-1", "default/sshd-2"  # client-1 on kube-node2, sshd-2 on kube-node1




def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    if argv[0] == "explain":
        from ovntrace.cli import run

        rc = run(list(argv), io.StringIO(), out, err)
        return rc, out.getvalue(), err.getvalue()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()


def _sb_rows(lab: Lab, zone: str, table: str, columns: str) -> list[list[str]]:
    out = lab.run(zone, ["ovn-sbctl", "--format=csv", "--data=bare", "--no-headings", f"--columns={columns}",
                         "list", table])
    return [line.split(",") for line in out.splitlines() if line]


def _datapaths(lab: Lab, zone: str) -> dict[int, str]:
    """The zone's own SB: datapath tunnel key -> its NB name (oracle for per-zone names)."""
    out: dict[int, str] = {}
    for uuid in lab.run(zone, ["ovn-sbctl", "--bare", "--columns=_uuid", "list", "Datapath_Binding"]).split():
        key = lab.run(zone, ["ovn-sbctl", "get", "Datapath_Binding", uuid, "tunnel_key"]).strip()
        name = lab.run(zone, ["ovn-sbctl", "get", "Datapath_Binding", uuid, "external_ids:name"]).strip().strip('"')
        out[int(key)] = name
    return out


def _port_key(lab: Lab, zone: str, port: str) -> int:
    return int(lab.run(zone, ["ovn-sbctl", "get", "Port_Binding", port, "tunnel_key"]).strip())


def _hop_datapaths(trace: Any) -> list[tuple[int, str | None]]:
    return [(h.datapath.key, h.datapath.name) for h in trace.ovn.path if h.kind == "pipeline"]


@pytest.mark.lab
def test_ic_cross_node_delivered_with_both_zones(ic: Lab) -> None:
    inv = ic.inventory
    r = run_path(SRC, DST, ic.inventory_path)
    assert [c.ct for c in r.chains] == ["trk,new", "trk,est"]
    assert r.src.zone == "kube-node2" and r.dst.zone == "kube-node1"
    in_key, out_key = _port_key(ic, "kube-node2", "tstor-kube-node2"), _port_key(ic, "kube-node2", "tstor-kube-node1")
    # the transit switch's port keys are the same in the receiving zone (the oracle of the stitching)
    assert (in_key, out_key) == (_port_key(ic, "kube-node1", "tstor-kube-node2"),
                                 _port_key(ic, "kube-node1", "tstor-kube-node1")) == (inv.node_id("kube-node2"),
                                                                                      inv.node_id("kube-node1"))
    tunnel = (f"geneve {inv.node('kube-node2').encap_ip} → {inv.node('kube-node1').encap_ip} "
              f"(dp {TRANSIT_SWITCH_KEY} transit switch {TRANSIT_SWITCH}, in {in_key} tstor-kube-node2, "
              f"out {out_key} tstor-kube-node1 (remote, chassis kube-node1))")
    for c in r.chains:
        assert c.verdict["delivered"] and c.verdict["node"] == "kube-node1", c.verdict
        assert [t.node for t in c.traces] == ["kube-node2", "kube-node1"]
        assert c.segments[1] == tunnel, c.segments
        assert c.line.startswith("pod default/client-1 @ kube-node2 → switch kube-node2 → router ovn_cluster_router "
                                 f"→ transit switch {TRANSIT_SWITCH} ⇒ "), c.line
        assert c.line.endswith(f"⇒ transit switch {TRANSIT_SWITCH} (egress) → router ovn_cluster_router → "
                               "switch kube-node1 → pod default/sshd-2 @ kube-node1"), c.line
        # each hop named from its own zone's SB (oracle: ovn-sbctl of that zone)
        for t in c.traces:
            names = _datapaths(ic, t.node)
            for key, name in _hop_datapaths(t):
                assert names[key] == name, (t.node, key, name, names)
        # hop 2 arrives as the receiving zone decodes it: from the remote chassis kube-node2 on the transit switch
        arrival = c.traces[1].ovn.verdict.arrival
        assert arrival["transit_switch"] is True and arrival["chassis"]["remote"] is True
        assert arrival["inport_name"] == "tstor-kube-node2" and arrival["outport_name"] == "tstor-kube-node1"
    # hop 2's flow: its tunnel port toward kube-node2, the transit key, the ports, hop 1's rewrites (ttl 63)
    flow2 = r.chains[0].traces[1].flow
    md = in_key << 16 | out_key
    assert f"tun_id={TRANSIT_SWITCH_KEY:#x}," in flow2 and f"tun_metadata0={md:#x}," in flow2, flow2
    assert "nw_ttl=63" in flow2 and f"tun_src={inv.node('kube-node2').encap_ip}" in flow2
    hop1 = r.chains[0].traces[0].ovn.verdict.cause
    assert (f"transit switch → tstor-kube-node1 (remote, chassis kube-node1) (key dp {TRANSIT_SWITCH_KEY}, "
            f"in {in_key}, out {out_key})") in hop1, hop1
    print(f"\ninterconnect path ({ic.release}): {r.stats}")


@pytest.mark.lab
def test_ic_acl_drop_on_receiving_zone_names_its_acl(ic: Lab) -> None:
    rc, out, err = _cli("path", SRC, DST, "--tcp", "--dport", "22", "--inventory", str(ic.inventory_path),
                        "-f", "json")
    assert rc == 0, err
    doc = json.loads(out)
    v = doc["verdict"]
    assert v["kind"] == "drop" and v["node"] == "kube-node1" and not v["delivered"], v
    # the ACL as the receiving zone's own NB has it (kube-node2's NB has no such ACL)
    names1 = ic.run("kube-node1", ["ovn-nbctl", "--bare", "--columns=name", "list", "ACL"]).split()
    names2 = ic.run("kube-node2", ["ovn-nbctl", "--bare", "--columns=name", "list", "ACL"]).split()
    assert v["acl"]["name"] in names1 and v["acl"]["name"] not in names2, (v["acl"], names1, names2)
    acl_uuid = ic.run("kube-node1", ["ovn-nbctl", "--bare", "--columns=_uuid", "find", "ACL",
                                     f"name={v['acl']['name']}"]).strip()
    assert v["acl"]["uuid"] == acl_uuid
    assert [t["zone"] for t in doc["conntrack"][0]["traces"]] == ["kube-node2", "kube-node1"]
    assert doc["src"]["zone"] == "kube-node2" and doc["dst"]["zone"] == "kube-node1"


@pytest.mark.lab
def test_ic_same_key_other_datapath_per_zone(ic: Lab) -> None:
    """A datapath key of the receiving trace names the receiving zone's datapath, never the sending one's:
    the real lab gives keys that mean different datapaths in the two zones (found from their SBs)."""
    dps1, dps2 = _datapaths(ic, "kube-node1"), _datapaths(ic, "kube-node2")
    differ = {k for k in dps1.keys() & dps2.keys() if dps1[k] != dps2[k]}
    r = run_path(SRC, DST, ic.inventory_path, cts=("trk,new",))
    hop2 = r.chains[0].traces[1]
    keys2 = {k for k, _ in _hop_datapaths(hop2)}
    assert keys2 & differ, ("the lab has no key of hop 2 that the zones name differently", dps1, dps2, keys2)
    ctx = r.context
    # the same trace, the same facts: read on kube-node1 (its zone) and, wrongly, on kube-node2
    t = parse(hop2.text).traces[0]
    right, wrong = Correlator(ctx, None, "kube-node1").annotate(t), Correlator(ctx, None, "kube-node2").annotate(t)
    assert right is not None and wrong is not None
    for k in keys2 & differ:
        got_right = {h.datapath.name for h in right.path if h.kind == "pipeline" and h.datapath.key == k}
        got_wrong = {h.datapath.name for h in wrong.path if h.kind == "pipeline" and h.datapath.key == k}
        assert got_right == {dps1[k]} and got_wrong == {dps2[k]}, (k, got_right, got_wrong)
    # the ACL cookie of hop 2 (tcp/22) is a logical flow of kube-node1's SB only
    r = run_path(SRC, DST, ic.inventory_path, proto="tcp", dport=22, cts=("trk,new",))
    hop2 = r.chains[0].traces[1]
    t = parse(hop2.text).traces[0]
    right, wrong = Correlator(ctx, None, "kube-node1").annotate(t), Correlator(ctx, None, "kube-node2").annotate(t)
    assert right is not None and right.verdict is not None and right.verdict.acl
    assert wrong is not None and wrong.verdict is not None
    acl_uuid = ic.run("kube-node1", ["ovn-nbctl", "--bare", "--columns=_uuid", "find", "ACL",
                                     f"name={right.verdict.acl['name']}"]).strip()
    # read in its own zone: the ACL row of kube-node1's NB (through the flow's stage-hint), on switch kube-node1
    assert right.verdict.acl.get("uuid") == acl_uuid and "on switch kube-node1" in right.verdict.cause
    # read in the other zone: the cookie is no flow of kube-node2's SB (only the trace's own log name is
    # left), and key 3 is kube-node2's switch there: why a trace must be read in its own zone
    assert "uuid" not in wrong.verdict.acl and "on switch kube-node2" in wrong.verdict.cause, wrong.verdict
    # no node: no zone is used, and the explanation says why
    none = Correlator(ctx, None, None).annotate(t)
    assert none is None or any("interconnect zones" in w for w in none.warnings)


@pytest.mark.lab
def test_ic_same_node_external_and_reverse(ic: Lab) -> None:
    rc, out, err = _cli("path", DST, "default/web-1", "--inventory", str(ic.inventory_path))
    assert rc == 0, err
    assert out.startswith("ct trk,new: pod default/sshd-2 @ kube-node1 → switch kube-node1 → pod default/web-1 @ "
                          "kube-node1\n"), out
    rc, out, err = _cli("path", SRC, "8.8.8.8", "--inventory", str(ic.inventory_path))
    assert rc == 0, err
    first = out.splitlines()[0]
    assert "⇒" not in first and "@ kube-node2 (gateway: stops here)" in first, first
    rc, out, err = _cli("path", SRC, DST, "--reverse", "--inventory", str(ic.inventory_path))
    assert rc == 0, err
    assert "reply, ct trk,new: pod default/sshd-2 @ kube-node1 → switch kube-node1 → router ovn_cluster_router → " \
           f"transit switch {TRANSIT_SWITCH} ⇒ geneve" in out, out
    assert "note: both directions agree (DELIVERED on kube-node1, DELIVERED on kube-node2)" in out, out


@pytest.mark.lab
def test_ic_receiving_node_down_is_a_partial_path(ic: Lab, tmp_path: Path) -> None:
    inv = _inventory_with_down_node(ic, tmp_path, "kube-node1")
    rc, out, err = _cli("path", SRC, DST, "--inventory", str(inv))
    assert rc == 3, (rc, out, err)
    first = out.splitlines()[0]
    assert first.startswith("ct trk,new: pod default/client-1 @ kube-node2 → switch kube-node2 → "), first
    assert f"⇒ geneve {ic.inventory.node('kube-node2').encap_ip} → {ic.inventory.node('kube-node1').encap_ip} " \
           f"(dp {TRANSIT_SWITCH_KEY} transit switch {TRANSIT_SWITCH}" in first, first
    assert first.endswith("⇒ ⋯ kube-node1 not reached"), first
    assert "verdict: PARTIAL on kube-node2: " in out
    assert "note: zone kube-node1's NB/SB not collected: kube-node1: cannot connect to" in out
    doc = json.loads(_cli("path", SRC, DST, "--inventory", str(inv), "-f", "json")[1])
    assert doc["partial"] is True and doc["dst"]["zone"] == "kube-node1" and doc["dst"]["ip"] == "192.168.2.3"
    assert doc["verdict"]["missing"] == "kube-node1" and "kube-node1" in doc["stats"]["zones_not_collected"]
    # the source's node down: nothing to trace, one line naming it (exit 1)
    rc, out, err = _cli("path", DST, SRC, "--inventory", str(inv), "-q")  # -q: only the error
    assert rc == 1 and not out, (rc, out, err)
    assert err.startswith("ovntrace path: kube-node1: the path needs this node") and len(err.splitlines()) == 1


@pytest.mark.lab
def test_ic_snapshot_offline_and_explain_on(ic: Lab, tmp_path: Path) -> None:
    snap = tmp_path / "snap.json"
    rc, out, err = _cli("snapshot", "--inventory", str(ic.inventory_path), "-o", str(snap))
    assert rc == 0, err
    assert "the NB/SB of 3 of 3 zones and 3 of 3 nodes" in out, out
    doc = json.loads(snap.read_text())
    assert sorted(doc["zones"]) == sorted(ic.inventory.node_names) and doc["nb"] == [] and doc["sb"] == []
    assert doc["cluster"]["topology"] == "interconnect"
    # offline: the same first hop from the snapshot, then a needs-trace for hop 2 naming the arriving packet
    live = run_path(SRC, DST, ic.inventory_path, cts=("trk,new",))
    t1 = tmp_path / "hop1.txt"
    t1.write_text(live.chains[0].traces[0].text)
    rc, out, err = _cli("path", SRC, DST, "--offline", str(snap), "--trace", f"kube-node2={t1}")
    assert rc == 0, err
    assert "NEEDS-TRACE on kube-node1" in out and "tun_metadata0=" in out, out
    t2 = tmp_path / "hop2.txt"
    t2.write_text(live.chains[0].traces[1].text)
    rc, out, err = _cli("path", SRC, DST, "--offline", str(snap), "--trace", f"kube-node2={t1}",
                        "--trace", f"kube-node1={t2}")
    assert rc == 0, err
    assert out.splitlines()[0] == f"ct trk,new: {live.chains[0].line}", out
    # explain --context SNAPSHOT --on NODE: hop 2 read with kube-node1's zone
    rc, out, err = _cli("explain", str(t2), "--context", str(snap), "--on", "kube-node1", "-f", "json")
    assert rc == 0, err
    v = json.loads(out)["traces"][0]["verdict"]
    assert "arrived over geneve from chassis kube-node2 (remote" in v["cause"], v
    assert v["outputs"][0]["datapath"] == "kube-node1" and v["arrival"]["transit_switch"] is True
    rc, out, err = _cli("explain", str(t2), "--context", str(snap))
    assert "interconnect zones" in out + err


@pytest.mark.lab
def test_ic_tui_live_view(ic: Lab) -> None:
    """The TUI's path pane uses the same path: each hop re-read with its own node's zone."""
    import threading

    from ovntrace.tui.live import PathRequest, trace_path

    view = trace_path(PathRequest(SRC, DST, str(ic.inventory_path)), lambda _w: None, threading.Event())
    assert view.nodes == ("kube-node2", "kube-node1") and view.verdict["delivered"]
    assert f"transit switch {TRANSIT_SWITCH}" in view.line
    result = parse(view.text)
    names1 = _datapaths(ic, "kube-node1")
    tovn = Correlator(view.context, None, view.nodes[1]).annotate(result.traces[1])
    assert tovn is not None
    assert all(names1[h.datapath.key] == h.datapath.name for h in tovn.path if h.kind == "pipeline")
    assert re.search(r"transit_switch \(egress\)", " ".join(h.text for h in tovn.path))


@pytest.mark.lab
def test_ic_reads_only_the_zones_of_the_path_and_more_on_demand(ic: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pod to pod reads the two zones it crosses (kube-master's is not read); when the inventory's prediction
    misses (simulated: it is cut to the source node; our own function, nothing of OVN mocked), DST does not
    resolve in the zones read and every zone is read then: the path is the same."""
    from ovntrace.path import collect as path_collect

    r = run_path(SRC, DST, ic.inventory_path, cts=("trk,new",))
    assert r.stats["zones"] == ["kube-node1", "kube-node2"] and r.stats["connections"] == 2, r.stats
    # 2 zones x NB/SB x (schema, query) + 2 conf.db + 2 traces
    assert r.stats["commands"] == 12 and r.chains[0].verdict["delivered"]
    real = path_collect.path_nodes
    monkeypatch.setattr(path_collect, "path_nodes", lambda inv, specs: (real(inv, specs) or [])[:1] or None)
    r2 = run_path(SRC, DST, ic.inventory_path, cts=("trk,new",))
    assert r2.chains[0].line == r.chains[0].line and r2.chains[0].verdict["delivered"]
    # DST did not resolve in the zone read: every zone is read then (3 zones, 3 conf.db, 2 traces)
    assert sorted(r2.stats["zones"]) == ["kube-master", "kube-node1", "kube-node2"], r2.stats
    assert r2.stats["commands"] == 12 + 2 * 2 + 1 and r2.stats["connections"] == 3, r2.stats
    # an outside address: the source's zone only (its own gateway router)
    r3 = run_path(SRC, "8.8.8.8", ic.inventory_path, cts=("trk,new",))
    assert r3.stats["zones"] == ["kube-node2"] and r3.chains[0].verdict.get("gateway"), r3.stats


@pytest.mark.lab
def test_ic_tui_pilot_path_pane(ic: Lab) -> None:
    """``path --tui`` on the interconnect lab, driven by Textual's pilot: the path pane shows the stitched
    path across the transit switch, and hop 2 is explained with kube-node1's zone (its ACL on tcp/22)."""
    from textual.pilot import Pilot

    from ovntrace.tui.app import create_app
    from ovntrace.tui.live import PathRequest
    from ovntrace.tui.screens.explain import ExplainScreen
    from ovntrace.tui.source import Options
    from ovntrace.tui.widgets.path import PathPane
    from tests.tui.conftest import run_on_screen, settle, verdict_text

    async def scenario(pilot: Pilot[int], screen: ExplainScreen) -> None:
        await settle(pilot)
        view = screen.path_view
        assert view is not None and view.nodes == ("kube-node2", "kube-node1")
        assert f"transit switch {TRANSIT_SWITCH} (egress)" in view.line
        rows = [str(o.prompt) for o in screen.query_one("#path", PathPane).options]
        # the stitched row is cut in its middle to the pane's width (its end, the verdict, kept)
        assert rows[0].startswith(f"⇒ {view.line[:20]}") and rows[0].endswith(view.line[-40:])
        assert any(r.startswith("hop 2 @ kube-node1 · ") for r in rows)
        assert "deny-ssh-from-client-1" in verdict_text(screen) and "on switch kube-node1" in verdict_text(screen)
        assert screen.outline is not None and len(screen.outline.ovn) == 2
        hop2 = screen.outline.ovn[1]
        assert hop2 is not None and hop2.verdict is not None and hop2.verdict.acl
        assert hop2.verdict.acl.get("uuid")  # the ACL row of the receiving zone's NB
        # the Logical tab: one ovn-trace per zone, each compared with its own node's ofproto/trace
        from ovntrace.tui.widgets.logical import comparisons_of

        comps, note = comparisons_of(screen.outline, view)
        assert len(comps) == 2 and all(c.agree for c in comps), note
        assert note is not None and "zone kube-node2, hop 1" in note and "zone kube-node1, hop 2" in note

    req = PathRequest(SRC, DST, str(ic.inventory_path), proto="tcp", dport=22)
    run_on_screen(create_app(None, Options(inventory=inv_mod.load(ic.inventory_path), live=req, doctor=False)),
                  scenario)


@pytest.mark.lab
def test_ic_explain_with_a_zone_per_node_from_files_and_live(ic: Lab, tmp_path: Path) -> None:
    """``explain --node NODE=DB``: a node's own NB/SB database files (the zone's real ovsdb-server files) or
    live remotes (``nb:tcp:…``) become that node's zone; ``--on NODE`` reads the trace with it."""
    r = run_path(SRC, DST, ic.inventory_path, cts=("trk,new",))
    hop2 = tmp_path / "hop2.txt"
    hop2.write_text(r.chains[0].traces[1].text)
    d = ic.node_dir("kube-node1")
    files = ["--node", f"kube-node1={d / 'ovnnb_db.db'}", "--node", f"kube-node1={d / 'ovnsb_db.db'}",
             "--node", f"kube-node1={d / 'conf.db'}"]
    addr, nb_port, sb_port = ic.inventory.zone_db("kube-node1")
    live = ["--node", f"kube-node1=nb:tcp:{addr}:{nb_port}", "--node", f"kube-node1=sb:tcp:{addr}:{sb_port}",
            "--node", f"kube-node1={d / 'conf.db'}"]
    for given in (files, live):
        rc, out, err = _cli("explain", str(hop2), *given, "--on", "kube-node1", "-f", "json")
        assert rc == 0, err
        v = json.loads(out)["traces"][0]["verdict"]
        assert v["outputs"][0]["datapath"] == "kube-node1" and v["outputs"][0]["logical_port"] == "default_sshd-2"
        assert v["arrival"]["inport_name"] == "tstor-kube-node2" and v["arrival"]["chassis"]["remote"] is True
