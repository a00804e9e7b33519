"""Sources against real inputs: the lab's db files, real dumps/lists of them, a real clustered db, the seed's and
the fixtures' pasted show outputs, and (lab tests) a real ovsdb-server live."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ovntrace.model.cluster import ClusterContext, ColumnNotLoaded, Interface
from ovntrace.sources import PasteError, SourceError, load_context, load_nb, load_node, load_remote, load_sb
from ovntrace.sources.ovsdb import ColType, apply_diff, read_database, to_plain
from ovntrace.sources.paste import context_from_text
from tests.conftest import FIX

CTX = FIX / "context"
LAB = FIX / "lab"
SEED = FIX / "seed" / "walkthrough.txt"  # byte-exact copy of shared/seeds/000_fd7d23f741a398a8.txt


def same(a: ClusterContext, b: ClusterContext) -> bool:
    return dataclasses.replace(a, sources=()) == dataclasses.replace(b, sources=())


# -- OVSDB data -------------------------------------------------------------------------------------


def test_values_and_diffs() -> None:
    opt_u = ColType.from_code("?u")
    assert to_plain(["uuid", "AB000000-0000-0000-0000-000000000001"], opt_u) == "ab000000-0000-0000-0000-000000000001"
    assert to_plain(["set", []], opt_u) is None
    assert to_plain("x", ColType.from_code("*s")) == ["x"]
    assert to_plain(["set", ["b", "a"]], ColType.from_code("*s")) == ["a", "b"]
    assert to_plain(["map", [["k", "v"]]], ColType.from_code("{ss}")) == {"k": "v"}
    assert to_plain(["map", [[1, ["uuid", "X"]]]], ColType.from_code("{iu}")) == {1: "x"}
    assert apply_diff(["a", "b"], ["b", "c"], ColType.from_code("*s")) == ["a", "c"]
    assert apply_diff({"a": "1", "b": "2", "c": "3"}, {"a": "1", "b": "9", "d": "4"}, ColType.from_code("{ss}")) == {
        "b": "9", "c": "3", "d": "4"}


# -- database files vs real dumps of the same data --------------------------------------------------


def test_lab_sb_file_equals_its_dump() -> None:
    f = load_sb(LAB / "ovnsb_db.db")
    assert same(f, load_sb(CTX / "lab-sb-dump.json"))
    assert len(f.logical_flows) == 362 and len(f.datapaths) == 7 and len(f.port_bindings) == 19
    assert f.ovn_version == "23.03.1"
    assert {(d.name, d.type) for d in f.datapaths} >= {("kube-node1", "switch"), ("kube-master", "router"),
                                                        ("kube-master", "switch")}
    ch = {c.hostname: c for c in f.chassis}
    assert ch["kube-node1"].encaps[0].ip == "172.17.42.31"
    lf = next(x for x in f.logical_flows if x.uuid.startswith("37abfc84"))
    assert lf.priority == 0 and lf.datapath is None and lf.datapath_group  # defaults of omitted columns
    assert lf.stage_name == "lr_in_ip_routing"
    assert "OVN_Southbound 20.27.0" in f.sources[0]


def test_lab_nb_file_equals_its_dump() -> None:
    f = load_nb(LAB / "ovnnb_db.db")
    assert same(f, load_nb(CTX / "lab-nb-dump.json"))
    acl = next(r for r in f.nb_rows if r.table == "ACL")
    assert acl.name == "deny-ssh-from-client-1" and acl.columns["priority"] == 1001
    assert acl.columns["log"] is True and acl.columns.get("tier") is None  # no tier in OVN 23.03's schema
    with pytest.raises(ColumnNotLoaded, match="'meter'"):  # correlation reads no meter: never loaded
        acl.columns.get("meter")


def test_clustered_file_equals_its_dump() -> None:
    """A real Raft file (ovsdb-tool create-cluster + ovn-sbctl transactions through ovsdb-server)."""
    c = load_sb(CTX / "sb-clustered.db")
    assert same(c, load_sb(CTX / "sb-clustered-dump.json"))
    assert "clustered" in c.sources[0]
    names = {x.name for x in c.chassis}
    assert "extra-chassis2" in names and "extra-chassis" not in names  # chassis-del replayed
    assert [m.ip for m in c.mac_bindings] == ["203.0.113.7"]
    dp = next(d for d in c.datapaths if d.name == "kube-node1")
    assert dp.external_ids["note"] == "changed-in-raft"


def test_ctl_lists_are_recognised() -> None:
    acl = load_context(CTX / "lab-nbctl-list-acl.json")
    assert [r.table for r in acl.nb_rows] == ["ACL"]
    pbs = load_context(CTX / "lab-sbctl-list-port-binding.json")
    file_ports = {p.logical_port for p in load_sb(LAB / "ovnsb_db.db").port_bindings}
    assert {p.logical_port for p in pbs.port_bindings} == file_ports
    ch = load_context(CTX / "lab-sbctl-list-chassis.json")
    assert {c.hostname for c in ch.chassis} == {"kube-master", "kube-node1", "kube-node2"}


def test_cut_last_record_is_tolerated_and_corruption_is_an_error(tmp_path: Path) -> None:
    data = (LAB / "ovnnb_db.db").read_bytes()
    cut = tmp_path / "cut.db"
    cut.write_bytes(data[:-100])
    db = read_database(cut.read_bytes())
    assert db.notes and "cut short" in db.notes[0] and db.transactions == 0
    bad = bytearray(data)
    bad[200] ^= 1  # inside the schema record, not the last one
    p = tmp_path / "bad.db"
    p.write_bytes(bytes(bad))
    with pytest.raises(SourceError, match="checksum"):
        load_nb(p)


def test_wrong_database_for_the_option() -> None:
    with pytest.raises(SourceError, match="expected the OVN_Northbound database"):
        load_nb(LAB / "ovnsb_db.db")


def test_unrecognised_input_says_what_was_expected(tmp_path: Path) -> None:
    p = tmp_path / "x.txt"
    p.write_text("hello\nworld\n")
    with pytest.raises(SourceError, match=r"not a recognised source.*hello"):
        load_context(p)


# -- pasted show outputs ----------------------------------------------------------------------------


def test_vsctl_show_seed_fixture() -> None:
    n = load_node("kube-node1", FIX / "seed" / "kube-node1-vsctl-show.txt").nodes[0]
    tun = {i.name: i for i in n.interfaces}
    assert tun["ovn-7f9937-0"].remote_ip == "172.17.42.32" and tun["ovn-7f9937-0"].type == "geneve"
    assert tun["ovn-069367-0"].type == "vxlan" and tun["a2f5796e82e9286"].bridge == "br-int"
    assert n.ovs_version == "2.8.1"


def test_node_from_show_outputs_merge_ofports() -> None:
    ctx = ClusterContext()
    for f in ("kube-node1-ovs-vsctl-show.txt", "kube-node1-ovs-ofctl-show-br-int.txt",
              "kube-node1-ovs-appctl-dpif-show.txt"):
        ctx = ctx.merge(load_node("kube-node1", LAB / f))
    from ovntrace.sources.paste import combine_nodes

    (n,) = combine_nodes(ctx.nodes)
    by = {(i.bridge, i.name): i for i in n.interfaces}
    assert by[("br-int", "a06e273070d1122")].ofport == 10
    assert by[("br-int", "a06e273070d1122")].mac == "0a:00:00:00:00:01"
    assert by[("br-int", "ovn-9dd3fa-0")].ofport == 4 and by[("br-int", "ovn-9dd3fa-0")].remote_ip == "172.17.42.32"
    assert by[("br-int", "br-int")].ofport == 65534 and by[("breth0", "eth0")].ofport == 1


def test_ovn_24_03_fixtures() -> None:
    d = FIX / "ovn-24.03.9"
    of = load_node("hv1", d / "ofctl-show.txt").nodes[0]
    assert {i.name: i.ofport for i in of.interfaces} == {"ovn-hv2-0": 1, "p1": 9, "p2": 10, "br-int": 65534}
    dp = load_node("hv1", d / "dpif-show.txt").nodes[0]
    assert next(i for i in dp.interfaces if i.name == "ovn-hv2-0").remote_ip == "127.0.0.2"
    vs = load_node("hv1", d / "vsctl-show.txt").nodes[0]
    assert {i.name for i in vs.interfaces} == {"ovn-hv2-0", "p1", "br-int", "p2"}
    sb = load_sb(d / "sbctl-show.txt")
    assert {c.name: c.encaps[0].ip for c in sb.chassis} == {"hv2": "127.0.0.2", "chassis-1": "127.0.0.1"}


def test_lab_nbctl_and_sbctl_show() -> None:
    nb = load_nb(LAB / "ovn-nbctl-show.txt")
    rows = {(r.table, r.columns.get("name")): r for r in nb.nb_rows}
    lrp = rows[("Logical_Router_Port", "rtos-kube-node1")]
    assert lrp.columns["mac"] == "00:00:00:55:04:77" and lrp.columns["networks"] == ["192.168.2.1/24"]
    assert lrp.columns["_parent"] == rows[("Logical_Router", "kube-master")].uuid
    assert rows[("Logical_Switch_Port", "stor-kube-node1")].columns["options"] == {"router-port": "rtos-kube-node1"}
    nat = next(r for r in nb.nb_rows if r.table == "NAT")
    assert nat.columns["external_ip"] == "172.17.42.30" and nat.columns["type"] == "snat"
    sb = load_sb(LAB / "ovn-sbctl-show.txt")
    assert {c.hostname: c.encaps[0].ip for c in sb.chassis}["kube-node1"] == "172.17.42.31"


def test_seed_walkthrough_yields_every_paste() -> None:
    ctx = load_context(SEED)
    kinds = [s.split(" from ")[0] for s in ctx.sources]
    assert kinds == ["ovn-nbctl show", "ovn-nbctl show", "ovs-vsctl show", "ovs-ofctl show", "ovs-vsctl show",
                     "ovs-ofctl show"]
    macs = {r.columns.get("mac"): r.columns["name"] for r in ctx.nb_rows if r.table == "Logical_Router_Port"}
    assert macs["00:00:00:D3:4B:AA"] == "rtos-kube-node2"  # the seed's note (1)
    (node,) = ctx.nodes
    by = {i.name: i for i in node.interfaces}
    assert by["ovn-c7889c-0"].ofport == 7 and by["ovn-c7889c-0"].remote_ip == "172.17.42.31"  # note (5)
    assert by["a2f5796e82e9286"].ofport == 10


def test_pastes_with_prompts_crlf_and_quoting() -> None:
    text = (LAB / "kube-node1-ovs-vsctl-show.txt").read_text()
    pasted = "[root@kube-node1 ~]# ovs-vsctl show\r\n" + text.replace("\n", "\r\n")
    ctx = context_from_text("\n".join("> " + ln for ln in pasted.split("\r\n")))
    assert ctx.nodes[0].name == "kube-node1"
    plain = load_node("x", LAB / "kube-node1-ovs-vsctl-show.txt").nodes[0]
    assert len(ctx.nodes[0].interfaces) == len(plain.interfaces)
    md = "Some words\n\n```\n$ sudo ovn-sbctl show\n" + (FIX / "ovn-24.03.9" / "sbctl-show.txt").read_text() + "```\n"
    assert len(context_from_text(md).chassis) == 2


def test_bad_line_inside_a_show_output_names_the_line() -> None:
    text = (LAB / "kube-node1-ovs-vsctl-show.txt").read_text().splitlines()
    text.insert(5, "            Interface eth0 ### garbage (")
    with pytest.raises(PasteError) as e:
        context_from_text("\n".join(text))
    assert e.value.line == 6 and "ovs-vsctl show" in str(e.value) and "expected" in str(e.value)
    with pytest.raises(PasteError) as e2:
        load_context("switch\n  nonsense here\n", hint="nbctl")
    assert e2.value.line == 1


def test_directory_is_every_recognised_file(tmp_path: Path) -> None:
    (tmp_path / "sos_commands").mkdir()
    shutil.copy(LAB / "ovnsb_db.db", tmp_path / "ovnsb_db.db")
    shutil.copy(LAB / "ovnnb_db.db", tmp_path / "ovnnb_db.db")
    shutil.copy(LAB / "kube-node1-ovs-vsctl-show.txt", tmp_path / "sos_commands" / "ovs-vsctl_show")
    (tmp_path / "notes.txt").write_text("nothing to see\n")
    ctx = load_context(tmp_path)
    assert len(ctx.logical_flows) == 362 and ctx.nb_rows and len(ctx.nodes) == 1 and len(ctx.sources) == 3


# -- live (the session lab: real ovsdb-servers) ------------------------------------------------------


@pytest.mark.lab
@pytest.mark.parametrize("client", ["select", "select-no-monitor", "ovsdbapp"])
def test_live_equals_db_files(lab: object, client: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``select``: the whole tables in one monitor_cond (update2, default columns left out), the rest selected;
    ``select-no-monitor``: a server that refuses monitor_cond, everything selected; ``ovsdbapp``: the IDL."""
    from ovntrace.sources import rpc
    from tests.truth.conftest import remotes

    if client == "select-no-monitor":
        real_call = rpc._Session.call

        def refuse(self: rpc._Session, method: str, params: list[object]) -> object:
            if method == "monitor_cond":
                raise SourceError(f"{self.remote}: monitor_cond failed: unknown method")
            return real_call(self, method, params)

        monkeypatch.setattr(rpc._Session, "call", refuse)
        client = "select"
    monkeypatch.setenv("OVNTRACE_OVSDB_CLIENT", client)
    sb_remote, nb_remote = remotes(lab)  # type: ignore[arg-type]
    master = lab.node_dir("kube-master")  # type: ignore[attr-defined]
    live_sb = load_remote(sb_remote, "OVN_Southbound", client=client)
    assert same(live_sb, load_sb(master / "ovnsb_db.db")) and len(live_sb.logical_flows) > 300
    assert same(load_nb(nb_remote), load_nb(master / "ovnnb_db.db"))
    unix = f"unix:{master / 'ovnsb_db.sock'}"
    assert same(load_sb(unix), live_sb)


