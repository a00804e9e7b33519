"""OVN meaning from a pasted trace alone (no database): layout, stages, path, verdict in words."""

from __future__ import annotations

import re

import pytest

from ovntrace.correlate.annotate import annotate
from ovntrace.model import StepKind, Trace
from ovntrace.model.ovn import TraceOvn
from ovntrace.parser import parse
from tests.conftest import FIX


def _trace(rel: str) -> Trace:
    return parse((FIX / rel).read_text(encoding="utf-8")).traces[0]


def _ann(rel: str, version: str | None = None) -> tuple[Trace, TraceOvn]:
    t = _trace(rel)
    a = annotate(t, ovn_version=version)
    assert a is not None
    return t, a


def _stage(t: Trace, a: TraceOvn, table: int, nth: int = 0) -> str | None:
    step = [s for s in t.tables() if s.table == table][nth]
    return a.steps[step.line].stage


def test_seed_notes_come_out_of_the_trace_alone() -> None:
    """The seed's hand-written notes (2)-(5), from its trace with no database."""
    t, a = _ann("seed/kube-node2-pod-to-sshd2.txt")
    # (2)/(4): metadata 0x5 (switch) -> 0x1 (router) -> 0x4 (switch), and out through a tunnel
    assert [(h.datapath.key, h.datapath.type) for h in a.path if h.datapath] == [
        (5, "switch"), (1, "router"), (4, "switch")]
    assert a.path[-1].kind == "tunnel" and "172.17.42.31" in a.path[-1].text
    # (3): table 13 routes, table 14 resolves the next hop's MAC (OVN 2.8 stage names)
    assert _stage(t, a, 13) == "lr_in_ip_routing"
    assert _stage(t, a, 14) == "lr_in_arp_resolve"
    assert _stage(t, a, 23) == "ls_in_l2_lkup"
    # (5): table 32 sends it to the remote chassis with tun_id 0x4 and outport key 3
    step32 = next(s for s in t.tables() if s.table == 32)
    assert a.steps[step32.line].table_role == "REMOTE_OUTPUT"
    assert a.verdict is not None and a.verdict.kind == "tunnel"
    assert "172.17.42.31" in a.verdict.cause and "dp 4, in 1, out 3" in a.verdict.cause
    # the release is not known from a trace alone: the candidates are the 2.8 series (OVS 2.8.1's OVN)
    assert a.release is None and a.release_source == "trace"
    assert "2.8.1" in a.release_candidates and all(r.startswith("2.8.") for r in a.release_candidates)
    assert "confidence" not in (a.release_guess or "") and "2.8.0..2.8.11" in (a.release_guess or "")


def test_acl_log_with_drop_verdict_means_dropped_not_controller() -> None:
    t, a = _ann("lab/acl-drop-dst.txt")
    assert t.verdict.kind.value == "controller"  # what OVS alone says
    assert a.verdict is not None and a.verdict.kind == "drop"
    assert "deny-ssh-from-client-1" in a.verdict.cause
    assert a.verdict.acl == {"name": "deny-ssh-from-client-1"}


def test_port_security_drop_names_the_address() -> None:
    _, a = _ann("lab/port-security-drop.txt", "23.03.1")
    assert a.verdict is not None and a.verdict.kind == "drop"
    assert "port security" in a.verdict.cause and "192.168.3.99" in a.verdict.cause


def test_physical_tables_are_not_pipeline_stages() -> None:
    t, a = _ann("ovn-24.03.9/trace2.txt", "24.03.9")
    roles = {s.table: a.steps[s.line].table_role for s in t.tables()}
    assert roles[0] == "PHY_TO_LOG" and roles[64] == "SAVE_INPORT" and roles[65] == "LOG_TO_PHY"
    assert roles[73] == "CHK_IN_PORT_SEC" and roles[40] == "LOCAL_OUTPUT"


def test_stages_agree_with_real_ovn_detrace_annotations() -> None:
    """OVN 24.03.9's own ovn-detrace named the stage of every logical-flow cookie in this trace."""
    t = parse((FIX / "ovn-24.03.9/trace2-detrace.txt").read_text()).traces[0]
    a = annotate(t, ovn_version="24.03.9")
    assert a is not None
    rx = re.compile(r"Logical flow: table=(\d+) \((\w+)\)")
    checked = 0
    for s in t.tables():
        truth = [m.group(2) for c in s.children if c.kind is StepKind.ANNOTATION for m in [rx.search(c.text)] if m]
        if not truth:
            continue
        st = a.steps[s.line]
        assert truth[0] == st.stage or truth[0] in st.stage_candidates, (s.line, truth[0], st)
        checked += 1
    assert checked > 50


def test_non_ovn_traces_get_no_ovn_meaning() -> None:
    for rel in ("traces/024_ovs-faucet-udp-controller.txt", "traces/003_ovs-advanced-modvlan.txt",
                "ovs-3.5.0/t8.txt"):
        assert annotate(_trace(rel)) is None, rel


@pytest.mark.parametrize("rel", ["lab/xnode-icmp-src.txt", "lab/external-gw.txt", "lab/lb-vip-same-node.txt"])
def test_lab_traces_annotate_every_pipeline_table(rel: str) -> None:
    t, a = _ann(rel, "23.03.1")
    for s in t.tables():
        if s.bridge != "br-int":  # breth0 behind the localnet port: OVS meaning only
            assert s.line not in a.steps, (s.line, s.bridge)
            continue
        st = a.steps[s.line]
        if st.pipeline is not None:
            assert st.stage is not None or st.stage_candidates, (s.line, s.table)


def test_seed_notes_with_the_seeds_pasted_outputs() -> None:
    """With only the walkthrough's pasted outputs as context: note (1) whose MAC, note (5) port 7's tunnel."""
    from ovntrace.correlate import Correlator
    from ovntrace.sources import load_context

    ctx = load_context(FIX / "seed" / "walkthrough.txt")
    t = _trace("seed/kube-node2-pod-to-sshd2.txt")
    a = Correlator(ctx, None, "kube-node2").annotate(t)
    assert a is not None
    assert "dl_dst 00:00:00:d3:4b:aa is rtos-kube-node2 (router port)" in a.notes
    out7 = next(s for s in t.walk() if s.text == "output:7")
    assert a.actions[out7.line].words == "to interface ovn-c7889c-0, geneve to 172.17.42.31"
    eth_src = next(s for s in t.walk() if s.text == "set_field:00:00:00:c0:2e:c7->eth_src")
    assert a.actions[eth_src.line].words == "MAC of rtos-kube-node1 (router port)"


def test_tunnel_entered_datapath_type_needs_evidence() -> None:
    """A tunnel delivers into any datapath's egress (a router's for a chassisredirect port): the switch type
    of kube-node1's switch comes from its ct_next in the port's zone (reg13), not from being first."""
    _, a = _ann("lab/xnode-icmp-dst.txt")
    types = {st.datapath.key: st.datapath.type for st in a.steps.values() if st.datapath is not None}
    assert types == {4: "switch"}
    # the gateway trace: the datapath the tunnel enters (2, the join switch's egress) runs no conntrack of
    # its own; it is a switch because it runs egress stages 7-9, which no router egress pipeline has
    t2, a2 = _ann("lab/external-gw.txt")
    dp2 = [(s.table, st) for s in t2.tables() if (st := a2.steps.get(s.line)) and st.datapath is not None
           and st.datapath.key == 2 and st.pipeline == "egress"]
    assert {st.datapath.type for _, st in dp2 if st.datapath} == {"switch"}
    assert dict((t, st.stage) for t, st in dp2)[42] == "ls_out_pre_acl"
