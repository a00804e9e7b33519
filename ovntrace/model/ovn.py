"""OVN meaning attached to a parsed trace: what the correlation layer produces, renderers show.

Kept apart from the trace model on purpose: a trace parses the same whatever the cluster; the
annotation depends on the OVN release and on what the databases say.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ovntrace.model._empty import empty_map


@dataclass(frozen=True, slots=True)
class DatapathRef:
    """A logical datapath as a step refers to it: tunnel key, and name/UUID when known."""

    key: int
    name: str | None = None
    uuid: str | None = None
    type: str | None = None  # "switch" | "router"

    def label(self) -> str:
        kind = self.type or "datapath"
        return f"{kind} {self.name}" if self.name else f"{kind} {self.key}"


@dataclass(frozen=True, slots=True)
class LflowRef:
    """A logical flow as a step refers to it."""

    uuid: str
    pipeline: str
    table_id: int
    priority: int
    match: str
    actions: str
    stage: str | None = None


@dataclass(frozen=True, slots=True)
class StepOvn:
    """What OVN means by one table step (a JSON ``"ovn"`` object)."""

    table_role: str | None = None  # "ingress" | "egress" | a physical table name (LOCAL_OUTPUT ...)
    datapath: DatapathRef | None = None
    pipeline: str | None = None
    stage: str | None = None  # set only when every candidate release (and datapath type) agrees
    # the names the table may have when they do not agree (several candidate releases, or an unknown
    # datapath type): stage names, or OFTABLE names where a release has a physical table there
    stage_candidates: tuple[str, ...] = ()
    # for each candidate name, the releases it comes from (spans like "22.12.1..22.12.2")
    stage_releases: Mapping[str, tuple[str, ...]] = field(default_factory=empty_map)
    lflow: LflowRef | None = None
    lflow_ambiguous: tuple[str, ...] = ()  # lflow UUIDs a cookie could not be narrowed down from
    nb: Mapping[str, Any] | None = None  # the NB row behind the flow (stage-hint), e.g. an ACL
    physical: Mapping[str, Any] | None = None  # non-lflow cookie: Port_Binding, Multicast_Group ...
    inport: str | None = None
    outport: str | None = None
    notes: tuple[str, ...] = ()  # decoded facts in words (flags, zones, tunnel metadata ...)


@dataclass(frozen=True, slots=True)
class ActionOvn:
    """OVN meaning of one action line (controller opcodes, outputs to ports, tunnels)."""

    words: str
    effect: str | None = None  # controller effect: drop | continue | reply | resume | punt
    details: Mapping[str, Any] = field(default_factory=empty_map)


@dataclass(frozen=True, slots=True)
class Hop:
    """One stretch of the logical path: a datapath's pipeline, or a tunnel/port crossing."""

    kind: str  # "pipeline" | "tunnel" | "port"
    line: int
    datapath: DatapathRef | None = None
    pipeline: str | None = None
    inport: str | None = None
    outport: str | None = None
    text: str = ""


@dataclass(frozen=True, slots=True)
class OvnVerdict:
    """The trace's verdict refined with OVN meaning: ``cause`` in words."""

    kind: str
    cause: str
    line: int | None = None
    acl: Mapping[str, Any] | None = None
    chassis: Mapping[str, Any] | None = None
    outport: str | None = None
    # a short code of what decided it: acl | port_security | ttl_expired | no_route | unbound_outport |
    # outport_chassis_gone | no_tunnel | no_output_flow | tunnel_routing_failed | no_outport | unknown_in_port |
    # normal_learned_in_port |
    # logical_flow | no_flow | unknown | output | tunnel | flood | lb | arp_request | controller
    reason: str | None = None
    # every output on the integration bridge, in trace order (docs/json-contract.md, "verdict")
    outputs: tuple[Mapping[str, Any], ...] = ()
    arrival: Mapping[str, Any] | None = None  # the packet came in over a tunnel: from whom, with which key
    drop: Mapping[str, Any] | None = None  # why it dropped: table, stage, the object named
    lb: Mapping[str, Any] | None = None  # load balancer VIP, name, backends, group
    arp: Mapping[str, Any] | None = None  # next-hop resolution punted to ovn-controller


@dataclass(frozen=True, slots=True)
class TraceOvn:
    """All OVN annotations of one trace."""

    release: str | None  # the release when pinned, read from a database, or the only one that fits
    release_guess: str | None  # where the release came from, in words that are true
    layout_confidence: float | None  # 1.0 only when pinned and the trace agrees; see docs/json-contract.md
    steps: Mapping[int, StepOvn] = field(default_factory=dict)  # by table step line (treat as read-only)
    actions: Mapping[int, ActionOvn] = field(default_factory=dict)  # by action step line
    path: tuple[Hop, ...] = ()
    verdict: OvnVerdict | None = None
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # trace-level facts in words (whose MAC the packet is sent to ...)
    release_source: str | None = None  # "option" (--ovn-version) | "database" | "trace" (inferred)
    release_candidates: tuple[str, ...] = ()  # every known release consistent with the trace
    bridges: tuple[str, ...] = ()  # the bridges given OVN meaning (others of the trace: OVS meaning only)
