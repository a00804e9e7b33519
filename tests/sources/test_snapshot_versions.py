"""``ovntrace.snapshot/2`` is what ``ovntrace snapshot`` writes; ``/1`` files from before are still read.

The ``/1`` files are real: fixtures/snapshot/ (written by the last ``/1`` code, 8e80fa7, from the session lab;
see its README), with the two ``ofproto/trace`` outputs of the central lab's client-1 -> sshd-2 path taken
from the same lab right after. No lab runs here: every reader (``path --offline``, ``explain --context``,
``load_context``, which the TUI's ``--context`` uses) is fed the files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest

from ovntrace.cli import run as cli_run
from ovntrace.model.cluster import Zone
from ovntrace.render import contract
from ovntrace.sources import load_context
from ovntrace.sources import snapshot as S
from ovntrace.sources.errors import SourceError
from tests.json.contract import check, validate

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "snapshot"
CENTRAL = FIX / "lab-central.snapshot1.json.gz"
IC = FIX / "lab-interconnect.snapshot1.json.gz"
HOP1 = FIX / "lab-central.kube-node2.trk-new.txt"
HOP2 = FIX / "lab-central.kube-node1.trk-new.txt"
SRC, DST = "default/client-1", "default/sshd-2"


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli_run(list(argv), io.StringIO(), out, err)
    return rc, out.getvalue(), err.getvalue()


def _v1(p: Path) -> dict:  # type: ignore[type-arg]
    doc = json.loads(gzip.decompress(p.read_bytes()))
    assert doc["schema"] == "ovntrace.snapshot/1"
    return doc  # type: ignore[no-any-return]


def _facts(ctx: Any) -> Any:
    """The context without the names of the files it was read from."""
    zones = tuple(Zone(z.name, z.nodes, dataclasses.replace(z.context, sources=()), z.error) for z in ctx.zones)
    return dataclasses.replace(ctx, sources=(), zones=zones)


@pytest.mark.parametrize("fixture", [CENTRAL, IC], ids=["central", "interconnect"])
def test_v1_file_loads_as_the_v2_document(fixture: Path) -> None:
    v1 = _v1(fixture)
    snap = S.load(fixture)
    assert snap.read_schema == "ovntrace.snapshot/1"
    validate(snap.doc, "ovntrace.snapshot/2")  # every key present once read
    assert snap.doc["nb"] == v1["nb"] and snap.doc["sb"] == v1["sb"]  # the tables as read, untouched
    assert {n: v.get("ovs") for n, v in v1["nodes"].items()} == {n: v["ovs"] for n, v in snap.doc["nodes"].items()}
    assert snap.doc["redacted"] == ["kube-node1:Open_vSwitch.Open_vSwitch.external_ids:k8s-api-token"]
    assert S.v2(snap.doc) == snap.doc  # /2 -> /2 is the identity
    assert contract.snapshot_doc(v1) == snap.doc
    if fixture == IC:
        assert snap.doc["cluster"]["topology"] == "interconnect" and sorted(snap.doc["zones"]) == snap.nodes
        assert all(z["error"] is None and z["nb"] for z in snap.doc["zones"].values())
    else:
        assert snap.doc["cluster"]["topology"] == "central" and snap.doc["zones"] == {}


def test_v1_and_its_v2_rewrite_give_the_same_context(tmp_path: Path) -> None:
    """A /1 file and the same facts written as /2 (atomically, by :func:`S.write`) read the same."""
    for fixture in (CENTRAL, IC):
        v2 = tmp_path / f"{fixture.stem}.v2.json"
        S.write(S.load(fixture), v2)
        text = v2.read_text()
        assert text.startswith('{"schema":"ovntrace.snapshot/2"') and S.is_snapshot_text(text)
        check(text, "ovntrace.snapshot/2", compact=True)  # the file itself: one compact ASCII line, the schema
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left
        a, b = load_context(fixture), load_context(v2)
        assert S.load(v2).read_schema == "ovntrace.snapshot/2"
        assert a.ovn_version == b.ovn_version == "23.03.1"
        # every fact: datapaths, port bindings, logical flows, zones, each node's OVS (not the file names)
        assert _facts(a) == _facts(b)
        flows = [a.logical_flows] if not a.zones else [z.context.logical_flows for z in a.zones]
        assert all(len(f) > 100 for f in flows) and len(a.nodes) == 3


def test_path_offline_from_a_v1_file_follows_its_traces() -> None:
    rc, out, err = _cli("path", SRC, DST, "--offline", str(CENTRAL))
    assert rc == 0, err
    assert "NEEDS-TRACE on kube-node2" in out and "ovs-appctl ofproto/trace br-int in_port=10,icmp" in out, out
    rc, out, err = _cli("path", SRC, DST, "--offline", str(CENTRAL), "--trace", f"kube-node2={HOP1}",
                        "--trace", f"kube-node1={HOP2}", "-f", "json")
    assert rc == 0, err
    doc = check(out, "ovntrace.path/2")
    assert doc["verdict"]["delivered"] and doc["verdict"]["node"] == "kube-node1", doc["verdict"]
    assert [h["node"] for h in doc["hops"]][:1] == ["kube-node2"] and doc["hops"][-1]["node"] == "kube-node1"


def test_explain_context_from_a_v1_file() -> None:
    rc, out, err = _cli("explain", str(HOP1), "--context", str(CENTRAL), "--on", "kube-node2", "-f", "json")
    assert rc == 0, err
    v = json.loads(out)["traces"][0]
    assert v["ovn"]["release"] == "23.03.1"
    assert v["verdict"]["kind"] == "tunnel" and v["verdict"]["tunnel"]["dst"] == "172.17.42.31", v["verdict"]


def test_unknown_or_broken_snapshot_is_named() -> None:
    doc = S.v2(_v1(CENTRAL))
    for schema in ("ovntrace.snapshot/3", "ovntrace.snapshot/0"):
        with pytest.raises(SourceError, match=r"reads ovntrace\.snapshot/1 and ovntrace\.snapshot/2"):
            S.parse(json.dumps({**doc, "schema": schema}), "x.json")
    with pytest.raises(SourceError, match="'nb' is not a list of tables"):
        S.parse(json.dumps({**doc, "nb": {}}), "x.json")
    with pytest.raises(SourceError, match="without 'nodes'"):
        S.parse(json.dumps({k: v for k, v in doc.items() if k != "nodes"}), "x.json")
    bad = {**doc, "cluster": {**doc["cluster"], "topology": "mesh"}}
    with pytest.raises(AssertionError, match="topology"):
        validate(bad, "ovntrace.snapshot/2")


def test_an_interconnect_snapshots_zones_are_converted_when_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening an interconnect snapshot converts no zone (only the release is read, from the zones' NB_Global /
    SB_Global); a zone's facts, read, equal the zone's dump tables converted whole; explain of a trace on one
    node reads that node's zone alone and says the same as with every zone converted first."""
    snap = S.load(IC)
    ctx = snap.context("ic")
    assert ctx.zones and not any(z.loaded for z in ctx.zones)
    assert ctx.ovn_version == "23.03.1"
    for z in ctx.zones:
        assert z.context == S._zone_facts(snap.doc["zones"][z.name], f"ic: zone {z.name}") and z.loaded
    assert ctx.ovn_version == next(z.context.ovn_version for z in ctx.zones if z.context.ovn_version)

    calls: list[str] = []
    real = S._zone_facts

    def counted(z: dict[str, Any], where: str) -> Any:
        calls.append(where)
        return real(z, where)

    monkeypatch.setattr(S, "_zone_facts", counted)
    lazy = _cli("explain", str(HOP1), "--context", str(IC), "--on", "kube-node2", "-f", "json")
    assert lazy[0] == 0 and len(calls) == 1 and "kube-node2" in calls[0], calls
    eager_context = S.Snapshot.context

    def eager(self: S.Snapshot, name: str = "snapshot") -> Any:
        got = eager_context(self, name)
        for z in got.zones:
            assert z.context is not None
        return got

    monkeypatch.setattr(S.Snapshot, "context", eager)
    assert _cli("explain", str(HOP1), "--context", str(IC), "--on", "kube-node2", "-f", "json") == lazy
    assert len(calls) == 1 + len(snap.doc["zones"])


def test_a_lazy_zone_is_built_once_and_immutable() -> None:
    import pickle

    from ovntrace.model.cluster import ClusterContext

    built: list[int] = []

    def load() -> ClusterContext:
        built.append(1)
        return ClusterContext(sources=("zone z1",))

    z = Zone("z1", ("n1",), load=load)
    assert not z.loaded and "not loaded" in repr(z) and not built
    assert z.context.sources == ("zone z1",) and z.context is z.context and built == [1] and z.loaded
    assert z == Zone("z1", ("n1",), ClusterContext(sources=("zone z1",)))
    assert pickle.loads(pickle.dumps(z)) == z
    with pytest.raises(AttributeError):
        z.name = "z2"
    with pytest.raises(TypeError):
        Zone("z1", ("n1",))
