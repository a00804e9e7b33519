"""The inventory: what a cluster is made of (TOML), shared by the runbook, the lab and SSH.

An inventory has a ``[cluster]`` table, ``[[nodes]]`` (each with optional ``[nodes.external_ids]``,
``[nodes.gateway]`` and ``[nodes.ssh]``), ``[[pods]]``, ``[[acls]]`` and ``[[load_balancers]]``.
See ``default-inventory.toml`` (bundled) for the seed's cluster.
"""

from __future__ import annotations

import difflib
import hashlib
import ipaddress
import json
import os
import re
import shlex
import tempfile
import tomllib
from dataclasses import dataclass, field, replace
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from ovntrace.lab.errors import LabError
from ovntrace.model import secrets as secret_rule
from ovntrace.model.sshspec import split_hop

ROLES = ("central", "compute", "gateway")
TOPOLOGIES = ("central", "interconnect")
#: the cluster router of every zone of an interconnect cluster, and its transit switch (ovn-kubernetes)
IC_ROUTER = "ovn_cluster_router"
TRANSIT_SWITCH = "transit_switch"
#: ovn-kubernetes' tunnel key of the default network's transit switch (0xff0003)
TRANSIT_SWITCH_KEY = 16711683
REDACTED = secret_rule.MARK
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


@dataclass(frozen=True)
class SshTarget:
    """How to reach a node over SSH (``[nodes.ssh]``); filled by ``lab up`` for the lab's sshd."""

    host: str
    port: int = 22
    user: str = "root"
    key: str = ""
    known_hosts: str = ""
    # optional: a command prefix for containerised OVS (``sudo``, ``docker exec ovs``, ``kubectl exec -n
    # ovn-kubernetes POD -c ovn-controller --``; key ``prefix`` or ``command_prefix``), and a ProxyJump
    # (``user@host:port``, comma-separated hops)
    prefix: str = ""
    jump: str = ""


@dataclass(frozen=True)
class Gateway:
    """``gateway-init`` parameters (``[nodes.gateway]``): the node's external bridge and addresses."""

    bridge: str = "breth0"
    interface: str = "eth0"
    physical_ip: str = ""
    default_gw: str = ""


@dataclass(frozen=True)
class Node:
    name: str
    role: str
    ip: str
    subnet: str
    encap_type: str = "geneve"
    encap_ip: str = ""
    datapath_type: str = "system"
    system_id: str = ""
    external_ids: dict[str, str] = field(default_factory=dict)
    gateway: Gateway | None = None
    ssh: SshTarget | None = None
    #: interconnect: ovn-kubernetes' node id (the tunnel key of ``tstor-<node>`` on the transit switch,
    #: the last byte of its transit and join addresses); 0 = the node's position in the inventory + 2
    node_id: int = 0
    #: interconnect: where this node's own zone NB/SB listen ("" = the node's ip; 0 = the cluster's ports)
    db_address: str = ""
    nb_port: int = 0
    sb_port: int = 0

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.subnet)

    @property
    def router_ip(self) -> str:
        """The node switch's gateway address (``rtos-<node>``): the first host of the subnet."""
        return str(self.network.network_address + 1)

    @property
    def mgmt_ip(self) -> str:
        """The ``k8s-<node>`` management port address: the second host of the subnet."""
        return str(self.network.network_address + 2)


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    node: str
    mac: str
    ip: str

    @property
    def lsp(self) -> str:
        """The logical switch port name, as ovn-kubernetes names it."""
        return f"{self.namespace}_{self.name}"

    @property
    def iface(self) -> str:
        """The OVS interface on br-int: 15 hex digits, like the seed's container-id prefix."""
        return hashlib.sha256(self.lsp.encode()).hexdigest()[:15]

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Acl:
    name: str
    switch: str
    match: str
    direction: str = "to-lport"
    priority: int = 1000
    action: str = "drop"
    log: bool = False
    severity: str = "info"


@dataclass(frozen=True)
class LoadBalancer:
    name: str
    vip: str
    backends: tuple[str, ...]
    protocol: str = "tcp"


@dataclass(frozen=True)
class Cluster:
    name: str = "ovn"
    cluster_subnet: str = "192.168.0.0/16"
    join_subnet: str = "100.64.1.0/24"
    encap_type: str = "geneve"
    central: str = ""
    db_address: str = ""
    nb_port: int = 6641
    sb_port: int = 6642
    listen_address: str = ""
    k8s_api_server: str = ""
    physical_network: str = "physnet"
    #: "central" (one NB/SB for every node, the seed) or "interconnect" (ovn-kubernetes' interconnect
    #: mode: every node is its own zone with its own NB, SB and ovn-northd, joined by a transit switch)
    topology: str = "central"
    #: interconnect: the transit switch's subnet (ovn-kubernetes' default 100.88.0.0/16)
    transit_subnet: str = "100.88.0.0/16"


