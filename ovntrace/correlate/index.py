"""Indexes over cluster facts, built once per context: lookups never scan all logical flows.

Cookies are the first 32 bits of the UUID of the SB row behind an OpenFlow flow (Logical_Flow since
OVN 2.7; Port_Binding, Multicast_Group, MAC_Binding, Chassis ... since 20.03), printed without
leading zeros: ``cookie 0x739fcba`` is UUID ``0739fcba-...``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ovntrace.model import ParseResult, StepKind

if TYPE_CHECKING:  # the cluster model is imported only where there are facts to index (build_index)
    from ovntrace.model.cluster import (
        Chassis,
        ClusterContext,
        Datapath,
        Interface,
        LogicalFlow,
        NbRow,
        NodeFacts,
        PortBinding,
    )


def trace_needs(result: ParseResult) -> tuple[set[int], set[str]]:
    """The datapath keys (``metadata``) and cookie prefixes of a parse: all a live SB has to send."""
    keys: set[int] = set()
    cookies: set[str] = set()
    for t in result.traces:
        for s in t.tables():
            md = s.state.get("metadata")
            if md and "/" not in md and (md.isdigit() or md.startswith("0x")):
                keys.add(int(md, 0))
            if s.cookie:
                cookies.add(cookie_prefix(s.cookie))
        for s in t.walk():  # ovn-trace stages: the lflow uuid prefix
            if s.kind is StepKind.STAGE and s.uuid:
                cookies.add(s.uuid[:8].lower())
    return keys, cookies


def cookie_prefix(cookie: str | int) -> str:
    """``0x739fcba`` -> ``0739fcba`` (the UUID's first 8 hex digits)."""
    value = int(cookie, 16) if isinstance(cookie, str) else cookie
    return f"{value & 0xFFFFFFFF:08x}"


@runtime_checkable
class FlowsByPrefix(Protocol):
    """A ``ClusterContext.logical_flows`` that finds flows by UUID prefix itself, building only those
    (``ovntrace.sources.convert.LazyFlows``): the index then never walks every flow."""

    def by_prefix(self, prefix: str) -> list[LogicalFlow]: ...

    def prefixes(self) -> Collection[str]: ...


class _LazyCookieMap(Mapping[str, "list[LogicalFlow]"]):
    """``lflows_by_cookie`` over a :class:`FlowsByPrefix`: the same mapping, built when looked up."""

    __slots__ = ("_flows",)

    def __init__(self, flows: FlowsByPrefix) -> None:
        self._flows = flows

    def __getitem__(self, prefix: str) -> list[LogicalFlow]:
        found = self._flows.by_prefix(prefix)
        if not found:
            raise KeyError(prefix)
        return found

    def __contains__(self, prefix: object) -> bool:
        return prefix in self._flows.prefixes()

    def __iter__(self) -> Iterator[str]:
        return iter(self._flows.prefixes())

    def __len__(self) -> int:
        return len(self._flows.prefixes())


@dataclass
class ClusterIndex:
    """Lookups over one context's facts; ``ctx`` None: no facts at all (a pasted trace alone), every
    mapping empty."""

    ctx: ClusterContext | None
    dp_by_key: dict[int, list[Datapath]] = field(default_factory=dict)
    dp_by_uuid: dict[str, Datapath] = field(default_factory=dict)
    pb_by_dp_key: dict[tuple[str, int], PortBinding] = field(default_factory=dict)
    pb_by_name: dict[str, PortBinding] = field(default_factory=dict)
    pb_by_uuid: dict[str, PortBinding] = field(default_factory=dict)
    lflows_by_cookie: Mapping[str, list[LogicalFlow]] = field(default_factory=dict)
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    rows_by_prefix: dict[str, list[tuple[str, object]]] = field(default_factory=dict)  # physical cookies
    nb_by_prefix: dict[str, list[NbRow]] = field(default_factory=dict)
    chassis_by_ip: dict[str, Chassis] = field(default_factory=dict)
    chassis_by_uuid: dict[str, Chassis] = field(default_factory=dict)
    chassis_by_name: dict[str, Chassis] = field(default_factory=dict)
    nodes_by_name: dict[str, NodeFacts] = field(default_factory=dict)
    mac_owner: dict[str, str] = field(default_factory=dict)  # lowercase MAC -> "rtos-kube-node2 (router port)"

    @property
    def empty(self) -> bool:
        return not (self.dp_by_key or self.lflows_by_cookie or self.nodes_by_name or self.chassis_by_ip)

    def datapath(self, key: int) -> Datapath | None:
        found = self.dp_by_key.get(key)
        return found[0] if found and len(found) == 1 else None

    def port(self, dp: Datapath | None, key: int) -> PortBinding | None:
        if dp is None:
            return None
        return self.pb_by_dp_key.get((dp.uuid, key))

    def lflow_datapaths(self, lf: LogicalFlow) -> tuple[str, ...]:
        if lf.datapath:
            return (lf.datapath,)
        if lf.datapath_group:
            return self.groups.get(lf.datapath_group, ())
        return ()

    def nb_row(self, hint: str | None) -> NbRow | None:
        if not hint:
            return None
        rows = self.nb_by_prefix.get(hint[:8].lower())
        if not rows:
            return None
        exact = [r for r in rows if r.uuid.startswith(hint.lower())]
        return (exact or rows)[0] if len(exact or rows) == 1 else None

    def interface(self, node: str | None, ofport: int, bridge: str | None = None) -> Interface | None:
        """The interface with OpenFlow port ``ofport``; ``bridge`` given: on that bridge only (ofports
        are per bridge: breth0's port 1 is not br-int's)."""
        facts = self.nodes_by_name.get(node) if node else None
        candidates = [facts] if facts else list(self.nodes_by_name.values()) if len(self.nodes_by_name) == 1 else []
        for f in candidates:
            for iface in f.interfaces:
                if iface.ofport == ofport and (bridge is None or iface.bridge in (None, bridge)):
                    return iface
        return None


def build_index(ctx: ClusterContext) -> ClusterIndex:
    ix = ClusterIndex(ctx)
    by_key: dict[int, list[Datapath]] = defaultdict(list)
    for dp in ctx.datapaths:
        by_key[dp.key].append(dp)
        ix.dp_by_uuid[dp.uuid] = dp
    ix.dp_by_key = dict(by_key)
    for pb in ctx.port_bindings:
        ix.pb_by_dp_key[(pb.datapath, pb.tunnel_key)] = pb
        ix.pb_by_name[pb.logical_port] = pb
        ix.pb_by_uuid[pb.uuid] = pb
    if isinstance(ctx.logical_flows, FlowsByPrefix):
        ix.lflows_by_cookie = _LazyCookieMap(ctx.logical_flows)
    else:
        lf_index: dict[str, list[LogicalFlow]] = defaultdict(list)
        for lf in ctx.logical_flows:
            lf_index[lf.uuid[:8]].append(lf)
        ix.lflows_by_cookie = dict(lf_index)
    ix.groups = {g.uuid: g.datapaths for g in ctx.datapath_groups}
    rows: dict[str, list[tuple[str, object]]] = defaultdict(list)
    for pb in ctx.port_bindings:
        rows[pb.uuid[:8]].append(("Port_Binding", pb))
    for mg in ctx.multicast_groups:
        rows[mg.uuid[:8]].append(("Multicast_Group", mg))
    for mb in ctx.mac_bindings:
        rows[mb.uuid[:8]].append(("MAC_Binding", mb))
    for ch in ctx.chassis:
        rows[ch.uuid[:8]].append(("Chassis", ch))
        ix.chassis_by_uuid[ch.uuid] = ch
        ix.chassis_by_name[ch.name] = ch
        for enc in ch.encaps:
            ix.chassis_by_ip[enc.ip] = ch
    for dp in ctx.datapaths:
        rows[dp.uuid[:8]].append(("Datapath_Binding", dp))
    ix.rows_by_prefix = dict(rows)
    nb: dict[str, list[NbRow]] = defaultdict(list)
    for row in ctx.nb_rows:
        nb[row.uuid[:8]].append(row)
    ix.nb_by_prefix = dict(nb)
    ix.nodes_by_name = {n.name: n for n in ctx.nodes}
    ix.mac_owner = _mac_owners(ctx)
    for n in ctx.nodes:
        if n.system_id and n.system_id not in ix.chassis_by_name and n.encap_ip:
            from ovntrace.model.cluster import Chassis

            ch = Chassis(uuid="", name=n.system_id, hostname=n.hostname or n.name)
            ix.chassis_by_name[n.system_id] = ch
            ix.chassis_by_ip.setdefault(n.encap_ip, ch)
    return ix


def _mac_owners(ctx: ClusterContext) -> dict[str, str]:
    """Which logical port owns a MAC: router ports (``mac``), switch ports (``addresses``), bindings."""
    out: dict[str, str] = {}
    # router ports first: a router-type switch port repeats its peer's MAC
    rows = sorted(ctx.nb_rows, key=lambda r: r.table != "Logical_Router_Port")
    for row in rows:
        name = row.name
        if not name:
            continue
        if row.table == "Logical_Router_Port" and isinstance(row.columns.get("mac"), str):
            out.setdefault(row.columns["mac"].lower(), f"{name} (router port)")
        elif row.table == "Logical_Switch_Port":
            addrs = row.columns.get("addresses") or []
            kind = "router-type switch port" if row.columns.get("type") == "router" else "switch port"
            for a in addrs if isinstance(addrs, list) else [addrs]:
                mac = str(a).split()[0].lower() if str(a).strip() else ""
                if mac.count(":") == 5:
                    out.setdefault(mac, f"{name} ({kind})")
    for pb in ctx.port_bindings:
        for a in pb.mac:
            mac = a.split()[0].lower() if a.strip() else ""
            if mac.count(":") == 5:
                out.setdefault(mac, f"{pb.logical_port} (port binding)")
    return out
