"""The bundled provisioning runbook: the seed's steps as data, parameterised by an inventory.

Every step is one shell command for one node, with a comment saying what it is for and a check
that exits 0 when the step is already done. Commands are idempotent on their own (``--may-exist``,
``--if-exists``, ``test -e … ||``); steps that start a daemon are printed guarded by their check.

The legacy ``ovn-k8s-overlay master-init / minion-init / gateway-init`` are expressed as plain
``ovn-nbctl`` / ``ovs-vsctl`` commands that build the topology ``ovn-nbctl show`` shows in the seed:
the cluster router named after the central node with ``rtos-<node>`` ports, one switch per node
with its ``stor-<node>`` router port and ``k8s-<node>`` management port, the ``join`` switch
(``jtor-``/``rtoj-``) and, per gateway, a gateway router ``GR_<node>`` with an external switch and
a localnet port mapped to the node's external bridge.

An interconnect cluster (``topology = "interconnect"``: one zone per node) is planned by
:mod:`ovntrace.lab.runbook_ic` from the same roles plus its own (transit switch, remote chassis and ports).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ovntrace.lab.inventory import Acl, Gateway, Inventory, Node, Pod

OVS_CTL = "/usr/share/openvswitch/scripts/ovs-ctl"
OVN_CTL = "/usr/share/ovn/scripts/ovn-ctl"
SYSTEM_ID_FILE = '"${OVS_SYSCONFDIR:-/etc/openvswitch}/system-id.conf"'
POD_OFPORT_BASE = 10
MGMT_OFPORT = 2


@dataclass(frozen=True)
class Step:
    """One command of the runbook."""

    node: str
    role: str
    comment: str
    command: str
    check: str | None = None
    daemon: bool = False

    def line(self) -> str:
        """The command as printed in the plan (daemon starts guarded by their check)."""
        if self.daemon and self.check:
            return f"{self.check} >/dev/null 2>&1 || {self.command}"
        return self.command


@dataclass(frozen=True)
class Phase:
    """The steps of one role on one node, run in order on that node."""

    node: str
    role: str
    title: str
    steps: tuple[Step, ...]


class Raw(str):
    """A shell fragment inserted as is (not quoted): only for constant text of this module."""


def sh(*args: str) -> str:
    """A command line: every argument quoted with shlex.quote, except :class:`Raw` fragments."""
    return " ".join(a if isinstance(a, Raw) else shlex.quote(a) for a in args)


def atom(value: str) -> str:
    """An OVSDB string atom (double-quoted, as ``ovs-vsctl set`` and ``find`` read it)."""
    return json.dumps(value)


def router_mac(port: str) -> str:
    """A stable MAC for a logical router port, in the seed's ``00:00:00:xx:xx:xx`` style."""
    h = hashlib.sha256(port.encode()).hexdigest()
    return "00:00:00:" + ":".join(h[i : i + 2] for i in range(0, 6, 2))


def ip_mac(ip: str) -> str:
    """ovn-kubernetes' MAC for an address: ``0a:58:`` and the four bytes of the IPv4 address."""
    return "0a:58:" + ":".join(f"{b:02x}" for b in ipaddress.IPv4Address(ip).packed)


def mgmt_mac(node: Node) -> str:
    return ip_mac(node.mgmt_ip)


def join_ip(inv: Inventory, index: int) -> str:
    """Address ``index`` on the join switch (1 = the cluster router, 2.. = gateway routers)."""
    return str(ipaddress.IPv4Network(inv.cluster.join_subnet).network_address + index)


def gateway_of(inv: Inventory, node: Node) -> Gateway | None:
    """The node's gateway: its ``[nodes.gateway]``; in an interconnect cluster, where ovn-kubernetes gives
    every node a gateway router, one on ``breth0`` with the node IP (its /24, the first address the next
    hop) for a node that names none."""
    if node.gateway is not None or not inv.interconnect:
        return node.gateway
    net = ipaddress.IPv4Interface(f"{node.ip}/24").network
    return Gateway(physical_ip=f"{node.ip}/24", default_gw=str(net.network_address + 1))


def gateways(inv: Inventory) -> list[Node]:
    return [n for n in inv.nodes if gateway_of(inv, n) is not None]


