"""``ovntrace lab``: a real OVN cluster on one machine, from Debian's packages.

Per node: its own ``ovsdb-server`` (conf.db), ``ovs-vswitchd`` on the userspace dummy datapath
(``--enable-dummy=system``: the "system" datapath and NICs are in-process dummies, so there is
no kernel module, no kernel interface and nothing is sent on any network; tunnel ports stay real
geneve vports so traces show the encapsulation), ``ovn-controller`` and an ``sshd`` on loopback;
on the central node also the NB and SB ``ovsdb-server`` and ``ovn-northd``. Every daemon has its
own files under ``<lab dir>/nodes/<node>/``; NB/SB listen on 127.0.0.1 only. The node IPs of the
inventory (172.17.42.x in the seed) are configuration strings on dummy bridges: the lab gives each
node's ``breth0`` its IP and its peers' MACs (``tnl/neigh/set``) so that traces resolve tunnels.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ovntrace.lab import inventory as inv_mod
from ovntrace.lab import rootfs, runbook, sshd
from ovntrace.lab.errors import LabError
from ovntrace.lab.inventory import Gateway, Inventory, Node, Pod, SshTarget, atomic_write

STATE = "lab.json"
VSWITCH_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
NB_SCHEMA = "/usr/share/ovn/ovn-nb.ovsschema"
SB_SCHEMA = "/usr/share/ovn/ovn-sb.ovsschema"
PACKAGES = (
    "openvswitch-switch",
    "ovn-central",
    "ovn-host",
    "openssh-server",
    "openssh-client",
    "uuid-runtime",
)
#: what must exist, and the Debian package that brings it
REQUIRED: tuple[tuple[str, str], ...] = (
    ("/usr/sbin/ovsdb-server", "openvswitch-switch"),
    ("/usr/sbin/ovs-vswitchd", "openvswitch-switch"),
    ("/usr/bin/ovsdb-tool", "openvswitch-switch"),
    ("/usr/bin/ovs-vsctl", "openvswitch-switch"),
    ("/usr/bin/ovs-appctl", "openvswitch-switch"),
    ("/usr/bin/ovs-ofctl", "openvswitch-switch"),
    (VSWITCH_SCHEMA, "openvswitch-switch"),
    ("/usr/bin/ovn-northd", "ovn-central"),
    (NB_SCHEMA, "ovn-central"),
    (SB_SCHEMA, "ovn-central"),
    ("/usr/bin/ovn-controller", "ovn-host"),
    ("/usr/bin/ovn-nbctl", "ovn-host"),
    ("/usr/bin/ovn-sbctl", "ovn-host"),
    ("/usr/bin/ovn-appctl", "ovn-host"),
    (sshd.SSHD, "openssh-server"),
    (sshd.SSH_KEYGEN, "openssh-client"),
    ("/usr/bin/ssh", "openssh-client"),
    ("/usr/bin/uuidgen", "uuid-runtime"),
)
MAX_SOCKET_PATH = 107  # AF_UNIX paths are at most 107 bytes
#: tunnel forms: ``vport`` = real geneve/vxlan vports (``--enable-dummy=system``: traces end in
#: ``tnl_push(...)``); ``dummy`` = every netdev class, tunnels included, is a dummy
#: (``--enable-dummy=override``: traces end in a plain datapath port, no encapsulation)
TUNNEL_FORMS = ("vport", "dummy")
ENABLE_DUMMY = {"vport": "system", "dummy": "override"}
STOP_WAIT = 2.0
CMD_TIMEOUT = 60.0


def default_dir() -> Path:
    return inv_mod.lab_dir()


def apt_line(packages: Iterable[str] = PACKAGES) -> str:
    return "apt-get install -y " + " ".join(sorted(set(packages)))


#: what a lab in a chroot needs on the host: its sshd stays the host's
HOST_REQUIRED: tuple[tuple[str, str], ...] = (
    (sshd.SSHD, "openssh-server"),
    (sshd.SSH_KEYGEN, "openssh-client"),
    ("/usr/bin/ssh", "openssh-client"),
    ("/usr/sbin/chroot", "coreutils"),
)


def missing_packages(chroot: bool = False) -> list[str]:
    need = HOST_REQUIRED if chroot else REQUIRED
    return sorted({pkg for path, pkg in need if not os.path.exists(path)})


def host_release() -> str | None:
    """The OVN release (``23.03``) of the host's packages, from ``ovn-controller --version``."""
    try:
        out = subprocess.run(
            ["/usr/bin/ovn-controller", "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"ovn-controller (\d+\.\d+)", out)
    return m.group(1) if m else None


def plan_release(name: str | None) -> tuple[str, rootfs.Release | None]:
    """(release name, the release whose chroot runs it, or None for the host's packages)."""
    host = host_release()
    if name is None or name == host:
        return host or "host", None
    return name, rootfs.release(name)


def install_packages() -> None:
    """``apt-get install -y`` the lab's packages (needs root)."""
    cmd = ["apt-get", "install", "-y", *PACKAGES]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        res = subprocess.run(cmd, env=env, timeout=900, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise LabError(f"{apt_line()} failed: {e}") from None
    if res.returncode != 0:
        raise LabError(f"{apt_line()} failed (exit {res.returncode})")


# ---------------------------------------------------------------------------------------------
# processes


@dataclass(frozen=True)
class Proc:
    """A daemon the lab started: identified by pid and start time, so a reused pid is never hit."""

    node: str
    name: str
    pid: int
    start: int

    def to_json(self) -> dict[str, Any]:
        return {"node": self.node, "name": self.name, "pid": self.pid, "start": self.start}


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks) of a process, or None if there is none."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = raw[raw.rfind(")") + 2 :].split()
    return rest[0], int(rest[19])


def alive(p: Proc) -> bool:
    st = _stat(p.pid)
    return st is not None and st[0] not in ("Z", "X") and st[1] == p.start


def _read_pid(pidfile: Path, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while True:
        try:
            text = pidfile.read_text().strip()
            if text:
                return int(text)
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise LabError(f"no pid in {pidfile} after {timeout:.0f}s")
        time.sleep(0.02)


def stop_procs(procs: Sequence[Proc], wait: float = STOP_WAIT) -> list[Proc]:
    """SIGTERM each still-running process of ours, SIGKILL what is left after ``wait`` seconds.

    Returns the processes that could not be stopped (none, normally)."""
    live = [p for p in procs if alive(p)]
    for p in live:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        live = [p for p in live if alive(p)]
        if not live:
            return []
        time.sleep(0.02)
    for p in live:
        if alive(p):
            with contextlib.suppress(ProcessLookupError):
                os.kill(p.pid, signal.SIGKILL)
    time.sleep(0.05)
    return [p for p in live if alive(p)]


# ---------------------------------------------------------------------------------------------
# the lab


def _lab_inventory(inv: Inventory, nb_port: int, sb_port: int, topology: str | None = None) -> Inventory:
    """The inventory as the lab runs it: NB/SB on 127.0.0.1 at the lab's ports, no other change.

    ``topology="interconnect"``: every node its own zone, whose NB/SB listen on 127.0.0.1 at ports of
    their own (``nb_port``/``sb_port`` are the first node's)."""
    c = replace(
        inv.cluster, db_address=sshd.LOOPBACK, listen_address=sshd.LOOPBACK, nb_port=nb_port, sb_port=sb_port
    )
    if topology is not None:
        c = replace(c, topology=topology)
    if c.topology != "interconnect":
        return replace(inv, cluster=c)
    used = {nb_port, sb_port}
    nodes = []
    for i, n in enumerate(inv.nodes):
        if i == 0:
            nb, sb = nb_port, sb_port
        else:
            nb = sshd.free_port()
            while nb in used:
                nb = sshd.free_port()
            used.add(nb)
            sb = sshd.free_port()
            while sb in used:
                sb = sshd.free_port()
            used.add(sb)
        nodes.append(replace(n, db_address=sshd.LOOPBACK, nb_port=nb, sb_port=sb))
    return replace(inv, cluster=c, nodes=tuple(nodes))


def underlay_bridge(node: Node) -> tuple[str, str]:
    """(bridge, NIC) that hold the node IP in the lab: the gateway bridge, else breth0/eth0."""
    g = node.gateway or Gateway()
    return g.bridge, g.interface


def underlay_prefix(node: Node) -> int:
    if node.gateway and node.gateway.physical_ip:
        return ipaddress.IPv4Interface(node.gateway.physical_ip).network.prefixlen
    return 24


class Lab:
    """A running lab (see the module doc). Create with :meth:`up`, reopen with :meth:`load`."""

    def __init__(
        self,
        directory: Path,
        inventory: Inventory,
        procs: list[Proc],
        tunnels: str = "vport",
        release: str = "host",
        root: Path | None = None,
        versions: dict[str, str] | None = None,
    ) -> None:
        self.dir = directory
        self.inventory = inventory
        self.procs = procs
        #: "vport" (real tunnel vports, tnl_push) or "dummy" (tunnel ports are plain dummies)
        self.tunnels = tunnels
        #: the OVN release that runs ("23.03", "25.03")
        self.release = release
        #: the chroot whose binaries run the nodes' commands (None: the host's packages)
        self.root = root
        #: {"ovs": "3.5.0", "ovn": "25.03.0"} as the binaries say
        self.versions = dict(versions or {})

    # -- layout ---------------------------------------------------------------------------------

    @property
    def run_base(self) -> str:
        """``<dir>/nodes`` as the nodes' daemons and commands see it. For a chroot lab the node
        dirs live inside the chroot (``/tmp/ovntrace-lab/<id>/nodes``, so every socket is
        reachable from both sides without a mount) and ``<dir>/nodes`` is a symlink to them."""
        if self.root is None:
            return str(self.dir / "nodes")
        ident = hashlib.sha256(str(self.dir).encode()).hexdigest()[:12]
        return f"/tmp/ovntrace-lab/{ident}/nodes"

    def rnode_dir(self, node: str) -> str:
        """``node``'s dir as its daemons see it (inside the chroot for a chroot lab)."""
        return f"{self.run_base}/{node}"

    @property
    def prefix(self) -> tuple[str, ...]:
        """The command prefix of every node command (``chroot ROOT`` for a chroot lab)."""
        return ("chroot", str(self.root)) if self.root is not None else ()

    # -- layout ---------------------------------------------------------------------------------

    def node_dir(self, node: str) -> Path:
        return self.dir / "nodes" / node

    @property
    def ssh_config(self) -> Path:
        return sshd.ssh_config(self.dir)

    @property
    def inventory_path(self) -> Path:
        return self.dir / "inventory.toml"

    def env(self, node: str) -> dict[str, str]:
        """Environment variables so that OVS/OVN tools target ``node``'s daemons."""
        inv = self.inventory
        inv.node(node)
        d = self.rnode_dir(node)
        env = {
            "OVS_RUNDIR": d,
            "OVS_DBDIR": d,
            "OVS_LOGDIR": d,
            "OVS_SYSCONFDIR": d,
            "OVS_PKGDATADIR": "/usr/share/openvswitch",
            "OVN_RUNDIR": d,
            "OVN_DBDIR": d,
            "OVN_LOGDIR": d,
            "OVN_SYSCONFDIR": d,
            "OVN_PKGDATADIR": "/usr/share/ovn",
            "OVNTRACE_LAB_DIR": str(self.dir),
            "OVNTRACE_LAB_NODE": node,
        }
        if node == inv.cluster.central or inv.interconnect:  # interconnect: every node its own zone
            env["OVN_NB_DB"] = f"unix:{d}/ovnnb_db.sock"
            env["OVN_SB_DB"] = f"unix:{d}/ovnsb_db.sock"
        else:
            c = inv.cluster
            env["OVN_NB_DB"] = f"tcp:{c.db_address}:{c.nb_port}"
            env["OVN_SB_DB"] = f"tcp:{c.db_address}:{c.sb_port}"
        return env

    def _full_env(self, node: str) -> dict[str, str]:
        env = dict(os.environ)
        for k in list(env):
            if k.startswith(("OVS_", "OVN_")):
                del env[k]
        env.update(self.env(node))
        path = env.get("PATH", "/usr/bin:/bin")
        for extra in ("/usr/sbin", "/usr/bin", "/sbin"):
            if extra not in path.split(":"):
                path += ":" + extra
        env["PATH"] = path
        return env

    # -- running commands -----------------------------------------------------------------------

    def _exec(
        self, node: str, argv: Sequence[str], *, shell: bool = False, check: bool = True, stdin: str | None = None
    ) -> str:
        what = argv[0] if not shell else argv[0].split()[0]
        try:
            res = subprocess.run(
                [*self.prefix, *(["bash", "-c", argv[0]] if shell else list(argv))],
                env=self._full_env(node),
                capture_output=True,
                text=True,
                input=stdin,
                timeout=CMD_TIMEOUT,
                check=False,
                cwd=self.node_dir(node) if self.node_dir(node).is_dir() else None,
            )
        except FileNotFoundError:
            raise LabError(f"{what}: command not found (install: {apt_line()})", exit_code=127) from None
        except subprocess.TimeoutExpired:
            raise LabError(f"{what} on {node} timed out after {CMD_TIMEOUT:.0f}s") from None
        if check and res.returncode != 0:
            first = _error_text(res.stderr, res.stdout)
            cmd = argv[0] if shell else " ".join(argv)
            raise LabError(
                self.inventory.redact(
                    f"on {node}: `{cmd[:200]}` failed (exit {res.returncode}): {first[:300]}"
                ),
                exit_code=res.returncode if 0 < res.returncode < 126 else 1,
            )
        return res.stdout

    def run(self, node: str, argv: Sequence[str], stdin: str | None = None) -> str:
        """Run ``argv`` with ``node``'s environment (in the chroot for a chroot lab), ``stdin`` on its
        standard input; its stdout (LabError if it fails)."""
        if not argv:
            raise LabError("nothing to run")
        return self._exec(node, argv, stdin=stdin)

    def sh(self, node: str, command: str, check: bool = True) -> str:
        """Run a shell command line with ``node``'s environment."""
        return self._exec(node, [command], shell=True, check=check)

    def run_steps(self, steps: Iterable[runbook.Step]) -> None:
        """Run runbook steps; a daemon step only has its check run (the lab starts daemons itself)."""
        for st in steps:
            if st.daemon:
                if st.check:
                    self.sh(st.node, st.check)
                continue
            self.sh(st.node, st.command)

    # -- tracing --------------------------------------------------------------------------------

    def _refresh_neighbors(self, node: str) -> None:
        n = self.inventory.node(node)
        bridge, _ = underlay_bridge(n)
        for other in self.inventory.nodes:
            if other.name != node:
                self.run(
                    node, ["ovs-appctl", "tnl/neigh/set", bridge, other.encap_ip, runbook.ip_mac(other.ip)]
                )

    def trace(self, node: str, flow: str, bridge: str = "br-int", ct_next: Sequence[str] = ()) -> str:
        """The raw ``ovs-appctl ofproto/trace`` text of ``flow`` on ``node``'s ovs-vswitchd."""
        self._refresh_neighbors(node)
        return self.run(node, self.trace_argv(node, flow, bridge, ct_next))

    def trace_argv(
        self, node: str, flow: str, bridge: str = "br-int", ct_next: Sequence[str] = ()
    ) -> list[str]:
        self.inventory.node(node)
        argv = ["ovs-appctl", "ofproto/trace", bridge, flow]
        for ct in ct_next:
            argv += ["--ct-next", ct]
        return argv

    def ofport(self, node: str, iface: str) -> int:
        out = self.run(node, ["ovs-vsctl", "get", "Interface", iface, "ofport"]).strip()
        try:
            port = int(out)
        except ValueError:
            raise LabError(f"interface {iface} on {node} has no ofport ({out!r})") from None
        if port <= 0:
            raise LabError(f"interface {iface} on {node} is not attached (ofport {port})")
        return port

    def mac_of(self, ip: str) -> str | None:
        """The MAC of a known address of the cluster (pod, management port, router port)."""
        inv = self.inventory
        for p in inv.pods:
            if p.ip == ip:
                return p.mac
        for n in inv.nodes:
            if n.mgmt_ip == ip:
                return runbook.mgmt_mac(n)
            if n.router_ip == ip:
                return runbook.router_mac(f"rtos-{n.name}")
        return None

    def microflow(
        self,
        node: str,
        pod: str,
        dst: str,
        proto: str = "icmp",
        dport: int | None = None,
        sport: int | None = None,
        src_ip: str | None = None,
        ttl: int = 64,
    ) -> str:
        """The microflow of a packet that ``pod`` (on ``node``) sends to ``dst``, for ofproto/trace.

        ``in_port`` is the pod's OVS port, ``dl_src``/``nw_src`` its MAC/IP (``src_ip`` spoofs the
        source), ``dl_dst`` the destination's MAC when it is on the pod's subnet, otherwise the MAC
        of the node switch's router port. ``proto`` is icmp, tcp, udp or arp (an ARP request)."""
        inv = self.inventory
        p = inv.pod(pod)
        if p.node != node:
            raise LabError(f"pod {p.ref} is on {p.node}, not on {node}")
        try:
            dst_ip = ipaddress.IPv4Address(dst)
        except ValueError:
            raise LabError(f"destination {dst!r} is not an IPv4 address") from None
        n = inv.node(node)
        in_port = self.ofport(node, p.iface)
        src = src_ip or p.ip
        if proto == "arp":
            return (
                f"in_port={in_port},arp,dl_src={p.mac},dl_dst=ff:ff:ff:ff:ff:ff,arp_op=1,"
                f"arp_spa={src},arp_tpa={dst_ip},arp_sha={p.mac},arp_tha=00:00:00:00:00:00"
            )
        if dst_ip in n.network:
            dl_dst = self.mac_of(str(dst_ip))
            if dl_dst is None:
                raise LabError(f"{dst_ip} is on {n.subnet} but no pod or port of the inventory has it")
        else:
            dl_dst = runbook.router_mac(f"rtos-{node}")
        head = (
            f"in_port={in_port},{{}},dl_src={p.mac},dl_dst={dl_dst},nw_src={src},nw_dst={dst_ip},nw_ttl={ttl}"
        )
        if proto == "icmp":
            return head.format("icmp") + ",icmp_type=8,icmp_code=0"
        if proto in ("tcp", "udp"):
            tail = f",tp_src={sport or 40000},tp_dst={dport or (22 if proto == 'tcp' else 53)}"
            if proto == "tcp":
                tail += ",tcp_flags=syn"
            return head.format(proto) + tail
        if proto == "ip":
            return head.format("ip")
        raise LabError(f"protocol {proto!r}: use icmp, tcp, udp, ip or arp")

    # -- pods -----------------------------------------------------------------------------------

    def _save_inventory(self, inv: Inventory) -> None:
        self.inventory = inv
        inv_mod.save(inv, self.inventory_path)

    def pod_add(self, node: str, ref: str, ip: str | None = None, mac: str | None = None) -> Pod:
        inv = self.inventory
        n = inv.node(node)
        ns, _, name = ref.rpartition("/")
        ns = ns or "default"
        pod = Pod(namespace=ns, name=name, node=node, mac="", ip="")
        if any(p.lsp == pod.lsp for p in inv.pods):
            raise LabError(f"pod {ns}/{name} exists already")
        if ip is None:
            used = {p.ip for p in inv.pods} | {n.router_ip, n.mgmt_ip}
            free = next((str(h) for h in n.network.hosts() if str(h) not in used), None)
            if free is None:
                raise LabError(f"no free address left in {n.subnet}")
            ip = free
        if ipaddress.IPv4Address(ip) not in n.network:
            raise LabError(f"{ip} is not in {node}'s subnet {n.subnet}")
        pod = replace(pod, ip=ip, mac=(mac or runbook.ip_mac(ip)).lower())
        new = inv_mod.parse(_as_data(inv_mod.with_pod(inv, pod)), inv.source)  # validates the pod
        self.run_steps(runbook.pod_steps(new, pod))
        self._save_inventory(new)
        self.sh(self.zone_of(node), "ovn-nbctl --wait=hv --timeout=30 sync")
        return pod

    def pod_del(self, ref: str) -> Pod:
        pod = self.inventory.pod(ref)
        self.run_steps(runbook.pod_del_steps(self.inventory, pod))
        self._save_inventory(inv_mod.without_pod(self.inventory, pod))
        return pod

    # -- status ---------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Processes, chassis in the SB database and tunnel ports per node."""
        procs = [{**p.to_json(), "alive": alive(p)} for p in self.procs]
        chassis: list[dict[str, str]] = []
        tunnels: dict[str, list[dict[str, str]]] = {}
        errors: list[str] = []
        ic = self.inventory.interconnect
        for zone in self.zones():
            try:
                out = self.run(
                    zone,
                    [
                        "ovn-sbctl",
                        "--format=csv",
                        "--data=bare",
                        "--no-headings",
                        "--columns=name,hostname,other_config",
                        "list",
                        "Chassis",
                    ],
                )
                encaps = self.run(
                    zone,
                    [
                        "ovn-sbctl",
                        "--format=csv",
                        "--data=bare",
                        "--no-headings",
                        "--columns=chassis_name,type,ip",
                        "list",
                        "Encap",
                    ],
                )
                enc = {row[0]: (row[1], row[2]) for row in _csv(encaps)}
                for row in _csv(out):
                    t, ip = enc.get(row[0], ("", ""))
                    entry = {"name": row[0], "hostname": row[1], "encap": t, "ip": ip}
                    if ic:  # which zone's SB holds the row, and whether it is a remote zone's chassis
                        entry["zone"] = zone
                        entry["remote"] = "true" if "is-remote=true" in row[2] else "false"
                    chassis.append(entry)
            except LabError as e:
                errors.append(str(e))
        for n in self.inventory.nodes:
            try:
                out = self.run(
                    n.name,
                    [
                        "ovs-vsctl",
                        "--format=csv",
                        "--data=bare",
                        "--no-headings",
                        "--columns=name,type,options",
                        "find",
                        "Interface",
                        f"type={n.encap_type}",
                    ],
                )
                tunnels[n.name] = [{"name": r[0], "type": r[1], "options": r[2]} for r in _csv(out)]
            except LabError as e:
                errors.append(str(e))
        return {
            "dir": str(self.dir),
            "tunnel_form": self.tunnels,
            "running": all(p["alive"] for p in procs),
            "processes": procs,
            "topology": self.inventory.cluster.topology,
            "chassis": sorted(chassis, key=lambda c: (c.get("zone", ""), c["hostname"])),
            "tunnels": tunnels,
            "ssh_config": str(self.ssh_config),
            "errors": errors,
        }

    # -- lifecycle ------------------------------------------------------------------------------

    def _save_state(self) -> None:
        state = {
            "version": 1,
            "dir": str(self.dir),
            "tunnels": self.tunnels,
            "release": self.release,
            "root": str(self.root) if self.root else None,
            "versions": self.versions,
            "procs": [p.to_json() for p in self.procs],
        }
        atomic_write(self.dir / STATE, json.dumps(state, indent=1) + "\n")

    @classmethod
    def load(cls, directory: str | Path | None = None) -> Lab:
        d = Path(directory) if directory else default_dir()
        d = d.absolute()
        try:
            state = json.loads((d / STATE).read_text())
        except FileNotFoundError:
            raise LabError(f"no lab in {d} (start one with `ovntrace lab up`)", exit_code=3) from None
        except (OSError, ValueError) as e:
            raise LabError(f"cannot read {d / STATE}: {e}") from None
        procs = [Proc(p["node"], p["name"], int(p["pid"]), int(p["start"])) for p in state.get("procs", [])]
        tunnels = str(state.get("tunnels", "vport"))
        root = Path(state["root"]) if state.get("root") else None
        return cls(
            d,
            inv_mod.load(d / "inventory.toml"),
            procs,
            tunnels=tunnels,
            release=str(state.get("release", "host")),
            root=root,
            versions={str(k): str(v) for k, v in (state.get("versions") or {}).items()},
        )

    def down(self) -> list[Proc]:
        """Stop exactly the processes this lab started (by pid) and remove the lab dir."""
        left = stop_procs(self.procs)
        if (self.dir / STATE).exists():
            if self.root is not None:
                shutil.rmtree(self._host_run_base().parent, ignore_errors=True)
            shutil.rmtree(self.dir, ignore_errors=True)
        return left

    def host_path(self, path: str | Path) -> Path:
        """A path as the nodes see it (inside the chroot), as the host sees it."""
        if self.root is None:
            return Path(path)
        return self.root / str(path).lstrip("/")

    def _host_run_base(self) -> Path:
        """:attr:`run_base` as the host sees it."""
        return self.host_path(self.run_base)

    def _start(self, node: str, name: str, argv: list[str], pidfile: Path) -> None:
        self._exec(node, argv)
        pidfile = self.host_path(pidfile)
        pid = _read_pid(pidfile)
        st = _stat(pid)
        if st is None:
            raise LabError(f"{name} on {node} exited right after it started (see {pidfile.parent})")
        self.procs.append(Proc(node, name, pid, st[1]))
        self._save_state()

    def _start_central(self, node: str) -> None:
        d = Path(self.rnode_dir(node))
        for db, schema, conn in (
            ("ovnnb_db", NB_SCHEMA, "db:OVN_Northbound,NB_Global,connections"),
            ("ovnsb_db", SB_SCHEMA, "db:OVN_Southbound,SB_Global,connections"),
        ):
            self.run(node, ["ovsdb-tool", "create", str(d / f"{db}.db"), schema])
            self._start(
                node,
                f"ovsdb-server-{db[3:5]}",
                [
                    "ovsdb-server",
                    "--detach",
                    "--no-chdir",
                    "-vconsole:off",
                    f"--pidfile={d / db}.pid",
                    f"--log-file={d / db}.log",
                    f"--unixctl={d / db}.ctl",
                    f"--remote=punix:{d / db}.sock",
                    f"--remote={conn}",
                    str(d / f"{db}.db"),
                ],
                d / f"{db}.pid",
            )
        self.run(node, ["ovn-nbctl", "--no-wait", "init"])
        self.run(node, ["ovn-sbctl", "init"])
        self._start(
            node,
            "ovn-northd",
            [
                "ovn-northd",
                "--detach",
                "--no-chdir",
                "-vconsole:off",
                f"--pidfile={d}/ovn-northd.pid",
                f"--log-file={d}/ovn-northd.log",
                f"--ovnnb-db=unix:{d}/ovnnb_db.sock",
                f"--ovnsb-db=unix:{d}/ovnsb_db.sock",
            ],
            d / "ovn-northd.pid",
        )

    def _start_chassis(self, n: Node) -> None:
        node = n.name
        d = Path(self.rnode_dir(node))
        self.run(node, ["ovsdb-tool", "create", str(d / "conf.db"), VSWITCH_SCHEMA])
        self._start(
            node,
            "ovsdb-server",
            [
                "ovsdb-server",
                "--detach",
                "--no-chdir",
                "-vconsole:off",
                f"--pidfile={d}/ovsdb-server.pid",
                f"--log-file={d}/ovsdb-server.log",
                f"--remote=punix:{d}/db.sock",
                "--remote=db:Open_vSwitch,Open_vSwitch,manager_options",
                str(d / "conf.db"),
            ],
            d / "ovsdb-server.pid",
        )
        self.run(node, ["ovs-vsctl", "--no-wait", "init"])
        self._start(
            node,
            "ovs-vswitchd",
            [
                "ovs-vswitchd",
                "--detach",
                "--no-chdir",
                "-vconsole:off",
                f"--enable-dummy={ENABLE_DUMMY[self.tunnels]}",
                "--disable-system",
                "--disable-system-route",
                f"--pidfile={d}/ovs-vswitchd.pid",
                f"--log-file={d}/ovs-vswitchd.log",
                f"unix:{d}/db.sock",
            ],
            d / "ovs-vswitchd.pid",
        )
        # The node's underlay, in-process: a dummy NIC on the node bridge holding the node IP.
        bridge, nic = underlay_bridge(n)
        self.run(
            node,
            [
                "ovs-vsctl",
                "--may-exist",
                "add-br",
                bridge,
                "--",
                "set",
                "Bridge",
                bridge,
                f"datapath_type={n.datapath_type}",
                f"other_config:hwaddr={runbook.atom(runbook.ip_mac(n.ip))}",
                "--",
                "--may-exist",
                "add-port",
                bridge,
                nic,
                "--",
                "set",
                "Interface",
                nic,
                "type=dummy",
                "ofport_request=1",
            ],
        )
        self.run(node, ["ovs-ofctl", "add-flow", bridge, f"priority=100,in_port=LOCAL,actions=output:{nic}"])
        self.run(node, ["ovs-appctl", "netdev-dummy/ip4addr", bridge, f"{n.encap_ip}/{underlay_prefix(n)}"])
        self.run(node, ["ovs-appctl", "ovs/route/add", f"{n.encap_ip}/{underlay_prefix(n)}", bridge])
        self._refresh_neighbors(node)
        self._start(
            node,
            "ovn-controller",
            [
                "ovn-controller",
                "--detach",
                "--no-chdir",
                "-vconsole:off",
                f"--pidfile={d}/ovn-controller.pid",
                f"--log-file={d}/ovn-controller.log",
                f"unix:{d}/db.sock",
            ],
            d / "ovn-controller.pid",
        )

    @classmethod
    def up(
        cls,
        inventory: Inventory | None = None,
        directory: str | Path | None = None,
        provision: bool = True,
        tunnels: str = "vport",
        release: str | None = None,
        progress: rootfs.Progress | None = None,
        install: bool = False,
        topology: str | None = None,
    ) -> Lab:
        """Start the lab described by ``inventory`` (default: the bundled one) in ``directory``.

        With ``provision=False`` only the daemons (and sshd) are started: the runbook is not applied.
        ``tunnels``: ``"vport"`` (real tunnel vports: cross-node traces end in ``tnl_push(...)``) or
        ``"dummy"`` (``--enable-dummy=override``: tunnel ports are plain dummy ports, so a
        cross-node trace ends in ``output:<tunnel port>`` and a plain datapath port number).
        ``release``: the OVN release (``"23.03"``, ``"25.03"``; default: the host's packages). One
        that the host does not have runs from a Debian root of that release under ``chroot``
        (:mod:`ovntrace.lab.rootfs`: built once with debootstrap, cached; ``progress`` gets the
        build's progress lines, ``install`` lets it apt-get install debootstrap).
        ``topology``: ``"central"`` (one NB/SB on the central node, the seed's) or ``"interconnect"``
        (ovn-kubernetes' interconnect mode: every node its own zone with its own NB, SB and
        ovn-northd, a transit switch between them; geneve tunnels); default: the inventory's."""
        if tunnels not in TUNNEL_FORMS:
            raise LabError(f"tunnels {tunnels!r}: use one of {', '.join(TUNNEL_FORMS)}", exit_code=2)
        if topology is not None and topology not in inv_mod.TOPOLOGIES:
            raise LabError(f"topology {topology!r}: use one of {', '.join(inv_mod.TOPOLOGIES)}", exit_code=2)
        rel_name, rel = plan_release(release)
        missing = missing_packages(chroot=rel is not None)
        if missing:
            raise LabError(
                f"missing packages {', '.join(missing)}: run `{apt_line()}` (or `ovntrace lab up --install`)",
                exit_code=4,
            )
        src = inventory if inventory is not None else inv_mod.load()
        d = (Path(directory) if directory else default_dir()).absolute()
        if (d / STATE).exists():
            try:
                old = cls.load(d)
            except LabError:
                old = None
            if old is not None and any(alive(p) for p in old.procs):
                raise LabError(
                    f"a lab is already running in {d} (`ovntrace lab down --dir {d}` first)", exit_code=3
                )
            if old is not None and old.root is not None:
                shutil.rmtree(old._host_run_base().parent, ignore_errors=True)
            shutil.rmtree(d, ignore_errors=True)
        elif d.exists() and any(d.iterdir()):
            raise LabError(f"{d} exists and is not a lab directory: choose another --dir")
        root = rootfs.ensure(rel, progress=progress, install=install) if rel is not None else None
        probe = cls(d, src, [], root=root)
        longest = probe.rnode_dir(max(src.node_names, key=len)) + "/ovn-controller.4194304.ctl"
        if len(longest) > MAX_SOCKET_PATH:
            raise LabError(f"lab dir {d} is too long for unix sockets: use a shorter --dir")
        d.mkdir(parents=True, exist_ok=True)
        nb_port, sb_port = sshd.free_port(), sshd.free_port()
        while sb_port == nb_port:
            sb_port = sshd.free_port()
        lab_inv = _lab_inventory(src, nb_port, sb_port, topology)
        if lab_inv.interconnect:
            bad = [n.name for n in lab_inv.nodes if n.encap_type != "geneve"]
            if bad:  # the transit switch's port keys ride in the Geneve option: VXLAN has no room for them
                raise LabError(f"interconnect needs geneve tunnels; {', '.join(bad)} use another encap_type",
                               exit_code=2)
        lab = cls(d, lab_inv, [], tunnels=tunnels, release=rel_name, root=root)
        lab._save_state()
        try:
            lab._bring_up(provision)
        except BaseException as e:
            lab.down()
            if isinstance(e, LabError):
                raise LabError(f"lab up failed, rolled back: {e}", exit_code=e.exit_code) from None
            if isinstance(e, KeyboardInterrupt):
                raise
            raise LabError(f"lab up failed, rolled back: {type(e).__name__}: {e}") from None
        return lab

    def _bring_up(self, provision: bool) -> None:
        inv = self.inventory
        if self.root is not None:
            base = self._host_run_base()
            shutil.rmtree(base.parent, ignore_errors=True)  # left by a lab that was not taken down
            base.mkdir(parents=True)
            (self.dir / "nodes").symlink_to(base, target_is_directory=True)
        for n in inv.nodes:
            self.node_dir(n.name).mkdir(parents=True, exist_ok=True)
        inv_mod.save(inv, self.inventory_path)
        self.versions = self._read_versions(inv.cluster.central)
        self._save_state()
        for zone in (inv.node_names if inv.interconnect else [inv.cluster.central]):
            self._start_central(zone)
        for n in inv.nodes:
            self._start_chassis(n)
        # SSH: a client key, then one sshd per node with that node's environment.
        sshd.setup_client(self.dir)
        ssh_nodes = []
        for n in inv.nodes:
            sn = sshd.write_sshd_config(self.dir, self.node_dir(n.name), n.name, self.env(n.name))
            sshd.start(sn)
            pid = _read_pid(sn.pidfile)
            st = _stat(pid)
            if st is None:
                raise LabError(f"sshd on {n.name} exited right after it started (see {sn.log})")
            self.procs.append(Proc(n.name, "sshd", pid, st[1]))
            self._save_state()
            ssh_nodes.append(sn)
        sshd.write_client_files(self.dir, ssh_nodes)
        ports = {sn.node: sn.port for sn in ssh_nodes}
        nodes = tuple(
            replace(
                n,
                ssh=SshTarget(
                    host=sshd.LOOPBACK,
                    port=ports[n.name],
                    user=sshd.user(),
                    key=str(sshd.client_key(self.dir)),
                    known_hosts=str(sshd.known_hosts(self.dir)),
                    prefix=shlex.join(self.prefix),
                ),
            )
            for n in inv.nodes
        )
        self._save_inventory(replace(inv, nodes=nodes))
        # The runbook, phase by phase, on the node each phase names.
        for phase in runbook.plan(self.inventory) if provision else []:
            self.run_steps(phase.steps)
        if provision:
            self._lab_extras()

    def _read_versions(self, node: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, argv, pat in (
            ("ovs", ["ovs-vswitchd", "--version"], r"ovs-vswitchd \(Open vSwitch\) (\S+)"),
            ("ovn", ["ovn-controller", "--version"], r"ovn-controller (\S+)"),
        ):
            m = re.search(pat, self.run(node, argv))
            if m:
                out[key] = m.group(1)
        return out

    def zones(self) -> list[str]:
        """The nodes that run an NB/SB: every node (interconnect), else the central one."""
        inv = self.inventory
        return inv.node_names if inv.interconnect else [inv.cluster.central]

    def zone_of(self, node: str) -> str:
        """The node whose NB/SB ``node`` reads (itself in an interconnect lab)."""
        self.inventory.node(node)
        return node if self.inventory.interconnect else self.inventory.cluster.central

    def _lab_extras(self) -> None:
        """Lab-only config: the external gateways' MACs (nothing answers ARP on a dummy network)."""
        inv = self.inventory
        for n in runbook.gateways(inv):
            g = runbook.gateway_of(inv, n)
            assert g is not None
            self.run(
                self.zone_of(n.name),
                [
                    "ovn-nbctl",
                    "--may-exist",
                    "static-mac-binding-add",
                    f"rtoe-GR_{n.name}",
                    g.default_gw,
                    runbook.ip_mac(g.default_gw),
                ],
            )
        for zone in self.zones():
            self.run(zone, ["ovn-nbctl", "--wait=hv", "--timeout=60", "sync"])


#: what ovs-appctl/ovn-appctl add after the daemon's own error text: says nothing by itself
_GENERIC = re.compile(r"^(ovs|ovn)-appctl: \S+: (server returned an error|transaction error.*)$")


def _error_text(stderr: str, stdout: str) -> str:
    """The words of a failed command's error, for its LabError: the daemon's own text (``Bad openflow flow
    syntax: … unknown field in_prt``) rather than ``ovs-appctl``'s ``server returned an error`` after it,
    which is kept only when there is nothing else. ovs-appctl puts the daemon's text on stderr (OVS 3.1)
    or stdout; both are read."""
    err = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    out = [ln.strip() for ln in stdout.splitlines() if ln.strip()]
    own = [ln for ln in err if not _GENERIC.match(ln)]
    if own:
        return " ".join(own[-2:])
    if out:
        return out[0]
    return err[-1] if err else ""


def _csv(text: str) -> list[list[str]]:
    import csv
    import io

    return [row for row in csv.reader(io.StringIO(text)) if row]


def _as_data(inv: Inventory) -> dict[str, Any]:
    import tomllib

    return tomllib.loads(inv_mod.dumps(inv))