@pytest.mark.lab
@pytest.mark.parametrize("monitor", [True, False])
def test_live_for_a_trace_equals_db_files_for_it(lab: object, monitor: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a trace needs (its datapath keys, 0 among them, and cookies), live and from the files: the same
    logical flows, ports and multicast groups (the file's per-datapath filter is the live select's). Live,
    in four round trips (schema, the whole tables, the datapaths' ports/groups/flow UUIDs in one transact,
    the cookies' flows), or, when the server refuses monitor_cond, selects only."""
    import random

    from ovntrace.sources import rpc
    from tests.truth.conftest import remotes

    calls: list[str] = []
    real_call = rpc._Session.call

    def counted(self: rpc._Session, method: str, params: list[object]) -> object:
        calls.append(method)
        if method == "monitor_cond" and not monitor:
            raise SourceError(f"{self.remote}: monitor_cond failed: unknown method")
        return real_call(self, method, params)

    monkeypatch.setattr(rpc._Session, "call", counted)

    sb_remote, _ = remotes(lab)  # type: ignore[arg-type]
    master = lab.node_dir("kube-master")  # type: ignore[attr-defined]
    whole = load_sb(master / "ovnsb_db.db")
    dps = sorted(whole.datapaths, key=lambda d: d.key)[:2]
    keys = {0} | {dp.key for dp in dps}
    on = {dp.uuid for dp in dps}
    groups = {g.uuid for g in whole.datapath_groups if on & set(g.datapaths)}
    theirs = sorted({lf.uuid[:8] for lf in whole.logical_flows if lf.datapath in on or lf.datapath_group in groups})
    cookies = set(random.Random(5).sample(theirs, 30))  # a trace's cookies are flows of the datapaths it visits
    live = load_sb(sb_remote, keys, cookies)
    if monitor:
        assert calls == ["get_schema", "monitor_cond", "transact", "transact"]
    f = load_sb(master / "ovnsb_db.db", keys, cookies)
    assert same(live, f)
    assert 0 < len(f.port_bindings) < len(whole.port_bindings)
    assert {lf.uuid[:8] for lf in f.logical_flows} <= cookies
    if monitor:  # the flows of the datapath groups: in one condition (one scan), or one condition per group
        assert len(groups) > 1  # so the one condition is what the first read used
        real_wheres = rpc._lflow_wheres
        monkeypatch.setattr(rpc, "_lflow_wheres", lambda *a, **kw: real_wheres(*a, **{**kw, "groups_at_once": False}))
        assert same(load_sb(sb_remote, keys, cookies), live)


@pytest.mark.lab
def test_live_node_equals_conf_db(lab: object) -> None:
    d = lab.node_dir("kube-node1")  # type: ignore[attr-defined]
    live = load_node("kube-node1", f"unix:{d / 'db.sock'}").nodes[0]
    f = load_node("kube-node1", d / "conf.db").nodes[0]

    def no_mac(i: Interface) -> Interface:  # mac_in_use is ephemeral: never in the file
        return dataclasses.replace(i, mac=None)

    assert dataclasses.replace(live, interfaces=tuple(map(no_mac, live.interfaces))) == dataclasses.replace(
        f, interfaces=tuple(map(no_mac, f.interfaces)))
    assert f.system_id and f.encap_ip == "172.17.42.31" and f.hostname == "kube-node1"
    pod = next(i for i in f.interfaces if i.iface_id == "default_sshd-2")
    assert pod.ofport is not None and f.ct_zones["default_sshd-2"] >= 1
    assert any(i.remote_ip == "172.17.42.32" for i in f.interfaces)


@pytest.mark.skipif(shutil.which("ovsdb-tool") is None, reason="ovsdb-tool missing (openvswitch-common)")
def test_lazy_logical_flows_follow_later_transactions(tmp_path: Path) -> None:
    """Logical_Flow rows are converted only when looked up: updates and deletes appended by the real
    ovsdb-tool after them must still be applied."""
    db = tmp_path / "sb.db"
    shutil.copy(LAB / "ovnsb_db.db", db)
    before = load_sb(db)
    flows = list(before.logical_flows)
    gone, changed = flows[0], flows[1]
    txn = ["OVN_Southbound",
           {"op": "delete", "table": "Logical_Flow", "where": [["_uuid", "==", ["uuid", gone.uuid]]]},
           {"op": "update", "table": "Logical_Flow", "where": [["_uuid", "==", ["uuid", changed.uuid]]],
            "row": {"match": "ip4 && 1 == 1"}}]
    subprocess.run(["ovsdb-tool", "transact", str(db), json.dumps(txn)], check=True, capture_output=True)
    after = load_sb(db)
    uuids = [f.uuid for f in after.logical_flows]
    assert gone.uuid not in uuids and len(uuids) == len(flows) - 1
    assert next(f for f in after.logical_flows if f.uuid == changed.uuid).match == "ip4 && 1 == 1"
    by_prefix = getattr(after.logical_flows, "by_prefix", None)
    if by_prefix is not None:
        assert [f.match for f in by_prefix(changed.uuid[:8])] == ["ip4 && 1 == 1"]
        assert not by_prefix(gone.uuid[:8]) or all(f.uuid != gone.uuid for f in by_prefix(gone.uuid[:8]))