def gr_join_ip(inv: Inventory, node: Node) -> str:
    """The join address of ``GR_<node>``: the next after the cluster router's, one per gateway (central);
    the node id in an interconnect cluster (ovn-kubernetes: 100.64.0.<node id>)."""
    if inv.interconnect:
        return join_ip(inv, inv.node_id(node.name))
    return join_ip(inv, 2 + gateways(inv).index(node))


def pod_ofport(inv: Inventory, pod: Pod) -> int:
    on_node = inv.pods_on(pod.node)
    return POD_OFPORT_BASE + [p.lsp for p in on_node].index(pod.lsp)


# ---------------------------------------------------------------------------------------------
# command helpers


def nbctl(inv: Inventory, node: str) -> list[str]:
    """``ovn-nbctl`` as run on ``node``: the central node uses its local socket, others TCP; in an
    interconnect cluster every node uses its own zone's NB, on its local socket."""
    if node == inv.cluster.central or inv.interconnect:
        return ["ovn-nbctl"]
    c = inv.cluster
    return ["ovn-nbctl", f"--db=tcp:{c.db_address}:{c.nb_port}"]


def _nb_exists(inv: Inventory, node: str, table: str, *conds: str) -> str:
    return 'test -n "$(' + sh(*nbctl(inv, node), "--bare", "--columns=_uuid", "find", table, *conds) + ')"'


def _ovs_exists(table: str, *conds: str) -> str:
    return 'test -n "$(' + sh("ovs-vsctl", "--bare", "--columns=_uuid", "find", table, *conds) + ')"'


def _ext_ids(ids: dict[str, str]) -> list[str]:
    return [f"external_ids:{k}={atom(v)}" for k, v in ids.items()]


def _router_lsp(inv: Inventory, node: str, switch: str, lsp: str, lrp: str, mac: str) -> list[str]:
    return [
        *nbctl(inv, node),
        "--may-exist",
        "lsp-add",
        switch,
        lsp,
        "--",
        "lsp-set-type",
        lsp,
        "router",
        "--",
        "lsp-set-options",
        lsp,
        f"router-port={lrp}",
        "--",
        "lsp-set-addresses",
        lsp,
        mac,
    ]


# ---------------------------------------------------------------------------------------------
# roles


def central_steps(inv: Inventory, node: str | None = None) -> list[Step]:
    """The central NB/SB and ovn-northd; with ``node`` (interconnect), that node's own zone's."""
    c = inv.cluster
    n = node or c.central
    _, nb_port, sb_port = inv.zone_db(n)
    suffix = f":{c.listen_address}" if c.listen_address else ""
    nb_conn, sb_conn = f"ptcp:{nb_port}{suffix}", f"ptcp:{sb_port}{suffix}"
    what = f"zone {n}'s" if inv.interconnect else "the"
    return [
        Step(
            n,
            "central",
            f"start {what} OVN databases (NB, SB) and ovn-northd",
            sh(OVN_CTL, "start_northd"),
            check=sh("ovn-appctl", "-t", "ovn-northd", "version"),
            daemon=True,
        ),
        Step(
            n,
            "central",
            f"open the NB database to the nodes ({nb_conn})",
            sh("ovn-nbctl", "set-connection", nb_conn),
            check="ovn-nbctl get-connection | grep -qE " + shlex.quote(f"(^| ){re.escape(nb_conn)}$"),
        ),
        Step(
            n,
            "central",
            f"open the SB database to the chassis ({sb_conn})",
            sh("ovn-sbctl", "set-connection", sb_conn),
            check="ovn-sbctl get-connection | grep -qE " + shlex.quote(f"(^| ){re.escape(sb_conn)}$"),
        ),
    ]


