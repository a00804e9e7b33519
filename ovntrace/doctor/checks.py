"""The checks: facts (what was read on the nodes) and the inventory in, findings out. Pure.

Each finding names the runbook step that fixes it (``ovntrace.lab.apply`` ids: ``compute.2`` …).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ovntrace.doctor.facts import Facts, Reading, as_list, remotes, rows
from ovntrace.lab import runbook, runbook_ic
from ovntrace.lab.apply import PlannedStep, apply_command, find_step
from ovntrace.lab.inventory import TRANSIT_SWITCH, TRANSIT_SWITCH_KEY, Inventory, Node

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Fix:
    """The runbook step that fixes a finding, and the command that applies it."""

    node: str
    step: str
    comment: str
    command: str
    apply: str
    hint: str = ""

    def to_json(self) -> dict[str, str]:
        d = {"node": self.node, "step": self.step, "comment": self.comment, "command": self.command,
             "apply": self.apply}
        if self.hint:
            d["hint"] = self.hint
        return d


@dataclass(frozen=True)
class Finding:
    severity: str
    node: str
    check: str
    message: str
    evidence: tuple[str, ...] = ()
    fix: Fix | None = None

    def to_json(self) -> dict[str, Any]:
        return {"severity": self.severity, "node": self.node, "check": self.check, "message": self.message,
                "evidence": list(self.evidence), "fix": self.fix.to_json() if self.fix else None}


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    checks: int = 0
    nodes: list[str] = field(default_factory=list)
    #: which inventory and cluster were checked (:func:`ovntrace.lab.selection.describe`)
    inventory: str = ""

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]


class _Ctx:
    """Helpers shared by the checks: step lookup, evidence lines, counting."""

    def __init__(self, inv: Inventory, facts: Facts, inventory_arg: str | None) -> None:
        self.inv = inv
        self.facts = facts
        self.inventory_arg = inventory_arg
        self.report = Report()

    def fix(self, node: str, role: str, needle: str, hint: str = "") -> Fix | None:
        ps: PlannedStep | None = find_step(self.inv, node, role, needle)
        if ps is None:
            return None
        return Fix(node, ps.id, ps.step.comment, ps.shown,
                   apply_command(ps, self.inventory_arg), hint)

    def add(self, severity: str, node: str, check: str, message: str, evidence: list[str],
            fix: Fix | None = None) -> None:
        r = self.inv.redact
        self.report.findings.append(Finding(severity, node, check, r(message), tuple(r(e) for e in evidence), fix))

    def count(self) -> None:
        self.report.checks += 1

    def zone(self, node: str) -> str:
        """The node whose NB/SB ``node`` uses: itself in an interconnect cluster, else the central one."""
        return node if self.inv.interconnect else self.inv.cluster.central


def _ev(r: Reading, what: str) -> str:
    return f"{r.where()}: {what}"


def _err(r: Reading) -> str:
    return _ev(r, r.error or "failed")


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[0] if lines else "(no output)"


def _rows(r: Reading | None) -> list[dict[str, Any]] | None:
    if r is None or not r.ok:
        return None
    try:
        return rows(r.output)
    except (ValueError, AttributeError, TypeError):
        return None


# ---------------------------------------------------------------------------------------------
# per node


def _check_node(cx: _Ctx, node: Node) -> None:
    f = cx.facts
    n = node.name
    ver = f.get(n, "ovs-version")
    ids_r = f.get(n, "ovs-ids")
    cx.count()
    if ver is not None and not ver.ok:
        cx.add(ERROR, n, "ovs-running", "ovs-vswitchd is not running", [_err(ver)],
               cx.fix(n, "compute", "start Open vSwitch"))
    ids_rows = _rows(ids_r)
    if not ids_rows:
        if ids_r is not None and ver is not None and ver.ok:
            cx.add(ERROR, n, "ovs-running", "the Open_vSwitch database (ovsdb-server) cannot be read",
                   [_err(ids_r)], cx.fix(n, "compute", "start Open vSwitch"))
        return
    ids: dict[str, str] = ids_rows[0].get("external_ids") or {}
    assert ids_r is not None
    shown = ", ".join(f"{k}={ids[k]}" for k in ("ovn-remote", "ovn-encap-type", "ovn-encap-ip", "system-id")
                      if k in ids)
    zone = cx.zone(n)
    zaddr, znb, zsb = cx.inv.zone_db(n)
    want = {
        "ovn-remote": remotes(cx.inv, n)["sb_remote"],
        "ovn-encap-type": node.encap_type,
        "ovn-encap-ip": node.encap_ip,
    }
    if cx.inv.interconnect:  # without it ovn-controller makes no tunnel to the other zones' chassis
        want["ovn-is-interconn"] = "true"
    ids_fix = cx.fix(n, "compute", "point the chassis at the SB/NB")
    for key, value in want.items():
        cx.count()
        have = ids.get(key)
        if have is None:
            cx.add(ERROR, n, key, f"external_ids:{key} is not set (the runbook sets {value})",
                   [_ev(ids_r, f"no {key} ({shown or 'no OVN keys'})")], ids_fix)
        elif have != value:
            cx.add(ERROR, n, key, f"external_ids:{key} is {have}, the inventory says {value}",
                   [_ev(ids_r, f"{key}={have}")], ids_fix)
    cx.count()
    sysid = ids.get("system-id")
    if not sysid:
        cx.add(ERROR, n, "system-id", "external_ids:system-id is not set: ovn-controller has no chassis name",
               [_ev(ids_r, f"no system-id ({shown or 'no OVN keys'})")],
               cx.fix(n, "compute", "set the chassis name"))
    elif cx.inv.chassis_name(n) and sysid != cx.inv.chassis_name(n):
        want_id = cx.inv.chassis_name(n)
        cx.add(ERROR, n, "system-id", f"external_ids:system-id is {sysid}, the inventory says {want_id}",
               [_ev(ids_r, f"system-id={sysid}")], cx.fix(n, "compute", "set the chassis name"))

    # br-int
    cx.count()
    br = _rows(f.get(n, "bridges"))
    if br is not None:
        br_r = f.get(n, "bridges")
        assert br_r is not None
        brint = next((b for b in br if b.get("name") == "br-int"), None)
        if brint is None:
            cx.add(ERROR, n, "br-int", "there is no integration bridge br-int",
                   [_ev(br_r, "bridges: " + ", ".join(sorted(str(b.get("name")) for b in br)))],
                   cx.fix(n, "compute", "integration bridge"))
        elif as_list(brint.get("fail_mode")) != ["secure"]:
            mode = ",".join(map(str, as_list(brint.get("fail_mode")))) or "unset (standalone)"
            cx.add(ERROR, n, "br-int", f"br-int fail_mode is {mode}, not secure (it floods before OVN's flows)",
                   [_ev(br_r, f"br-int fail_mode={mode}")], cx.fix(n, "compute", "integration bridge"))

    # ovn-controller
    cx.count()
    cver = f.get(n, "controller-version")
    conn = f.get(n, "controller-connection")
    running = cver is not None and cver.ok
    if cver is not None and not cver.ok:
        cx.add(ERROR, n, "ovn-controller", "ovn-controller is not running", [_err(cver)],
               cx.fix(n, "compute", "start ovn-controller"))
    elif conn is not None:
        status = _first_line(conn.output) if conn.ok else (conn.error or "failed")
        if status != "connected":
            remote = ids.get("ovn-remote", "(no ovn-remote)")
            if remote != want["ovn-remote"]:
                fx = ids_fix
            elif not _listening(cx, "sb", zone):
                fx = cx.fix(zone, "central", "open the SB database")
            else:
                fx = cx.fix(n, "compute", "start ovn-controller",
                            hint="ovn-controller runs but is not connected: check its log and the SB address")
            cx.add(ERROR, n, "ovn-controller-connected",
                   f"ovn-controller is not connected to the SB database ({remote}): {status}",
                   [_ev(conn, status)], fx)

    # chassis in SB, its encap
    cx.count()
    chassis = _sb_chassis(cx, zone)
    if chassis is not None and sysid:
        sb_r = cx.facts.get(zone, "sb-chassis")
        assert sb_r is not None
        ch = chassis.get(sysid)
        if ch is None:
            names = ", ".join(f"{v['hostname'] or '?'}={k}" for k, v in sorted(chassis.items())) or "none"
            cx.add(ERROR, n, "chassis", f"chassis {sysid} is not registered in the SB database",
                   [_ev(sb_r, f"chassis: {names}")],
                   cx.fix(n, "compute", "start ovn-controller", hint="" if not running else
                          "ovn-controller runs: it registers the chassis once connected to the SB"))
        else:
            encs = ch["encaps"]
            ok = any(e[0] == node.encap_type and e[1] == node.encap_ip for e in encs)
            if not ok:
                have = ", ".join(f"{t} {ip}" for t, ip in encs) or "none"
                cx.add(ERROR, n, "chassis-encap",
                       f"chassis {sysid} has encap {have} in SB, the inventory says {node.encap_type} "
                       f"{node.encap_ip}", [_ev(sb_r, f"{sysid} encaps: {have}")], ids_fix)

    # tunnels to every other chassis
    ifaces = _rows(f.get(n, "interfaces"))
    if ifaces is not None:
        if_r = f.get(n, "interfaces")
        assert if_r is not None
        tunnels = [i for i in ifaces if str(i.get("type")) in ("geneve", "vxlan", "stt")]
        desc = ", ".join(f"{t['name']} ({t['type']} remote_ip={(t.get('options') or {}).get('remote_ip', '?')})"
                         for t in tunnels) or "no tunnel interface"
        for other in cx.inv.nodes:
            if other.name == n:
                continue
            cx.count()
            to = [t for t in tunnels if (t.get("options") or {}).get("remote_ip") == other.encap_ip]
            if not to:
                fx = cx.fix(n, "compute", "start ovn-controller",
                            hint="ovn-controller creates the tunnel ports: it must run, connected, and "
                            f"{other.name}'s chassis must be in SB with encap {other.encap_ip}")
                rc = chassis.get(cx.inv.chassis_name(other.name)) if chassis is not None else None
                if cx.inv.interconnect and running and (rc is None or not any(
                        e == (other.encap_type, other.encap_ip) for e in rc["encaps"])):
                    # interconnect: the tunnel follows the remote chassis row of this zone's SB
                    fx = cx.fix(n, "interconnect", f"the remote chassis {cx.inv.chassis_name(other.name)} ",
                                hint=f"ovn-controller tunnels to {other.name} from its remote chassis row in "
                                f"zone {n}'s SB, which must have encap {other.encap_type} {other.encap_ip}")
                cx.add(ERROR, n, "tunnel", f"no tunnel port to {other.name} ({other.encap_type} "
                       f"remote_ip={other.encap_ip})", [_ev(if_r, desc)], fx)
            elif not any(str(t.get("type")) == other.encap_type for t in to):
                cx.add(ERROR, n, "tunnel", f"the tunnel to {other.name} is {to[0]['type']}, not "
                       f"{other.encap_type}", [_ev(if_r, desc)], cx.fix(other.name, "compute",
                                                                        "point the chassis at the SB/NB"))
        # the management port, plugged
        cx.count()
        k8s = f"k8s-{n}"
        mg = next((i for i in ifaces if i.get("name") == k8s), None)
        if mg is None or (mg.get("external_ids") or {}).get("iface-id") != k8s:
            cx.add(ERROR, n, "mgmt-port", f"the management port {k8s} is not plugged into br-int "
                   f"(no interface {k8s} with iface-id {k8s})", [_ev(if_r, "interfaces: " + ", ".join(
                       sorted(str(i.get("name")) for i in ifaces)))], cx.fix(n, "node-init", f"plug {k8s}"))

    # NB/SB reachable from this node
    for db, port in (("nb", znb), ("sb", zsb)):
        cx.count()
        r = f.get(n, f"{db}-reach")
        if r is not None and not r.ok and _listening(cx, db, zone):
            who = f"zone {zone}'s {db.upper()}" if cx.inv.interconnect else "the central node"
            role_fix = cx.fix(zone, "central", f"open the {db.upper()} database",
                              hint=f"{who} listens on {port}: check the address {zaddr}, "
                              "routes and firewalls between the nodes")
            cx.add(ERROR, n, f"{db}-reachable", f"the {db.upper()} database is not reachable from {n} at "
                   f"tcp:{zaddr}:{port}", [_err(r)], role_fix)


def _sb_chassis(cx: _Ctx, zone: str | None = None) -> dict[str, dict[str, Any]] | None:
    """The chassis of the SB of ``zone`` (default: the central node's): name -> hostname, encaps, remote."""
    z = zone or cx.inv.cluster.central
    ch = _rows(cx.facts.get(z, "sb-chassis"))
    enc = _rows(cx.facts.get(z, "sb-encaps"))
    if ch is None or enc is None:
        return None
    by_uuid = {str(e.get("_uuid")): (str(e.get("type")), str(e.get("ip"))) for e in enc}
    return {str(c.get("name")): {"hostname": str(c.get("hostname") or ""),
                                 "encaps": [by_uuid[u] for u in as_list(c.get("encaps")) if u in by_uuid],
                                 "remote": str((c.get("other_config") or {}).get("is-remote", "")) == "true"}
            for c in ch}


def _targets(r: Reading | None) -> list[str]:
    if r is None or not r.ok:
        return []
    return [t for ln in r.output.splitlines() for t in ln.split()]


def _listening(cx: _Ctx, db: str, zone: str | None = None) -> bool:
    """True when the NB/SB connections of ``zone`` (default: the central node) include ``ptcp:<port>``
    (or unknown: True)."""
    z = zone or cx.inv.cluster.central
    r = cx.facts.get(z, f"{db}-connection")
    if r is None or not r.ok:
        return True
    _, nb_port, sb_port = cx.inv.zone_db(z)
    port = nb_port if db == "nb" else sb_port
    return any(re.fullmatch(rf"p(tcp|ssl):{port}(:.*)?", t) for t in _targets(r))


# ---------------------------------------------------------------------------------------------
# central node


def _check_central(cx: _Ctx, zone: str | None = None) -> None:
    """The central node's NB/SB/northd and topology; with ``zone`` (interconnect), that zone's."""
    n = zone or cx.inv.cluster.central
    f = cx.facts
    _, nb_port, sb_port = cx.inv.zone_db(n)
    cx.count()
    st = f.get(n, "northd-status")
    if st is not None:
        status = _first_line(st.output) if st.ok else (st.error or "failed")
        if not st.ok:
            cx.add(ERROR, n, "northd", "ovn-northd is not running", [_err(st)],
                   cx.fix(n, "central", "ovn-northd"))
        elif "active" not in status:
            cx.add(WARNING, n, "northd", f"ovn-northd is not active ({status}): another instance must be",
                   [_ev(st, status)])
    for db, port in (("nb", nb_port), ("sb", sb_port)):
        cx.count()
        r = f.get(n, f"{db}-connection")
        if r is None:
            continue
        if not r.ok:
            cx.add(ERROR, n, f"{db}-database", f"the {db.upper()} database cannot be read on {n}", [_err(r)],
                   cx.fix(n, "central", "ovn-northd"))
            continue
        if not _listening(cx, db, n):
            have = " ".join(_targets(r)) or "no connection"
            users = "ovn-controller on the nodes" if db == "sb" else "ovn-nbctl on the nodes (ovn-nb)"
            cx.add(ERROR, n, f"{db}-listening", f"the {db.upper()} database does not listen on port {port}, "
                   f"which {users} use(s)", [_ev(r, have)], cx.fix(n, "central", f"open the {db.upper()}"))
    _check_topology(cx, zone)
    if zone is not None and cx.inv.interconnect:
        _check_interconnect(cx, zone)


def _named(rs: list[dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    return {str(r.get("name")): r for r in rs or []}


def _check_topology(cx: _Ctx, zone: str | None = None) -> None:
    """The logical topology in the central NB; with ``zone`` (interconnect), what that zone's NB holds:
    its own cluster router, join, node switch, gateway router and pods."""
    inv = cx.inv
    c = inv.cluster
    central = zone or c.central
    f = cx.facts
    ls_r, lsp_r = f.get(central, "nb-switches"), f.get(central, "nb-switch-ports")
    lr_r, lrp_r = f.get(central, "nb-routers"), f.get(central, "nb-router-ports")
    ls, lsp, lr, lrp = _rows(ls_r), _rows(lsp_r), _rows(lr_r), _rows(lrp_r)
    if ls is None or lsp is None or lr is None or lrp is None:
        return
    assert ls_r is not None and lsp_r is not None and lr_r is not None and lrp_r is not None
    switches, sports, routers, rports = _named(ls), _named(lsp), _named(lr), _named(lrp)
    lsp_by_uuid = {str(p.get("_uuid")): str(p.get("name")) for p in lsp}
    lrp_by_uuid = {str(p.get("_uuid")): str(p.get("name")) for p in lrp}

    def names(rs: dict[str, Any]) -> str:
        return ", ".join(sorted(rs)) or "none"

    def want_switch(node: str, role: str, name: str, needle: str, subnet: str | None = None) -> None:
        cx.count()
        sw = switches.get(name)
        if sw is None:
            cx.add(ERROR, node, "switch", f"logical switch {name} is missing", [_ev(ls_r, "switches: " +
                   names(switches))], cx.fix(node, role, needle))
            return
        have = (sw.get("other_config") or {}).get("subnet")
        if subnet and have != subnet:
            cx.add(ERROR, node, "switch-subnet", f"logical switch {name} has subnet {have or 'unset'}, the "
                   f"inventory says {subnet}", [_ev(ls_r, f"{name} other_config:subnet={have or 'unset'}")],
                   cx.fix(node, role, needle))

    def want_rport(node: str, role: str, router: str, name: str, network: str, needle: str) -> None:
        cx.count()
        p = rports.get(name)
        on = routers.get(router)
        attached = on is not None and name in [lrp_by_uuid.get(u) for u in as_list(on.get("ports"))]
        if p is None or not attached:
            what = "missing" if p is None else f"not a port of router {router}"
            cx.add(ERROR, node, "router-port", f"router port {name} ({network}) of {router} is {what}",
                   [_ev(lrp_r, f"router ports: {names(rports)}")], cx.fix(node, role, needle))
            return
        nets = [str(x) for x in as_list(p.get("networks"))]
        if network not in nets:
            cx.add(ERROR, node, "router-port-network", f"router port {name} has networks {', '.join(nets)}, the "
                   f"runbook gives it {network}", [_ev(lrp_r, f"{name} networks={', '.join(nets)}")],
                   cx.fix(node, role, needle, hint=f"delete the port first (ovn-nbctl lrp-del {name})"))

    def want_sport(node: str, role: str, switch: str, name: str, needle: str, typ: str = "",
                   router_port: str = "", address: str = "") -> None:
        cx.count()
        p = sports.get(name)
        sw = switches.get(switch)
        attached = sw is not None and name in [lsp_by_uuid.get(u) for u in as_list(sw.get("ports"))]
        if p is None or not attached:
            what = "missing" if p is None else f"not a port of switch {switch}"
            cx.add(ERROR, node, "switch-port", f"switch port {name} on {switch} is {what}",
                   [_ev(lsp_r, f"{len(sports)} switch ports, no {name} on {switch}")], cx.fix(node, role, needle))
            return
        if typ and str(p.get("type") or "") != typ:
            cx.add(ERROR, node, "switch-port", f"switch port {name} has type {p.get('type') or 'none'}, not {typ}",
                   [_ev(lsp_r, f"{name} type={p.get('type') or ''}")], cx.fix(node, role, needle))
        rp = (p.get("options") or {}).get("router-port")
        if router_port and rp != router_port:
            cx.add(ERROR, node, "switch-port", f"switch port {name} points to router port {rp or 'none'}, not "
                   f"{router_port}", [_ev(lsp_r, f"{name} options:router-port={rp or ''}")],
                   cx.fix(node, role, needle))
        addrs = " ".join(str(a) for a in as_list(p.get("addresses")))
        if address and address not in addrs:
            cx.add(ERROR, node, "switch-port", f"switch port {name} has addresses {addrs or 'none'}, the runbook "
                   f"gives it {address}", [_ev(lsp_r, f"{name} addresses={addrs}")], cx.fix(node, role, needle))

    r = inv.router
    cx.count()
    if r not in routers:
        cx.add(ERROR, central, "router", f"the cluster router {r} is missing",
               [_ev(lr_r, "routers: " + names(routers))], cx.fix(central, "master-init", "cluster router"))
    join_prefix = ipaddress.IPv4Network(c.join_subnet).prefixlen
    want_switch(central, "master-init", "join", "join switch")
    want_rport(central, "master-init", r, f"rtoj-{r}", f"{runbook.join_ip(inv, 1)}/{join_prefix}", f"rtoj-{r}")
    want_sport(central, "master-init", "join", f"jtor-{r}", f"jtor-{r}", "router", f"rtoj-{r}")
    mine = [node for node in inv.nodes if zone is None or node.name == zone]
    for node in mine:
        n = node.name
        want_switch(n, "node-init", n, "node switch", node.subnet)
        want_rport(n, "node-init", r, f"rtos-{n}", f"{node.router_ip}/{node.network.prefixlen}", f"rtos-{n}")
        want_sport(n, "node-init", n, f"stor-{n}", f"stor-{n}", "router", f"rtos-{n}")
        want_sport(n, "node-init", n, f"k8s-{n}", f"management port k8s-{n}", address=node.mgmt_ip)
    for node in runbook.gateways(inv):
        if node not in mine:
            continue
        n = node.name
        gw = runbook.gateway_of(inv, node)
        assert gw is not None
        gr = f"GR_{n}"
        cx.count()
        if gr not in routers:
            cx.add(ERROR, n, "router", f"the gateway router {gr} is missing",
                   [_ev(lr_r, "routers: " + names(routers))], cx.fix(n, "gateway-init", "gateway router"))
            continue
        gw_ip = runbook.gr_join_ip(inv, node)
        want_rport(n, "gateway-init", gr, f"rtoj-{gr}", f"{gw_ip}/{join_prefix}", f"rtoj-{gr}")
        want_sport(n, "gateway-init", "join", f"jtor-{gr}", f"jtor-{gr}")
        want_switch(n, "gateway-init", f"ext_{n}", f"external switch ext_{n}")
        want_rport(n, "gateway-init", gr, f"rtoe-{gr}", gw.physical_ip, f"rtoe-{gr}")
        want_sport(n, "gateway-init", f"ext_{n}", f"etor-{gr}", f"etor-{gr}")
        want_sport(n, "gateway-init", f"ext_{n}", f"{gw.bridge}_{n}", "localnet port", "localnet")
    if zone is not None and inv.interconnect:
        ts = TRANSIT_SWITCH
        tip = f"{inv.transit_ip(zone)}/{runbook_ic.transit_prefix(inv)}"
        want_rport(zone, "interconnect", r, f"rtots-{zone}", tip, f"rtots-{zone}")
        want_sport(zone, "interconnect", ts, f"tstor-{zone}", f"tstor-{zone} (router port", "router",
                   f"rtots-{zone}")
        for other in inv.nodes:
            if other.name != zone:
                o = other.name
                want_sport(zone, "interconnect", ts, f"tstor-{o}", f"tstor-{o} (remote", "remote",
                           address=inv.transit_ip(o))
    for pod in inv.pods:
        if zone is not None and pod.node != zone:
            continue
        want_sport(pod.node, "pod", pod.node, pod.lsp, f"logical port {pod.lsp}", address=pod.ip)
        ifaces = _rows(f.get(pod.node, "interfaces"))
        if ifaces is not None:
            cx.count()
            if not any((i.get("external_ids") or {}).get("iface-id") == pod.lsp for i in ifaces):
                if_r = f.get(pod.node, "interfaces")
                assert if_r is not None
                cx.add(ERROR, pod.node, "pod-port", f"pod {pod.ref} is not plugged into br-int (no interface with "
                       f"iface-id {pod.lsp})", [_ev(if_r, f"{len(ifaces)} interfaces, none for {pod.lsp}")],
                       cx.fix(pod.node, "pod", f"plug pod {pod.ref}"))


# ---------------------------------------------------------------------------------------------
# interconnect: what each zone must hold of the transit switch and of the other zones


def _check_interconnect(cx: _Ctx, zone: str) -> None:
    inv = cx.inv
    f = cx.facts
    ts, r = TRANSIT_SWITCH, inv.router
    key = str(TRANSIT_SWITCH_KEY)
    ts_fix = cx.fix(zone, "interconnect", "create the transit switch")

    # the transit switch in NB, with ovn-kubernetes' key asked for
    ls_r = f.get(zone, "nb-switches")
    switches = _named(_rows(ls_r))
    if ls_r is not None and _rows(ls_r) is not None:
        cx.count()
        sw = switches.get(ts)
        if sw is not None:
            oc = sw.get("other_config") or {}
            if oc.get("requested-tnl-key") != key or oc.get("interconn-ts") != ts:
                have = f"interconn-ts={oc.get('interconn-ts', 'unset')} requested-tnl-key=" \
                    f"{oc.get('requested-tnl-key', 'unset')}"
                cx.add(ERROR, zone, "transit-switch", f"{ts} is not marked as the transit switch with key {key} "
                       f"({have})", [_ev(ls_r, f"{ts} other_config: {have}")], ts_fix)
        # a missing switch is reported by the port checks' switch lookups below
        else:
            cx.add(ERROR, zone, "transit-switch", f"the transit switch {ts} is missing",
                   [_ev(ls_r, "switches: " + (", ".join(sorted(switches)) or "none"))], ts_fix)
    # its datapath key in this zone's SB: the key every zone's tunnels carry (tun_id)
    dp_r = f.get(zone, "sb-datapaths")
    dps = _rows(dp_r)
    if dp_r is not None and dps is not None and ts in switches:
        cx.count()
        keys = [str(d.get("tunnel_key")) for d in dps if (d.get("external_ids") or {}).get("name") == ts]
        if keys != [key]:
            have = ", ".join(keys) or "no datapath (northd has not made it)"
            cx.add(ERROR, zone, "transit-switch-key", f"{ts} has tunnel key {have} in zone {zone}'s SB, not {key} "
                   f"({TRANSIT_SWITCH_KEY:#x}) as in every zone", [_ev(dp_r, f"{ts} tunnel_key: {have}")], ts_fix)

    # the transit ports' keys: the node ids, the same in every zone (tun_metadata0 carries them)
    lsp_r = f.get(zone, "nb-switch-ports")
    sports = _named(_rows(lsp_r))
    pb_r = f.get(zone, "sb-port-bindings")
    pbs = {str(b.get("logical_port")): b for b in _rows(pb_r) or []}
    for node in inv.nodes:
        o = node.name
        port = f"tstor-{o}"
        needle = f"{port} (router port" if o == zone else f"{port} (remote"
        want_key = str(inv.node_id(o))
        p = sports.get(port)
        if p is None or lsp_r is None:
            continue  # reported missing by the topology checks
        cx.count()
        asked = (p.get("options") or {}).get("requested-tnl-key")
        if asked != want_key:
            cx.add(ERROR, zone, "transit-port-key", f"{port} asks for tunnel key {asked or 'none'}, not {o}'s node "
                   f"id {want_key}", [_ev(lsp_r, f"{port} options:requested-tnl-key={asked or ''}")],
                   cx.fix(zone, "interconnect", needle))
        b = pbs.get(port)
        if pb_r is not None and b is not None and str(b.get("tunnel_key")) != want_key:
            cx.add(ERROR, zone, "transit-port-key", f"{port} has tunnel key {b.get('tunnel_key')} in zone {zone}'s "
                   f"SB, not {want_key}", [_ev(pb_r, f"{port} tunnel_key={b.get('tunnel_key')}")],
                   cx.fix(zone, "interconnect", needle))
        if o != zone:
            want = inv.chassis_name(o)
            rc = dict.fromkeys(as_list(p.get("options", {}).get("requested-chassis")))
            if want not in rc:
                cx.add(ERROR, zone, "transit-port-chassis", f"{port} asks for chassis "
                       f"{', '.join(map(str, rc)) or 'none'}, not {o}'s {want}",
                       [_ev(lsp_r, f"{port} options:requested-chassis={', '.join(map(str, rc))}")],
                       cx.fix(zone, "interconnect", needle))

    # the other zones' chassis, as remote chassis of this zone's SB, with their encap IPs
    chassis = _sb_chassis(cx, zone)
    sb_r = f.get(zone, "sb-chassis")
    uu_r = sb_r
    uuid_of = {str(c.get("name")): str(c.get("_uuid")) for c in _rows(uu_r) or []}
    routes_r, rr_r = f.get(zone, "nb-routes"), f.get(zone, "nb-routers")
    routes, rroutes = _rows(routes_r), _rows(rr_r)
    on_router: set[str] = set()
    for rt in rroutes or []:
        if str(rt.get("name")) == r:
            on_router = {str(u) for u in as_list(rt.get("static_routes"))}
    for other in inv.nodes:
        o = other.name
        if o == zone:
            continue
        name = inv.chassis_name(o)
        ch_fix = cx.fix(zone, "interconnect", f"the remote chassis {name} ")
        if chassis is not None and sb_r is not None:
            cx.count()
            ch = chassis.get(name)
            if ch is None:
                cx.add(ERROR, zone, "remote-chassis", f"the remote chassis {name} of {o} is missing from zone "
                       f"{zone}'s SB", [_ev(sb_r, "chassis: " + (", ".join(sorted(chassis)) or "none"))], ch_fix)
            else:
                encs = ch["encaps"]
                if not ch["remote"]:
                    cx.add(ERROR, zone, "remote-chassis", f"chassis {name} of {o} is not marked remote "
                           f"(other_config:is-remote=true) in zone {zone}'s SB",
                           [_ev(sb_r, f"{name} other_config: no is-remote=true")], ch_fix)
                if not any(e == (other.encap_type, other.encap_ip) for e in encs):
                    have = ", ".join(f"{t} {ip}" for t, ip in encs) or "none"
                    cx.add(ERROR, zone, "remote-chassis-encap", f"the remote chassis {name} has encap {have}, "
                           f"{o}'s is {other.encap_type} {other.encap_ip}",
                           [_ev(sb_r, f"{name} encaps: {have}")], ch_fix)
        port = f"tstor-{o}"
        b = pbs.get(port)
        if pb_r is not None and b is not None and uu_r is not None and name in uuid_of:
            cx.count()
            bound = as_list(b.get("chassis"))
            if [str(x) for x in bound] != [uuid_of[name]]:
                by_uuid = {v: k for k, v in uuid_of.items()}
                have = ", ".join(by_uuid.get(str(x), str(x)) for x in bound) or "no chassis"
                cx.add(ERROR, zone, "remote-port-binding", f"{port} is bound to {have}, not {o}'s chassis {name}: "
                       "the transit switch has no tunnel to it", [_ev(pb_r, f"{port} chassis: {have}")],
                       cx.fix(zone, "interconnect", f"{port} (remote"))
        # the route to the other node's pods, by its transit address, on the cluster router
        if routes is not None and routes_r is not None:
            cx.count()
            nh = inv.transit_ip(o)
            ok = [x for x in routes if str(x.get("ip_prefix")) == other.subnet and str(x.get("nexthop")) == nh
                  and (rroutes is None or str(x.get("_uuid")) in on_router)]
            if not ok:
                have = ", ".join(f"{x.get('ip_prefix')} via {x.get('nexthop')}" for x in routes
                                 if str(x.get("ip_prefix")) == other.subnet) or "none"
                cx.add(ERROR, zone, "route", f"{r} has no route to {o}'s pod subnet {other.subnet} via {nh} "
                       f"(routes to it: {have})", [_ev(routes_r, f"{len(routes)} static routes")],
                       cx.fix(zone, "interconnect", f"pod subnet {other.subnet}"))


# ---------------------------------------------------------------------------------------------


def check(inv: Inventory, facts: Facts, nodes: list[str] | None = None,
          inventory_arg: str | None = None) -> Report:
    """Every check on ``nodes`` (default all); the central node's checks when it is among them."""
    cx = _Ctx(inv, facts, inventory_arg)
    todo = nodes if nodes is not None else inv.node_names
    cx.report.nodes = list(todo)
    for name, why in facts.unreachable.items():
        cx.count()
        cx.add(ERROR, name, "ssh", "cannot run commands on the node", [f"{name}: {why}"])
    for name in todo:
        if name in facts.readings:
            _check_node(cx, inv.node(name))
    if inv.interconnect:  # every node is a zone: its NB/SB/northd and what it holds of the others
        for name in todo:
            if name in facts.readings:
                _check_central(cx, name)
    elif inv.cluster.central in facts.readings:
        _check_central(cx)
    # the central node's checks cover every node's topology: keep what concerns the nodes asked for
    cx.report.findings = [fd for fd in cx.report.findings if fd.node in todo]
    return cx.report


def iter_json(report: Report) -> Iterator[dict[str, Any]]:
    for fd in report.findings:
        yield fd.to_json()


def to_json(report: Report) -> str:
    return json.dumps({"schema": "ovntrace.doctor/1", "nodes": report.nodes, "checks": report.checks,
                       "errors": len(report.errors),
                       "warnings": sum(1 for f in report.findings if f.severity == WARNING),
                       "findings": list(iter_json(report))}, indent=1)
