"""What doctor reads on each node: read-only commands, their output or their error, per node.

Every command is an argv (one shell word per argument, quoted by the transport). The outputs of
``ovs-vsctl``/``ovn-nbctl``/``ovn-sbctl --format=json list`` are decoded by :func:`rows`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ovntrace.lab.inventory import Inventory
from ovntrace.sources.ssh import Pool, SshError

TIMEOUT = 20.0
PARALLEL = 8


def _ovs_list(table: str, columns: str) -> tuple[str, ...]:
    return ("ovs-vsctl", "--timeout=5", "--format=json", f"--columns={columns}", "list", table)


#: name -> argv, run on every node
NODE_COMMANDS: dict[str, tuple[str, ...]] = {
    "ovs-version": ("ovs-appctl", "-t", "ovs-vswitchd", "version"),
    "ovs-ids": _ovs_list("Open_vSwitch", "external_ids"),
    "bridges": _ovs_list("Bridge", "name,fail_mode,datapath_type"),
    "interfaces": _ovs_list("Interface", "name,type,options,external_ids"),
    "controller-version": ("ovn-appctl", "-t", "ovn-controller", "version"),
    "controller-connection": ("ovn-appctl", "-t", "ovn-controller", "connection-status"),
    # can this node reach NB/SB where the inventory says they are? ({nb_remote}/{sb_remote} filled in)
    "nb-reach": ("ovsdb-client", "--timeout=5", "list-dbs", "{nb_remote}"),
    "sb-reach": ("ovsdb-client", "--timeout=5", "list-dbs", "{sb_remote}"),
}

#: name -> argv, run on the central node (NB/SB through its default, local, connection)
CENTRAL_COMMANDS: dict[str, tuple[str, ...]] = {
    "northd-status": ("ovn-appctl", "-t", "ovn-northd", "status"),
    "nb-connection": ("ovn-nbctl", "get-connection"),
    "sb-connection": ("ovn-sbctl", "get-connection"),
    "nb-switches": ("ovn-nbctl", "--format=json", "--columns=name,ports,other_config", "list", "Logical_Switch"),
    "nb-switch-ports": ("ovn-nbctl", "--format=json", "--columns=_uuid,name,type,addresses,options",
                        "list", "Logical_Switch_Port"),
    "nb-routers": ("ovn-nbctl", "--format=json", "--columns=name,ports,options,static_routes", "list",
                   "Logical_Router"),
    "nb-router-ports": ("ovn-nbctl", "--format=json", "--columns=_uuid,name,networks,mac",
                        "list", "Logical_Router_Port"),
    "sb-chassis": ("ovn-sbctl", "--format=json", "--columns=_uuid,name,hostname,encaps,other_config", "list",
                   "Chassis"),
    "sb-encaps": ("ovn-sbctl", "--format=json", "--columns=_uuid,chassis_name,type,ip", "list", "Encap"),
}

#: name -> argv, run on every node of an interconnect cluster (each its own zone), with CENTRAL_COMMANDS
ZONE_COMMANDS: dict[str, tuple[str, ...]] = {
    "nb-routes": ("ovn-nbctl", "--format=json", "--columns=_uuid,ip_prefix,nexthop,policy",
                  "list", "Logical_Router_Static_Route"),
    "sb-datapaths": ("ovn-sbctl", "--format=json", "--columns=tunnel_key,external_ids", "list", "Datapath_Binding"),
    "sb-port-bindings": ("ovn-sbctl", "--format=json", "--columns=logical_port,type,tunnel_key,chassis",
                         "list", "Port_Binding"),
}


@dataclass(frozen=True)
class Reading:
    """One command run on one node: its output, or the error (one line) when it failed."""

    node: str
    name: str
    command: str
    output: str = ""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def where(self) -> str:
        return f"{self.node}: `{self.command}`"


@dataclass
class Facts:
    """Readings per node (``readings[node][name]``); nodes that could not be reached in ``unreachable``."""

    readings: dict[str, dict[str, Reading]] = field(default_factory=dict)
    unreachable: dict[str, str] = field(default_factory=dict)

    def get(self, node: str, name: str) -> Reading | None:
        return self.readings.get(node, {}).get(name)


def remotes(inv: Inventory, node: str | None = None) -> dict[str, str]:
    """Where ``node`` reaches its NB/SB: the central ones, or its own zone's (interconnect)."""
    addr, nb, sb = inv.zone_db(node) if node is not None else (
        inv.cluster.db_address, inv.cluster.nb_port, inv.cluster.sb_port)
    return {"nb_remote": f"tcp:{addr}:{nb}", "sb_remote": f"tcp:{addr}:{sb}"}