def compute_steps(inv: Inventory, node: Node) -> list[Step]:
    n = node.name
    addr, nb_port, sb_port = inv.zone_db(n)
    ids = {
        "ovn-remote": f"tcp:{addr}:{sb_port}",
        "ovn-nb": f"tcp:{addr}:{nb_port}",
        "ovn-encap-ip": node.encap_ip,
        "ovn-encap-type": node.encap_type,
        "hostname": n,
    }
    if inv.interconnect:
        # the chassis tunnels to the other zones' (remote) chassis only when it is an interconnect one
        ids["ovn-is-interconn"] = "true"
    system_id = inv.chassis_name(n)
    if system_id:
        make_id = (
            "test -e " + SYSTEM_ID_FILE + " || echo " + shlex.quote(system_id) + " > " + SYSTEM_ID_FILE
        )
    else:
        make_id = "test -e " + SYSTEM_ID_FILE + " || uuidgen > " + SYSTEM_ID_FILE
    steps = [
        Step(
            n,
            "compute",
            "start Open vSwitch (ovsdb-server and ovs-vswitchd)",
            sh(OVS_CTL, "start"),
            check=sh("ovs-appctl", "-t", "ovs-vswitchd", "version"),
            daemon=True,
        ),
        Step(
            n,
            "compute",
            "point the chassis at the SB/NB databases and set its tunnel endpoint",
            sh("ovs-vsctl", "set", "Open_vSwitch", ".", *_ext_ids(ids)),
            check=_ovs_exists("Open_vSwitch", *_ext_ids(ids)),
        ),
        Step(
            n,
            "compute",
            "create the chassis system-id once (kept across restarts)",
            make_id,
            check="test -s " + SYSTEM_ID_FILE,
        ),
        Step(
            n,
            "compute",
            "set the chassis name (system-id) from that file",
            'ovs-vsctl set Open_vSwitch . external_ids:system-id="$(cat ' + SYSTEM_ID_FILE + ')"',
            check='test "$(ovs-vsctl --if-exists get Open_vSwitch . external_ids:system-id | tr -d \'"\')"'
            ' = "$(cat ' + SYSTEM_ID_FILE + ')"',
        ),
        Step(
            n,
            "compute",
            f"create the integration bridge br-int ({node.datapath_type} datapath)",
            sh(
                "ovs-vsctl",
                "--may-exist",
                "add-br",
                "br-int",
                "--",
                "set",
                "Bridge",
                "br-int",
                "fail_mode=secure",
                f"datapath_type={node.datapath_type}",
                "other_config:disable-in-band=true",
            ),
            check=_ovs_exists("Bridge", "name=br-int", "fail_mode=secure"),
        ),
        Step(
            n,
            "compute",
            "start ovn-controller",
            sh(OVN_CTL, "start_controller"),
            check=sh("ovn-appctl", "-t", "ovn-controller", "version"),
            daemon=True,
        ),
    ]
    if node.external_ids:
        steps.append(
            Step(
                n,
                "compute",
                "record the Kubernetes API server (and credentials) for the node's daemons",
                sh("ovs-vsctl", "set", "Open_vSwitch", ".", *_ext_ids(node.external_ids)),
                check=_ovs_exists("Open_vSwitch", *_ext_ids(node.external_ids)),
            )
        )
    return steps


def master_init_steps(inv: Inventory, node: str | None = None) -> list[Step]:
    """What ``ovn-k8s-overlay master-init`` did: the cluster router and the join switch (with ``node``,
    interconnect: that node's zone's ``ovn_cluster_router`` and ``join``)."""
    n = node or inv.cluster.central
    r = inv.router
    nb = nbctl(inv, n)
    join_net = ipaddress.IPv4Network(inv.cluster.join_subnet)
    rtoj, jtor = f"rtoj-{r}", f"jtor-{r}"
    return [
        Step(
            n,
            "master-init",
            f"create the cluster router {r}",
            sh(*nb, "--may-exist", "lr-add", r),
            check=_nb_exists(inv, n, "Logical_Router", f"name={r}"),
        ),
        Step(
            n,
            "master-init",
            "create the join switch (cluster router <-> gateway routers)",
            sh(*nb, "--may-exist", "ls-add", "join"),
            check=_nb_exists(inv, n, "Logical_Switch", "name=join"),
        ),
        Step(
            n,
            "master-init",
            f"connect {r} to join: {rtoj} {join_ip(inv, 1)}/{join_net.prefixlen}",
            sh(
                *nb,
                "--may-exist",
                "lrp-add",
                r,
                rtoj,
                router_mac(rtoj),
                f"{join_ip(inv, 1)}/{join_net.prefixlen}",
            ),
            check=_nb_exists(inv, n, "Logical_Router_Port", f"name={rtoj}"),
        ),
        Step(
            n,
            "master-init",
            f"the join side of that link: {jtor}",
            sh(*_router_lsp(inv, n, "join", jtor, rtoj, router_mac(rtoj))),
            check=_nb_exists(inv, n, "Logical_Switch_Port", f"name={jtor}", "type=router"),
        ),
    ]


