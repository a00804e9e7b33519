"""Plain rows (see :mod:`ovntrace.sources.ovsdb`) -> the cluster model. Pure: every source ends here, so the
same data gives the same :class:`ClusterContext` whether it came from a file, a dump or a live server.

Tuples are sorted by UUID (rows by table then UUID) so that the order never depends on the source.
"""

from __future__ import annotations

from collections.abc import Iterator, KeysView, Mapping, Sequence
from typing import Any, overload

from ovntrace.model import secrets as secret_rule
from ovntrace.model.cluster import (
    Chassis,
    ClusterContext,
    Datapath,
    DatapathGroup,
    Encap,
    Interface,
    LoadedColumns,
    LogicalFlow,
    MacBinding,
    MulticastGroup,
    NbRow,
    NodeFacts,
    PortBinding,
)
from ovntrace.sources.ovsdb import ZERO_UUID, PlainRow, Tables, gc_paused
from ovntrace.sources.tables import NB, NB_READ, NB_TABLES, OVS, SB

_EMPTY: dict[str, Any] = {}


def _rows(tables: Tables, name: str) -> list[tuple[str, dict[str, Any]]]:
    return sorted((tables.get(name) or _EMPTY).items())


def _ref(value: Any) -> str | None:
    return value if isinstance(value, str) and value and value != ZERO_UUID else None


def _map(value: Any) -> dict[str, str]:
    return value if isinstance(value, dict) else {}


_LFLOW_DEFAULTS: dict[str, Any] = {
    "pipeline": "", "table_id": 0, "priority": 0, "match": "", "actions": "", "logical_datapath": None,
    "logical_dp_group": None, "external_ids": {}}


class LazyFlows(Sequence[LogicalFlow]):
    """``ClusterContext.logical_flows`` of a source, built on demand: a :class:`LogicalFlow` is made from its
    plain row (a ``dict``, or a file's :class:`~ovntrace.sources.ovsdb.LazyRows`, converted when read) the
    first time it is needed. A trace looks up a few dozen of a large cluster's ~50k flows by cookie
    (:meth:`by_prefix`, used by :func:`ovntrace.correlate.index.build_index`); iterating, indexing and
    comparing still see every flow, sorted by UUID, equal to the tuple the rows would give."""

    __slots__ = ("_by_prefix", "_flows", "_keys", "_prefixes", "_rows")

    def __init__(self, rows: Mapping[str, PlainRow]) -> None:
        self._rows = rows
        self._flows: dict[str, LogicalFlow] = {}
        self._keys: list[str] | None = None
        self._prefixes: dict[str, list[str]] | None = None
        self._by_prefix: dict[str, list[LogicalFlow]] = {}

    def _flow(self, uuid: str) -> LogicalFlow:
        lf = self._flows.get(uuid)
        if lf is None:
            r = self._rows[uuid]
            if not _LFLOW_DEFAULTS.keys() <= r.keys():
                r = {**_LFLOW_DEFAULTS, **r}
            lf = self._flows[uuid] = LogicalFlow(
                uuid, r["pipeline"], r["table_id"], r["priority"], r["match"], r["actions"], r["logical_datapath"],
                r["logical_dp_group"], r["external_ids"])
        return lf

    def _sorted(self) -> list[str]:
        if self._keys is None:
            self._keys = sorted(self._rows)
        return self._keys

    def _prefix_index(self) -> dict[str, list[str]]:
        if self._prefixes is None:
            index: dict[str, list[str]] = {}
            for u in self._rows:
                found = index.get(u[:8])
                if found is None:
                    index[u[:8]] = [u]
                else:
                    found.append(u)
            for found in index.values():
                if len(found) > 1:
                    found.sort()
            self._prefixes = index
        return self._prefixes

    def uuids(self) -> KeysView[str]:
        """Every flow's UUID (no flow is built)."""
        return self._rows.keys()

    def prefixes(self) -> KeysView[str]:
        """The first 8 hex digits of every flow's UUID (the cookies of its OpenFlow flows)."""
        return self._prefix_index().keys()

    def by_prefix(self, prefix: str) -> list[LogicalFlow]:
        """The flows whose UUID starts with ``prefix`` (8 lowercase hex digits), sorted by UUID."""
        found = self._by_prefix.get(prefix)
        if found is None:
            found = self._by_prefix[prefix] = [self._flow(u) for u in self._prefix_index().get(prefix, ())]
        return found

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, i: int) -> LogicalFlow: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[LogicalFlow, ...]: ...

    def __getitem__(self, i: int | slice) -> LogicalFlow | tuple[LogicalFlow, ...]:
        keys = self._sorted()
        if isinstance(i, slice):
            return tuple(self._flow(u) for u in keys[i])
        return self._flow(keys[i])

    def __iter__(self) -> Iterator[LogicalFlow]:
        flow = self._flow
        for u in self._sorted():
            yield flow(u)

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes)):
            return len(self) == len(other) and tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __add__(self, other: Sequence[LogicalFlow]) -> tuple[LogicalFlow, ...]:
        return tuple(self) + tuple(other)

    def __radd__(self, other: Sequence[LogicalFlow]) -> tuple[LogicalFlow, ...]:
        return tuple(other) + tuple(self)

    def __repr__(self) -> str:
        return f"LazyFlows({len(self)} logical flows)"


