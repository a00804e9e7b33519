"""What the parse means: nesting, register state, OVS quirks and verdicts, on real traces."""

from __future__ import annotations

from ovntrace.model import ParseResult, Step, StepKind, Trace, TraceFormat, VerdictKind
from ovntrace.parser import parse
from tests.conftest import FIX


def _parse(rel: str) -> ParseResult:
    return parse((FIX / rel).read_text(encoding="utf-8"))


def _one(rel: str) -> Trace:
    result = _parse(rel)
    assert len(result.traces) == 1
    return result.traces[0]


def _table(t: Trace, table: int, nth: int = 0) -> Step:
    return [s for s in t.tables() if s.table == table][nth]


# -- the seed walkthrough ---------------------------------------------------------------------------


def test_seed_datapath_hops_are_visible_in_metadata() -> None:
    """The seed's note (2) and (4): metadata 0x5 (switch kube-node2) -> 0x1 (router) -> 0x4 (kube-node1)."""
    t = _one("seed/kube-node2-pod-to-sshd2.txt")
    assert _table(t, 42).state["metadata"] == "0x5"
    assert _table(t, 65, 0).state["metadata"] == "0x5"
    assert _table(t, 13).state["metadata"] == "0x1"
    assert _table(t, 23).state["metadata"] == "0x4"
    # table 14 matched reg0=0xc0a80203: the move into xxreg0[96..127] (line 59-60) made it so
    assert _table(t, 14).state["reg0"] == "0xc0a80203"
    assert _table(t, 14).state["reg15"] == "0x3"
    assert _table(t, 32).state["reg14"] == "0x1"  # inport of the kube-node1 switch, set in the clone


def test_seed_unknown_stays_unknown_without_a_flow_line() -> None:
    """The seed's first trace has no Flow: line: registers not written are not invented."""
    t = _one("seed/kube-node2-pod-to-sshd2.txt")
    assert t.passes[0].flow is None
    first = _table(t, 0)
    assert "reg15" not in first.state and "metadata" not in first.state
    assert first.state["in_port"] == "9"  # the table matched in_port=9


def test_seed_resubmit_nesting_follows_ovs() -> None:
    t = _one("seed/kube-node2-pod-to-sshd2.txt")
    t64 = _table(t, 64)
    kids = [c for c in t64.children]
    # 65 is a non-tail nested table under 64 (printed at +4), and pop: belongs to 64 after it
    assert [c.kind for c in kids][-3:] == [StepKind.TABLE, StepKind.ACTION, StepKind.DETAIL]
    assert kids[-3].table == 65 and kids[-3].via == 73
    assert kids[-2].text == "pop:NXM_OF_IN_PORT[]"
    # the pop restored what push saved: in_port 0 again is known for nothing after; the tunnel output is in 32
    t32 = _table(t, 32)
    assert any(c.action is not None and c.action.name == "output" for c in t32.children)


def test_seed_verdict_is_the_tunnel_with_decoded_metadata() -> None:
    t = _one("seed/kube-node2-pod-to-sshd2.txt")
    v = t.verdict
    assert v.kind is VerdictKind.TUNNEL
    assert v.line == 100
    assert v.tunnel["dst"] == "172.17.42.31" and v.tunnel["tun_id"] == "0x4"
    assert v.tunnel["geneve"][0]["value"] == "0x10003"
    assert v.ports == ("2",)


def test_seed_second_node_delivers_to_the_pod_port() -> None:
    t = _one("seed/kube-node1-tunnel-in.txt")
    assert t.verdict.kind is VerdictKind.OUTPUT and t.verdict.ports == ("5",)
    # the decap moves: tun_id -> metadata, tun_metadata0[0..15] -> reg15 (from the "is now" details)
    assert _table(t, 48).state["metadata"] == "0x4"
    assert _table(t, 48).state["reg15"] == "0x3"
    assert _table(t, 48).state["reg14"] == "0"


def test_seed_clone_repeats_are_nested_and_ct_drop_is_spurious() -> None:
    t = _one("seed/kube-node2-pod-to-sshd2.txt")
    steps = list(t.walk())
    ct_drop = next(s for s in steps if s.line == 14)
    assert ct_drop.text == "drop" and ct_drop.spurious and ct_drop.nested_in == 13
    nested = [s for s in steps if s.nested_in == 33]
    assert len(nested) == 22 and nested[-1].text == "resubmit(,8)"