def node_init_steps(inv: Inventory, node: Node) -> list[Step]:
    """What ``master-init`` / ``minion-init`` did for one node: its switch, router port, mgmt port."""
    n = node.name
    r = inv.router
    nb = nbctl(inv, n)
    rtos, stor, k8s = f"rtos-{n}", f"stor-{n}", f"k8s-{n}"
    prefix = node.network.prefixlen
    mac = mgmt_mac(node)
    return [
        Step(
            n,
            "node-init",
            f"create the node switch {n} for {node.subnet}",
            sh(
                *nb,
                "--may-exist",
                "ls-add",
                n,
                "--",
                "set",
                "Logical_Switch",
                n,
                f"other_config:subnet={node.subnet}",
            ),
            check=_nb_exists(inv, n, "Logical_Switch", f"name={n}"),
        ),
        Step(
            n,
            "node-init",
            f"give the cluster router a port on it: {rtos} {node.router_ip}/{prefix}",
            sh(*nb, "--may-exist", "lrp-add", r, rtos, router_mac(rtos), f"{node.router_ip}/{prefix}"),
            check=_nb_exists(inv, n, "Logical_Router_Port", f"name={rtos}"),
        ),
        Step(
            n,
            "node-init",
            f"the switch side of that link: {stor}",
            sh(*_router_lsp(inv, n, n, stor, rtos, router_mac(rtos))),
            check=_nb_exists(inv, n, "Logical_Switch_Port", f"name={stor}", "type=router"),
        ),
        Step(
            n,
            "node-init",
            f"the node's management port {k8s} ({node.mgmt_ip})",
            sh(
                *nb, "--may-exist", "lsp-add", n, k8s, "--", "lsp-set-addresses", k8s, f"{mac} {node.mgmt_ip}"
            ),
            check=_nb_exists(inv, n, "Logical_Switch_Port", f"name={k8s}"),
        ),
        Step(
            n,
            "node-init",
            f"plug {k8s} into br-int as an internal interface",
            sh(
                "ovs-vsctl",
                "--may-exist",
                "add-port",
                "br-int",
                k8s,
                "--",
                "set",
                "Interface",
                k8s,
                "type=internal",
                f"mac={atom(mac)}",
                f"external_ids:iface-id={atom(k8s)}",
                f"ofport_request={MGMT_OFPORT}",
            ),
            check=_ovs_exists("Interface", f"name={k8s}", f"external_ids:iface-id={atom(k8s)}"),
        ),
    ]


