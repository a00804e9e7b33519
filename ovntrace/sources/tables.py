"""The tables (and, for the big Southbound ones, the columns) every source reads: nothing else is decoded
or, live, even monitored."""

from __future__ import annotations

from ovntrace.correlate.columns import nb_columns

SB = "OVN_Southbound"
NB = "OVN_Northbound"
OVS = "Open_vSwitch"

# Southbound: only the columns the model keeps (Logical_Flow is the big one: ~50k rows in a large cluster).
SB_TABLES: dict[str, frozenset[str] | None] = {
    "SB_Global": frozenset({"options", "external_ids", "nb_cfg"}),
    "Datapath_Binding": frozenset({"tunnel_key", "external_ids"}),
    "Port_Binding": frozenset(
        {"logical_port", "datapath", "tunnel_key", "type", "chassis", "mac", "options", "external_ids"}),
    "Logical_Flow": frozenset(
        {"logical_datapath", "logical_dp_group", "pipeline", "table_id", "priority", "match", "actions",
         "external_ids"}),
    "Logical_DP_Group": frozenset({"datapaths"}),
    "Chassis": frozenset({"name", "hostname", "encaps", "external_ids", "other_config"}),
    "Encap": frozenset({"type", "ip", "options", "chassis_name"}),
    "MAC_Binding": frozenset({"logical_port", "ip", "mac", "datapath"}),
    "Multicast_Group": frozenset({"datapath", "name", "tunnel_key", "ports"}),
    "Load_Balancer": None,
    "FDB": None,
}

# Northbound: every column of the rows a logical flow's stage-hint can point at (kept whole in NbRow).
NB_TABLES: dict[str, frozenset[str] | None] = {
    t: None
    for t in (
        "NB_Global", "ACL", "Address_Set", "Port_Group", "Logical_Switch", "Logical_Switch_Port", "Logical_Router",
        "Logical_Router_Port", "NAT", "Load_Balancer", "Load_Balancer_Group", "Logical_Router_Static_Route",
        "Logical_Router_Policy", "QoS", "Gateway_Chassis", "HA_Chassis_Group", "HA_Chassis", "Forwarding_Group",
        "Static_MAC_Binding",
    )
}

# What is loaded of the Northbound to build a context: the columns correlation declares it reads
# (ovntrace/correlate/columns.py) and those read here (NB_Global options: the release, convert.ovn_version_of).
# ``NB_TABLES`` (every column) is what a snapshot keeps (collect.py): a newer ovntrace reading more columns
# finds them in it.
_NB_OWN: dict[str, frozenset[str]] = {"NB_Global": frozenset({"options"})}
NB_READ: dict[str, frozenset[str] | None] = {t: nb_columns(t) | _NB_OWN.get(t, frozenset()) for t in NB_TABLES}

# A node's conf.db.
OVS_TABLES: dict[str, frozenset[str] | None] = {
    "Open_vSwitch": None,
    "Bridge": frozenset({"name", "ports", "external_ids", "datapath_type", "fail_mode", "other_config"}),
    "Port": frozenset({"name", "interfaces", "external_ids", "tag"}),
    "Interface": frozenset(
        {"name", "type", "ofport", "options", "external_ids", "mac", "mac_in_use", "status"}),
}

# Tables read from db files whose rows stay raw JSON until looked up (ovsdb.LazyRows; convert.LazyFlows):
# a trace looks up a few dozen of its ~50k logical flows.
LAZY_TABLES: frozenset[str] = frozenset({"Logical_Flow"})

# every column ovntrace keeps of a database (a snapshot, an SSH collection: ``rpc.select_plan``)
WANTED: dict[str, dict[str, frozenset[str] | None]] = {SB: SB_TABLES, NB: NB_TABLES, OVS: OVS_TABLES}
# what is loaded to build a context (files, dumps, live): the same, the Northbound's trimmed to ``NB_READ``
READ: dict[str, dict[str, frozenset[str] | None]] = {SB: SB_TABLES, NB: NB_READ, OVS: OVS_TABLES}