@dataclass(frozen=True)
class Inventory:
    cluster: Cluster
    nodes: tuple[Node, ...]
    pods: tuple[Pod, ...] = ()
    acls: tuple[Acl, ...] = ()
    load_balancers: tuple[LoadBalancer, ...] = ()
    source: str = ""

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise LabError(f"no node {name!r} in the inventory (nodes: {', '.join(self.node_names)})")

    @property
    def node_names(self) -> list[str]:
        return [n.name for n in self.nodes]

    @property
    def central_node(self) -> Node:
        return self.node(self.cluster.central)

    @property
    def router(self) -> str:
        """The cluster router: named after the central node (master-init did so in the seed);
        ``ovn_cluster_router`` in every zone of an interconnect cluster (ovn-kubernetes' name)."""
        return IC_ROUTER if self.interconnect else self.cluster.central

    @property
    def interconnect(self) -> bool:
        """True for an interconnect cluster (one zone per node, joined by a transit switch)."""
        return self.cluster.topology == "interconnect"

    def node_id(self, name: str) -> int:
        """ovn-kubernetes' node id of ``name``: its ``node_id``, else its position + 2 (1 is the cluster
        router's join address)."""
        n = self.node(name)
        return n.node_id or (self.node_names.index(name) + 2)

    def transit_ip(self, name: str) -> str:
        """The address of ``rtots-<name>`` on the transit switch (transit subnet + node id)."""
        net = ipaddress.IPv4Network(self.cluster.transit_subnet)
        return str(net.network_address + self.node_id(name))

    def chassis_name(self, name: str) -> str:
        """The chassis name (OVS system-id) of node ``name``: its ``system_id``; in an interconnect
        cluster, where every zone names the other nodes' chassis, the node name when none is given."""
        n = self.node(name)
        return n.system_id or (name if self.interconnect else "")

    def zone_db(self, name: str) -> tuple[str, int, int]:
        """(address, NB port, SB port) of the NB/SB that node ``name`` reads: its own zone's in an
        interconnect cluster, the central ones otherwise."""
        c = self.cluster
        if not self.interconnect:
            return c.db_address, c.nb_port, c.sb_port
        n = self.node(name)
        return n.db_address or n.ip, n.nb_port or c.nb_port, n.sb_port or c.sb_port

    def pod(self, ref: str) -> Pod:
        for p in self.pods:
            if ref in (p.ref, p.lsp, p.name):
                return p
        raise LabError(f"no pod {ref!r} in the inventory (pods: {', '.join(p.ref for p in self.pods)})")

    def pods_on(self, node: str) -> list[Pod]:
        return [p for p in self.pods if p.node == node]

    def secrets(self) -> list[str]:
        """Every secret value of the inventory (to redact from any output), longest first: the values of
        secret-named external_ids (:func:`ovntrace.model.secrets.secret_name`), and the secret-shaped parts
        (URL passwords, Bearer tokens, JWTs, PEM blocks, ``--token=…``) of every other value."""
        out: set[str] = set()
        for n in self.nodes:
            for k, v in n.external_ids.items():
                if not v:
                    continue
                if secret_rule.secret_name(k) or secret_rule.is_kubeconfig(v):
                    out.add(v)
                else:
                    out.update(secret_rule.find_secrets(v))
            if n.ssh is not None:
                out.update(secret_rule.find_secrets(n.ssh.prefix))
                out.update(secret_rule.find_secrets(n.ssh.jump))
        out.update(secret_rule.find_secrets(self.cluster.k8s_api_server))
        return sorted(out, key=len, reverse=True)

    @cached_property
    def _redactor(self) -> secret_rule.Redactor:
        return secret_rule.Redactor(self.secrets(), REDACTED)

    def redact(self, text: str) -> str:
        """``text`` with every secret of the inventory (in any of its encodings: raw, JSON/OVSDB-escaped,
        shell-quoted) and every secret-shaped part replaced by ``***``."""
        return self._redactor(text)

    def redacted(self) -> Inventory:
        """This inventory with its secret values replaced by ``***`` *before* anything quotes them: commands
        built from it (``provision plan``, the lines ``apply`` shows and logs) cannot leak a secret whatever
        escaping they use."""
        def node(n: Node) -> Node:
            ids = {k: secret_rule.redact_value(k, v, REDACTED) for k, v in n.external_ids.items()}
            ssh = n.ssh
            if ssh is not None:
                ssh = replace(ssh, prefix=secret_rule.redact_patterns(ssh.prefix, REDACTED),
                              jump=secret_rule.redact_patterns(ssh.jump, REDACTED))
            return replace(n, external_ids=ids, ssh=ssh)

        c = replace(self.cluster, k8s_api_server=secret_rule.redact_patterns(self.cluster.k8s_api_server, REDACTED))
        return replace(self, cluster=c, nodes=tuple(node(n) for n in self.nodes))