# -- OVS quirks ---------------------------------------------------------------------------------------


def test_check_pkt_larger_second_copy_is_spurious() -> None:
    t = _one("ovs-3.5.0/t8.txt")
    spurious = [s for s in t.walk() if s.spurious]
    assert spurious, "the remainder printed twice after check_pkt_larger must be marked"


def test_nested_bridges_printed_at_column_zero_are_nested() -> None:
    """OVS 3.5.0 t2: bridge("br-ex") then bridge("br-int") at column 0 are both nested (tail bridges)."""
    t = _one("ovs-3.5.0/t2.txt")
    top = t.passes[1].steps
    assert [s.kind for s in top] == [StepKind.BRIDGE]
    nested = [s for s in top[0].walk() if s.kind is StepKind.BRIDGE][1:]
    assert [(b.line, b.bridge) for b in nested] == [(49, "br-ex"), (55, "br-int")]
    assert nested[1] in nested[0].walk()  # br-int is inside br-ex, not a new top-level bridge
    assert t.verdict.kind is VerdictKind.TUNNEL


def test_patch_port_bridge_sees_cleared_registers_and_state_restored() -> None:
    t = _one("ovs-3.5.0/t3.txt")
    for b in (s for s in t.walk() if s.kind is StepKind.BRIDGE and s.bridge == "br-ex"):
        first = next(c for c in b.children if c.kind is StepKind.TABLE)
        assert first.state.get("metadata") == "0" and first.state.get("reg15") == "0"


def test_translation_errors_are_drops_with_their_reason() -> None:
    t = _one("ovs-3.5.0/t13.txt")
    assert t.verdict.kind is VerdictKind.DROP and "Recursion too deep" in t.verdict.reason
    errs = [s for s in t.walk() if s.kind is StepKind.ERROR]
    assert errs and "over max translation depth 64" in errs[0].text
    t = _one("traces/015_ovs-commit-2017-recirc-context-not-found.txt")
    assert t.verdict.kind is VerdictKind.DROP and "No recirculation context" in t.verdict.reason
    assert t.passes[0].fields["nw_ttl"] == "64"  # the Flow: line was wrapped over three lines


def test_nat_recirculation_block() -> None:
    t = _one("ovs-3.5.0/t12.txt")
    nat = [p.nat for p in t.passes if p.nat]
    assert nat and "initial" in nat[0] and "modified" in nat[0]


# -- verdicts from what the packet does -------------------------------------------------------------------


def test_nested_no_match_does_not_drop_the_packet() -> None:
    """OVN 24.03.9 trace2: helper-table misses inside the pipeline, yet the packet is output."""
    t = _one("ovn-24.03.9/trace2.txt")
    assert any(s.miss for s in t.tables())
    assert t.verdict.kind is VerdictKind.OUTPUT


def test_tunnel_in_drop() -> None:
    t = _one("traces/063_kubeovn-issue5687-tunnel-in-drop.txt")
    assert t.verdict.kind is VerdictKind.DROP


def test_unfollowed_recirculation() -> None:
    t = _one("traces/033_ovn-openstack-elided-recirc.txt")
    assert t.verdict.kind is VerdictKind.RECIRC and t.verdict.tunnel["recirc_id"] == "0xc"


def test_controller_and_native_tunnel_verdicts() -> None:
    assert _one("traces/024_ovs-faucet-udp-controller.txt").verdict.kind is VerdictKind.CONTROLLER
    t = _one("lab/xnode-icmp-src.txt")
    assert t.verdict.kind is VerdictKind.TUNNEL
    assert t.verdict.tunnel["dst"] == "172.17.42.31" and t.verdict.tunnel["tun_id"] == "0x4"


def test_truncated_input_is_incomplete_not_dropped() -> None:
    t = _one("traces/012_ovs25-tutorial-oldfmt-excerpt-fragment.txt")
    assert t.verdict.kind is VerdictKind.INCOMPLETE


def test_bond_refusal_is_not_an_output() -> None:
    t = _one("traces/072_ovs-test-bond-refused-admissibility.txt")
    assert t.verdict.kind is not VerdictKind.OUTPUT


# -- formats ----------------------------------------------------------------------------------------------