def ovn_version_of(tables: Tables) -> str | None:
    """OVN's release from ``SB_Global``/``NB_Global`` ``options:northd_internal_version``
    (``23.03.1-20.27.0-70.6``: release, SB schema version, internal version)."""
    for tname in ("SB_Global", "NB_Global"):
        for _, row in _rows(tables, tname):
            v = _map(row.get("options")).get("northd_internal_version")
            if v:
                return v.split("-", 1)[0]
    return None


def sb_context(tables: Tables, source: str = "") -> ClusterContext:
    with gc_paused():
        return _sb_context(tables, source)


def _sb_context(tables: Tables, source: str) -> ClusterContext:
    datapaths = []
    for uuid, r in _rows(tables, "Datapath_Binding"):
        ext = _map(r.get("external_ids"))
        kind = "switch" if "logical-switch" in ext else "router" if "logical-router" in ext else None
        datapaths.append(Datapath(
            uuid=uuid, key=int(r.get("tunnel_key") or 0), name=ext.get("name") or None, type=kind,
            nb_uuid=ext.get("logical-switch") or ext.get("logical-router"), external_ids=ext))
    ports = [
        PortBinding(
            uuid=uuid, logical_port=r.get("logical_port") or "", datapath=_ref(r.get("datapath")) or "",
            tunnel_key=int(r.get("tunnel_key") or 0), type=r.get("type") or "", chassis=_ref(r.get("chassis")),
            mac=tuple(r.get("mac") or ()), options=_map(r.get("options")), external_ids=_map(r.get("external_ids")))
        for uuid, r in _rows(tables, "Port_Binding")
    ]
    flows = LazyFlows(tables.get("Logical_Flow") or _EMPTY)
    groups = [DatapathGroup(uuid, tuple(r.get("datapaths") or ())) for uuid, r in _rows(tables, "Logical_DP_Group")]
    encaps = {uuid: r for uuid, r in _rows(tables, "Encap")}
    chassis = []
    for uuid, r in _rows(tables, "Chassis"):
        ch_encaps = sorted(
            (Encap(e.get("type") or "", e.get("ip") or "", _map(e.get("options")))
             for e in (encaps.get(u) for u in r.get("encaps") or ()) if e is not None),
            key=lambda e: (e.type, e.ip))
        chassis.append(Chassis(uuid=uuid, name=r.get("name") or "", hostname=r.get("hostname") or None,
                               encaps=tuple(ch_encaps), external_ids=_map(r.get("external_ids")),
                               other_config=_map(r.get("other_config"))))
    mcast = [
        MulticastGroup(uuid, _ref(r.get("datapath")) or "", r.get("name") or "", int(r.get("tunnel_key") or 0),
                       tuple(r.get("ports") or ()))
        for uuid, r in _rows(tables, "Multicast_Group")
    ]
    macs = [
        MacBinding(uuid, r.get("logical_port") or "", r.get("ip") or "", r.get("mac") or "", _ref(r.get("datapath")))
        for uuid, r in _rows(tables, "MAC_Binding")
    ]
    return ClusterContext(
        datapaths=tuple(datapaths), port_bindings=tuple(ports), logical_flows=flows,
        datapath_groups=tuple(groups), chassis=tuple(chassis), multicast_groups=tuple(mcast),
        mac_bindings=tuple(macs), ovn_version=ovn_version_of(tables), sources=(source,) if source else ())


