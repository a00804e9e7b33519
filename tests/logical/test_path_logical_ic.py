"""`ovntrace path` runs ovn-trace per zone on the real interconnect lab (issue 15 with issue 13), both
releases: hop 1's half on the source node against its own zone's SB, hop 2's half on the receiving node
against its own, each lined up with that node's ofproto/trace only. Oracles: each zone's SB address from the
inventory (``Inventory.zone_db``), the zones' own databases, and a real divergence made on the receiving node
(the one OpenFlow flow of the lflow that sends sshd-2's MAC to its port deleted with ``ovs-ofctl del-flows
--strict``, then put back). Nothing is mocked."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from ovntrace.correlate.compare import CHECK_CONTROLLER
from ovntrace.lab.inventory import TRANSIT_SWITCH
from ovntrace.lab.lab import Lab
from ovntrace.lab.ovntrace_fixtures import _stage_uuid, delete_flow, lflow_flows, restore_flow
from ovntrace.path import run_path
from ovntrace.pathcmd import main
from tests.json.contract import check
from tests.path.test_path_ic import DST, SRC  # ic: the interconnect lab of both releases (tests/conftest.py)
from tests.path.test_path_more import _inventory_with_down_node


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["path", *argv])
    return rc, out.getvalue(), err.getvalue()


def _sb(lab: Lab, node: str) -> str:
    addr, _nb, sb = lab.inventory.zone_db(node)
    return f"--db=tcp:{addr}:{sb}"


@pytest.mark.lab
def test_ic_logical_both_halves_agree(ic: Lab) -> None:
    r = run_path(SRC, DST, ic.inventory_path, "icmp", logical=True)
    assert "logical" not in r.stats  # ovn-trace ran
    for c in r.chains:
        lt = c.logical
        assert lt is not None and [h.zone for h in lt.halves] == ["kube-node2", "kube-node1"]
        h1, h2 = lt.halves
        assert h1.error is None and h2.error is None, (h1.error, h2.error)
        # each half on its own node, against its own zone's SB
        assert h1.node == "kube-node2" and h1.command.startswith(f"ovn-trace {_sb(ic, 'kube-node2')} ")
        assert h2.node == "kube-node1" and h2.command.startswith(f"ovn-trace {_sb(ic, 'kube-node1')} ")
        # half 1 leaves by the transit switch's remote port; half 2 enters it from the sender's tstor port,
        # with hop 1's rewrites (the TTL routed once)
        assert h1.trace.verdict.kind.value == "output" and h1.trace.verdict.ports == ("tstor-kube-node1",)
        assert f" {TRANSIT_SWITCH} " in h2.command and 'inport == "tstor-kube-node2"' in h2.command
        assert "ip.ttl == 63" in h2.command and "ip.ttl == 64" in h1.command
        assert h2.trace.verdict.kind.value == "output" and h2.trace.verdict.ports == ("default_sshd-2",)
        # each compared with its own node's ofproto/trace only
        assert h1.comparison.nodes == ("kube-node2",) and h2.comparison.nodes == ("kube-node1",)
        assert h1.comparison.agree is True, h1.comparison.summary
        assert h2.comparison.agree is True, h2.comparison.summary
        assert "leave this zone for tstor-kube-node1" in h1.comparison.summary
        # the transit switch's ingress of half 2 ran on the sender: remote, never a divergence
        first = [s for s in h2.comparison.stages if s.datapath == TRANSIT_SWITCH and s.pipeline == "ingress"]
        assert first and all(s.status == "remote" for s in first)
        assert lt.agree is True
    rc, out, err = _cli(SRC, DST, "--inventory", str(ic.inventory_path), "-f", "json")
    assert rc == 0, err
    doc = check(out, "ovntrace.path/2")
    for chain in doc["conntrack"]:
        lg = chain["logical"]
        assert lg["agree"] is True and lg["error"] is None
        assert [(h["zone"], h["half"], h["node"]) for h in lg["halves"]] == [("kube-node2", 1, "kube-node2"),
                                                                            ("kube-node1", 2, "kube-node1")]
        assert lg["verdict"]["ports"] == ["default_sshd-2"]
    rc, text, _ = _cli(SRC, DST, "--inventory", str(ic.inventory_path))
    assert rc == 0
    assert text.count("  logical: zone kube-node2, hop 1: AGREE: ") == 2, text
    assert text.count("  logical: zone kube-node1, hop 2: AGREE: ") == 2, text


@pytest.mark.lab
def test_ic_logical_acl_drop_seen_by_receiving_half(ic: Lab) -> None:
    r = run_path(SRC, DST, ic.inventory_path, "tcp", dport=22, logical=True)
    for c in r.chains:
        assert c.verdict["kind"] == "drop" and c.verdict["node"] == "kube-node1"
        h1, h2 = c.logical.halves
        assert h1.trace.verdict.ports == ("tstor-kube-node1",) and h1.comparison.agree is True
        v = h2.trace.verdict
        assert v.kind.value == "drop" and "acl" in (v.stage or ""), (v.kind, v.stage, v.reason)
        assert h2.comparison.agree is True, h2.comparison.summary
        assert h2.comparison.summary.startswith("agree: both drop")


@pytest.mark.lab
def test_ic_logical_divergence_found_in_receiving_half(ic: Lab) -> None:
    r = run_path(SRC, DST, ic.inventory_path, "icmp", cts=("trk,new",), logical=True)
    h2 = r.chains[0].logical.halves[1]
    uuid = _stage_uuid(h2.text, "ls_in_l2_lkup", f"eth.dst == {r.dst.mac}")
    flows = lflow_flows(ic, "kube-node1", uuid)
    assert len(flows) == 1, flows
    delete_flow(ic, "kube-node1", flows[0])
    try:
        rc, out, err = _cli(SRC, DST, "--inventory", str(ic.inventory_path), "-f", "json")
        assert rc == 0, err
        doc = check(out, "ovntrace.path/2")
        assert not doc["verdict"]["delivered"]  # the physical path no longer delivers
        for chain in doc["conntrack"]:
            lg = chain["logical"]
            one, two = lg["halves"]
            assert one["comparison"]["agree"] is True  # the sending half is not blamed
            assert two["verdict"]["ports"] == ["default_sshd-2"]  # northd's view: still delivered
            cmp = two["comparison"]
            assert cmp["agree"] is False and lg["agree"] is False, cmp["summary"]
            d = cmp["divergence"]
            assert d["stage"] == "ls_in_l2_lkup" and d["uuid"] == uuid and d["node"] == "kube-node1", d
            assert d["decided"] is True and d["diagnosis"] == CHECK_CONTROLLER
        rc, text, _ = _cli(SRC, DST, "--inventory", str(ic.inventory_path))
        assert rc == 0
        assert "logical: zone kube-node1, hop 2: DIVERGE: diverge at ls_in_l2_lkup" in text, text
        assert "logical: zone kube-node2, hop 1: AGREE" in text
    finally:
        restore_flow(ic, "kube-node1", flows[0])
    assert lflow_flows(ic, "kube-node1", uuid) == [flows[0]], "the flow was not put back"
    r = run_path(SRC, DST, ic.inventory_path, "icmp", cts=("trk,new",), logical=True)
    assert r.chains[0].logical.agree is True  # healed


@pytest.mark.lab
def test_ic_logical_partial_path_half_2_unknown(ic: Lab, tmp_path: Path) -> None:
    """kube-node1's sshd down: the path stops at the tunnel (partial); hop 1's half still runs and agrees
    (it leaves for the remote port its own tunnel verdict names), hop 2's says why it is not run, and the
    chain's logical agree is unknown, never true."""
    inv = _inventory_with_down_node(ic, tmp_path, "kube-node1")
    rc, out, err = _cli(SRC, DST, "--inventory", str(inv), "-f", "json")
    assert rc == 3, err
    doc = check(out, "ovntrace.path/2")
    for chain in doc["conntrack"]:
        lg = chain["logical"]
        one, two = lg["halves"]
        assert one["zone"] == "kube-node2" and one["comparison"]["agree"] is True, one["comparison"]["summary"]
        assert two["zone"] == "kube-node1" and two["comparison"] is None
        assert two["error"].startswith("ovn-trace not run: the path stops before kube-node1")
        assert lg["agree"] is None
