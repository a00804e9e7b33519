"""The provisioning commands that concern a selection: ``ovntrace provision plan`` filtered by facts.

A selected step says little by itself, so we collect *facts* from it (IP and MAC addresses, names:
logical ports, datapaths, ACLs, tunnel endpoints) and keep the runbook steps whose objects they
name: a pod's IP or MAC -> the pod's ``lsp-add``/``add-port``; a tunnel endpoint -> that node's
``ovs-vsctl set Open_vSwitch . external_ids:ovn-encap-ip=…``; a pod subnet or a switch named after
a node -> the node's switch and router port; an ACL's name -> its ``acl-add``; a VIP -> its
load balancer. When a step names nothing, the trace's packet (its first ``Flow:``) and verdict do.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ovntrace.lab import runbook
from ovntrace.lab.inventory import Inventory
from ovntrace.model import StepKind
from ovntrace.tui.outline import Node, NodeKind, Outline

_IP = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.])")
_MAC = re.compile(r"(?<![0-9a-fA-F:])([0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5})(?![0-9a-fA-F:])")
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_ACL_NAME = re.compile(r'ACL "([^"]+)"|ACL (\S+) \(')

# the packet's own addresses (first Flow: line), for the trace-level fallback
_PACKET_FIELDS = ("nw_src", "nw_dst", "dl_src", "dl_dst", "tun_src", "tun_dst", "arp_spa", "arp_tpa")


@dataclass(slots=True)
class Facts:
    ips: set[str] = field(default_factory=set)
    macs: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)

    def add_text(self, text: str) -> None:
        self.ips.update(_IP.findall(text))
        self.macs.update(m.lower() for m in _MAC.findall(text))
        for m in _ACL_NAME.finditer(text):
            self.names.add(m.group(1) or m.group(2))
        self.names.update(_NAME.findall(text))

    def __bool__(self) -> bool:
        return bool(self.ips or self.macs or self.names)


@dataclass(frozen=True, slots=True)
class Hit:
    """One runbook step that concerns the selection, and why."""

    node: str
    phase: str
    comment: str
    command: str
    why: str


def node_facts(node: Node, outline: Outline) -> Facts:
    """Facts named by the node itself: its text, match, OVN meaning, the actions it contains."""
    facts = Facts()
    facts.add_text(node.plain())
    step = node.step
    steps = list(node.run) if node.run else ([step] if step is not None else [])
    tovn = outline.ovn[node.trace_index]
    for s in steps:
        for sub in s.walk():
            if sub.kind is StepKind.TABLE and sub is not s:
                break
            facts.add_text(sub.text)
            if tovn is not None:
                st = tovn.steps.get(sub.line)
                if st is not None:
                    for v in (st.inport, st.outport, st.datapath.name if st.datapath else None):
                        if v:
                            facts.names.add(v)
                    if st.nb and st.nb.get("name"):
                        facts.names.add(str(st.nb["name"]))
                ao = tovn.actions.get(sub.line)
                if ao is not None:
                    facts.add_text(ao.words)
    if node.kind == NodeKind.TRACE or node.kind == NodeKind.PASS:
        facts = trace_facts(node, outline)
    return facts


def trace_facts(node: Node, outline: Outline) -> Facts:
    """The trace's packet (first ``Flow:``), its verdict (tunnel endpoint, ACL) and its logical path."""
    facts = Facts()
    trace = outline.result.traces[node.trace_index]
    if trace.passes:
        fields = trace.passes[0].fields
        for f in _PACKET_FIELDS:
            if fields.get(f):
                facts.add_text(fields[f])
    facts.add_text(trace.verdict.reason)
    for v in trace.verdict.tunnel.values():
        if isinstance(v, str):
            facts.add_text(v)
    tovn = outline.ovn[node.trace_index]
    if tovn is not None:
        if tovn.verdict is not None:
            facts.add_text(tovn.verdict.cause)
        for h in tovn.path:
            if h.datapath is not None and h.datapath.name:
                facts.names.add(h.datapath.name)
    return facts


def _in_subnet(ips: Iterable[str], subnet: str) -> str | None:
    net = ipaddress.IPv4Network(subnet)
    for ip in sorted(ips):
        try:
            if ipaddress.IPv4Address(ip) in net:
                return ip
        except ValueError:
            continue
    return None


