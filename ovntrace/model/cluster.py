"""Cluster facts: what OVN's databases and each node's OVS say, as frozen data.

Every source (OVSDB database files from a sosreport, ``ovsdb-client dump``/``ovn-*ctl --format=json``
outputs, a live OVSDB connection, pasted ``show`` outputs, SSH collection) fills this one model; the
correlation layer reads only this. Fields a source cannot know stay empty/None: a pasted
``ovn-sbctl show`` knows chassis and port bindings but no logical flows.

UUIDs are lowercase strings. ``datapath`` fields hold the Datapath_Binding UUID.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ovntrace.model._empty import empty_map


@dataclass(frozen=True, slots=True)
class Datapath:
    """SB ``Datapath_Binding``; ``type`` from its external_ids (``logical-switch``/``logical-router``)."""

    uuid: str
    key: int  # tunnel_key: the value of OpenFlow ``metadata`` and of Geneve ``tun_id``
    name: str | None = None  # external_ids:name (the NB switch/router name)
    type: str | None = None  # "switch" | "router" | None
    nb_uuid: str | None = None  # external_ids:logical-switch / logical-router
    external_ids: Mapping[str, str] = field(default_factory=empty_map)


@dataclass(frozen=True, slots=True)
class PortBinding:
    uuid: str
    logical_port: str
    datapath: str
    tunnel_key: int  # the value of reg14 (inport) / reg15 (outport) on this datapath
    type: str = ""  # "", "patch", "router", "localnet", "chassisredirect", "l3gateway", "vtep", ...
    chassis: str | None = None  # Chassis UUID it is bound to
    mac: tuple[str, ...] = ()  # "MAC IP..." strings as in the column
    options: Mapping[str, str] = field(default_factory=empty_map)
    external_ids: Mapping[str, str] = field(default_factory=empty_map)


@dataclass(frozen=True, slots=True)
class LogicalFlow:
    uuid: str
    pipeline: str  # "ingress" | "egress"
    table_id: int  # the logical stage index within the pipeline
    priority: int
    match: str
    actions: str
    datapath: str | None = None  # logical_datapath
    datapath_group: str | None = None  # logical_dp_group (OVN >= 20.12)
    external_ids: Mapping[str, str] = field(default_factory=empty_map)  # stage-name, stage-hint, source

    @property
    def stage_name(self) -> str | None:
        return self.external_ids.get("stage-name")

    @property
    def stage_hint(self) -> str | None:
        """The NB row behind the flow (first 8 hex digits of its UUID), when northd recorded one."""
        return self.external_ids.get("stage-hint")


@dataclass(frozen=True, slots=True)
class DatapathGroup:
    uuid: str
    datapaths: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Encap:
    type: str
    ip: str
    options: Mapping[str, str] = field(default_factory=empty_map)


@dataclass(frozen=True, slots=True)
class Chassis:
    uuid: str
    name: str  # the system-id
    hostname: str | None = None
    encaps: tuple[Encap, ...] = ()
    external_ids: Mapping[str, str] = field(default_factory=empty_map)


@dataclass(frozen=True, slots=True)
class MulticastGroup:
    uuid: str
    datapath: str
    name: str
    tunnel_key: int
    ports: tuple[str, ...] = ()  # Port_Binding UUIDs


@dataclass(frozen=True, slots=True)
class MacBinding:
    uuid: str
    logical_port: str
    ip: str
    mac: str
    datapath: str | None = None


@dataclass(frozen=True, slots=True)
class NbRow:
    """A Northbound row a logical flow can point at (``stage-hint``): ACL, Logical_Switch_Port,
    Logical_Router_Port, NAT, Load_Balancer, Logical_Router_Static_Route, Logical_Router_Policy,
    Logical_Switch, Logical_Router ... ``columns`` keeps the row's columns as plain Python values
    (sets as lists, maps as dicts, references as UUID strings)."""

    uuid: str
    table: str
    columns: Mapping[str, Any] = field(default_factory=empty_map)

    @property
    def name(self) -> str | None:
        value = self.columns.get("name")
        return value if isinstance(value, str) and value else None


@dataclass(frozen=True, slots=True)
class Interface:
    """One OVS interface on a node: ofport <-> name <-> iface-id (the logical port) <-> tunnel remote."""

    name: str
    bridge: str | None = None
    ofport: int | None = None
    type: str = ""  # "", "internal", "geneve", "vxlan", "stt", "patch", "dpdk", ...
    iface_id: str | None = None  # external_ids:iface-id
    remote_ip: str | None = None  # options:remote_ip for tunnels
    options: Mapping[str, str] = field(default_factory=empty_map)
    external_ids: Mapping[str, str] = field(default_factory=empty_map)
    mac: str | None = None


@dataclass(frozen=True, slots=True)
class NodeFacts:
    """What one hypervisor's OVS says (``conf.db``, ``ovs-vsctl show``, ``ovs-ofctl show br-int`` ...)."""

    name: str
    system_id: str | None = None  # external_ids:system-id (the chassis name)
    hostname: str | None = None
    encap_ip: str | None = None
    encap_type: str | None = None
    ovn_remote: str | None = None
    interfaces: tuple[Interface, ...] = ()
    ct_zones: Mapping[str, int] = field(default_factory=empty_map)  # br-int external_ids ct-zone-<port>
    ovs_version: str | None = None
    external_ids: Mapping[str, str] = field(default_factory=empty_map)