def gateway_init_steps(inv: Inventory, node: Node) -> list[Step]:
    """What ``ovn-k8s-util nics-to-bridge`` and ``ovn-k8s-overlay gateway-init`` did."""
    g = gateway_of(inv, node)
    assert g is not None
    c = inv.cluster
    n = node.name
    r = inv.router
    nb = nbctl(inv, n)
    gr, ext = f"GR_{n}", f"ext_{n}"
    rtoj, jtor = f"rtoj-{gr}", f"jtor-{gr}"
    rtoe, etor = f"rtoe-{gr}", f"etor-{gr}"
    localnet = f"{g.bridge}_{n}"
    prefix = ipaddress.IPv4Network(c.join_subnet).prefixlen
    gw_join_ip = gr_join_ip(inv, node)
    phys_ip = str(ipaddress.IPv4Interface(g.physical_ip).ip)
    mapping = f"{c.physical_network}:{g.bridge}"
    chassis = '"options:chassis=\\"$(cat ' + SYSTEM_ID_FILE + ')\\""'
    return [
        Step(
            n,
            "gateway-init",
            f"create the external bridge {g.bridge}",
            sh("ovs-vsctl", "--may-exist", "add-br", g.bridge),
            check=sh("ovs-vsctl", "br-exists", g.bridge),
        ),
        Step(
            n,
            "gateway-init",
            f"attach the NIC {g.interface} to {g.bridge} (nics-to-bridge)",
            sh("ovs-vsctl", "--may-exist", "add-port", g.bridge, g.interface),
            check=_ovs_exists("Port", f"name={g.interface}"),
        ),
        Step(
            n,
            "gateway-init",
            f"map the physical network {c.physical_network} to {g.bridge}",
            sh("ovs-vsctl", "set", "Open_vSwitch", ".", f"external_ids:ovn-bridge-mappings={atom(mapping)}"),
            check=_ovs_exists("Open_vSwitch", f"external_ids:ovn-bridge-mappings={atom(mapping)}"),
        ),
        Step(
            n,
            "gateway-init",
            f"create the gateway router {gr}, bound to this chassis",
            sh(*nb, "--may-exist", "lr-add", gr, "--", "set", "Logical_Router", gr) + " " + chassis,
            check=_nb_exists(inv, n, "Logical_Router", f"name={gr}"),
        ),
        Step(
            n,
            "gateway-init",
            f"connect {gr} to join: {rtoj} {gw_join_ip}/{prefix}",
            sh(*nb, "--may-exist", "lrp-add", gr, rtoj, router_mac(rtoj), f"{gw_join_ip}/{prefix}"),
            check=_nb_exists(inv, n, "Logical_Router_Port", f"name={rtoj}"),
        ),
        Step(
            n,
            "gateway-init",
            f"the join side of that link: {jtor}",
            sh(*_router_lsp(inv, n, "join", jtor, rtoj, router_mac(rtoj))),
            check=_nb_exists(inv, n, "Logical_Switch_Port", f"name={jtor}"),
        ),
        Step(
            n,
            "gateway-init",
            f"create the external switch {ext}",
            sh(*nb, "--may-exist", "ls-add", ext),
            check=_nb_exists(inv, n, "Logical_Switch", f"name={ext}"),
        ),
        Step(
            n,
            "gateway-init",
            f"connect {gr} to {ext}: {rtoe} {g.physical_ip}",
            sh(*nb, "--may-exist", "lrp-add", gr, rtoe, router_mac(rtoe), g.physical_ip),
            check=_nb_exists(inv, n, "Logical_Router_Port", f"name={rtoe}"),
        ),
        Step(
            n,
            "gateway-init",
            f"the external-switch side of that link: {etor}",
            sh(*_router_lsp(inv, n, ext, etor, rtoe, router_mac(rtoe))),
            check=_nb_exists(inv, n, "Logical_Switch_Port", f"name={etor}"),
        ),
        Step(
            n,
            "gateway-init",
            f"the localnet port {localnet} (network {c.physical_network})",
            sh(
                *nb,
                "--may-exist",
                "lsp-add",
                ext,
                localnet,
                "--",
                "lsp-set-type",
                localnet,
                "localnet",
                "--",
                "lsp-set-addresses",
                localnet,
                "unknown",
                "--",
                "lsp-set-options",
                localnet,
                f"network_name={c.physical_network}",
            ),
            check=_nb_exists(inv, n, "Logical_Switch_Port", f"name={localnet}", "type=localnet"),
        ),
        Step(
            n,
            "gateway-init",
            f"{gr}: the cluster subnet {c.cluster_subnet} is behind the cluster router",
            sh(*nb, "--may-exist", "lr-route-add", gr, c.cluster_subnet, join_ip(inv, 1)),
            check=_nb_exists(
                inv,
                n,
                "Logical_Router_Static_Route",
                f"ip_prefix={atom(c.cluster_subnet)}",
                f"nexthop={atom(join_ip(inv, 1))}",
            ),
        ),
        Step(
            n,
            "gateway-init",
            f"{gr}: default route to {g.default_gw} out of {rtoe}",
            sh(*nb, "--may-exist", "lr-route-add", gr, "0.0.0.0/0", g.default_gw, rtoe),
            check=_nb_exists(inv, n, "Logical_Router_Static_Route", f"nexthop={atom(g.default_gw)}"),
        ),
        Step(
            n,
            "gateway-init",
            f"{r}: default route to the gateway router ({gw_join_ip})",
            sh(*nb, "--may-exist", "lr-route-add", r, "0.0.0.0/0", gw_join_ip),
            check=_nb_exists(inv, n, "Logical_Router_Static_Route", f"nexthop={atom(gw_join_ip)}"),
        )
        if not inv.interconnect
        else Step(
            n,
            "gateway-init",
            f"{r}: traffic from {node.subnet} leaves by the gateway router ({gw_join_ip}, src-ip route)",
            sh(*nb, "--may-exist", "--policy=src-ip", "lr-route-add", r, node.subnet, gw_join_ip),
            check=_nb_exists(
                inv,
                n,
                "Logical_Router_Static_Route",
                f"ip_prefix={atom(node.subnet)}",
                f"nexthop={atom(gw_join_ip)}",
                "policy=src-ip",
            ),
        ),
        Step(
            n,
            "gateway-init",
            f"{gr}: SNAT the cluster subnet to {phys_ip}",
            sh(*nb, "--may-exist", "lr-nat-add", gr, "snat", phys_ip, c.cluster_subnet),
            check=_nb_exists(inv, n, "NAT", "type=snat", f"external_ip={atom(phys_ip)}"),
        ),
    ]


