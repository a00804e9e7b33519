"""ovn-trace output: every real paste and every lab trace (real ovn-trace 23.03.1) parses into logical
steps and gets the verdict the trace shows (read by hand from the files; the lab's ACL and LB are
in fixtures/lab/ovn-nbctl-*.txt)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from ovntrace.model import StepKind, TraceFormat, VerdictKind
from ovntrace.parser import parse
from ovntrace.parser.ovntrace import classify
from tests.conftest import FIX

LAB = FIX / "lab" / "ovn-trace"
OVN_FIXTURES = sorted(LAB.glob("*.txt")) + sorted((LAB / "ovs").glob("*.txt")) + [
    FIX / "traces" / n for n in (
        "036_ovn-openstack-ovntrace-l2-switch.txt", "039_ovntrace-2016-commit-detailed-nomatch.txt",
        "057_ovn-notes-ovntrace-summary-minimal.txt", "084_ro-blog-openstack-ovntrace-router-snat-multicast.txt",
        "087_sdn-handbook-ovntrace-detailed-two-cmds.txt")] + [FIX / "ovn-24.03.9" / "ovn-trace.txt"]


def _traces(p: Path) -> list:  # type: ignore[type-arg]
    r = parse(p.read_text(encoding="utf-8"))
    assert r.traces and all(t.format is TraceFormat.OVN_TRACE for t in r.traces), p.name
    return list(r.traces)


# (file, format, verdict kind, ports, words that must be in the reason)
EXPECTED = [
    ("same-node-icmp-detailed.txt", "detailed", VerdictKind.OUTPUT, ("default_sshd-2",), "on kube-node1"),
    ("same-node-icmp-summary.txt", "summary", VerdictKind.OUTPUT, ("default_sshd-2",), "on kube-node1"),
    ("same-node-icmp-minimal.txt", "minimal", VerdictKind.OUTPUT, ("default_sshd-2",), "default_sshd-2"),
    ("router-hop-icmp-detailed.txt", "detailed", VerdictKind.OUTPUT, ("default_sshd-2",), "on kube-node1"),
    ("acl-drop-detailed.txt", "detailed", VerdictKind.DROP, (), "ACL deny-ssh-from-client-1 in ls_out_acl"),
    ("acl-drop-summary.txt", "summary", VerdictKind.DROP, (), "ACL deny-ssh-from-client-1"),
    ("acl-drop-minimal.txt", "minimal", VerdictKind.DROP, (), "ACL deny-ssh-from-client-1"),
    ("acl-drop-ct-new-detailed.txt", "detailed", VerdictKind.DROP, (), "ACL deny-ssh-from-client-1"),
    ("port-security-drop-detailed.txt", "detailed", VerdictKind.DROP, (), "port security in ls_in_apply_port_sec"),
    ("port-security-drop-minimal.txt", "minimal", VerdictKind.DROP, (), "--minimal prints nothing"),
    ("lb-vip-ct-new-est-detailed.txt", "detailed", VerdictKind.OUTPUT, ("default_sshd-2",), "on kube-node1"),
    # default ct_state est: no LB; the gateway router has no MAC binding for its next hop, so what goes
    # out of breth0 is the ARP request the arp action makes, not the TCP packet
    ("lb-vip-detailed.txt", "detailed", VerdictKind.CONTROLLER, (), "ARP resolution"),
    ("lb-vip-summary.txt", "summary", VerdictKind.CONTROLLER, (), "goes out to breth0_kube-master"),
    ("lb-vip-minimal.txt", "minimal", VerdictKind.CONTROLLER, (), "goes out to breth0_kube-master"),
    ("ttl-expired-detailed.txt", "detailed", VerdictKind.CONTROLLER, (), "ICMPv4 error (icmp4) in lr_in_ip_input"),
    ("ttl-expired-minimal.txt", "minimal", VerdictKind.CONTROLLER, (), "goes out to default_client-1"),
    ("arp-reply-to-router-detailed.txt", "detailed", VerdictKind.CONTROLLER, (), "put_arp"),
    ("arp-gateway-detailed.txt", "detailed", VerdictKind.OUTPUT,
     ("default_web-1", "default_sshd-2", "k8s-kube-node1"), "3 logical ports"),
    ("arp-flood-detailed.txt", "detailed", VerdictKind.OUTPUT, ("default_sshd-2", "k8s-kube-node1"), "put_arp"),
    ("arp-flood-summary.txt", "summary", VerdictKind.OUTPUT, ("default_sshd-2", "k8s-kube-node1"), "2 logical"),
    ("unknown-dst-mac-detailed.txt", "detailed", VerdictKind.DROP, (), "ls_in_l2_unknown"),
]


@pytest.mark.parametrize(("name", "fmt", "kind", "ports", "words"), EXPECTED, ids=[e[0] for e in EXPECTED])
def test_lab_verdicts(name: str, fmt: str, kind: VerdictKind, ports: tuple[str, ...], words: str) -> None:
    (t,) = _traces(LAB / name)
    assert t.detail == fmt
    assert t.verdict.kind is kind, t.verdict.reason
    assert t.verdict.ports == ports
    assert words in t.verdict.reason


def test_public_pastes_verdicts() -> None:
    t036 = _traces(FIX / "traces" / "036_ovn-openstack-ovntrace-l2-switch.txt")[0]
    # the paste stops at the egress stage line (its actions were not pasted): no guess
    assert t036.verdict.kind is VerdictKind.INCOMPLETE
    t039 = _traces(FIX / "traces" / "039_ovntrace-2016-commit-detailed-nomatch.txt")[0]
    assert t039.verdict.kind is VerdictKind.DROP and "no match" in t039.verdict.reason and t039.verdict.line == 8
    a, b = _traces(FIX / "traces" / "057_ovn-notes-ovntrace-summary-minimal.txt")
    assert (a.detail, b.detail) == ("minimal", "summary")
    assert a.verdict.ports == b.verdict.ports == ("sw0-port2",)
    t084 = _traces(FIX / "traces" / "084_ro-blog-openstack-ovntrace-router-snat-multicast.txt")[0]
    assert t084.verdict.ports == ("provnet-785e63",) and t084.verdict.datapath == "ext_net"
    ok, dropped = _traces(FIX / "traces" / "087_sdn-handbook-ovntrace-detailed-two-cmds.txt")
    assert ok.verdict.ports == ("sw0-port2",)
    assert dropped.verdict.kind is VerdictKind.DROP and "port security" in dropped.verdict.reason
    assert dropped.verdict.stage == "ls_in_port_sec_l2"


def test_stage_fields_from_a_detailed_line() -> None:
    (t,) = _traces(FIX / "traces" / "084_ro-blog-openstack-ovntrace-router-snat-multicast.txt")
    st = next(s for s in t.walk() if s.kind is StepKind.STAGE and s.stage == "ls_in_acl")
    assert (st.table, st.priority, st.uuid, st.source, st.datapath, st.pipeline) == (
        9, 2002, "ce2f348c", "northd.c:6425", "int_net", "ingress")
    assert st.match == "reg0[8] == 1 && (inport == @pg_0eb76931_dc33_45a1_9698_8e2ad10a0aeb && ip4)"
    assert [c.text for c in st.children] == ["next;"]
    # the ct_next section continues the ingress pipeline of int_net
    tr = next(s for s in t.walk() if s.kind is StepKind.TRANSFORM)
    assert tr.stage == "ct_next" and tr.datapath == "int_net" and tr.pipeline == "ingress"
    # the router's stages are on router1, egress stages carry outport from their header
    eg = [s for s in t.walk() if s.kind is StepKind.PIPELINE and s.pipeline == "egress"]
    assert eg[0].inport == "5aac01" and eg[0].outport == "f020fa"


def test_multicast_fan_out_nests_egress_sections() -> None:
    (t,) = _traces(LAB / "arp-flood-detailed.txt")
    mc = next(s for s in t.walk() if s.kind is StepKind.PIPELINE and s.pipeline == "multicast")
    assert mc.outport == "_MC_flood"
    outs = [c.outport for c in mc.children if c.kind is StepKind.PIPELINE]
    assert outs == ["default_sshd-2", "default_web-1", "k8s-kube-node1", "stor-kube-node1"]
    # the router reached through stor-kube-node1 is nested in that egress
    stor = mc.children[-1]
    assert any(c.kind is StepKind.PIPELINE and c.datapath == "kube-master" for c in stor.children)


def test_ovs_sub_lines_are_openflow_steps_of_their_stage() -> None:
    (t,) = _traces(FIX / "ovn-24.03.9" / "ovn-trace.txt")
    st = next(s for s in t.walk() if s.kind is StepKind.STAGE)
    of = [c for c in st.children if c.kind is StepKind.OPENFLOW]
    assert len(of) == 2 and all(c.cookie == "0x5db9da72" and c.table == 8 for c in of)
    assert st.uuid is not None and of[0].cookie is not None and of[0].cookie[2:] == st.uuid


@pytest.mark.parametrize("path", sorted((LAB / "ovs").glob("*.txt")), ids=lambda p: p.name)
def test_lab_ovs_flows_belong_to_their_stage(path: Path) -> None:
    """--ovs (live lab, 23.03.1): every OpenFlow sub-line sits under the stage whose lflow it implements."""
    (t,) = _traces(path)
    stages = [s for s in t.walk() if s.kind is StepKind.STAGE and not s.miss]
    flows = [(st, c) for st in stages for c in st.children if c.kind is StepKind.OPENFLOW]
    # "*** no OpenFlow flows": this node has none for that lflow (acl-drop: the ACL of kube-node1's switch,
    # traced on kube-node2)
    real = [(st, c) for st, c in flows if not c.text.startswith("***")]
    assert real and all(c.cookie is not None and int(c.cookie, 16) == int(st.uuid or "0", 16) for st, c in real)
    none = [st.stage for st, c in flows if c.text == "*** no OpenFlow flows"]
    assert none == (["ls_out_acl"] if path.name.startswith("acl-drop") else [])
    assert all(s.kind is not StepKind.OPENFLOW for p in t.passes for s in p.steps)


@pytest.mark.parametrize("path", OVN_FIXTURES, ids=lambda p: p.name)
def test_nothing_unparsed_and_every_line_a_step(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    r = parse(text)
    seen = {s.line for t in r.traces for s in t.walk()} | set(r.prose_lines)
    seen |= {t.passes[0].flow_line for t in r.traces if t.passes and t.passes[0].flow_line}
    seen |= {t.first_line for t in r.traces if t.command}
    steps = [s for t in r.traces for s in t.walk()]
    seen |= {s.line for s in steps}
    # a header's dashes are structure (the header step stands for them)
    lost = [i for i, ln in enumerate(text.split("\n"), 1)
            if ln.strip() and i not in seen and set(ln.strip()) != {"-"}]
    assert not lost, lost[:10]
    assert not [s for s in steps if s.kind is StepKind.UNPARSED], path.name


def test_line_grammar_shapes() -> None:
    assert classify(' 0. ls_in_port_sec_l2 (ovn-northd.c:2827): inport == "a", priority 50'.strip()) == "STAGE_LINE"
    assert classify("13. no match") == "NOMATCH_LINE"
    assert classify('0. ls_in_port_sec_l2: no match (implicit drop)') == "NOMATCH_LINE"
    assert classify('egress(dp="sw0", inport="a", outport="b") {') == "PIPELINE_LINE"
    assert classify('multicast(dp="ext", mcgroup="_MC_unknown")') == "MULTICAST_LINE"
    assert classify("ct_lb_mark /* default (use --ct to customize) */ {") == "OPEN_LINE"
    assert classify("clone { outport = \"p\"; output; };") == "ACTION_LINE"
    assert classify('/* output to "p", type "" */;') == "COMMENT_LINE"
    assert classify("};") == "CLOSE_LINE"
    assert classify("cookie=0x1, duration=1s, table=8, priority=50 actions=drop") == "OPENFLOW_LINE"
    assert classify("something else") == "OTHER_LINE"


@pytest.mark.parametrize("seed", range(20))
def test_mutated_ovn_trace_never_raises_and_keeps_lines(seed: int) -> None:
    """Hostile input derived from a real trace: lines dropped, duplicated, truncated, braces unbalanced."""
    rnd = random.Random(seed)
    src = rnd.choice(OVN_FIXTURES).read_text(encoding="utf-8").split("\n")
    out = []
    for ln in src:
        r = rnd.random()
        if r < 0.1:
            continue
        if r < 0.2:
            ln = ln[: rnd.randrange(len(ln) + 1)]
        elif r < 0.25:
            out.append(ln)
        elif r < 0.28:
            ln = "};"
        out.append(ln)
    res = parse("\n".join(out))
    covered: set[int] = set(res.prose_lines)
    for t in res.traces:
        covered.update(range(t.first_line, t.last_line + 1))
    assert all(i in covered for i, ln in enumerate(out, 1) if ln.strip())
