"""The runbook of an interconnect cluster (ovn-kubernetes' interconnect mode: one zone per node, joined by a
transit switch): the roles of :mod:`ovntrace.lab.runbook` run by every node on its own NB/SB, plus the
``interconnect`` role below. :func:`ovntrace.lab.runbook.plan` calls :func:`ic_plan` for such an inventory.
"""

from __future__ import annotations

import ipaddress

from ovntrace.lab.inventory import TRANSIT_SWITCH, TRANSIT_SWITCH_KEY, Inventory, Node
from ovntrace.lab.runbook import (
    Phase,
    Raw,
    Step,
    _nb_exists,
    acl_lb_steps,
    atom,
    central_steps,
    compute_steps,
    gateway_init_steps,
    gateway_of,
    gr_join_ip,
    ip_mac,
    master_init_steps,
    nbctl,
    node_init_steps,
    pod_steps,
    sh,
)

# ---------------------------------------------------------------------------------------------
# interconnect (ovn-kubernetes' interconnect mode: one zone per node, joined by a transit switch)
#
# Names and keys as ovn-kubernetes lays them out (go-controller/pkg/ovn/zone_interconnect): the transit
# switch ``transit_switch`` (other_config interconn-ts, requested-tnl-key 16711683 = 0xff0003 for the
# default network); per node ``rtots-<node>`` on ``ovn_cluster_router`` (MAC from its transit address)
# peering the router port ``tstor-<node>`` locally; elsewhere ``tstor-<node>`` is a ``remote`` port with
# the same tunnel key (the node id), bound to the node's chassis, which each other zone's SB holds as a
# remote chassis (other_config:is-remote=true, the node's encap IP); routes on ovn_cluster_router to the
# other nodes' subnets and gateway-router join addresses via their transit addresses.


def sbctl(inv: Inventory, node: str) -> list[str]:
    """``ovn-sbctl`` as run on ``node`` (interconnect: its own zone's SB, on its local socket)."""
    return ["ovn-sbctl"]


def _sb_exists(inv: Inventory, node: str, table: str, *conds: str) -> str:
    return 'test -n "$(' + sh(*sbctl(inv, node), "--bare", "--columns=_uuid", "find", table, *conds) + ')"'


def transit_prefix(inv: Inventory) -> int:
    return ipaddress.IPv4Network(inv.cluster.transit_subnet).prefixlen


def transit_mac(inv: Inventory, node: str) -> str:
    """The MAC of ``rtots-<node>``: ovn-kubernetes' MAC of its transit address."""
    return ip_mac(inv.transit_ip(node))


def transit_switch_steps(inv: Inventory, node: Node) -> list[Step]:
    """The transit switch and this node's own link to it (``rtots-``/``tstor-``)."""
    n = node.name
    nb = nbctl(inv, n)
    ts, r = TRANSIT_SWITCH, inv.router
    rtots, tstor = f"rtots-{n}", f"tstor-{n}"
    key = str(inv.node_id(n))
    tip = f"{inv.transit_ip(n)}/{transit_prefix(inv)}"
    oc = {
        "interconn-ts": ts,
        "requested-tnl-key": str(TRANSIT_SWITCH_KEY),
        "mcast_snoop": "true",
        "mcast_querier": "false",
        "mcast_flood_unregistered": "true",
    }
    return [
        Step(
            n,
            "interconnect",
            f"create the transit switch {ts} (tunnel key {TRANSIT_SWITCH_KEY} = {TRANSIT_SWITCH_KEY:#x})",
            sh(
                *nb,
                "--may-exist",
                "ls-add",
                ts,
                "--",
                "set",
                "Logical_Switch",
                ts,
                *[f"other_config:{k}={atom(v)}" for k, v in oc.items()],
            ),
            check=_nb_exists(
                inv,
                n,
                "Logical_Switch",
                f"name={ts}",
                f"other_config:interconn-ts={ts}",
                f"other_config:requested-tnl-key={atom(str(TRANSIT_SWITCH_KEY))}",
            ),
        ),
        Step(
            n,
            "interconnect",
            f"connect {r} to {ts}: {rtots} {tip}",
            sh(
                *nb,
                "--may-exist",
                "lrp-add",
                r,
                rtots,
                transit_mac(inv, n),
                tip,
                "--",
                "set",
                "Logical_Router_Port",
                rtots,
                "options:mcast_flood=true",
            ),
            check=_nb_exists(inv, n, "Logical_Router_Port", f"name={rtots}", f"networks={atom(tip)}"),
        ),
        Step(
            n,
            "interconnect",
            f"this node's port on {ts}: {tstor} (router port, tunnel key {key})",
            sh(
                *nb,
                "--may-exist",
                "lsp-add",
                ts,
                tstor,
                "--",
                "lsp-set-type",
                tstor,
                "router",
                "--",
                "lsp-set-addresses",
                tstor,
                "router",
                "--",
                "lsp-set-options",
                tstor,
                f"router-port={rtots}",
                f"requested-tnl-key={key}",
                "--",
                "set",
                "Logical_Switch_Port",
                tstor,
                f"external_ids:node={atom(n)}",
            ),
            check=_nb_exists(
                inv,
                n,
                "Logical_Switch_Port",
                f"name={tstor}",
                "type=router",
                f"options:requested-tnl-key={atom(key)}",
            ),
        ),
    ]