@dataclass(frozen=True, slots=True)
class ClusterContext:
    """Everything known about a cluster. Empty by default: a pasted trace alone is explained too."""

    datapaths: tuple[Datapath, ...] = ()
    port_bindings: tuple[PortBinding, ...] = ()
    # a tuple, or a source's lazy sequence (sorted by UUID, equal to the tuple of its flows) that builds a
    # flow when it is read and may offer ``by_prefix(prefix)`` (see ovntrace.correlate.index)
    logical_flows: Sequence[LogicalFlow] = ()
    datapath_groups: tuple[DatapathGroup, ...] = ()
    chassis: tuple[Chassis, ...] = ()
    multicast_groups: tuple[MulticastGroup, ...] = ()
    mac_bindings: tuple[MacBinding, ...] = ()
    nb_rows: tuple[NbRow, ...] = ()
    nodes: tuple[NodeFacts, ...] = ()
    ovn_version: str | None = None  # from the SB/NB schema or the sources, when known
    sources: tuple[str, ...] = ()  # human descriptions of where the facts came from
    notes: tuple[str, ...] = ()  # what loading tolerated or skipped (a cut db record, a skipped file ...)

    def merge(self, other: ClusterContext) -> ClusterContext:
        """Combine two partial contexts (e.g. an NB file, an SB file and a node's conf.db)."""
        return ClusterContext(
            datapaths=self.datapaths + other.datapaths,
            port_bindings=self.port_bindings + other.port_bindings,
            logical_flows=_concat(self.logical_flows, other.logical_flows),
            datapath_groups=self.datapath_groups + other.datapath_groups,
            chassis=self.chassis + other.chassis,
            multicast_groups=self.multicast_groups + other.multicast_groups,
            mac_bindings=self.mac_bindings + other.mac_bindings,
            nb_rows=self.nb_rows + other.nb_rows,
            nodes=self.nodes + other.nodes,
            ovn_version=self.ovn_version or other.ovn_version,
            sources=self.sources + other.sources,
            notes=self.notes + other.notes,
        )


def _concat(a: Sequence[LogicalFlow], b: Sequence[LogicalFlow]) -> Sequence[LogicalFlow]:
    """``a + b`` keeping a lone lazy sequence as it is (merging an NB context with an SB one)."""
    if not b:
        return a
    if not a:
        return b
    return tuple(a) + tuple(b)