def _cell(v: Any) -> Any:
    """An OVSDB JSON cell as Python: maps to dict, sets to list, uuids to their string."""
    if isinstance(v, list) and len(v) == 2 and isinstance(v[0], str):
        kind, val = v
        if kind == "map":
            return {str(_cell(k)): _cell(x) for k, x in val}
        if kind == "set":
            return [_cell(x) for x in val]
        if kind in ("uuid", "named-uuid"):
            return val
    return v


def rows(text: str) -> list[dict[str, Any]]:
    """Rows of ``--format=json list`` output (``{"headings": [...], "data": [[...], ...]}``)."""
    doc = json.loads(text)
    heads = doc.get("headings", [])
    return [{h: _cell(c) for h, c in zip(heads, r, strict=False)} for r in doc.get("data", [])]


def as_list(v: Any) -> list[Any]:
    """A set column: a one-element set comes back as the element itself."""
    if isinstance(v, list):
        return v
    return [] if v in (None, "") else [v]


def collect(inv: Inventory, pool: Pool, nodes: Sequence[str],
            on_step: Callable[[int, int, str], None] | None = None) -> Facts:
    """Run :data:`NODE_COMMANDS` on ``nodes`` and :data:`CENTRAL_COMMANDS` on the central node, nodes in
    parallel (one SSH connection each). ``on_step(done, total, what)`` after each command; it may raise to
    stop (the commands not started yet are then not run)."""
    import shlex
    import threading

    central = inv.cluster.central
    facts = Facts()

    jobs: list[tuple[str, str, list[str]]] = []
    # interconnect: every node is a zone of its own (its NB/SB are read there, by the node's own tools)
    for node in (list(nodes) if inv.interconnect else list(dict.fromkeys([*nodes, central]))):
        vals = remotes(inv, node)
        cmds: dict[str, Sequence[str]] = {k: [a.format(**vals) for a in v] for k, v in NODE_COMMANDS.items()}
        if node == central or inv.interconnect:
            cmds.update(CENTRAL_COMMANDS)
        if inv.interconnect:
            cmds.update(ZONE_COMMANDS)
        jobs += [(node, name, list(argv)) for name, argv in cmds.items()]

    lock = threading.Lock()
    done = [0]
    stopped: list[BaseException] = []  # on_step raised: the jobs not started yet end at once with it

    def one(job: tuple[str, str, list[str]]) -> tuple[str, str, Reading | str]:
        if stopped:
            raise stopped[0]
        try:
            return _one(job)
        finally:
            if on_step is not None:
                with lock:
                    done[0] += 1
                    n = done[0]
                try:
                    on_step(n, len(jobs), f"{job[0]}: {job[1]}")
                except BaseException as e:
                    stopped.append(e)
                    raise

    def _one(job: tuple[str, str, list[str]]) -> tuple[str, str, Reading | str]:
        node, name, argv = job
        line = shlex.join(argv)
        try:
            return node, name, Reading(node, name, line, pool.run(node, argv, TIMEOUT))
        except SshError as e:
            if e.command is None:  # the node itself cannot be reached
                return node, name, inv.redact(str(e))
            msg = str(e)
            if "`: " in msg:  # "<node>: `<command>`: <message>": keep the message
                msg = msg.split("`: ", 1)[1]
            return node, name, Reading(node, name, line, "", inv.redact(msg))

    with ThreadPoolExecutor(max_workers=PARALLEL) as ex:
        for node, name, got in ex.map(one, jobs):
            if isinstance(got, str):
                facts.unreachable.setdefault(node, got)
            else:
                facts.readings.setdefault(node, {})[name] = got
    for node in facts.unreachable:
        facts.readings.pop(node, None)
    return facts
