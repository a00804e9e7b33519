"""Offline, on the checked-in bundles (fixtures/bundle/: real sos 4.0 sosreports of a lab and the live traces
taken right after, see tests/bundle/make_fixture.py): no lab needed. The replay runs a private ovs-vswitchd
(the host's Open vSwitch; skipped when it is not installed)."""

from __future__ import annotations

import json
import tarfile
import uuid
from pathlib import Path

import pytest

from ovntrace.replay.switch import missing_tools
from tests.bundle.test_bundle_lab import cli, normal, tables
from tests.sources.test_context_folder_lab import explain, meaning

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "bundle"
MASTER, NODE1 = FIX / "kube-master.sosreport.tar.xz", FIX / "kube-node1.sosreport.tar.xz"
MANIFEST = json.loads((FIX / "manifest.json").read_text())


def test_inventory_of_checked_in_sosreports() -> None:
    rc, out, err = cli("bundle", "--format", "json", str(MASTER), str(NODE1))
    assert rc == 0, err
    doc = json.loads(out)
    nodes = {n["node"]: n for n in doc["nodes"]}
    assert sorted(nodes) == ["kube-master", "kube-node1"]
    for name, n in nodes.items():  # the fixed system-ids of ovntrace.lab.fixtures.fixed_inventory
        assert n["system_id"] == str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{name}.ovntrace-lab"))
        assert (n["sos_version"], n["ovs_version"], n["ovn_version"]) == ("4.0", "3.1.0", "23.03.1")
    assert [d["database"] for d in nodes["kube-master"]["databases"]] == ["nb-db", "sb-db"]
    assert nodes["kube-node1"]["databases"] == []


def test_explain_with_tarballs_equals_extracted_folder(tmp_path: Path) -> None:
    trace = (FIX / "acl-drop-dst.txt").read_text()
    got, _ = explain(trace, "--context", str(MASTER), "--context", str(NODE1), "--on", "kube-node1")
    for p in (MASTER, NODE1):
        with tarfile.open(p) as tf:
            tf.extractall(tmp_path, filter="data")
    folders = sorted(str(p) for p in tmp_path.iterdir())
    ext, _ = explain(trace, *(a for f in folders for a in ("--context", f)), "--on", "kube-node1")
    assert meaning(got) == meaning(ext)
    text = json.dumps(got)
    assert "deny-ssh-from-client-1" in text  # the ACL that drops, from the bundle's NB/SB
    assert '"lflow_ambiguous": ["' not in text  # explain/2: the key is always there, empty


@pytest.mark.skipif(bool(missing_tools()), reason="Open vSwitch is not installed")
def test_replay_of_checked_in_sosreport_equals_recorded_live_trace() -> None:
    for file in ("xnode-dst.txt", "acl-drop-dst.txt"):
        live = (FIX / file).read_text()
        rc, got, err = cli("replay", str(NODE1), MANIFEST[file]["flow"], "--raw")
        assert rc == 0, err
        assert tables(got) == tables(live), file
        assert normal(got) == normal(live), file
    # the load balancer's group is not in a sos 4.0 bundle: the replay says so and stops at the empty group
    rc, out, err = cli("replay", str(NODE1), MANIFEST["lb-vip.txt"]["flow"], "--context", str(MASTER),
                       "--color", "never")
    assert rc == 0, err
    assert "group(s) 1 used by the flows are not in the bundle" in out


@pytest.mark.skipif(bool(missing_tools()), reason="Open vSwitch is not installed")
def test_path_offline_bundle_folder_is_partial_where_a_node_has_no_sosreport() -> None:
    """``ovntrace path --offline FOLDER``: the folder holds the sosreports of kube-master and kube-node1 only
    (beside loose files, which make no node). sshd-2 (kube-node1) -> client-1 (kube-node2) is replayed on
    kube-node1, leaves by Geneve to kube-node2's chassis, and stops there: exit 3 (partial), saying why."""
    rc, out, err = cli("path", "--offline", str(FIX), "default/sshd-2", "default/client-1")
    assert rc == 3, err
    first = out.splitlines()[0]
    assert first.startswith("ct trk,new: pod default/sshd-2 @ kube-node1 → switch kube-node1")
    assert "⇒ ⋯ kube-node2 not reached" in first
    assert "no sosreport of it in the bundle" in out
    assert "replayed from bundle" in out and "on kube-node1" in out
    rc, _out, err = cli("path", "--offline", str(FIX), "default/sshd-2", "default/client-1", "--trace",
                        f"kube-node1={FIX / 'xnode-dst.txt'}")
    assert rc == 2 and "every hop is replayed" in err


@pytest.mark.parametrize("name", ["acl-drop-dst.txt", "xnode-dst.txt", "lb-vip.txt"])
def test_bundle_sb_decodes_only_the_traces_flows_and_explains_the_same(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """--context of sosreports: each Southbound db file in them is read for the trace's cookies only (issue 18),
    and explain's JSON is the same as with every logical flow decoded."""
    from ovntrace.sources import bundle, load

    trace = (FIX / name).read_text()
    argv = ("--context", str(MASTER), "--context", str(NODE1), "--on", "kube-node1")
    seen: list[object] = []
    real_cfb = load.context_from_bytes

    def spy(data: bytes, *a: object, keep: object = None, **kw: object) -> object:
        seen.append(keep)
        return real_cfb(data, *a, keep=keep, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(load, "context_from_bytes", spy)
    kept, _ = explain(trace, *argv)
    assert any(k is not None for k in seen), "the bundle's SB was read for the trace's cookies"
    monkeypatch.setattr(load, "context_from_bytes", real_cfb)
    real_bc = bundle.bundle_context
    monkeypatch.setattr(bundle, "bundle_context", lambda b, zone=None, lflow_cookies=None: real_bc(b, zone))
    whole, _ = explain(trace, *argv)
    assert kept == whole
    assert '"lflow": {' in json.dumps(kept)