def _why(inv: Inventory, phase: runbook.Phase, facts: Facts) -> str | None:
    """Why a phase concerns the facts, or None."""
    if phase.role == "pod":
        pod = next(p for p in inv.pods if p.node == phase.node and phase.title == f"pod {p.ref}")
        if pod.ip in facts.ips:
            return f"pod {pod.ref} has IP {pod.ip}"
        if pod.mac in facts.macs:
            return f"pod {pod.ref} has MAC {pod.mac}"
        if pod.lsp in facts.names:
            return f"logical port {pod.lsp}"
        return None
    node = inv.node(phase.node)
    if phase.role == "compute":
        if node.encap_ip in facts.ips:
            return f"{node.name} is the tunnel endpoint {node.encap_ip}"
        return None
    if phase.role == "node-init":
        if node.name in facts.names:
            return f"switch {node.name}"
        hit = _in_subnet(facts.ips, node.subnet)
        return f"{hit} is in {node.name}'s subnet {node.subnet}" if hit else None
    if phase.role == "master-init":
        if inv.router in facts.names or "join" in facts.names:
            return f"cluster router {inv.router}"
        return None
    if phase.role == "gateway-init":
        gw = node.gateway
        if f"GR_{node.name}" in facts.names:
            return f"gateway router GR_{node.name}"
        if gw is not None and gw.physical_ip and gw.physical_ip.split("/")[0] in facts.ips:
            return f"{node.name}'s external address"
        return None
    return None


def _policy_hits(inv: Inventory, phase: runbook.Phase, facts: Facts) -> list[Hit]:
    hits: list[Hit] = []
    for acl in inv.acls:
        ips_in_match = [ip for ip in sorted(facts.ips) if ip in acl.match]
        why = f"ACL {acl.name}" if acl.name in facts.names else (
            f"ACL {acl.name} matches {ips_in_match[0]}" if ips_in_match else None)
        if why:
            hits += [Hit(s.node, phase.title, s.comment, s.line(), why) for s in phase.steps
                     if s.comment.startswith(f"ACL {acl.name}:")]
    for lb in inv.load_balancers:
        addrs = [lb.vip.rsplit(":", 1)[0], *(b.rsplit(":", 1)[0] for b in lb.backends)]
        hit = next((a for a in addrs if a in facts.ips), None)
        if hit:
            hits += [Hit(s.node, phase.title, s.comment, s.line(), f"load balancer {lb.name} ({hit})")
                     for s in phase.steps if lb.name in s.comment]
    return hits


def commands_for(inv: Inventory, facts: Facts) -> list[Hit]:
    """Runbook steps (in plan order) that concern ``facts``."""
    hits: list[Hit] = []
    for phase in runbook.plan(inv):
        if phase.role == "policy":
            hits += _policy_hits(inv, phase, facts)
            continue
        if phase.role == "central":
            continue
        why = _why(inv, phase, facts)
        if why is None:
            continue
        steps = phase.steps
        if phase.role == "compute":  # the tunnel endpoint: the external_ids line, not the daemon starts
            steps = tuple(s for s in steps if "external_ids:ovn-encap-ip" in s.command) or steps
        hits += [Hit(s.node, phase.title, s.comment, s.line(), why) for s in steps]
    return hits


def for_node(inv: Inventory, node: Node, outline: Outline) -> tuple[list[Hit], bool]:
    """The commands for a selection, and whether they come from the whole trace (fallback)."""
    hits = commands_for(inv, node_facts(node, outline))
    if hits or node.kind in (NodeKind.TRACE, NodeKind.PASS):
        return hits, False
    return commands_for(inv, trace_facts(node, outline)), True


def as_script(inv: Inventory, hits: list[Hit]) -> str:
    """The hits as a shell snippet (what `y` copies): per node, each command under its comment."""
    out: list[str] = []
    last = None
    for h in hits:
        if (h.node, h.phase) != last:
            if out:
                out.append("")
            out.append(f"# ===== {h.node}: {h.phase} =====")
            last = (h.node, h.phase)
        out += [f"# {h.comment} ({h.why})", h.command]
    return inv.redact("\n".join(out) + "\n") if out else ""