def remote_node_steps(inv: Inventory, node: Node, remote: Node) -> list[Step]:
    """What ``node``'s zone holds of ``remote``: its chassis, its transit port, routes to it."""
    n, rn = node.name, remote.name
    nb, sb = nbctl(inv, n), sbctl(inv, n)
    ts, r = TRANSIT_SWITCH, inv.router
    tstor = f"tstor-{rn}"
    chassis = inv.chassis_name(rn)
    key = str(inv.node_id(rn))
    rip = inv.transit_ip(rn)
    gr_ip = gr_join_ip(inv, remote) if gateway_of(inv, remote) is not None else ""
    # bound: the remote port's binding in this zone's SB names the remote chassis
    bound = (
        "{ c=$("
        + sh(*sb, "--bare", "--columns=_uuid", "find", "Chassis", f"name={atom(chassis)}")
        + ') && test -n "$c" && test -n "$('
        + sh(*sb, "--bare", "--columns=_uuid", "find", "Port_Binding", f"logical_port={atom(tstor)}")
        + ' chassis="$c")"; }'
    )
    steps = [
        Step(
            n,
            "interconnect",
            f"the remote chassis {chassis} of {rn} (encap {remote.encap_type} {remote.encap_ip})",
            # an existing row is corrected in place (deleting it would unbind the remote port bound to it)
            'c=$('
            + sh(*sb, "--bare", "--columns=_uuid", "find", "Chassis", f"name={atom(chassis)}")
            + '); if test -n "$c"; then '
            + sh(*sb, "set", "Chassis", Raw('"$c"'), f"hostname={atom(rn)}", "other_config:is-remote=true")
            + " && for e in $("
            + sh(*sb, "--bare", "--columns=encaps", "list", "Chassis", Raw('"$c"'))
            + "); do "
            + sh(*sb, "set", "Encap", Raw('"$e"'), f"type={remote.encap_type}", f"ip={atom(remote.encap_ip)}")
            + " || exit 1; done; else "
            + sh(
                *sb,
                "chassis-add",
                chassis,
                remote.encap_type,
                remote.encap_ip,
                "--",
                "set",
                "Chassis",
                chassis,
                f"hostname={atom(rn)}",
                "other_config:is-remote=true",
            )
            + "; fi",
            check=_sb_exists(inv, n, "Chassis", f"name={atom(chassis)}", "other_config:is-remote=true")
            + " && "
            + _sb_exists(inv, n, "Encap", f"chassis_name={atom(chassis)}", f"ip={atom(remote.encap_ip)}"),
        ),
        Step(
            n,
            "interconnect",
            f"{rn}'s port on {ts}: {tstor} (remote, chassis {chassis}, tunnel key {key}), bound to that chassis",
            sh(
                *nb,
                "--may-exist",
                "lsp-add",
                ts,
                tstor,
                "--",
                "lsp-set-type",
                tstor,
                "remote",
                "--",
                "lsp-set-addresses",
                tstor,
                f"{transit_mac(inv, rn)} {rip}/{transit_prefix(inv)}",
                "--",
                "lsp-set-options",
                tstor,
                f"requested-tnl-key={key}",
                f"requested-chassis={chassis}",
                "--",
                "set",
                "Logical_Switch_Port",
                tstor,
                f"external_ids:node={atom(rn)}",
            )
            # once northd made its binding, bind it to the remote chassis: OVN 25.03's northd does so from
            # requested-chassis by itself, 23.03's does not (ovn-kubernetes bound it then)
            + " && "
            + sh(*nb, "--wait=sb", "--timeout=30", "sync")
            + " && { "
            + bound
            + " || { "
            + sh(*sb, "--if-exists", "lsp-unbind", tstor)
            + "; "
            + sh(*sb, "lsp-bind", tstor, chassis)
            + " || "
            + bound
            + "; }; }",
            check=_nb_exists(
                inv,
                n,
                "Logical_Switch_Port",
                f"name={tstor}",
                "type=remote",
                f"options:requested-tnl-key={atom(key)}",
                f"options:requested-chassis={atom(chassis)}",
            )
            + " && "
            + bound,
        ),
        Step(
            n,
            "interconnect",
            f"{r}: {rn}'s pod subnet {remote.subnet} via its transit address {rip}",
            sh(*nb, "--may-exist", "lr-route-add", r, remote.subnet, rip),
            check=_nb_exists(
                inv,
                n,
                "Logical_Router_Static_Route",
                f"ip_prefix={atom(remote.subnet)}",
                f"nexthop={atom(rip)}",
            ),
        ),
    ]
    if gr_ip:
        steps.append(
            Step(
                n,
                "interconnect",
                f"{r}: {rn}'s gateway router join address {gr_ip} via {rip}",
                sh(*nb, "--may-exist", "lr-route-add", r, f"{gr_ip}/32", rip),
                check=_nb_exists(
                    inv,
                    n,
                    "Logical_Router_Static_Route",
                    f"ip_prefix={atom(gr_ip)}",  # ovn-nbctl keeps a /32 prefix as the bare address
                    f"nexthop={atom(rip)}",
                ),
            )
        )
    return steps


