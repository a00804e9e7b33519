"""ovn-trace and ofproto/trace of the same packet side by side (ovntrace.correlate.compare), on real pairs
made in the lab of each release (ovntrace.lab.ovntrace_fixtures --release R: same lab, same databases), and a
real divergence (one OpenFlow flow of an lflow deleted on the node with ovs-ofctl del-flows --strict)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ovntrace.cli import run
from ovntrace.correlate import Correlator
from ovntrace.correlate.compare import CHECK_CONTROLLER, Comparison, Physical, compare, compare_result, pairs
from ovntrace.model.trace import TraceFormat
from ovntrace.parser import parse
from ovntrace.sources import load_cluster
from tests.conftest import FIX

D = FIX / "lab" / "ovn-trace"
RELEASES = ("23.03", "25.03")


def _cmp(path: Path, context: bool = True) -> list[Comparison]:
    r = parse(path.read_text())
    db = path.parent
    ctx = load_cluster(nb=[str(db / "ovnnb_db.db")], sb=[str(db / "ovnsb_db.db")]) if context else None
    c = Correlator(ctx, None, None)
    return compare_result(r.traces, [c.annotate(t) for t in r.traces])


@pytest.mark.parametrize("rel", RELEASES)
@pytest.mark.parametrize("name", ["pair-same-node-icmp.txt", "pair-router-hop-icmp.txt"])
def test_clean_pairs_agree(rel: str, name: str) -> None:
    (c,) = _cmp(D / rel / name)
    assert c.agree is True, c.summary
    assert c.summary.startswith("agree: both output to default_sshd-2")
    assert c.divergence is None
    counts = c.counts()
    assert counts["matched"] >= 9 and "diverged" not in counts and "after" not in counts
    # stage <-> OpenFlow table: ingress table 0 is OpenFlow 8 on both releases; egress 42 (23.03.1), 45 (25.03)
    assert c.offsets["ingress"] == 8
    if "egress" in c.offsets:
        assert c.offsets["egress"] == {"23.03": 42, "25.03": 45}[rel]
    for s in c.stages:
        if s.status == "matched":
            assert s.of_table == c.offsets[s.pipeline] + s.table


@pytest.mark.parametrize("rel", RELEASES)
def test_router_hop_pair_spans_two_nodes(rel: str) -> None:
    (c,) = _cmp(D / rel / "pair-router-hop-icmp.txt")
    assert c.physical == (1, 2)
    traces_used = {s.trace for s in c.stages if s.status == "matched"}
    assert traces_used == {1, 2}  # ingress on the source node, the egress of sshd-2's switch on the other


@pytest.mark.parametrize("rel", RELEASES)
def test_acl_drop_pair_agrees_on_the_drop(rel: str) -> None:
    (c,) = _cmp(D / rel / "pair-acl-drop.txt")
    assert c.agree is True, c.summary
    assert "drop" in c.summary
    assert "deny-ssh-from-client-1" in c.physical_verdict
    # a difference in a conntrack-dependent stage is never blamed on ovn-controller
    if c.divergence is not None:
        assert not c.divergence.decided and c.divergence.diagnosis != CHECK_CONTROLLER


@pytest.mark.parametrize("context", [True, False])
@pytest.mark.parametrize("rel", RELEASES)
def test_deleted_flow_is_found(rel: str, context: bool) -> None:
    """The lab deleted the one flow of the ls_in_l2_lkup lflow for sshd-2's MAC (manifest.json)."""
    manifest = json.loads((D / rel / "manifest.json").read_text())
    row = next(r for r in manifest if r["file"] == "divergence-deleted-flow.txt")
    (c,) = _cmp(D / rel / "divergence-deleted-flow.txt", context)
    assert c.agree is False
    d = c.divergence
    assert d is not None and d.stage == "ls_in_l2_lkup" and d.decided and d.diagnosis == CHECK_CONTROLLER
    assert f"lflow {d.uuid}" in row["shows"]  # the stage named is the one whose flow was deleted
    assert d.of_table == {"23.03": 33, "25.03": 36}[rel]
    assert c.summary.startswith("diverge at ls_in_l2_lkup")
    assert "ovn-trace: delivered to default_sshd-2" in c.summary and "dropped" in c.summary
    assert c.summary.endswith(CHECK_CONTROLLER)
    if context:
        assert "ls_in_l2_lkup, match 1" in d.found  # the flow that matched instead, named from the SB