def test_old_format_with_bridge_flow_and_resubmitted_regs() -> None:
    result = _parse("traces/051_savi-oldfmt-megaflow-arp.txt")
    assert len(result.traces) == 1
    t = result.traces[0]
    assert t.format is TraceFormat.LEGACY and t.bridge == "br-int"
    assert t.verdict.kind is VerdictKind.OUTPUT
    t = _one("traces/066_learning-sdn-zh-relevant-fields-modvlan.txt")
    tables = list(t.tables())
    assert [s.table for s in tables[:2]] == [0, 1]
    assert tables[1].state["reg0"] == "0"
    assert tables[-1].miss


def test_ovn_trace_is_recognised_not_mistaken() -> None:
    for rel in ("traces/036_ovn-openstack-ovntrace-l2-switch.txt", "ovn-24.03.9/ovn-trace.txt",
                "traces/084_ro-blog-openstack-ovntrace-router-snat-multicast.txt"):
        result = _parse(rel)
        assert result.traces and all(t.format is TraceFormat.OVN_TRACE for t in result.traces), rel
        assert all(t.passes and any(s.kind is StepKind.STAGE for s in t.walk()) for t in result.traces), rel
    assert len(_parse("traces/087_sdn-handbook-ovntrace-detailed-two-cmds.txt").traces) == 2


def test_detrace_paste_without_indentation_gives_the_same_tables_and_state() -> None:
    """ovn-detrace 24.03 strips indentation; the flat fallback must find the same lookups and state."""
    plain = _one("ovn-24.03.9/trace1.txt")
    detraced = _one("ovn-24.03.9/trace1-detrace.txt")
    a = [(s.table, s.priority, s.cookie, s.match) for s in plain.tables()]
    b = [(s.table, s.priority, s.cookie, s.match) for s in detraced.tables()]
    assert a == b
    key = ("metadata", "reg14", "reg15", "reg13", "reg11", "reg12")
    sa = [{k: s.state.get(k) for k in key} for s in plain.tables()]
    sb = [{k: s.state.get(k) for k in key} for s in detraced.tables()]
    assert sa == sb
    annotations = [s for s in detraced.walk() if s.kind is StepKind.ANNOTATION]
    assert annotations and annotations[0].text.startswith("* ")
    assert plain.verdict.kind == detraced.verdict.kind


def test_two_traces_back_to_back_and_prose_kept() -> None:
    text = (FIX / "seed/kube-node2-pod-to-sshd2.txt").read_text() + "\nsome prose in between\n\n" + (
        FIX / "seed/kube-node1-tunnel-in.txt").read_text()
    result = parse(text)
    assert len(result.traces) == 2
    assert result.traces[1].first_line == 104  # its command line
    assert 102 in result.prose_lines


def test_markdown_rendered_paste_without_numbers_or_indentation() -> None:
    """A GitHub-rendered paste: indentation, the dashes under bridge(...) and the "N. " list numbers gone."""
    src = (FIX / "seed/kube-node1-tunnel-in.txt").read_text().split("\n")
    rendered = []
    for ln in src:
        s = ln.strip()
        if set(s) == {"-"}:
            continue
        if s[:1].isdigit() and ". " in s[:5]:
            s = s.split(". ", 1)[1]
        rendered.append(s)
    t = parse("\n".join(rendered)).traces[0]
    tables = list(t.tables())
    assert [s.match for s in tables] == ["in_port=6", "reg15=0x3,metadata=0x4", "", "reg15=0x3,metadata=0x4"]
    assert all(s.table is None for s in tables)
    assert t.verdict.kind is VerdictKind.OUTPUT and t.verdict.ports == ("5",)


def test_vswitchd_log_auto_trace_prefix_only_on_first_line() -> None:
    """ovs-vswitchd logs an auto-trace as one message: only its first line carries the log prefix."""
    text = (FIX / "ovs-3.5.0/t13.txt").read_text()
    logged = "2024-05-01T10:00:00.123Z|00042|ofproto_dpif_upcall(handler3)|WARN|" + text
    t = parse("other log line\n" + logged).traces[0]
    assert t.passes[0].flow is not None and t.passes[0].flow.startswith("tcp")
    assert t.verdict.kind is VerdictKind.DROP and len(list(t.tables())) == 66