def pod_steps(inv: Inventory, pod: Pod) -> list[Step]:
    """What the CNI plugin and the master's watcher did for a pod."""
    n = pod.node
    nb = nbctl(inv, n)
    addr = f"{pod.mac} {pod.ip}"
    ids = {"namespace": pod.namespace, "pod": "true"}
    return [
        Step(
            n,
            "pod",
            f"the logical port {pod.lsp} of pod {pod.ref} ({addr})",
            sh(
                *nb,
                "--may-exist",
                "lsp-add",
                n,
                pod.lsp,
                "--",
                "lsp-set-addresses",
                pod.lsp,
                addr,
                "--",
                "lsp-set-port-security",
                pod.lsp,
                addr,
                "--",
                "set",
                "Logical_Switch_Port",
                pod.lsp,
                *_ext_ids(ids),
            ),
            check=_nb_exists(inv, n, "Logical_Switch_Port", f"name={atom(pod.lsp)}"),
        ),
        Step(
            n,
            "pod",
            f"plug pod {pod.ref} into br-int as {pod.iface}",
            sh(
                "ovs-vsctl",
                "--may-exist",
                "add-port",
                "br-int",
                pod.iface,
                "--",
                "set",
                "Interface",
                pod.iface,
                "type=internal",
                f"mac={atom(pod.mac)}",
                f"external_ids:iface-id={atom(pod.lsp)}",
                f"ofport_request={pod_ofport(inv, pod)}",
            ),
            check=_ovs_exists("Interface", f"name={pod.iface}", f"external_ids:iface-id={atom(pod.lsp)}"),
        ),
    ]


def pod_del_steps(inv: Inventory, pod: Pod) -> list[Step]:
    n = pod.node
    return [
        Step(
            n, "pod", f"unplug pod {pod.ref}", sh("ovs-vsctl", "--if-exists", "del-port", "br-int", pod.iface)
        ),
        Step(
            n,
            "pod",
            f"delete the logical port {pod.lsp}",
            sh(*nbctl(inv, n), "--if-exists", "lsp-del", pod.lsp),
        ),
    ]


def acl_lb_steps(inv: Inventory, n: str, acls: Iterable[Acl], lb_switches: Sequence[str]) -> list[Step]:
    """On ``n``'s NB: the ACLs ``acls``, every load balancer applied to the switches ``lb_switches``, then a
    wait until the chassis have installed the flows (the policy role, central and per zone)."""
    nb = nbctl(inv, n)
    steps: list[Step] = []
    for a in acls:
        opts = ["--may-exist"]
        if a.log:
            opts += ["--log", f"--severity={a.severity}"]
        opts.append(f"--name={a.name}")
        steps.append(
            Step(
                n,
                "policy",
                f"ACL {a.name}: {a.direction} {a.action} on switch {a.switch}",
                sh(*nb, *opts, "acl-add", a.switch, a.direction, str(a.priority), a.match, a.action),
                check=_nb_exists(inv, n, "ACL", f"name={atom(a.name)}"),
            )
        )
    for lb in inv.load_balancers:
        steps.append(
            Step(
                n,
                "policy",
                f"load balancer {lb.name}: {lb.vip} -> {', '.join(lb.backends)}",
                sh(*nb, "--may-exist", "lb-add", lb.name, lb.vip, ",".join(lb.backends), lb.protocol),
                check=_nb_exists(inv, n, "Load_Balancer", f"name={atom(lb.name)}"),
            )
        )
        for switch in lb_switches:
            steps.append(
                Step(n, "policy", f"apply {lb.name} on switch {switch}",
                     sh(*nb, "--may-exist", "ls-lb-add", switch, lb.name))
            )
    what = f"zone {n}'s chassis has" if inv.interconnect else "every chassis has"
    steps.append(Step(n, "policy", f"wait until {what} installed the flows",
                      sh(*nb, "--wait=hv", "--timeout=60", "sync")))
    return steps


