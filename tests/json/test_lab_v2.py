"""The ``/2`` documents of the commands that reach a cluster, from the real lab (tests/conftest.py ``lab``),
validated against the published schemas: ``path`` (live, --reverse, offline from a snapshot), ``doctor``,
``lab status`` and a snapshot file (written as ``/2``)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from ovntrace.cli import run as cli_run
from ovntrace.lab.lab import Lab
from ovntrace.pathcmd import main as path_main
from ovntrace.render import contract
from tests.json.contract import check, validate

SRC, DST = "default/client-1", "default/sshd-2"
pytestmark = pytest.mark.lab


def _run(fn: object, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = fn(list(argv))  # type: ignore[operator]
    return rc, out.getvalue(), err.getvalue()


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):  # doctor/lab write to sys.stdout
        rc = cli_run(list(argv), io.StringIO(), out, err)
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture
def lab_n(lab: Lab) -> Lab:
    for n in ("kube-node1", "kube-node2"):
        lab._refresh_neighbors(n)  # the dummy underlay forgets its neighbours (as `lab trace` refreshes them)
    return lab


def test_path_json_v2(lab_n: Lab) -> None:
    rc, out, err = _run(path_main, "path", SRC, DST, "--inventory", str(lab_n.inventory_path), "--format", "json")
    assert rc == 0, err
    doc = check(out, "ovntrace.path/2")
    assert doc["verdict"]["delivered"] and doc["verdict"]["node"] == "kube-node1"
    assert doc["src"]["node"] == "kube-node2" and doc["dst"]["node"] == "kube-node1"
    hops = doc["hops"]
    assert hops[0]["node"] == "kube-node2" and hops[-1]["node"] == "kube-node1"
    tun = [h for h in hops if h["kind"] == "tunnel"]
    assert len(tun) == 1 and tun[0]["node"] == "kube-node2" and tun[0]["tunnel"]["to_node"] == "kube-node1"
    assert tun[0]["tunnel"]["remote_ip"] == "172.17.42.31" and tun[0]["tunnel"]["encap"] == "geneve"
    assert hops[-1]["datapath"]["name"] == "kube-node1" and hops[-1]["pipeline"] == "egress"
    assert hops[-1]["ports"]["out"] == "default_sshd-2"
    traces = doc["conntrack"][0]["traces"]
    assert all(t["explain"]["schema"] == "ovntrace.explain/2" for t in traces)
    # json1 is the /1 document still
    rc, out1, err = _run(path_main, "path", SRC, DST, "--inventory", str(lab_n.inventory_path), "-f", "json1")
    assert rc == 0, err
    assert json.loads(out1)["schema"] == "ovntrace.path/1"


def test_path_json_v2_reverse_to_external(lab_n: Lab) -> None:
    rc, out, err = _run(path_main, "path", SRC, "203.0.113.10", "--inventory", str(lab_n.inventory_path),
                        "--format", "json", "--reverse")
    assert rc == 0, err
    doc = check(out, "ovntrace.path/2")
    assert doc["dst"]["logical_port"] is None and doc["dst"]["node"] is None
    assert doc["verdict"]["gateway"]["bridge"] == "breth0" and doc["verdict"]["note"] is None
    assert doc["reverse"]["note"].startswith("DST 203.0.113.10 is not a logical port")
    assert doc["reverse"]["verdict"] is None and doc["reverse"]["hops"] == []


def test_snapshot_doctor_and_offline_path_v2(lab_n: Lab, tmp_path: Path) -> None:
    snap = tmp_path / "cluster.snapshot.json"
    rc, out, err = _run(path_main, "snapshot", "--inventory", str(lab_n.inventory_path), "-o", str(snap))
    assert rc == 0, err
    doc = check(snap.read_text(), "ovntrace.snapshot/2", compact=True)  # the file itself is the /2 document
    assert contract.snapshot_doc(doc) == doc
    validate(contract.snapshot_doc({**doc, "schema": "ovntrace.snapshot/1"}), "ovntrace.snapshot/2")
    assert doc["nodes"]["kube-node1"]["error"] is None and doc["stats"]["bytes"] is None  # bytes: after writing
    assert doc["zones"] == {} and doc["cluster"]["topology"] == "central"
    assert {t["caption"].split()[0] for t in doc["sb"]} >= {"Port_Binding", "Logical_Flow"}
    rc, out, err = _run(path_main, "path", SRC, DST, "--offline", str(snap), "--format", "json")
    assert rc == 0, err
    doc = check(out, "ovntrace.path/2")
    assert doc["verdict"]["kind"] == "needs-trace" and doc["verdict"]["command"].startswith("ovs-appctl ofproto/trace")
    assert doc["stats"]["offline"] == str(snap) and doc["conntrack"][0]["traces"] == []


def test_doctor_and_lab_status_v2(lab: Lab) -> None:
    rc, out, err = _cli("doctor", "--inventory", str(lab.inventory_path), "--format", "json")
    doc = check(out, "ovntrace.doctor/2")
    assert rc == (1 if doc["errors"] else 0), err
    assert doc["checks"] > 50 and doc["nodes"] == ["kube-master", "kube-node1", "kube-node2"]
    assert all(f["fix"] is None or set(f["fix"]) >= {"hint", "step"} for f in doc["findings"])
    rc, out, err = _cli("lab", "status", "--dir", str(lab.dir), "--format", "json")
    doc = check(out, "ovntrace.lab-status/2")
    assert rc == 0 and doc["state"] == "running", (out, err)
    assert len(doc["chassis"]) == 3 and all(isinstance(p["pid"], int) and p["alive"] for p in doc["processes"])