# ---------------------------------------------------------------------------------------------
# loading and validation
#
# Every key of every table is known: an unknown one (``[nodes.shh]`` for ``[nodes.ssh]``) is an error naming
# it and its line, never ignored (an ignored ``ssh`` table made a node run its steps on this machine).
# tomllib gives no line numbers: :class:`_Lines` finds a key's line by scanning the text for its table
# header or its ``key =`` line.


class InventoryError(LabError):
    """A bad inventory (unknown key, wrong type, bad value): one line naming the file, line and key; exit 2."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=2)


_REQUIRED: Any = object()
_BARE = r"[A-Za-z0-9_-]+"
_KEY_PART = re.compile(r'\s*(' + _BARE + r'|"(?:[^"\\]|\\.)*"|\'[^\'\n]*\')\s*')
_HEADER = re.compile(r"^\s*(\[\[?)([^\[\]]+?)\]\]?\s*(?:#.*)?$")
_HOST = re.compile(r"^[A-Za-z0-9_.-]{1,253}$")
_USER = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.@-]{0,63}$")
_IFACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$")
_EXT_KEY = re.compile(r"^[A-Za-z0-9_./-]{1,255}$")
_SYSTEM_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_DP_TYPE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
ENCAP_TYPES = ("geneve", "vxlan", "stt")  # ovn-controller's ovn-encap-type values (OVN 23.03, encaps.c)
ACL_ACTIONS = ("allow", "allow-related", "allow-stateless", "drop", "reject", "pass")  # ovn-nb(5), 23.03
ACL_SEVERITIES = ("alert", "warning", "notice", "info", "debug")
LB_PROTOCOLS = ("tcp", "udp", "sctp")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_NO_NL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

TOP_KEYS = ("cluster", "nodes", "pods", "acls", "load_balancers")
CLUSTER_KEYS = ("name", "cluster_subnet", "join_subnet", "encap_type", "central", "db_address", "nb_port",
                "sb_port", "listen_address", "k8s_api_server", "physical_network", "topology", "transit_subnet")
NODE_KEYS = ("name", "role", "ip", "subnet", "encap_type", "encap_ip", "datapath_type", "system_id",
             "external_ids", "gateway", "ssh", "node_id", "db_address", "nb_port", "sb_port")
GATEWAY_KEYS = ("bridge", "interface", "physical_ip", "default_gw")
SSH_KEYS = ("host", "port", "user", "key", "known_hosts", "prefix", "command_prefix", "jump")
POD_KEYS = ("namespace", "name", "node", "mac", "ip")
ACL_KEYS = ("name", "switch", "match", "direction", "priority", "action", "log", "severity")
LB_KEYS = ("name", "vip", "backends", "protocol")


def _unquote(part: str) -> str:
    if part.startswith('"'):
        try:
            return str(json.loads(part))
        except ValueError:
            return part[1:-1]
    if part.startswith("'"):
        return part[1:-1]
    return part


def _dotted(text: str) -> list[str] | None:
    """The parts of a dotted TOML key (``a."b.c".d``), or None if ``text`` is not one."""
    parts: list[str] = []
    i = 0
    while True:
        m = _KEY_PART.match(text, i)
        if m is None:
            return None
        parts.append(_unquote(m.group(1)))
        i = m.end()
        if i == len(text):
            return parts
        if text[i] != ".":
            return None
        i += 1


class _Lines:
    """Where each table and key of a TOML text is (1-based line numbers), by location: ``cluster``,
    ``cluster.sb_port``, ``nodes[1]``, ``nodes[1].shh``, ``nodes[1].external_ids.k8s-api-token``."""

    def __init__(self, text: str) -> None:
        self.at: dict[str, int] = {}
        arrays: dict[str, int] = {}  # location of an array of tables -> its number of elements so far
        table = ""
        multiline: str | None = None
        for no, line in enumerate(text.split("\n"), 1):
            if multiline is not None:  # inside a multi-line string: look for its end only
                if line.count(multiline) % 2 == 1:
                    multiline = None
                continue
            h = _HEADER.match(line)
            if h is not None:
                parts = _dotted(h.group(2))
                if parts is None:
                    continue
                loc = ""
                for k, part in enumerate(parts):
                    loc = f"{loc}.{part}" if loc else part
                    last = k == len(parts) - 1
                    if last and h.group(1) == "[[":
                        arrays[loc] = arrays.get(loc, 0) + 1
                        loc = f"{loc}[{arrays[loc] - 1}]"
                    elif loc in arrays:
                        loc = f"{loc}[{arrays[loc] - 1}]"
                    self.at.setdefault(loc, no)
                table = loc
                continue
            key, eq, value = line.partition("=")
            parts = _dotted(key) if eq else None
            if parts is not None:
                loc = table
                for part in parts:
                    loc = f"{loc}.{part}" if loc else part
                    self.at.setdefault(loc, no)
                for q in ('"""', "'''"):
                    if value.count(q) % 2 == 1:
                        multiline = q
                        break

    def line(self, loc: str) -> int | None:
        """The line of ``loc``, else of its nearest enclosing table or key that has one."""
        while loc:
            if loc in self.at:
                return self.at[loc]
            cut = max(loc.rfind("."), loc.rfind("["))
            loc = loc[:cut] if cut > 0 else ""
        return None


