"""OVN meaning only where OVN is (issue 11, item 8): bridges without OVN evidence get OVS meaning only."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ovntrace.correlate.annotate import annotate
from ovntrace.correlate.index import build_index
from ovntrace.lab.lab import Lab
from ovntrace.model import Trace
from ovntrace.parser import parse
from ovntrace.sources import load_context
from tests.conftest import FIX

TRACES = FIX / "traces"


def _index() -> dict[str, str]:
    with (TRACES / "INDEX.tsv").open(encoding="utf-8") as f:
        return {r["file"]: r["setup"] for r in csv.DictReader(f, delimiter="\t")}


def _non_ovn() -> list[str]:
    """Traces whose setup (INDEX.tsv, from their source) is not OVN: plain OVS, Faucet, Neutron ML2/OVS,
    OpenShift SDN, Antrea."""
    return sorted(f for f, setup in _index().items() if "ovn" not in setup.lower())


def _traces(path: Path) -> list[Trace]:
    return list(parse(path.read_text(encoding="utf-8")).traces)


def test_the_non_ovn_list_covers_the_kinds_the_issue_names() -> None:
    setups = " ".join(_index()[f] for f in _non_ovn())
    for kind in ("plain ovs", "faucet", "neutron ml2/ovs", "openshift-sdn", "antrea"):
        assert kind in setups.lower(), kind
    assert len(_non_ovn()) >= 18


@pytest.mark.parametrize("name", _non_ovn())
def test_non_ovn_traces_get_no_ovn_annotation(name: str) -> None:
    for t in _traces(TRACES / name):
        assert annotate(t) is None, name


def test_non_ovn_trace_json_has_no_ovn_objects() -> None:
    """Through the CLI: no "ovn" key anywhere (no PHY_TO_LOG label, no stage, no release guess)."""
    for name in ("060_jp-ovn-bgp-brex-brint-patch.txt", "075_openshift-sdn-zh-cmd-comment-drop.txt",
                 "048_neutron-ovs-notes-brint-brtun-vxlan-flood.txt"):
        res = subprocess.run([sys.executable, "-m", "ovntrace.cli", "explain", str(TRACES / name), "--format",
                              "json", "-q"], capture_output=True, text=True, timeout=120, check=True)
        assert '"ovn": {' not in res.stdout, name  # explain/2: every "ovn" key null
        text = subprocess.run([sys.executable, "-m", "ovntrace.cli", "explain", str(TRACES / name), "-q"],
                              capture_output=True, text=True, timeout=120, check=True).stdout
        assert "PHY_TO_LOG" not in text and "ovn:" not in text, name
        assert json.loads(res.stdout)["traces"]


def test_ovn_kubernetes_breth0_brint_labels_only_br_int() -> None:
    """ovs-dbg's ovn-kubernetes trace: breth0 (NORMAL, ovn-k's own flows) then br-int via the patch port."""
    t = _traces(TRACES / "042_ovsdbg-ovn-detrace-breth0-brint.txt")[0]
    a = annotate(t)
    assert a is not None and a.bridges == ("br-int",)
    brint = [s for s in t.tables() if s.bridge == "br-int"]
    breth0 = [s for s in t.tables() if s.bridge == "breth0"]
    assert brint and breth0
    assert all(s.line not in a.steps for s in breth0)
    assert all(s.line in a.steps for s in brint)
    assert a.steps[brint[0].line].table_role == "PHY_TO_LOG"
    # the pasted ovn-detrace annotations narrow the release: ls_in_port_sec_l2 names (before 22.06)
    assert a.release_candidates and all(not r.startswith(("22.06", "22.09", "23.", "24.", "25.", "26."))
                                        for r in a.release_candidates)
    named = {a.steps[s.line].stage for s in brint if a.steps[s.line].stage}
    assert {"ls_in_port_sec_l2", "ls_in_port_sec_ip"} <= named


@pytest.mark.parametrize("rel", ["lab/external-gw.txt", "lab/external-src.txt"])
def test_lab_gateway_traces_label_only_br_int(rel: str) -> None:
    t = _traces(FIX / rel)[0]
    a = annotate(t)
    assert a is not None and a.bridges == ("br-int",)
    others = [s for s in t.tables() if s.bridge != "br-int"]
    if rel.endswith("external-gw.txt"):
        assert others and {s.bridge for s in others} == {"breth0"}
    assert all(s.line not in a.steps for s in others)


def test_kube_ovn_tunnel_trace_is_ovn() -> None:
    """kube-ovn runs OVN: its table-0 tunnel flow (tun_id -> metadata, tun_metadata0 -> reg14/15) is evidence."""
    t = _traces(TRACES / "063_kubeovn-issue5687-tunnel-in-drop.txt")[0]
    a = annotate(t)
    assert a is not None and a.bridges == ("br-int",)
    s40 = next(s for s in t.tables() if s.table == 40)
    assert a.steps[s40.line].table_role == "LOCAL_OUTPUT"


@pytest.mark.lab
def test_ports_are_looked_up_per_bridge(lab: Lab) -> None:
    """The lab's conf.db: breth0's OpenFlow port N is not br-int's port N."""
    ctx = load_context(lab.node_dir("kube-master") / "conf.db", "node", node="kube-master")
    ix = build_index(ctx)
    node = ctx.nodes[0].name
    ifaces = [i for i in ctx.nodes[0].interfaces if i.ofport is not None and i.ofport > 0]
    breth0 = [i for i in ifaces if i.bridge == "breth0"]
    brint = {i.ofport: i for i in ifaces if i.bridge == "br-int"}
    assert breth0 and brint
    clash = 0
    for i in breth0:
        got = ix.interface(node, i.ofport or 0, "breth0")
        assert got is not None and got.name == i.name and got.bridge == "breth0"
        if i.ofport in brint:
            clash += 1
            assert ix.interface(node, i.ofport or 0, "br-int") is brint[i.ofport]
    assert clash  # the case that went wrong: the same number on both bridges
