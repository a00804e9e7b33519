"""Cluster facts: what OVN's databases and each node's OVS say, as frozen data.

Every source (OVSDB database files from a sosreport, ``ovsdb-client dump``/``ovn-*ctl --format=json``
outputs, a live OVSDB connection, pasted ``show`` outputs, SSH collection) fills this one model; the
correlation layer reads only this. Fields a source cannot know stay empty/None: a pasted
``ovn-sbctl show`` knows chassis and port bindings but no logical flows.

UUIDs are lowercase strings. ``datapath`` fields hold the Datapath_Binding UUID.

Interconnect (ovn-kubernetes' one zone per node): every zone has its own NB and SB, so its own datapath
keys, port keys and logical flow UUIDs. A context of such a cluster keeps each zone's facts in a
:class:`Zone` (``ClusterContext.zones``) and the nodes' OVS facts at the top; ``for_node(NODE)`` is the
context a trace taken on NODE is read with (its zone's NB/SB, every node's OVS facts). A context
without zones is the central topology (one NB/SB every node reads): ``for_node`` returns it as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ovntrace.model._empty import empty_map

#: the transit switch's datapath tunnel key in ovn-kubernetes interconnect (``requested-tnl-key`` of the
#: ``transit_switch`` Logical_Switch: 16711683 = 0xff0003, go-controller/pkg/types/const.go)
TRANSIT_SWITCH_KEY = 16711683


@dataclass(frozen=True, slots=True)
class Datapath:
    """SB ``Datapath_Binding``; ``type`` from its external_ids (``logical-switch``/``logical-router``)."""

    uuid: str
    key: int  # tunnel_key: the value of OpenFlow ``metadata`` and of Geneve ``tun_id``
    name: str | None = None  # external_ids:name (the NB switch/router name)
    type: str | None = None  # "switch" | "router" | None
    nb_uuid: str | None = None  # external_ids:logical-switch / logical-router
    external_ids: Mapping[str, str] = field(default_factory=empty_map)

    @property
    def transit(self) -> bool:
        """An interconnect transit switch: northd's ``external_ids:interconn-ts`` (copied from the NB
        switch's ``other_config:interconn-ts``), or ovn-kubernetes' transit switch key."""
        return "interconn-ts" in self.external_ids or (self.key == TRANSIT_SWITCH_KEY and self.type != "router")


@dataclass(frozen=True, slots=True)
class PortBinding:
    """A Southbound ``Port_Binding`` row."""

    uuid: str
    logical_port: str
    datapath: str
    tunnel_key: int  # the value of reg14 (inport) / reg15 (outport) on this datapath
    type: str = ""  # "", "patch", "router", "localnet", "chassisredirect", "l3gateway", "vtep", ...
    chassis: str | None = None  # Chassis UUID it is bound to
    mac: tuple[str, ...] = ()  # "MAC IP..." strings as in the column
    options: Mapping[str, str] = field(default_factory=empty_map)
    external_ids: Mapping[str, str] = field(default_factory=empty_map)

    @property
    def remote(self) -> bool:
        """A ``type=remote`` port: a port of another zone (interconnect), reached over a tunnel."""
        return self.type == "remote"


@dataclass(frozen=True, slots=True)
class LogicalFlow:
    """A Southbound ``Logical_Flow`` row."""

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
    """A Southbound ``Logical_DP_Group`` row: the datapaths a logical flow applies to."""

    uuid: str
    datapaths: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Encap:
    """A Southbound ``Encap`` row of a chassis."""

    type: str
    ip: str
    options: Mapping[str, str] = field(default_factory=empty_map)


@dataclass(frozen=True, slots=True)
class Chassis:
    """A Southbound ``Chassis`` row."""

    uuid: str
    name: str  # the system-id
    hostname: str | None = None
    encaps: tuple[Encap, ...] = ()
    external_ids: Mapping[str, str] = field(default_factory=empty_map)
    other_config: Mapping[str, str] = field(default_factory=empty_map)

    @property
    def remote(self) -> bool:
        """A chassis of another zone (``other_config:is-remote=true``; ``external_ids`` before OVN 22.09)."""
        return "true" in (str(self.other_config.get("is-remote", "")).lower(),
                          str(self.external_ids.get("is-remote", "")).lower())


@dataclass(frozen=True, slots=True)
class MulticastGroup:
    """A Southbound ``Multicast_Group`` row."""

    uuid: str
    datapath: str
    name: str
    tunnel_key: int
    ports: tuple[str, ...] = ()  # Port_Binding UUIDs


@dataclass(frozen=True, slots=True)
class MacBinding:
    """A Southbound ``MAC_Binding`` row."""

    uuid: str
    logical_port: str
    ip: str
    mac: str
    datapath: str | None = None


class ColumnNotLoaded(Exception):
    """A column of a database row was read that its source did not load (see :class:`LoadedColumns`)."""


class LoadedColumns(dict[str, Any]):
    """The columns of a database row as a source loaded them: only those in ``loaded`` (for a Northbound
    row, the columns correlation declares it reads: ``ovntrace/correlate/columns.py``). Reading any other
    column (``get``, ``[]``, ``in``) raises :class:`ColumnNotLoaded`: a column left out must never read as
    ``None``, as if the database said so. A loaded column the database lacks (an older schema) reads as
    absent, as in a plain dict.

    ``LoadedColumns.of(loaded)(values)``: a row holding ``values``, of the class of rows with that set (one
    class per set, made once: a row is built by dict's own constructor and stores nothing more)."""

    __slots__ = ()
    loaded: ClassVar[frozenset[str]] = frozenset()
    _classes: ClassVar[dict[frozenset[str], type[LoadedColumns]]] = {}

    @staticmethod
    def of(loaded: frozenset[str]) -> type[LoadedColumns]:
        """The class of rows holding the columns ``loaded``."""
        cls = LoadedColumns._classes.get(loaded)
        if cls is None:
            cls = type("LoadedColumns", (LoadedColumns,), {"__slots__": (), "loaded": loaded})
            LoadedColumns._classes[loaded] = cls
        return cls

    def __reduce__(self) -> tuple[Any, ...]:
        return _loaded_columns, (dict(self), self.loaded)

    def _not_loaded(self, key: object) -> ColumnNotLoaded:
        return ColumnNotLoaded(f"column {key!r} of this row was not loaded (only {', '.join(sorted(self.loaded))}): "
                               "a reader of Northbound rows declares its columns in ovntrace/correlate/columns.py")

    def __getitem__(self, key: str) -> Any:
        if key not in self.loaded:
            raise self._not_loaded(key)
        return dict.__getitem__(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        if key not in self.loaded:
            raise self._not_loaded(key)
        return dict.get(self, key, default)

    def __contains__(self, key: object) -> bool:
        if key not in self.loaded:
            raise self._not_loaded(key)
        return dict.__contains__(self, key)


def _loaded_columns(values: dict[str, Any], loaded: frozenset[str]) -> LoadedColumns:
    return LoadedColumns.of(loaded)(values)  # unpickling (the classes per set are made here, not importable)


@dataclass(frozen=True, slots=True)
class NbRow:
    """A Northbound row a logical flow can point at (``stage-hint``): ACL, Logical_Switch_Port,
    Logical_Router_Port, NAT, Load_Balancer, Logical_Router_Static_Route, Logical_Router_Policy,
    Logical_Switch, Logical_Router ... ``columns`` keeps the row's columns as plain Python values
    (sets as lists, maps as dicts, references as UUID strings); from a database, a :class:`LoadedColumns`
    holding only the columns correlation reads."""

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


class Zone:
    """One interconnect zone: its own NB and SB (``context``: their facts, no node facts), and the nodes
    whose ovn-controller reads that SB (ovn-kubernetes: one node, the zone named after it).

    ``load`` instead of ``context``: the facts are built the first time ``context`` is read (a trace is read
    with its node's zone only: the others of a snapshot with a database per node are never converted), then
    kept. Immutable; equal when name, nodes, error and facts are."""

    __slots__ = ("_context", "_load", "error", "name", "nodes")

    name: str
    nodes: tuple[str, ...]
    error: str | None  # why its NB/SB could not be read (a node down), if not
    _context: ClusterContext | None
    _load: Callable[[], ClusterContext] | None

    def __init__(self, name: str, nodes: tuple[str, ...], context: ClusterContext | None = None,
                 error: str | None = None, *, load: Callable[[], ClusterContext] | None = None) -> None:
        if (context is None) == (load is None):
            raise TypeError("a Zone needs either its context or a load function")
        for k, v in (("name", name), ("nodes", nodes), ("error", error), ("_context", context), ("_load", load)):
            object.__setattr__(self, k, v)

    @property
    def context(self) -> ClusterContext:
        ctx: ClusterContext | None = self._context
        if ctx is None:
            assert self._load is not None
            ctx = self._load()
            object.__setattr__(self, "_context", ctx)
            object.__setattr__(self, "_load", None)
        return ctx

    @property
    def loaded(self) -> bool:
        """Whether the facts are built (always, for a zone made with its context)."""
        return self._context is not None

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"Zone is immutable (cannot set {key})")

    def __delattr__(self, key: str) -> None:
        raise AttributeError(f"Zone is immutable (cannot delete {key})")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Zone):
            return NotImplemented
        return (self.name, self.nodes, self.error) == (other.name, other.nodes, other.error) and (
            self.context == other.context)

    def __hash__(self) -> int:
        return hash((self.name, self.nodes, self.error))

    def __repr__(self) -> str:
        facts = repr(self._context) if self._context is not None else "<not loaded>"
        return f"Zone(name={self.name!r}, nodes={self.nodes!r}, context={facts}, error={self.error!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return Zone, (self.name, self.nodes, self.context, self.error)


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
    zones: tuple[Zone, ...] = ()  # interconnect: each zone's own NB/SB (the top level then holds none)

    def zone(self, name: str | None) -> Zone | None:
        """The zone named ``name``."""
        return next((z for z in self.zones if z.name == name), None) if name else None

    def zone_of(self, node: str | None) -> Zone | None:
        """The zone whose nodes include ``node`` (by name, else by its hostname or system-id)."""
        if not node or not self.zones:
            return None
        names = {node}
        for n in self.nodes:
            if node in (n.name, n.hostname, n.system_id):
                names |= {n.name}
        for z in self.zones:
            if names & set(z.nodes):
                return z
        for z in self.zones:
            if z.name in names:
                return z
        return None

    def for_node(self, node: str | None) -> ClusterContext:
        """The facts a trace taken on ``node`` is read with: without zones, this context; with zones, the
        node's zone's NB/SB (nothing of another zone: a key means something only in its own zone) and every
        node's OVS facts. A node in no zone gets the OVS facts only."""
        if not self.zones:
            return self
        return self.for_zone(self.zone_of(node))

    def for_zone(self, z: Zone | None) -> ClusterContext:
        """Zone ``z``'s NB/SB facts with every node's OVS facts (``None``: the OVS facts only)."""
        zc = z.context if z is not None else ClusterContext()
        return ClusterContext(
            datapaths=zc.datapaths, port_bindings=zc.port_bindings, logical_flows=zc.logical_flows,
            datapath_groups=zc.datapath_groups, chassis=zc.chassis, multicast_groups=zc.multicast_groups,
            mac_bindings=zc.mac_bindings, nb_rows=zc.nb_rows, nodes=self.nodes,
            ovn_version=zc.ovn_version or self.ovn_version, sources=zc.sources + self.sources, notes=self.notes)

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
            zones=self.zones + other.zones,
        )


def _concat(a: Sequence[LogicalFlow], b: Sequence[LogicalFlow]) -> Sequence[LogicalFlow]:
    """``a + b`` keeping a lone lazy sequence as it is (merging an NB context with an SB one)."""
    if not b:
        return a
    if not a:
        return b
    return tuple(a) + tuple(b)