def test_not_the_same_packet_is_not_compared() -> None:
    a = parse((D / "25.03" / "pair-same-node-icmp.txt").read_text())
    b = parse((D / "25.03" / "pair-acl-drop.txt").read_text())
    c = compare(a.traces[0], [Physical("kube-node2", b.traces[1], None, 1)], 0)
    assert c.agree is None and c.summary.startswith("not compared: not the same packet")


def test_a_different_port_is_not_the_same_packet() -> None:
    """The path's ofproto/trace flows name L4 ports tcp_dst=; ovn-trace's microflow prints tp_dst=."""
    from dataclasses import replace

    r = parse((D / "25.03" / "pair-acl-drop.txt").read_text())
    phys = r.traces[1]
    p0 = phys.passes[0]
    fields = {**p0.fields, "tcp_dst": "2222"}
    fields.pop("tp_dst", None)
    moved = replace(phys, passes=(replace(p0, fields=fields), *phys.passes[1:]))  # a mutated copy, named so
    c = compare(r.traces[0], [Physical("kube-node2", moved, None, 1)], 0)
    assert c.agree is None and "tp_dst 22 in the ovn-trace, 2222 in the ofproto/trace" in c.summary


def test_pairs_group_each_ovn_trace_with_the_ofproto_traces_after_it() -> None:
    r = parse((D / "23.03" / "pair-acl-drop.txt").read_text())
    assert r.traces[0].format is TraceFormat.OVN_TRACE
    assert pairs(r.traces) == [(0, [1, 2])]
    assert pairs(r.traces[1:]) == []  # ofproto/traces alone: nothing to compare
    assert pairs(r.traces[:1]) == []


def _explain(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(["explain", *args], io.StringIO(), out, err)
    return code, out.getvalue()


def test_explain_shows_the_comparison_in_every_format() -> None:
    f = str(D / "25.03" / "divergence-deleted-flow.txt")
    code, text = _explain(f, "--color", "never", "-q")
    assert code == 0
    assert "logical vs physical: ovn-trace (trace 1) vs ofproto/trace (trace 2)" in text
    assert "DIVERGE: diverge at ls_in_l2_lkup" in text and CHECK_CONTROLLER in text
    _, md = _explain(f, "--format", "markdown", "-q")
    assert "### Logical vs physical" in md and "**DIVERGE**" in md
    _, js = _explain(f, "--format", "json", "-q")
    doc = json.loads(js)
    (cmp,) = doc["comparison"]
    assert cmp["agree"] is False and cmp["divergence"]["stage"] == "ls_in_l2_lkup"
    assert cmp["divergence"]["decided"] is True and cmp["logical_trace"] == 0 and cmp["physical_traces"] == [1]


def test_json_has_no_comparison_key_without_both_kinds() -> None:
    # explain/2: the key is always there (schema), null when the input does not hold both kinds
    _, js = _explain(str(D / "25.03" / "same-node-icmp-detailed.txt"), "--format", "json", "-q")
    assert json.loads(js)["comparison"] is None
    _, js = _explain(str(FIX / "lab" / "xnode-icmp-src.txt"), "--format", "json", "-q")
    assert json.loads(js)["comparison"] is None


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_hostile_names_in_a_pair_reach_no_terminal(fmt: str, tmp_path: Path) -> None:
    """A mutated copy of a real pair (named so): the port name carries an escape sequence and markup."""
    bad = "default_sshd-2\x1b]2;pwned\x07[bold]x[/bold]"
    text = (D / "25.03" / "divergence-deleted-flow.txt").read_text().replace("default_sshd-2", bad)
    f = tmp_path / "mutated-hostile-pair.txt"
    f.write_text(text)
    args = [str(f), "-q"] + (["--color", "never"] if fmt == "text" else ["--format", fmt])
    code, out = _explain(*args)
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out
    if fmt == "json":
        assert json.loads(out)["comparison"][0]["agree"] is False
    else:
        assert "check ovn-controller" in out
