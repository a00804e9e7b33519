"""The logical verdict of an ``ovn-trace`` trace: where the simulated packet went, from what it did.

Evidence, in the order it decides (utilities/ovn-trace.c, OVN 23.03/24.03):

* ``/* output to "P", type "T" */`` (detailed, summary) or ``output("P");`` (minimal): delivered to
  logical port P. Ports of type ``patch``/``l3gateway`` are hops into the peer datapath (ovn-trace goes
  on with the peer's ingress pipeline), so they are the verdict only when nothing follows them.
* ``drop;``, a stage with ``no match`` (implicit drop), a ``LOG: ACL ... verdict=drop`` line, or a stage
  whose actions end without ``next``/``output`` (the 23.03 ACL drop ends after ``log(...)``): dropped,
  by the stage that did it (ACL, port security, no match).
* Controller actions (``put_arp``, ``arp { ... }``, ``nd_ns``, ``icmp4``, ``reject`` ...): handed to
  ovn-controller (pinctrl) for what the action says.

When none of these is seen (a paste cut short) the verdict is ``incomplete``: never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ovntrace.model.trace import Step, StepKind, Verdict, VerdictKind

_OUTPUT_RE = re.compile(r'^/\* output to "(?P<port>[^"]*)", type "(?P<type>[^"]*)" \*/$')
_MIN_OUTPUT_RE = re.compile(r'^output\("(?P<port>[^"]*)"\);$')
_LOG_DROP_RE = re.compile(r"^LOG: ACL name=(?P<name>[^,]*),.*verdict=(?P<v>drop|reject)")
_HOP_TYPES = frozenset({"patch", "l3gateway"})
CONTROLLER_ACTIONS: dict[str, str] = {
    "put_arp": "learn a MAC binding (put_arp)",
    "put_nd": "learn a MAC binding (put_nd)",
    "arp": "ARP resolution: send an ARP request (arp)",
    "nd_ns": "ND resolution: send a neighbor solicitation (nd_ns)",
    "nd_na": "answer a neighbor solicitation (nd_na)",
    "nd_na_router": "answer a neighbor solicitation (nd_na_router)",
    "icmp4": "generate an ICMPv4 error (icmp4)",
    "icmp4_error": "generate an ICMPv4 error (icmp4_error)",
    "icmp6": "generate an ICMPv6 error (icmp6)",
    "icmp6_error": "generate an ICMPv6 error (icmp6_error)",
    "tcp_reset": "send a TCP reset (tcp_reset)",
    "sctp_abort": "send an SCTP abort (sctp_abort)",
    "reject": "reject the packet (reject)",
    "put_dhcp_opts": "DHCPv4 reply (put_dhcp_opts)",
    "put_dhcpv6_opts": "DHCPv6 reply (put_dhcpv6_opts)",
    "dns_lookup": "DNS lookup (dns_lookup)",
    "put_nd_ra_opts": "router advertisement (put_nd_ra_opts)",
    "trigger_event": "controller event (trigger_event)",
    "handle_svc_check": "service monitor (handle_svc_check)",
    "controller": "controller",
}
# controller actions whose nested actions run on a new packet (ovn-trace prints it as a section/block)
GENERATORS = frozenset({"arp", "nd_ns", "nd_na", "nd_na_router", "icmp4", "icmp4_error", "icmp6", "icmp6_error",
                        "tcp_reset", "sctp_abort", "reject", "put_dhcp_opts", "put_dhcpv6_opts", "dns_lookup"})
_CTL_RE = re.compile(r"^(?P<a>" + "|".join(sorted(CONTROLLER_ACTIONS, key=len, reverse=True)) + r")\b\s*[({]")
_CONTINUES = re.compile(r"^(next|output|ct_next|ct_lb|ct_lb_mark|ct_dnat|ct_snat|ct_dnat_in_czone|"
                        r"ct_snat_in_czone|clone|ct_commit_nat|ct_clear|flood_remote)\b")


@dataclass(frozen=True, slots=True)
class _Where:
    datapath: str | None
    pipeline: str | None
    stage: Step | None
    gen: Step | None = None  # the controller action (arp, icmp4 ...) whose generated packet this is


def _walk(steps: tuple[Step, ...]) -> Iterator[tuple[Step, _Where]]:
    """Depth-first, with the enclosing datapath/pipeline/stage of every step."""
    stack: list[tuple[Step, _Where]] = [(s, _Where(None, None, None)) for s in reversed(steps)]
    while stack:
        s, w = stack.pop()
        yield s, w
        if s.kind in (StepKind.PIPELINE, StepKind.TRANSFORM):
            gen = s if s.kind is StepKind.TRANSFORM and s.stage in GENERATORS else w.gen
            inner = _Where(s.datapath or w.datapath, s.pipeline or w.pipeline, None, gen)
        elif s.kind is StepKind.STAGE:
            inner = _Where(s.datapath or w.datapath, s.pipeline or w.pipeline, s, w.gen)
        else:
            inner = w
        stack.extend((c, inner) for c in reversed(s.children))


def stage_label(st: Step | None) -> str:
    if st is None:
        return "a stage this format does not name"
    return f"{st.stage or 'table'} (table {st.table})" if st.stage else f"table {st.table}"


def _drop_reason(st: Step | None, acl: str | None, how: str, w: _Where | None = None) -> str:
    name = (st.stage or "") if st is not None else ""
    if st is not None:
        where = stage_label(st)
    elif w is not None and w.pipeline:
        where = f"the {w.pipeline} pipeline (this format does not name stages)"
    else:
        where = "a stage this format does not name"
    if "acl" in name or acl:
        who = f" {acl}" if acl else ""
        return f"dropped by ACL{who} in {where}: {how}"
    if "port_sec" in name:
        return f"dropped by port security in {where}: {how}"
    return f"dropped in {where}: {how}"


def decide_logical(steps: tuple[Step, ...], detail: str) -> Verdict:
    finals: list[tuple[str, str, int, str | None]] = []  # port, type, line, datapath
    generated: list[tuple[str, int, Step]] = []  # port, line, the controller action that made the packet
    hops: list[tuple[str, str, int, str | None]] = []
    drops: list[tuple[Step, _Where, str]] = []
    ctl: list[tuple[Step, _Where, str]] = []
    acl_log: str | None = None
    last_stage: Step | None = None
    last_stage_where: _Where | None = None
    elided = False
    after_hop = False
    for s, w in _walk(steps):
        if s.kind is StepKind.STAGE:
            last_stage, last_stage_where = s, w
            if hops:
                after_hop = True
            if s.miss:
                drops.append((s, w, "no match (implicit drop)"))
        elif s.kind is StepKind.PIPELINE and hops:
            after_hop = True
        elif s.kind is StepKind.DETAIL:
            m = _OUTPUT_RE.match(s.text)
            if m:
                rec = (m.group("port"), m.group("type"), s.line, w.datapath)
                if w.gen is not None:
                    if m.group("type") not in _HOP_TYPES:
                        generated.append((m.group("port"), s.line, w.gen))
                else:
                    (hops if m.group("type") in _HOP_TYPES else finals).append(rec)
                    after_hop = False
        elif s.kind is StepKind.ACTION:
            m2 = _MIN_OUTPUT_RE.match(s.text)
            if m2 and w.gen is not None:
                generated.append((m2.group("port"), s.line, w.gen))
            elif m2:
                finals.append((m2.group("port"), "", s.line, w.datapath))
            elif s.text == "drop;":
                drops.append((s, w, "drop;"))
            else:
                c = _CTL_RE.match(s.text)
                if c:
                    ctl.append((s, w, CONTROLLER_ACTIONS[c.group("a")]))
        elif s.kind is StepKind.ANNOTATION:
            m3 = _LOG_DROP_RE.match(s.text)
            if m3:
                acl_log = m3.group("name")
                drops.append((s, w, f"ACL log says verdict={m3.group('v')}"))
        elif s.kind is StepKind.ELIDED:
            elided = True
    if hops and not after_hop and not finals:
        finals.append(hops[-1])  # the last patch output, with nothing after it: the trace ends there
    if finals:
        ports = tuple(dict.fromkeys(p for p, _, _, _ in finals))
        port, typ, line, dp = finals[0]
        on = f" on {dp}" if dp else ""
        kind_words = f', type "{typ}"' if typ else ""
        if len(ports) == 1:
            reason = f"output to logical port {port}{on}{kind_words}"
        else:
            reason = f"output to {len(ports)} logical ports{on}: {', '.join(ports)}"
        extra = []
        if drops:
            extra.append(f"{len(drops)} branch(es) dropped")
        if ctl:
            extra.append("also to ovn-controller: " + "; ".join(dict.fromkeys(c for _, _, c in ctl)))
        if extra:
            reason += " (" + ", ".join(extra) + ")"
        return Verdict(VerdictKind.OUTPUT, line, reason, ports, datapath=dp)
    if generated and not ctl:  # --minimal prints the made packet's block ("arp {"), not the action
        g = generated[0][2]
        ctl.append((g, _Where(g.datapath, g.pipeline, None), CONTROLLER_ACTIONS.get(g.stage or "", g.stage or "?")))
    if ctl:
        # nothing delivered: what the packet did is what ovn-controller was asked to do (a put_arp is
        # followed by the datapath's drop of the consumed packet)
        s, w, what = ctl[0]
        st = w.stage
        on = f" on {w.datapath}" if w.datapath else ""
        then = ""
        if drops:
            ds, dw, how = drops[-1]
            dst = ds if ds.kind is StepKind.STAGE else dw.stage
            if dst is not None or not generated:
                then = f"; then dropped in {stage_label(dst)} (line {ds.line}: {how})"
        made = ""
        if generated:
            gports = list(dict.fromkeys(p for p, _, _ in generated))
            made = f"; the {generated[0][2].stage} packet it makes goes out to {', '.join(gports)}"
        return Verdict(VerdictKind.CONTROLLER, s.line,
                       f"sent to ovn-controller: {what} in {stage_label(st)}{on}{made}{then}",
                       stage=st.stage if st is not None else None, datapath=w.datapath)
    if drops:
        s, w, how = drops[-1]
        st = s if s.kind is StepKind.STAGE else w.stage
        reason = _drop_reason(st, acl_log, how, w) + (f" on {w.datapath}" if w.datapath else "")
        return Verdict(VerdictKind.DROP, s.line, reason, stage=st.stage if st is not None else None,
                       datapath=w.datapath)
    if last_stage is not None and last_stage.children and not elided and detail == "detailed":
        acts = [c for c in last_stage.children if c.kind is StepKind.ACTION]
        if acts and not any(_CONTINUES.match(a.text) for a in acts):
            dp = last_stage_where.datapath if last_stage_where is not None else None
            reason = _drop_reason(last_stage, acl_log, "its actions end without next or output (implicit drop)")
            return Verdict(VerdictKind.DROP, last_stage.line, reason + (f" on {dp}" if dp else ""),
                           stage=last_stage.stage, datapath=dp)
    if detail == "minimal" and not elided:
        return Verdict(VerdictKind.DROP, None,
                       "no output: ovn-trace --minimal prints nothing after the microflow when the packet is not "
                       "delivered (dropped, or only handed to ovn-controller); --detailed shows which stage")
    if last_stage is not None:
        why = "elided" if elided else "cut short"
        return Verdict(VerdictKind.INCOMPLETE, last_stage.line,
                       f"no output, drop or controller action seen: the trace ends at {stage_label(last_stage)} "
                       f"(input {why}?)")
    return Verdict(VerdictKind.INCOMPLETE, None, "no output, drop or controller action seen")


__all__ = ["CONTROLLER_ACTIONS", "decide_logical", "stage_label"]
