"""`ovntrace path` runs ovn-trace on the central node and lines it up with the ofproto/traces, on the real
lab of each release; then a real divergence: the one OpenFlow flow of the lflow that sends sshd-2's MAC to
its port is deleted on kube-node1 (ovs-ofctl del-flows --strict), and `ovntrace path` finds it. The flows are
put back afterwards (ovs-ofctl add-flow of the flow as dumped), so the session lab stays as it was."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from ovntrace.correlate.compare import CHECK_CONTROLLER
from ovntrace.lab.lab import Lab
from ovntrace.lab.ovntrace_fixtures import SSHD2, _case, _stage_uuid, delete_flow, lflow_flows, restore_flow
from ovntrace.path import run_path
from ovntrace.path.logical import CT_NEXT_MAX
from ovntrace.pathcmd import main

SRC, DST = "default/web-1", "default/sshd-2"


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["path", *argv])
    return rc, out.getvalue(), err.getvalue()


def _lflow_of_sshd2(lab: Lab) -> str:
    case = _case("same-node-icmp")
    text = lab.run(lab.inventory.cluster.central, ["ovn-trace", "--detailed", case.datapath, case.microflow])
    return _stage_uuid(text, "ls_in_l2_lkup", f"eth.dst == {SSHD2[1]}")


def _restore(lab: Lab, node: str, uuid: str, flow: str) -> None:
    restore_flow(lab, node, flow)
    assert lflow_flows(lab, node, uuid) == [flow], f"lflow {uuid}'s flow not put back on {node}"


def _check_agree(lab: Lab) -> None:
    lab._refresh_neighbors("kube-node2")
    r = run_path("default/client-1", DST, lab.inventory_path, "icmp", logical=True)
    for c in r.chains:
        lt = c.logical
        assert lt is not None and lt.error is None, lt.error if lt else None
        assert lt.node == lab.inventory.cluster.central
        assert lt.command.startswith("ovn-trace --db=tcp:") and lt.command.count("--ct=") == CT_NEXT_MAX
        assert lt.trace.verdict.kind.value == "output" and lt.trace.verdict.ports == ("default_sshd-2",)
        cmp = lt.comparison
        assert cmp is not None and cmp.agree is True, cmp.summary
        assert cmp.nodes == ("kube-node2", "kube-node1")
    new = r.chains[0].logical.comparison
    assert new.counts() == {"matched": len(new.stages)}  # every stage found by cookie with all ct new


def _check_divergence(lab: Lab) -> None:
    uuid = _lflow_of_sshd2(lab)
    flows = lflow_flows(lab, "kube-node1", uuid)
    assert len(flows) == 1, flows
    rc, out, err = _cli(SRC, DST, "--inventory", str(lab.inventory_path), "-f", "json")
    assert rc == 0, err
    before = json.loads(out)["conntrack"][0]["logical"]["comparison"]
    assert before["agree"] is True
    delete_flow(lab, "kube-node1", flows[0])
    try:
        rc, out, err = _cli(SRC, DST, "--inventory", str(lab.inventory_path), "-f", "json")
        assert rc == 0, err
        doc = json.loads(out)
        assert not doc["verdict"]["delivered"]  # the physical path no longer delivers
        for chain in doc["conntrack"]:
            lg = chain["logical"]
            assert lg["verdict"]["kind"] == "output" and lg["verdict"]["ports"] == ["default_sshd-2"]
            cmp = lg["comparison"]
            assert cmp["agree"] is False
            d = cmp["divergence"]
            assert d["stage"] == "ls_in_l2_lkup" and d["uuid"] == uuid and d["node"] == "kube-node1"
            assert d["decided"] is True and d["diagnosis"] == CHECK_CONTROLLER
        rc, text, _ = _cli(SRC, DST, "--inventory", str(lab.inventory_path))
        assert rc == 0
        assert "logical: DIVERGE: diverge at ls_in_l2_lkup" in text
        assert "ovn-trace: delivered to default_sshd-2; ofproto/trace on kube-node1: dropped" in text
        assert CHECK_CONTROLLER in text
    finally:
        _restore(lab, "kube-node1", uuid, flows[0])
    rc, out, _ = _cli(SRC, DST, "--inventory", str(lab.inventory_path), "-f", "json")
    assert json.loads(out)["conntrack"][0]["logical"]["comparison"]["agree"] is True  # healed


@pytest.mark.lab
def test_path_logical_agrees_on_a_healthy_lab(lab: Lab) -> None:
    _check_agree(lab)


@pytest.mark.lab
def test_path_finds_a_deleted_flow(lab: Lab) -> None:
    _check_divergence(lab)


@pytest.mark.lab
def test_path_logical_agrees_on_a_healthy_lab_25_03(lab25: Lab) -> None:
    _check_agree(lab25)


@pytest.mark.lab
def test_path_finds_a_deleted_flow_25_03(lab25: Lab) -> None:
    _check_divergence(lab25)


@pytest.mark.lab
def test_no_logical_runs_no_ovn_trace(lab: Lab) -> None:
    rc, out, err = _cli(SRC, DST, "--inventory", str(lab.inventory_path), "-f", "json", "--no-logical")
    assert rc == 0, err
    doc = json.loads(out)
    assert all(c["logical"] is None for c in doc["conntrack"])  # path/2: the key is always there, null
