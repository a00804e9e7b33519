"""The lab traces the truth is taken on: cross-node source and destination, ACL drop, LB, gateway.

Each case builds its ``ofproto/trace`` flow in a running lab (ofports and tunnel keys are read
from that lab, so it works on any ``ovntrace lab``), like ``python -m ovntrace.lab.fixtures`` does
for ``fixtures/lab/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ovntrace.lab.fixtures import EXTERNAL, VIP, tunnel_in_flow
from ovntrace.lab.lab import Lab

XNODE_PAYLOAD = "icmp,nw_src=192.168.3.3,nw_dst=192.168.2.3,nw_ttl=63,icmp_type=8,icmp_code=0"
SSH_PAYLOAD = "tcp,nw_src=192.168.3.3,nw_dst=192.168.2.3,nw_ttl=63,tp_src=40000,tp_dst=22,tcp_flags=syn"


@dataclass(frozen=True)
class Case:
    name: str
    node: str
    flow: Callable[[Lab], str]
    shows: str


def _xnode_src(lab: Lab) -> str:
    return lab.microflow("kube-node2", "client-1", "192.168.2.3")


def _xnode_dst(lab: Lab) -> str:
    return tunnel_in_flow(lab, lab.trace("kube-node2", _xnode_src(lab)), "kube-node1", XNODE_PAYLOAD)


def _acl_drop_dst(lab: Lab) -> str:
    src = lab.trace("kube-node2", lab.microflow("kube-node2", "client-1", "192.168.2.3", proto="tcp", dport=22))
    return tunnel_in_flow(lab, src, "kube-node1", SSH_PAYLOAD)


def _lb_cross(lab: Lab) -> str:
    return lab.microflow("kube-node2", "client-1", VIP, proto="tcp", dport=22)


def _gateway(lab: Lab) -> str:
    src = lab.trace("kube-node2", lab.microflow("kube-node2", "client-1", EXTERNAL))
    return tunnel_in_flow(lab, src, "kube-master", f"icmp,nw_src=192.168.3.3,nw_dst={EXTERNAL},nw_ttl=63,icmp_type=8")


CASES: tuple[Case, ...] = (
    Case("xnode-icmp-src", "kube-node2", _xnode_src, "client-1 -> sshd-2 icmp on kube-node2: switch, router, tunnel"),
    Case("xnode-icmp-dst", "kube-node1", _xnode_dst, "the same arriving on kube-node1 from the tunnel"),
    Case("acl-drop-dst", "kube-node1", _acl_drop_dst, "client-1 -> sshd-2 tcp/22 on kube-node1: to-lport ACL drop+log"),
    Case("lb-vip-cross-node", "kube-node2", _lb_cross, f"client-1 -> VIP {VIP}:22: DNAT, then the tunnel"),
    Case("external-gw", "kube-master", _gateway, f"client-1 -> {EXTERNAL} on the gateway: GR SNAT, localnet"),
)
