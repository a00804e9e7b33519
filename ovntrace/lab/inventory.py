"""The inventory: what a cluster is made of (TOML), shared by the runbook, the lab and SSH.

An inventory has a ``[cluster]`` table, ``[[nodes]]`` (each with optional ``[nodes.external_ids]``,
``[nodes.gateway]`` and ``[nodes.ssh]``), ``[[pods]]``, ``[[acls]]`` and ``[[load_balancers]]``.
See ``default-inventory.toml`` (bundled) for the seed's cluster.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import tempfile
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from ovntrace.lab.errors import LabError

ROLES = ("central", "compute", "gateway")
REDACTED = "***"
_SECRET_KEY = re.compile(r"(token|secret|password|passwd|private)", re.IGNORECASE)
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
        """The cluster router: named after the central node (master-init did so in the seed)."""
        return self.cluster.central

    def pod(self, ref: str) -> Pod:
        for p in self.pods:
            if ref in (p.ref, p.lsp, p.name):
                return p
        raise LabError(f"no pod {ref!r} in the inventory (pods: {', '.join(p.ref for p in self.pods)})")

    def pods_on(self, node: str) -> list[Pod]:
        return [p for p in self.pods if p.node == node]

    def secrets(self) -> list[str]:
        """Every secret value of the inventory (to redact from any output)."""
        out: list[str] = []
        for n in self.nodes:
            for k, v in n.external_ids.items():
                if _SECRET_KEY.search(k) and v:
                    out.append(v)
        return sorted(set(out), key=len, reverse=True)

    def redact(self, text: str) -> str:
        for s in self.secrets():
            text = text.replace(s, REDACTED)
        return text


# ---------------------------------------------------------------------------------------------
# loading and validation


def _want(table: dict[str, Any], key: str, typ: type, where: str, default: Any = None) -> Any:
    if key not in table:
        if default is None:
            raise LabError(f"inventory: {where} has no {key!r}")
        return default
    val = table[key]
    if typ is int and isinstance(val, bool):
        raise LabError(f"inventory: {where}.{key} must be an integer")
    if not isinstance(val, typ):
        raise LabError(f"inventory: {where}.{key} must be a {typ.__name__}, not {type(val).__name__}")
    return val


def _check_name(name: str, where: str) -> str:
    if not _NAME.match(name):
        raise LabError(f"inventory: {where} name {name!r} must be letters, digits, '_', '.', '-'")
    return name


def _check_ip(value: str, where: str) -> str:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        raise LabError(f"inventory: {where} {value!r} is not an IPv4 address") from None
    return value


def _check_net(value: str, where: str) -> str:
    try:
        ipaddress.IPv4Network(value)
    except ValueError:
        raise LabError(f"inventory: {where} {value!r} is not an IPv4 network") from None
    return value


def _str_dict(val: Any, where: str) -> dict[str, str]:
    if not isinstance(val, dict) or not all(isinstance(v, str) for v in val.values()):
        raise LabError(f"inventory: {where} must be a table of strings")
    return {str(k): str(v) for k, v in val.items()}


def parse(data: dict[str, Any], source: str = "") -> Inventory:
    """Build an :class:`Inventory` from parsed TOML, checking every field."""
    c = data.get("cluster", {})
    if not isinstance(c, dict):
        raise LabError("inventory: [cluster] must be a table")
    cluster = Cluster(
        name=_want(c, "name", str, "cluster", "ovn"),
        cluster_subnet=_check_net(_want(c, "cluster_subnet", str, "cluster"), "cluster_subnet"),
        join_subnet=_check_net(_want(c, "join_subnet", str, "cluster", "100.64.1.0/24"), "join_subnet"),
        encap_type=_want(c, "encap_type", str, "cluster", "geneve"),
        central=_want(c, "central", str, "cluster"),
        db_address=_want(c, "db_address", str, "cluster"),
        nb_port=_want(c, "nb_port", int, "cluster", 6641),
        sb_port=_want(c, "sb_port", int, "cluster", 6642),
        listen_address=_want(c, "listen_address", str, "cluster", ""),
        k8s_api_server=_want(c, "k8s_api_server", str, "cluster", ""),
        physical_network=_want(c, "physical_network", str, "cluster", "physnet"),
    )
    raw_nodes = data.get("nodes", [])
    if not isinstance(raw_nodes, list) or not raw_nodes:
        raise LabError("inventory: needs at least one [[nodes]]")
    nodes: list[Node] = []
    for i, rn in enumerate(raw_nodes):
        where = f"nodes[{i}]"
        name = _check_name(_want(rn, "name", str, where), where)
        where = f"node {name}"
        role = _want(rn, "role", str, where)
        if role not in ROLES:
            raise LabError(f"inventory: {where} role {role!r} is not one of {', '.join(ROLES)}")
        gw = None
        if "gateway" in rn:
            g = rn["gateway"]
            gw = Gateway(
                bridge=_want(g, "bridge", str, where + ".gateway", "breth0"),
                interface=_want(g, "interface", str, where + ".gateway", "eth0"),
                physical_ip=_want(g, "physical_ip", str, where + ".gateway"),
                default_gw=_check_ip(_want(g, "default_gw", str, where + ".gateway"), "default_gw"),
            )
            ipaddress.IPv4Interface(gw.physical_ip)
        ssh = None
        if "ssh" in rn:
            s = rn["ssh"]
            ssh = SshTarget(
                host=_want(s, "host", str, where + ".ssh"),
                port=_want(s, "port", int, where + ".ssh", 22),
                user=_want(s, "user", str, where + ".ssh", "root"),
                key=_want(s, "key", str, where + ".ssh", ""),
                known_hosts=_want(s, "known_hosts", str, where + ".ssh", ""),
                prefix=_want(s, "prefix", str, where + ".ssh", "") or _want(s, "command_prefix", str,
                                                                            where + ".ssh", ""),
                jump=_want(s, "jump", str, where + ".ssh", ""),
            )
        ip = _check_ip(_want(rn, "ip", str, where), where + " ip")
        nodes.append(
            Node(
                name=name,
                role=role,
                ip=ip,
                subnet=_check_net(_want(rn, "subnet", str, where), where + " subnet"),
                encap_type=_want(rn, "encap_type", str, where, cluster.encap_type),
                encap_ip=_check_ip(_want(rn, "encap_ip", str, where, ip), where + " encap_ip"),
                datapath_type=_want(rn, "datapath_type", str, where, "system"),
                system_id=_want(rn, "system_id", str, where, ""),
                external_ids=_str_dict(rn.get("external_ids", {}), where + ".external_ids"),
                gateway=gw,
                ssh=ssh,
            )
        )
    names = [n.name for n in nodes]
    if len(set(names)) != len(names):
        raise LabError("inventory: node names must be unique")
    if cluster.central not in names:
        raise LabError(f"inventory: cluster.central {cluster.central!r} is not a node")
    pods: list[Pod] = []
    for i, rp in enumerate(data.get("pods", [])):
        where = f"pods[{i}]"
        pod = Pod(
            namespace=_check_name(_want(rp, "namespace", str, where, "default"), where),
            name=_check_name(_want(rp, "name", str, where), where),
            node=_want(rp, "node", str, where),
            mac=_want(rp, "mac", str, where).lower(),
            ip=_check_ip(_want(rp, "ip", str, where), where + " ip"),
        )
        if pod.node not in names:
            raise LabError(f"inventory: pod {pod.ref} is on unknown node {pod.node!r}")
        if not _MAC.match(pod.mac):
            raise LabError(f"inventory: pod {pod.ref} mac {pod.mac!r} is not a MAC address")
        pods.append(pod)
    acls: list[Acl] = []
    for i, ra in enumerate(data.get("acls", [])):
        where = f"acls[{i}]"
        acl = Acl(
            name=_want(ra, "name", str, where),
            switch=_want(ra, "switch", str, where),
            match=_want(ra, "match", str, where),
            direction=_want(ra, "direction", str, where, "to-lport"),
            priority=_want(ra, "priority", int, where, 1000),
            action=_want(ra, "action", str, where, "drop"),
            log=_want(ra, "log", bool, where, False),
            severity=_want(ra, "severity", str, where, "info"),
        )
        if acl.direction not in ("to-lport", "from-lport"):
            raise LabError(f"inventory: acl {acl.name} direction must be to-lport or from-lport")
        acls.append(acl)
    lbs: list[LoadBalancer] = []
    for i, rl in enumerate(data.get("load_balancers", [])):
        where = f"load_balancers[{i}]"
        backends = _want(rl, "backends", list, where)
        lbs.append(
            LoadBalancer(
                name=_want(rl, "name", str, where),
                vip=_want(rl, "vip", str, where),
                backends=tuple(str(b) for b in backends),
                protocol=_want(rl, "protocol", str, where, "tcp"),
            )
        )
    return Inventory(cluster, tuple(nodes), tuple(pods), tuple(acls), tuple(lbs), source)


def load(path: str | Path | None = None) -> Inventory:
    """Load an inventory file, or the bundled default one when ``path`` is None."""
    if path is None:
        text = resources.files("ovntrace.lab").joinpath("default-inventory.toml").read_text("utf-8")
        source = "<bundled default-inventory.toml>"
    else:
        try:
            text = Path(path).read_text("utf-8")
        except OSError as e:
            raise LabError(f"cannot read inventory {path}: {e.strerror}") from None
        source = str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise LabError(f"inventory {source}: invalid TOML: {e}") from None
    return parse(data, source)


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
    for n in inv.nodes:
        out += ["", "[[nodes]]"]
        for k in ("name", "role", "ip", "subnet", "encap_type", "encap_ip", "datapath_type"):
            out.append(f"{k} = {_q(getattr(n, k))}")
        if n.system_id:
            out.append(f"system_id = {_q(n.system_id)}")
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