def interconnect_steps(inv: Inventory, node: Node) -> list[Step]:
    steps = transit_switch_steps(inv, node)
    for other in inv.nodes:
        if other.name != node.name:
            steps += remote_node_steps(inv, node, other)
    return steps


def ic_policy_steps(inv: Inventory, node: Node) -> list[Step]:
    """The ACLs of this node's switch and every load balancer on it, in this node's zone."""
    n = node.name
    return acl_lb_steps(inv, n, [a for a in inv.acls if acl_zone(inv, a.switch) == n], [n])


def acl_zone(inv: Inventory, switch: str) -> str:
    """The node whose zone holds ``switch`` (a node switch is its node's; any other, the central node's)."""
    return switch if switch in inv.node_names else inv.cluster.central


def ic_plan(inv: Inventory) -> list[Phase]:
    """The runbook of an interconnect cluster: every node builds its own zone."""
    phases = [
        Phase(n.name, "central", f"zone {n.name}: its NB/SB databases and ovn-northd",
              tuple(central_steps(inv, n.name)))
        for n in inv.nodes
    ]
    for node in inv.nodes:
        phases.append(
            Phase(node.name, "compute", "compute: OVS and ovn-controller (its own zone's SB)",
                  tuple(compute_steps(inv, node)))
        )
    for node in inv.nodes:
        phases.append(
            Phase(node.name, "master-init", f"cluster router {inv.router} and join switch of zone {node.name}",
                  tuple(master_init_steps(inv, node.name)))
        )
        title = f"node-init: switch {node.name} ({node.subnet})"
        phases.append(Phase(node.name, "node-init", title, tuple(node_init_steps(inv, node))))
        title = f"gateway-init: GR_{node.name}, external switch, localnet"
        phases.append(Phase(node.name, "gateway-init", title, tuple(gateway_init_steps(inv, node))))
        title = f"interconnect: {TRANSIT_SWITCH}, tstor ports, remote chassis, routes to the other zones"
        phases.append(Phase(node.name, "interconnect", title, tuple(interconnect_steps(inv, node))))
    for pod in inv.pods:
        phases.append(Phase(pod.node, "pod", f"pod {pod.ref}", tuple(pod_steps(inv, pod))))
    for node in inv.nodes:
        phases.append(Phase(node.name, "policy", f"ACLs and load balancers of zone {node.name}",
                            tuple(ic_policy_steps(inv, node))))
    return phases
