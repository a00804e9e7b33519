"""``ovntrace bundle`` and ``ovntrace replay`` ``--format json`` (``ovntrace.bundle/2``, ``ovntrace.replay/2``)
validated against the published schemas, on the checked-in real sosreports (fixtures/bundle/, see
tests/bundle/make_fixture.py): no lab needed. The damaged bundle is the real archive cut short here (a truncated
download), not a made-up one. The replay runs a private ovs-vswitchd (the host's Open vSwitch; skipped when it is
not installed), as tests/bundle/test_bundle_offline.py does."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from ovntrace.replay.switch import missing_tools
from tests.bundle.test_bundle_lab import cli
from tests.json.contract import check, validate

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "bundle"
MASTER, NODE1 = FIX / "kube-master.sosreport.tar.xz", FIX / "kube-node1.sosreport.tar.xz"
MANIFEST = json.loads((FIX / "manifest.json").read_text())


def _keys_of_every(doc: dict, path: str) -> set[frozenset[str]]:  # type: ignore[type-arg]
    """The key sets of the objects at ``path`` (``nodes[].databases[]``) across the document."""
    objs: list[object] = [doc]
    for part in path.split("."):
        name, many = part.removesuffix("[]"), part.endswith("[]")
        nxt: list[object] = []
        for o in objs:
            assert isinstance(o, dict)
            v = o[name]
            nxt += v if many else [v]
        objs = nxt
    return {frozenset(o) for o in objs if isinstance(o, dict)}


def test_bundle_of_checked_in_sosreports() -> None:
    rc, out, err = cli("bundle", "--format", "json", str(MASTER), str(NODE1))
    assert rc == 0, err
    doc = check(out, "ovntrace.bundle/2")
    assert doc["problems"] == [] and doc["other_members"] == 0
    nodes = {n["node"]: n for n in doc["nodes"]}
    assert sorted(nodes) == ["kube-master", "kube-node1"]
    assert len(_keys_of_every(doc, "nodes[]")) == 1  # every node has the same keys
    master = nodes["kube-master"]
    for db in master["databases"]:  # sizes are numbers, the member's tar size; the format was read
        assert isinstance(db["size"], int) and db["size"] > 0 and db["format"] == "standalone"
    assert isinstance(master["flows"]["br-int"]["size"], int)
    assert master["zone"] is None  # a sosreport has no zone: the key is there, null
    assert nodes["kube-node1"]["databases"] == []
    assert all(n["replay"]["possible"] for n in doc["nodes"])


def test_bundle_of_a_truncated_archive(tmp_path: Path) -> None:
    """The real kube-master archive cut short (a truncated download): the members before the cut are used, the
    archive is listed as damaged, exit 1; still a valid bundle/2. One cut lands inside the NB database (the
    largest member but the SB): that member is listed too and its ``format`` is null (not read)."""
    data = MASTER.read_bytes()
    cut = tmp_path / "kube-master.sosreport.tar.xz"
    formats: set[str | None] = set()
    for tenth in range(3, 10):
        cut.write_bytes(data[: len(data) * tenth // 10])
        rc, out, err = cli("bundle", "--format", "json", str(cut))
        assert rc == 1, err
        doc = check(out, "ovntrace.bundle/2")
        assert any(p["where"] == str(cut) and "cut short" in p["what"] for p in doc["problems"]), doc["problems"]
        (n,) = doc["nodes"]
        assert n["node"] == "kube-master" and len(_keys_of_every(doc, "nodes[].databases[]")) <= 1
        formats |= {db["format"] for db in n["databases"]}
        if any(db["format"] is None for db in n["databases"]):
            assert any("cut short inside this member" in p["what"] for p in doc["problems"])
            rc, text, _ = cli("bundle", str(cut))
            assert rc == 1 and "not read)" in text and "damaged or missing (" in text
    assert None in formats and "standalone" in formats  # some cut was inside the NB, a later one after it


def test_bundle_schema_rejects_a_missing_key_and_a_string_size() -> None:
    """The schema can fail: the /2 rules (keys always present, sizes as numbers) are enforced."""
    _rc, out, _ = cli("bundle", "--format", "json", str(MASTER))
    doc = check(out, "ovntrace.bundle/2")
    bad = copy.deepcopy(doc)
    del bad["nodes"][0]["zone"]
    with pytest.raises(AssertionError, match="zone"):
        validate(bad, "ovntrace.bundle/2")
    bad = copy.deepcopy(doc)
    bad["nodes"][0]["databases"][0]["size"] = str(bad["nodes"][0]["databases"][0]["size"])
    with pytest.raises(AssertionError, match="size"):
        validate(bad, "ovntrace.bundle/2")


@pytest.mark.skipif(bool(missing_tools()), reason="Open vSwitch is not installed")
def test_replay_of_checked_in_flow() -> None:
    flow = MANIFEST["acl-drop-dst.txt"]["flow"]
    rc, out, err = cli("replay", str(NODE1), flow, "--context", str(MASTER), "--format", "json")
    assert rc == 0, err
    doc = check(out, "ovntrace.replay/2")
    assert doc["node"] == "kube-node1" and doc["flow"] == flow and doc["bridge"] == "br-int"
    assert doc["explain"]["schema"] == "ovntrace.explain/2"
    assert doc["built"]["flows"]["br-int"] > 0 and all(isinstance(p["ofport"], int) for p in doc["built"]["ports"])
    assert "deny-ssh-from-client-1" in out  # explained with the bundle's NB/SB
    # the embedded explain is validated by explain/2's schema (through the $ref), not only the header
    bad = copy.deepcopy(doc)
    del bad["explain"]["traces"][0]["verdict"]["kind"]
    with pytest.raises(AssertionError, match="kind"):
        validate(bad, "ovntrace.replay/2")