def policy_steps(inv: Inventory) -> list[Step]:
    return acl_lb_steps(inv, inv.cluster.central, inv.acls, [node.name for node in inv.nodes])


def plan(inv: Inventory) -> list[Phase]:
    """The whole runbook for ``inv``, phase by phase, in the order to run it (an interconnect cluster's
    from :mod:`ovntrace.lab.runbook_ic`)."""
    if inv.interconnect:
        from ovntrace.lab.runbook_ic import ic_plan

        return ic_plan(inv)
    c = inv.central_node
    phases = [Phase(c.name, "central", "central: NB/SB databases and ovn-northd", tuple(central_steps(inv)))]
    for node in inv.nodes:
        phases.append(
            Phase(node.name, "compute", "compute: OVS and ovn-controller", tuple(compute_steps(inv, node)))
        )
    phases.append(
        Phase(
            c.name,
            "master-init",
            "master-init: cluster router and join switch",
            tuple(master_init_steps(inv)),
        )
    )
    for node in inv.nodes:
        title = f"node-init: switch {node.name} ({node.subnet})"
        phases.append(Phase(node.name, "node-init", title, tuple(node_init_steps(inv, node))))
    for node in gateways(inv):
        title = f"gateway-init: GR_{node.name}, external switch, localnet"
        phases.append(Phase(node.name, "gateway-init", title, tuple(gateway_init_steps(inv, node))))
    for pod in inv.pods:
        phases.append(Phase(pod.node, "pod", f"pod {pod.ref}", tuple(pod_steps(inv, pod))))
    phases.append(Phase(c.name, "policy", "ACLs and load balancers", tuple(policy_steps(inv))))
    return phases


def step_ids(phases: list[Phase]) -> list[str]:
    """The id of every step of ``phases``, in order: ``<role>.<k>``, the k-th step of that role on that
    node (what ``provision apply --step`` and doctor's fixes take)."""
    counts: dict[tuple[str, str], int] = {}
    out: list[str] = []
    for ph in phases:
        for st in ph.steps:
            k = counts.get((st.node, st.role), 0) + 1
            counts[(st.node, st.role)] = k
            out.append(f"{st.role}.{k}")
    return out


def render(inv: Inventory, node: str | None = None, checks: bool = False, selected_by: str = "") -> str:
    """The plan as text: per node, in order, each command with a comment (``# [id] comment``, the id that
    ``provision apply --step`` takes); secrets redacted. ``selected_by``: what chose the inventory.

    The commands are built from :meth:`Inventory.redacted` (secret values replaced *before* they are
    quoted: a value with quotes, backslashes or non-ASCII characters cannot slip through its escaping), and
    the text then goes through :meth:`Inventory.redact` as a second net."""
    if node is not None:
        inv.node(node)
    shown = inv.redacted()
    topo = f", topology {inv.cluster.topology}" if inv.interconnect else ""
    how = f" (selected by {selected_by})" if selected_by else ""
    out = [
        f"# ovntrace provision plan: cluster {inv.cluster.name!r}{topo}, inventory {inv.source or '<memory>'}{how}",
        "# Run each block on the node it names, blocks in this order. [id]: the step id that",
        "# `ovntrace provision apply --node NODE --step ID` runs (a role name runs all of its steps).",
    ]
    phases = plan(shown)
    ids = iter(step_ids(phases))
    for ph in phases:
        mine = node is None or ph.node == node
        if mine:
            out += ["", f"# ===== {ph.node}: {ph.title} ====="]
        for st in ph.steps:
            sid = next(ids)
            if not mine:
                continue
            out.append(f"# [{sid}] {st.comment}")
            if checks and st.check and not st.daemon:
                out.append(f"#   done when: {st.check}")
            out.append(st.line())
    return inv.redact("\n".join(out) + "\n")


#: the interconnect roles moved to :mod:`ovntrace.lab.runbook_ic`; ``runbook.<name>`` still finds them
_IC_NAMES = frozenset({
    "sbctl", "transit_prefix", "transit_mac", "transit_switch_steps", "remote_node_steps",
    "interconnect_steps", "ic_policy_steps", "acl_zone", "ic_plan",
})


def __getattr__(name: str) -> Any:
    if name in _IC_NAMES:
        from ovntrace.lab import runbook_ic

        return getattr(runbook_ic, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
