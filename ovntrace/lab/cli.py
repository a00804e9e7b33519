"""argparse wiring of ``ovntrace provision`` and ``ovntrace lab``.

``register(subparsers)`` adds both commands; each handler takes the parsed namespace and returns
an exit code; expected failures raise :class:`~ovntrace.lab.errors.LabError`.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ovntrace.lab.errors import LabError

if TYPE_CHECKING:
    from ovntrace.lab.lab import Lab

# The lab modules are imported by the handlers: ``register`` runs on every ``ovntrace`` start.


def _load_lab(args: argparse.Namespace) -> Lab:
    from ovntrace.lab.lab import Lab

    return Lab.load(_dir(args))


def _out(text: str) -> None:
    from ovntrace.render.safe import escape_lines

    text = escape_lines(text)  # node output and inventory text: no raw control character reaches the terminal
    sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")


def _dir(args: argparse.Namespace) -> Path | None:
    d: str | None = getattr(args, "dir", None)
    return Path(d) if d else None


# -- provision ------------------------------------------------------------------------------------


def cmd_plan(args: argparse.Namespace) -> int:
    from ovntrace.lab import runbook, selection

    sel = selection.select(args.inventory, bundled=True)
    inv = selection.load(sel)
    _out(runbook.render(inv, node=args.node, checks=args.checks,
                        selected_by=sel.how if sel.path is not None else ""))
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    from ovntrace.lab.apply import cmd_apply as run_apply

    return run_apply(args, sys.stdin, sys.stdout, sys.stderr)


# -- lab ------------------------------------------------------------------------------------------


def cmd_up(args: argparse.Namespace) -> int:
    from ovntrace.lab import inventory as inv_mod
    from ovntrace.lab.lab import Lab, apt_line, install_packages, missing_packages, plan_release

    _, chroot_rel = plan_release(args.release)
    if chroot_rel is None and missing_packages():
        if not args.install:
            raise LabError(
                f"missing packages {', '.join(missing_packages())}: run `{apt_line()}` "
                "(or `ovntrace lab up --install`)",
                exit_code=4,
            )
        install_packages()
    inv = inv_mod.load(args.inventory) if args.inventory else None
    t0 = time.monotonic()
    lab = Lab.up(inv, _dir(args), tunnels=args.tunnels, release=args.release, progress=_out, install=args.install,
                 topology=getattr(args, "topology", None))
    took = time.monotonic() - t0
    _out(f"lab up in {took:.1f}s: {len(lab.procs)} processes, nodes {', '.join(lab.inventory.node_names)}")
    _out(f"  release:    {_release_desc(lab)}")
    _out(f"  tunnels:    {_tunnels_desc(lab.tunnels)}")
    if lab.inventory.interconnect:
        _out(f"  topology:   interconnect: {len(lab.zones())} zones (each node its own NB/SB/northd), "
             "transit switch transit_switch")
    _out(f"  dir:        {lab.dir}")
    _out(f"  inventory:  {lab.inventory_path}")
    first = lab.inventory.node_names[0]
    pre = " ".join(shlex.quote(w) for w in lab.prefix)
    _out(f"  ssh:        ssh -F {shlex.quote(str(lab.ssh_config))} {first} {pre + ' ' if pre else ''}ovs-vsctl show")
    _out(f'  by hand:    eval "$(ovntrace lab env {first} --dir {shlex.quote(str(lab.dir))})"')
    return 0


def _release_desc(lab: Lab) -> str:
    v = lab.versions
    what = f"OVN {v.get('ovn', '?')}, OVS {v.get('ovs', '?')}"
    where = f"in chroot {lab.root} (node commands run with prefix `chroot {lab.root}`)" if lab.root else \
        "the host's packages"
    return f"{lab.release} ({what}; {where})"


def _tunnels_desc(form: str) -> str:
    if form == "dummy":
        return "dummy (--enable-dummy=override: tunnel ports are plain dummy ports, no tnl_push)"
    return "vport (--enable-dummy=system: real tunnel vports, traces end in tnl_push)"


def cmd_status(args: argparse.Namespace) -> int:
    lab = _load_lab(args)
    st = lab.status()
    alive = sum(1 for p in st["processes"] if p["alive"])
    state = "running" if st["running"] else "DEGRADED"
    _out(f"lab {st['dir']}: {state} ({alive}/{len(st['processes'])} processes)")
    _out(f"release: {_release_desc(lab)}")
    _out(f"tunnels: {_tunnels_desc(st['tunnel_form'])}")
    for p in st["processes"]:
        _out(f"  {p['node']:<14} {p['name']:<16} pid {p['pid']:<8} {'up' if p['alive'] else 'DOWN'}")
    if st.get("topology") == "interconnect":
        _out(f"topology: interconnect ({len(lab.zones())} zones, each node its own NB/SB/northd)")
        for zone in lab.zones():
            mine = [c for c in st["chassis"] if c.get("zone") == zone]
            _out(f"chassis in {zone}'s SB: {len(mine)}")
            for c in mine:
                kind = "remote" if c.get("remote") == "true" else "local"
                _out(f"  {c['hostname']:<14} {c['name']}  {c['encap']} {c['ip']}  ({kind})")
    else:
        _out(f"chassis in SB: {len(st['chassis'])}")
        for c in st["chassis"]:
            _out(f"  {c['hostname']:<14} {c['name']}  {c['encap']} {c['ip']}")
    _out("tunnels:")
    for node, tuns in st["tunnels"].items():
        desc = ", ".join(f"{t['name']} ({t['type']} {t['options']})" for t in tuns) or "none"
        _out(f"  {node:<14} {desc}")
    _out(f"ssh: ssh -F {shlex.quote(st['ssh_config'])} NODE COMMAND")
    for e in st["errors"]:
        _out(f"error: {e}")
    return 0 if st["running"] and not st["errors"] else 1


def cmd_trace(args: argparse.Namespace) -> int:
    lab = _load_lab(args)
    _out(lab.trace(args.node, args.flow, bridge=args.bridge, ct_next=args.ct_next or ()))
    return 0


def cmd_flow(args: argparse.Namespace) -> int:
    lab = _load_lab(args)
    for dst in args.dst:
        _out(
            lab.microflow(
                args.node,
                args.pod,
                dst,
                proto=args.proto,
                dport=args.dport,
                sport=args.sport,
                src_ip=args.src_ip,
                ttl=args.ttl,
            )
        )
    return 0


def cmd_pod_add(args: argparse.Namespace) -> int:
    lab = _load_lab(args)
    pod = lab.pod_add(args.node, args.pod, ip=args.ip, mac=args.mac)
    _out(f"pod {pod.ref} on {pod.node}: {pod.mac} {pod.ip}, port {pod.lsp}, interface {pod.iface}")
    return 0


def cmd_pod_del(args: argparse.Namespace) -> int:
    lab = _load_lab(args)
    pod = lab.pod_del(args.pod)
    _out(f"pod {pod.ref} deleted from {pod.node}")
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    lab = _load_lab(args)
    for k, v in lab.env(args.node).items():
        _out(f"export {k}={shlex.quote(v)}")
    if lab.root is not None:
        root = shlex.quote(str(lab.root))
        _out(f"# release {lab.release} runs in a chroot: run the tools as `chroot {root} TOOL ...`")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    lab = _load_lab(args)
    t0 = time.monotonic()
    left = lab.down()
    if left:
        raise LabError("could not stop: " + ", ".join(f"{p.node}/{p.name} pid {p.pid}" for p in left))
    _out(f"lab down in {time.monotonic() - t0:.2f}s: stopped {len(lab.procs)} processes, removed {lab.dir}")
    return 0


# -- wiring ---------------------------------------------------------------------------------------


def _add_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", help="lab directory (default: $OVNTRACE_LAB_DIR or /tmp/ovntrace-lab-UID)")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``provision`` and ``lab`` commands."""
    prov = subparsers.add_parser("provision", help="the bundled provisioning runbook (the seed's steps)")
    psub = prov.add_subparsers(dest="provision_command", required=True, metavar="COMMAND")
    plan = psub.add_parser("plan", help="print the commands per node, in order, with what each is for")
    plan.add_argument("--inventory", help="inventory TOML (default: $OVNTRACE_INVENTORY, the config file's "
                      "inventory, the lab's inventory.toml, else the bundled seed cluster)")
    plan.add_argument("--node", help="only this node's commands")
    plan.add_argument("--checks", action="store_true", help="also print each step's 'done when' check")
    plan.set_defaults(func=cmd_plan)
    ap = psub.add_parser("apply", help="run the runbook on the nodes over SSH (skips steps already done)")
    ap.add_argument("--inventory", help="inventory TOML (default: $OVNTRACE_INVENTORY, the config file's "
                    "inventory, else the lab's inventory.toml: as plan, without the bundled fallback)")
    ap.add_argument("--node", help="only this node's steps")
    ap.add_argument("--step", action="append", metavar="S",
                    help="only these steps: an id (compute.2, as doctor names them) or a role (repeatable)")
    ap.add_argument("--yes", action="store_true", help="do not ask before changing a node")
    ap.add_argument("--log", help="append what ran here (default: provision-apply.log next to the inventory)")
    ap.add_argument("--accept-new", action="store_true", help="record unknown SSH host keys (never changed ones)")
    ap.set_defaults(func=cmd_apply)

    lab = subparsers.add_parser("lab", help="a real OVN cluster on this machine (loopback only)")
    lsub = lab.add_subparsers(dest="lab_command", required=True, metavar="COMMAND")

    up = lsub.add_parser("up", help="start the lab and apply the runbook")
    up.add_argument("--inventory", help="inventory TOML (default: the bundled seed cluster)")
    up.add_argument("--install", action="store_true", help="apt-get install the missing packages first")
    up.add_argument(
        "--tunnels",
        choices=["vport", "dummy"],
        default="vport",
        help="vport: real tunnel vports, cross-node traces end in tnl_push (default); "
        "dummy: tunnel ports are plain dummies (--enable-dummy=override), traces end in a datapath port",
    )
    up.add_argument(
        "--release",
        choices=["23.03", "25.03"],
        help="OVN release (default: the host's packages; Debian 12: OVN 23.03.1/OVS 3.1.0). One the host does "
        "not have runs from a Debian root under chroot, built once with debootstrap and cached "
        "(25.03: Debian 13, OVN 25.03.0/OVS 3.5.0, in $OVNTRACE_CACHE_DIR or /var/cache/ovntrace/rootfs-trixie)",
    )
    up.add_argument(
        "--topology",
        choices=["central", "interconnect"],
        help="central: one NB/SB on the central node, the seed's (default, unless the inventory says "
        "otherwise); interconnect: ovn-kubernetes' interconnect mode, every node its own zone (NB, SB, "
        "ovn-northd) joined by the transit switch transit_switch over geneve",
    )
    _add_dir(up)
    up.set_defaults(func=cmd_up)

    st = lsub.add_parser("status", help="processes, chassis in SB, tunnels per node")
    _add_dir(st)
    st.set_defaults(func=cmd_status)

    tr = lsub.add_parser("trace", help="ovs-appctl ofproto/trace on a node's ovs-vswitchd (raw output)")
    tr.add_argument("node")
    tr.add_argument("flow", help="microflow, e.g. from `ovntrace lab flow`")
    tr.add_argument("--bridge", default="br-int")
    tr.add_argument("--ct-next", action="append", metavar="FLAGS", help="e.g. trk,est (repeatable)")
    _add_dir(tr)
    tr.set_defaults(func=cmd_trace)

    fl = lsub.add_parser("flow", help="print the microflow of a pod's packet (for lab trace)")
    fl.add_argument("node")
    fl.add_argument("pod", help="namespace/name, namespace_name or name")
    fl.add_argument("dst", nargs="+", help="destination IPv4 address(es)")
    fl.add_argument("--proto", default="icmp", choices=["icmp", "tcp", "udp", "ip", "arp"])
    fl.add_argument("--dport", type=int)
    fl.add_argument("--sport", type=int)
    fl.add_argument("--src-ip", help="spoofed source address (port-security tests)")
    fl.add_argument("--ttl", type=int, default=64)
    _add_dir(fl)
    fl.set_defaults(func=cmd_flow)

    pod = lsub.add_parser("pod", help="add or delete a pod")
    podsub = pod.add_subparsers(dest="pod_command", required=True, metavar="COMMAND")
    pa = podsub.add_parser("add", help="add a pod on a node")
    pa.add_argument("node")
    pa.add_argument("pod", help="namespace/name")
    pa.add_argument("--ip", help="default: the next free address of the node's subnet")
    pa.add_argument("--mac", help="default: 0a:58 and the IP's bytes")
    _add_dir(pa)
    pa.set_defaults(func=cmd_pod_add)
    pd = podsub.add_parser("del", help="delete a pod")
    pd.add_argument("pod")
    _add_dir(pd)
    pd.set_defaults(func=cmd_pod_del)

    env = lsub.add_parser("env", help="print `export` lines that make OVS/OVN tools target a node")
    env.add_argument("node")
    _add_dir(env)
    env.set_defaults(func=cmd_env)

    down = lsub.add_parser("down", help="stop the lab's processes (by pid) and remove its dir")
    _add_dir(down)
    down.set_defaults(func=cmd_down)


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (``python -m ovntrace.lab``) until the main CLI wires ``register``."""
    parser = argparse.ArgumentParser(prog="ovntrace")
    register(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except LabError as e:
        from ovntrace.render.safe import escape

        print(f"ovntrace: {escape(str(e))}", file=sys.stderr)
        return e.exit_code
    except BrokenPipeError:  # e.g. `| head`
        sys.stderr.close()
        return 0