def nb_context(tables: Tables, source: str = "") -> ClusterContext:
    """The Northbound rows, each holding only the columns read (:data:`ovntrace.sources.tables.NB_READ`, in a
    :class:`LoadedColumns`): a file and a live server are read for those alone; the other columns of a dump
    or a ``list`` output are dropped here, so that every source gives the same rows."""
    rows = []
    with gc_paused():  # ~11k rows at 50k flows: no collection while they are made
        for tname in sorted(NB_TABLES):
            cols = NB_READ[tname] or frozenset()
            row = LoadedColumns.of(cols)
            rows += [NbRow(uuid, tname, row(r if r.keys() <= cols else {c: v for c, v in r.items() if c in cols}))
                     for uuid, r in _rows(tables, tname)]
    return ClusterContext(nb_rows=tuple(rows), ovn_version=ovn_version_of(tables),
                          sources=(source,) if source else ())


def _masked(ext: Mapping[str, str]) -> dict[str, str]:
    return {k: secret_rule.redact_value(k, v) if isinstance(v, str) else v for k, v in ext.items()}


def node_facts(tables: Tables, name: str | None = None) -> NodeFacts:
    """A node's ``conf.db`` (Open_vSwitch database) as :class:`NodeFacts`. ``name`` defaults to the
    ``hostname`` external id, else the system-id. Values of secret-looking external ids are ``***``."""
    ovs_rows = _rows(tables, "Open_vSwitch")
    ovs = ovs_rows[0][1] if ovs_rows else {}
    ext = _map(ovs.get("external_ids"))
    integration = ext.get("ovn-bridge") or "br-int"
    ifaces_by_uuid = dict(_rows(tables, "Interface"))
    ports = dict(_rows(tables, "Port"))
    out: list[Interface] = []
    seen: set[str] = set()
    ct_zones: dict[str, int] = {}
    for _, br in _rows(tables, "Bridge"):
        bname = br.get("name") or ""
        if bname == integration:
            for k, v in _map(br.get("external_ids")).items():
                if k.startswith("ct-zone-"):
                    try:
                        ct_zones[k[len("ct-zone-"):]] = int(v)
                    except ValueError:
                        continue
        for pu in br.get("ports") or ():
            port = ports.get(pu)
            for iu in (port or _EMPTY).get("interfaces") or ():
                iface = ifaces_by_uuid.get(iu)
                if iface is not None:
                    seen.add(iu)
                    out.append(_interface(iface, bname))
    out += [_interface(i, None) for u, i in sorted(ifaces_by_uuid.items()) if u not in seen]
    out.sort(key=lambda i: (i.bridge or "", i.ofport if i.ofport is not None else 1 << 30, i.name))
    return NodeFacts(
        name=name or ext.get("hostname") or ext.get("system-id") or "node",
        system_id=ext.get("system-id") or None, hostname=ext.get("hostname") or None,
        encap_ip=ext.get("ovn-encap-ip") or None, encap_type=ext.get("ovn-encap-type") or None,
        ovn_remote=ext.get("ovn-remote") or None, interfaces=tuple(out), ct_zones=dict(sorted(ct_zones.items())),
        ovs_version=ovs.get("ovs_version") or None, external_ids=_masked(ext))


def _interface(r: Mapping[str, Any], bridge: str | None) -> Interface:
    options = _map(r.get("options"))
    ext = _map(r.get("external_ids"))
    ofport = r.get("ofport")
    return Interface(
        name=r.get("name") or "", bridge=bridge, ofport=ofport if isinstance(ofport, int) else None,
        type=r.get("type") or "", iface_id=ext.get("iface-id") or None, remote_ip=options.get("remote_ip") or None,
        options=options, external_ids=_masked(ext), mac=r.get("mac_in_use") or r.get("mac") or None)


def context_of(db_name: str, tables: Tables, source: str = "", node: str | None = None) -> ClusterContext:
    """Dispatch on the database's schema name."""
    if db_name == SB:
        return sb_context(tables, source)
    if db_name == NB:
        return nb_context(tables, source)
    if db_name == OVS:
        return ClusterContext(nodes=(node_facts(tables, node),), sources=(source,) if source else ())
    raise ValueError(f"database {db_name!r} is none of {SB}, {NB}, {OVS}")