def _kind(typ: type) -> str:
    return {str: "a string", int: "an integer", bool: "true or false", list: "a list",
            dict: "a table"}.get(typ, typ.__name__)


def _what(val: Any) -> str:
    if isinstance(val, bool):
        return "true" if val else "false"
    if isinstance(val, (int, float)):
        return repr(val)
    if isinstance(val, str):
        return repr(val) if len(val) <= 60 else repr(val[:57]) + "…"
    if isinstance(val, dict):
        return "a table"
    return "a list" if isinstance(val, list) else type(val).__name__


class _Parser:
    def __init__(self, source: str, text: str | None) -> None:
        self.source = source or "<memory>"
        self.lines = _Lines(text) if text is not None else None

    def fail(self, loc: str, message: str) -> NoReturn:
        line = self.lines.line(loc) if self.lines is not None and loc else None
        where = f"{self.source}, line {line}" if line else self.source
        raise InventoryError(f"inventory {where}: {message}")

    def table(self, val: Any, loc: str, what: str, keys: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(val, dict):
            self.fail(loc, f"{what} must be a table, not {_what(val)}")
        for k in val:
            if k not in keys:
                near = difflib.get_close_matches(k, keys, n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                self.fail(f"{loc}.{k}" if loc else k,
                          f"unknown key {k!r} in {what}{hint} (known: {', '.join(keys)})")
        return val

    def get(self, tbl: dict[str, Any], key: str, typ: type, loc: str, what: str, default: Any = _REQUIRED) -> Any:
        if key not in tbl:
            if default is _REQUIRED:
                self.fail(loc, f"{what} has no {key!r}")
            return default
        val = tbl[key]
        if (typ is int and isinstance(val, bool)) or not isinstance(val, typ):
            self.fail(f"{loc}.{key}", f"{what}: {key} must be {_kind(typ)}, not {_what(val)}")
        if isinstance(val, str) and _CONTROL.search(val):
            self.fail(f"{loc}.{key}", f"{what}: {key} holds a control character ({_what(val)})")
        return val

    def check(self, ok: bool, loc: str, message: str) -> None:
        if not ok:
            self.fail(loc, message)

    # -- value checks: each returns the value -------------------------------------------------------

    def name(self, tbl: dict[str, Any], key: str, loc: str, what: str, default: Any = _REQUIRED) -> str:
        v = str(self.get(tbl, key, str, loc, what, default))
        self.check(bool(_NAME.match(v)), f"{loc}.{key}",
                   f"{what}: {key} {_what(v)} must be 1-63 letters, digits, '_', '.', '-' (not starting with "
                   "'_', '.', '-')")
        return v

    def ip(self, tbl: dict[str, Any], key: str, loc: str, what: str, default: Any = _REQUIRED) -> str:
        v = str(self.get(tbl, key, str, loc, what, default))
        try:
            ipaddress.IPv4Address(v)
        except ValueError:
            self.fail(f"{loc}.{key}", f"{what}: {key} {_what(v)} is not an IPv4 address")
        return v

    def net(self, tbl: dict[str, Any], key: str, loc: str, what: str, default: Any = _REQUIRED) -> str:
        v = str(self.get(tbl, key, str, loc, what, default))
        try:
            ipaddress.IPv4Network(v)
        except ValueError as e:
            self.fail(f"{loc}.{key}", f"{what}: {key} {_what(v)} is not an IPv4 network ({e})")
        return v

    def port(self, tbl: dict[str, Any], key: str, loc: str, what: str, default: Any = _REQUIRED) -> int:
        v = int(self.get(tbl, key, int, loc, what, default))
        self.check(1 <= v <= 65535, f"{loc}.{key}", f"{what}: {key} {v} is not a TCP port (1-65535)")
        return v

    def choice(self, tbl: dict[str, Any], key: str, loc: str, what: str, choices: tuple[str, ...],
               default: Any = _REQUIRED) -> str:
        v = str(self.get(tbl, key, str, loc, what, default))
        self.check(v in choices, f"{loc}.{key}", f"{what}: {key} {_what(v)} is not one of {', '.join(choices)}")
        return v

    def encap(self, tbl: dict[str, Any], key: str, loc: str, what: str, default: Any = _REQUIRED) -> str:
        v = str(self.get(tbl, key, str, loc, what, default))
        self.check(bool(v) and all(t in ENCAP_TYPES for t in v.split(",")), f"{loc}.{key}",
                   f"{what}: {key} {_what(v)} is not {', '.join(ENCAP_TYPES)} (or a comma-separated list)")
        return v

    def matching(self, tbl: dict[str, Any], key: str, loc: str, what: str, pattern: re.Pattern[str],
                 expected: str, default: Any = _REQUIRED, empty: bool = False) -> str:
        v = str(self.get(tbl, key, str, loc, what, default))
        self.check((empty and v == "") or bool(pattern.match(v)), f"{loc}.{key}",
                   f"{what}: {key} {_what(v)} must be {expected}")
        return v

    def text(self, tbl: dict[str, Any], key: str, loc: str, what: str, default: Any = _REQUIRED,
             empty: bool = True) -> str:
        v = str(self.get(tbl, key, str, loc, what, default))
        self.check(empty or bool(v.strip()), f"{loc}.{key}", f"{what}: {key} must not be empty")
        return v

    def addr_port(self, v: Any, loc: str, what: str, need_port: bool = False) -> str:
        """``IPv4`` or ``IPv4:port`` (a load balancer VIP or backend)."""
        if not isinstance(v, str):
            self.fail(loc, f"{what} must be a string, not {_what(v)}")
        host, colon, port = v.partition(":")
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            self.fail(loc, f"{what} {_what(v)} is not IPv4[:port]")
        if colon or need_port:
            self.check(port.isdigit() and 1 <= int(port) <= 65535, loc,
                       f"{what} {_what(v)}: the port must be 1-65535")
        return v

    def jump(self, v: str, loc: str, what: str) -> str:
        """A ProxyJump value: ``[user@]host[:port]``, comma-separated (as ``ovntrace.sources.ssh`` reads it)."""
        for hop in (h.strip() for h in v.split(",")):
            if hop.lower() == "none" and "," not in v:
                return v
            user, host, port = split_hop(hop)
            bracketed = hop.removeprefix("ssh://").rpartition("@")[2].startswith("[")
            ok = bool(_HOST.match(host) or (bracketed and host)) and (not user or bool(
                _USER.match(user))) and (not port or (port.isdigit() and 1 <= int(port) <= 65535))
            self.check(ok, loc, f"{what}: jump hop {_what(hop)} is not [user@]host[:port] (port 1-65535)")
        return v


def parse(data: dict[str, Any], source: str = "", text: str | None = None) -> Inventory:
    """Build an :class:`Inventory` from parsed TOML, checking every key, type and value (``text``: the TOML
    text, to name the line of a bad key). Raises :class:`InventoryError`."""
    p = _Parser(source, text)
    p.table(data, "", "the inventory", TOP_KEYS)
    c = p.table(data.get("cluster", {}), "cluster", "[cluster]", CLUSTER_KEYS)
    w = "[cluster]"
    cluster = Cluster(
        name=p.name(c, "name", "cluster", w, "ovn"),
        cluster_subnet=p.net(c, "cluster_subnet", "cluster", w),
        join_subnet=p.net(c, "join_subnet", "cluster", w, "100.64.1.0/24"),
        encap_type=p.encap(c, "encap_type", "cluster", w, "geneve"),
        central=p.name(c, "central", "cluster", w),
        db_address=p.matching(c, "db_address", "cluster", w, _HOST, "an IPv4 address or a host name"),
        nb_port=p.port(c, "nb_port", "cluster", w, 6641),
        sb_port=p.port(c, "sb_port", "cluster", w, 6642),
        listen_address=p.ip(c, "listen_address", "cluster", w, "") if c.get("listen_address") else
        p.text(c, "listen_address", "cluster", w, ""),
        k8s_api_server=p.text(c, "k8s_api_server", "cluster", w, ""),
        physical_network=p.name(c, "physical_network", "cluster", w, "physnet"),
        topology=p.choice(c, "topology", "cluster", w, TOPOLOGIES, "central"),
        transit_subnet=p.net(c, "transit_subnet", "cluster", w, "100.88.0.0/16"),
    )
    p.check(cluster.nb_port != cluster.sb_port, "cluster.sb_port",
            f"[cluster]: nb_port and sb_port are both {cluster.nb_port}")
    raw_nodes = data.get("nodes", [])
    if not isinstance(raw_nodes, list) or not raw_nodes:
        p.fail("nodes", "the inventory needs at least one [[nodes]] table")
    nodes: list[Node] = []
    for i, raw in enumerate(raw_nodes):
        loc = f"nodes[{i}]"
        given = raw.get("name") if isinstance(raw, dict) else None
        label = f"node {given}" if isinstance(given, str) and _NAME.match(given) else f"[[nodes]] #{i + 1}"
        rn = p.table(raw, loc, label, NODE_KEYS)
        name = p.name(rn, "name", loc, label)
        w = f"node {name}"
        role = p.choice(rn, "role", loc, w, ROLES)
        gw = None
        if "gateway" in rn:
            gl, gwh = f"{loc}.gateway", f"node {name} [nodes.gateway]"
            g = p.table(rn["gateway"], gl, gwh, GATEWAY_KEYS)
            gw = Gateway(
                bridge=p.matching(g, "bridge", gl, gwh, _IFACE, "an OVS bridge name", "breth0"),
                interface=p.matching(g, "interface", gl, gwh, _IFACE, "an interface name", "eth0"),
                physical_ip=p.text(g, "physical_ip", gl, gwh),
                default_gw=p.ip(g, "default_gw", gl, gwh),
            )
            try:
                if "/" not in gw.physical_ip:
                    raise ValueError("no /prefix")
                ipaddress.IPv4Interface(gw.physical_ip)
            except ValueError:
                p.fail(f"{gl}.physical_ip", f"{gwh}: physical_ip {_what(gw.physical_ip)} is not an IPv4 "
                       "address/prefix (e.g. 172.17.42.30/24)")
        ssh = None
        if "ssh" in rn:
            sl, sw = f"{loc}.ssh", f"node {name} [nodes.ssh]"
            s = p.table(rn["ssh"], sl, sw, SSH_KEYS)
            prefix = p.text(s, "prefix", sl, sw, "") or p.text(s, "command_prefix", sl, sw, "")
            try:
                shlex.split(prefix)
            except ValueError as e:
                p.fail(f"{sl}.prefix", f"{sw}: prefix is not a shell word list ({e})")
            ssh = SshTarget(
                host=p.matching(s, "host", sl, sw, _HOST, "a host name or IPv4 address"),
                port=p.port(s, "port", sl, sw, 22),
                user=p.matching(s, "user", sl, sw, _USER, "a user name", "root"),
                key=p.text(s, "key", sl, sw, ""),
                known_hosts=p.text(s, "known_hosts", sl, sw, ""),
                prefix=prefix,
                jump=p.jump(p.text(s, "jump", sl, sw, ""), f"{sl}.jump", sw) if s.get("jump") else "",
            )
        ip = p.ip(rn, "ip", loc, w)
        el = f"{loc}.external_ids"
        raw_ids = p.table(rn.get("external_ids", {}), el, f"node {name} [nodes.external_ids]",
                          tuple(rn.get("external_ids", {})) if isinstance(rn.get("external_ids"), dict) else ())
        ids: dict[str, str] = {}
        for k, v in raw_ids.items():
            p.check(bool(_EXT_KEY.match(k)), f"{el}.{k}",
                    f"node {name} [nodes.external_ids]: key {k!r} must be letters, digits, '_', '.', '/', '-'")
            p.check(isinstance(v, str), f"{el}.{k}",
                    f"node {name} [nodes.external_ids]: {k} must be a string, not {_what(v)}")
            # a value may hold newlines (a PEM block, a kubeconfig): other control characters are refused
            p.check(not _CONTROL_NO_NL.search(v), f"{el}.{k}",
                    f"node {name} [nodes.external_ids]: {k} holds a control character")
            ids[k] = v
        nodes.append(
            Node(
                name=name,
                role=role,
                ip=ip,
                subnet=p.net(rn, "subnet", loc, w),
                encap_type=p.encap(rn, "encap_type", loc, w, cluster.encap_type),
                encap_ip=p.ip(rn, "encap_ip", loc, w, ip),
                datapath_type=p.matching(rn, "datapath_type", loc, w, _DP_TYPE,
                                         "an OVS datapath type (system, netdev)", "system"),
                system_id=p.matching(rn, "system_id", loc, w, _SYSTEM_ID,
                                     "letters, digits, '_', '.', ':', '-' (at most 64)", "", empty=True),
                external_ids=ids,
                gateway=gw,
                ssh=ssh,
                node_id=int(p.get(rn, "node_id", int, loc, w, 0)),
                db_address=p.matching(rn, "db_address", loc, w, _HOST, "an IPv4 address or a host name", "",
                                      empty=True),
                nb_port=p.port(rn, "nb_port", loc, w, 0) if "nb_port" in rn else 0,
                sb_port=p.port(rn, "sb_port", loc, w, 0) if "sb_port" in rn else 0,
            )
        )
        nd = nodes[-1]
        p.check(0 <= nd.node_id <= 32767, f"{loc}.node_id",
                f"{w}: node_id {nd.node_id} is not 1-32767 (0: its position + 2)")
    names = [n.name for n in nodes]
    for i, n in enumerate(names):
        p.check(n not in names[:i], f"nodes[{i}].name", f"node name {n!r} is used twice")
    p.check(cluster.central in names, "cluster.central", f"[cluster]: central {cluster.central!r} is not a node "
            f"(nodes: {', '.join(names)})")
    if cluster.topology == "interconnect":
        ids_seen: dict[int, str] = {}
        tnet = ipaddress.IPv4Network(cluster.transit_subnet)
        for i, nd in enumerate(nodes):
            nid = nd.node_id or i + 2
            p.check(nid not in ids_seen, f"nodes[{i}].node_id",
                    f"node {nd.name}: node id {nid} is also node {ids_seen.get(nid)}'s")
            p.check(nid < tnet.num_addresses - 1, f"nodes[{i}].node_id",
                    f"node {nd.name}: node id {nid} does not fit the transit subnet {cluster.transit_subnet}")
            ids_seen[nid] = nd.name
    by_name = {n.name: n for n in nodes}
    pods: list[Pod] = []
    raw_pods = data.get("pods", [])
    p.check(isinstance(raw_pods, list), "pods", "pods must be [[pods]] tables")
    for i, raw in enumerate(raw_pods):
        loc = f"pods[{i}]"
        w = f"[[pods]] #{i + 1}"
        rp = p.table(raw, loc, w, POD_KEYS)
        pod = Pod(
            namespace=p.name(rp, "namespace", loc, w, "default"),
            name=p.name(rp, "name", loc, w),
            node=p.text(rp, "node", loc, w),
            mac=p.text(rp, "mac", loc, w).lower(),
            ip=p.ip(rp, "ip", loc, w),
        )
        w = f"pod {pod.ref}"
        p.check(pod.node in by_name, f"{loc}.node", f"{w} is on unknown node {pod.node!r}")
        p.check(bool(_MAC.match(pod.mac)), f"{loc}.mac", f"{w}: mac {_what(pod.mac)} is not a MAC address")
        p.check(ipaddress.IPv4Address(pod.ip) in by_name[pod.node].network, f"{loc}.ip",
                f"{w}: ip {pod.ip} is not in node {pod.node}'s subnet {by_name[pod.node].subnet}")
        p.check(all(q.lsp != pod.lsp for q in pods), f"{loc}.name", f"{w} is listed twice")
        pods.append(pod)
    acls: list[Acl] = []
    raw_acls = data.get("acls", [])
    p.check(isinstance(raw_acls, list), "acls", "acls must be [[acls]] tables")
    for i, raw in enumerate(raw_acls):
        loc = f"acls[{i}]"
        w = f"[[acls]] #{i + 1}"
        ra = p.table(raw, loc, w, ACL_KEYS)
        acl = Acl(
            name=p.name(ra, "name", loc, w),
            switch=p.name(ra, "switch", loc, w),
            match=p.text(ra, "match", loc, w, empty=False),
            direction=p.choice(ra, "direction", loc, w, ("to-lport", "from-lport"), "to-lport"),
            priority=int(p.get(ra, "priority", int, loc, w, 1000)),
            action=p.choice(ra, "action", loc, w, ACL_ACTIONS, "drop"),
            log=bool(p.get(ra, "log", bool, loc, w, False)),
            severity=p.choice(ra, "severity", loc, w, ACL_SEVERITIES, "info"),
        )
        p.check(0 <= acl.priority <= 32767, f"{loc}.priority",
                f"acl {acl.name}: priority {acl.priority} is not 0-32767")
        acls.append(acl)
    lbs: list[LoadBalancer] = []
    raw_lbs = data.get("load_balancers", [])
    p.check(isinstance(raw_lbs, list), "load_balancers", "load_balancers must be [[load_balancers]] tables")
    for i, raw in enumerate(raw_lbs):
        loc = f"load_balancers[{i}]"
        w = f"[[load_balancers]] #{i + 1}"
        rl = p.table(raw, loc, w, LB_KEYS)
        name = p.name(rl, "name", loc, w)
        vip = p.addr_port(p.text(rl, "vip", loc, w), f"{loc}.vip", f"load balancer {name}: vip")
        backends = p.get(rl, "backends", list, loc, w)
        p.check(bool(backends), f"{loc}.backends", f"load balancer {name}: backends is empty")
        lbs.append(
            LoadBalancer(
                name=name,
                vip=vip,
                backends=tuple(p.addr_port(b, f"{loc}.backends", f"load balancer {name}: backend",
                                           need_port=":" in vip) for b in backends),
                protocol=p.choice(rl, "protocol", loc, w, LB_PROTOCOLS, "tcp"),
            )
        )
    return Inventory(cluster, tuple(nodes), tuple(pods), tuple(acls), tuple(lbs), source)


def lab_dir() -> Path:
    """The lab's directory ($OVNTRACE_LAB_DIR or /tmp/ovntrace-lab-UID); its inventory.toml is the default one."""
    return Path(os.environ.get("OVNTRACE_LAB_DIR") or f"/tmp/ovntrace-lab-{os.getuid()}")


def load(path: str | Path | None = None) -> Inventory:
    """Load an inventory file, or the bundled default one when ``path`` is None (InventoryError, exit 2,
    for a file that cannot be read or is not a valid inventory)."""
    if path is None:
        text = resources.files("ovntrace.lab").joinpath("default-inventory.toml").read_text("utf-8")
        source = "<bundled default-inventory.toml>"
    else:
        source = str(path)
        try:
            raw = Path(path).read_bytes()
        except OSError as e:
            raise InventoryError(f"cannot read inventory {path}: {e.strerror or e}") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            line = raw.count(b"\n", 0, e.start) + 1
            raise InventoryError(f"inventory {source}, line {line}: not UTF-8 (byte 0x{raw[e.start]:02x})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InventoryError(f"inventory {source}: invalid TOML: {e}") from None
    return parse(data, source, text)


# ---------------------------------------------------------------------------------------------
# writing


def _q(value: str) -> str:
    """A TOML basic string (JSON escapes are valid TOML escapes for these)."""
    return json.dumps(value, ensure_ascii=False)


def _key(k: str) -> str:
    return k if re.match(r"^[A-Za-z0-9_-]+$", k) else _q(k)


def dumps(inv: Inventory) -> str:
    """The inventory as TOML text (``load`` of it gives back the same inventory)."""
    c = inv.cluster
    out = ["# ovntrace inventory", "", "[cluster]"]
    for k in ("name", "cluster_subnet", "join_subnet", "encap_type", "central", "db_address"):
        out.append(f"{k} = {_q(getattr(c, k))}")
    out.append(f"nb_port = {c.nb_port}")
    out.append(f"sb_port = {c.sb_port}")
    for k in ("listen_address", "k8s_api_server", "physical_network"):
        out.append(f"{k} = {_q(getattr(c, k))}")
    if c.topology != "central":
        out += [f"topology = {_q(c.topology)}", f"transit_subnet = {_q(c.transit_subnet)}"]
    for n in inv.nodes:
        out += ["", "[[nodes]]"]
        for k in ("name", "role", "ip", "subnet", "encap_type", "encap_ip", "datapath_type"):
            out.append(f"{k} = {_q(getattr(n, k))}")
        if n.system_id:
            out.append(f"system_id = {_q(n.system_id)}")
        if n.node_id:
            out.append(f"node_id = {n.node_id}")
        if n.db_address:
            out.append(f"db_address = {_q(n.db_address)}")
        out += [f"{k} = {getattr(n, k)}" for k in ("nb_port", "sb_port") if getattr(n, k)]
        if n.external_ids:
            out += ["", "[nodes.external_ids]"]
            out += [f"{_key(k)} = {_q(v)}" for k, v in n.external_ids.items()]
        if n.gateway:
            g = n.gateway
            out += ["", "[nodes.gateway]"]
            out += [
                f"{k} = {_q(getattr(g, k))}" for k in ("bridge", "interface", "physical_ip", "default_gw")
            ]
        if n.ssh:
            s = n.ssh
            out += ["", "[nodes.ssh]", f"host = {_q(s.host)}", f"port = {s.port}", f"user = {_q(s.user)}"]
            out += [f"key = {_q(s.key)}", f"known_hosts = {_q(s.known_hosts)}"]
            out += [f"{k} = {_q(getattr(s, k))}" for k in ("prefix", "jump") if getattr(s, k)]
    for p in inv.pods:
        out += ["", "[[pods]]"]
        out += [f"{k} = {_q(getattr(p, k))}" for k in ("namespace", "name", "node", "mac", "ip")]
    for a in inv.acls:
        out += ["", "[[acls]]"]
        out += [f"{k} = {_q(getattr(a, k))}" for k in ("name", "switch", "direction")]
        out.append(f"priority = {a.priority}")
        out += [f"match = {_q(a.match)}", f"action = {_q(a.action)}"]
        out.append(f"log = {'true' if a.log else 'false'}")
        out.append(f"severity = {_q(a.severity)}")
    for lb in inv.load_balancers:
        out += ["", "[[load_balancers]]", f"name = {_q(lb.name)}", f"vip = {_q(lb.vip)}"]
        out.append("backends = [" + ", ".join(_q(b) for b in lb.backends) + "]")
        out.append(f"protocol = {_q(lb.protocol)}")
    return "\n".join(out) + "\n"


def atomic_write(path: str | Path, text: str, mode: int = 0o644) -> None:
    """Write ``text`` to ``path`` atomically (a temporary file in the same folder, then rename)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(inv: Inventory, path: str | Path) -> None:
    atomic_write(path, dumps(inv))


def with_pod(inv: Inventory, pod: Pod) -> Inventory:
    return replace(inv, pods=(*(p for p in inv.pods if p.lsp != pod.lsp), pod))


def without_pod(inv: Inventory, pod: Pod) -> Inventory:
    return replace(inv, pods=tuple(p for p in inv.pods if p.lsp != pod.lsp))
