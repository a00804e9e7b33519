"""Real SSH for the lab: one Debian ``sshd`` per node on loopback, keys and known_hosts in the lab dir.

Each node's sshd sets (``SetEnv``) that node's OVS/OVN environment, so a command run over SSH
(``ssh -F <lab>/ssh_config kube-node1 ovs-vsctl show``) talks to that node's daemons.
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ovntrace.lab.errors import LabError
from ovntrace.lab.inventory import atomic_write

SSHD = "/usr/sbin/sshd"
SSH_KEYGEN = "/usr/bin/ssh-keygen"
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class SshNode:
    """Where a node's sshd listens and what it is keyed with."""

    node: str
    port: int
    host_key: Path
    config: Path
    pidfile: Path
    log: Path


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port free on ``host`` right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def keygen(path: Path, comment: str) -> None:
    """An ed25519 key pair at ``path`` / ``path.pub`` (no passphrase)."""
    res = subprocess.run(
        [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if res.returncode != 0:
        raise LabError(f"ssh-keygen failed for {path}: {res.stderr.strip()}")


def user() -> str:
    return getpass.getuser()


def client_key(lab_dir: Path) -> Path:
    return lab_dir / "id_ed25519"


def known_hosts(lab_dir: Path) -> Path:
    return lab_dir / "known_hosts"


def ssh_config(lab_dir: Path) -> Path:
    return lab_dir / "ssh_config"


def setup_client(lab_dir: Path) -> None:
    """The client key pair and the authorized_keys that every lab sshd accepts."""
    key = client_key(lab_dir)
    keygen(key, "ovntrace-lab-client")
    atomic_write(lab_dir / "authorized_keys", key.with_suffix(".pub").read_text(), mode=0o600)


def _setenv_value(value: str) -> str:
    if any(c in value for c in " \t\"'\\"):
        raise LabError(f"lab paths must not contain spaces or quotes: {value!r}")
    return value


def write_sshd_config(lab_dir: Path, node_dir: Path, node: str, env: dict[str, str]) -> SshNode:
    """Host key and sshd_config for ``node``; the port is picked now."""
    port = free_port()
    host_key = node_dir / "ssh_host_ed25519_key"
    keygen(host_key, f"ovntrace-lab-{node}")
    sn = SshNode(node, port, host_key, node_dir / "sshd_config", node_dir / "sshd.pid", node_dir / "sshd.log")
    setenv = " ".join(f"{k}={_setenv_value(v)}" for k, v in sorted(env.items()))
    lines = [
        f"# sshd of lab node {node} (ovntrace lab); loopback only",
        f"ListenAddress {LOOPBACK}:{port}",
        f"HostKey {host_key}",
        f"PidFile {sn.pidfile}",
        f"AuthorizedKeysFile {lab_dir / 'authorized_keys'}",
        f"AllowUsers {user()}",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password",
        "UsePAM no",
        "StrictModes no",
        "X11Forwarding no",
        "AllowTcpForwarding no",
        "PrintMotd no",
        "PrintLastLog no",
        "Subsystem sftp internal-sftp",
        "LogLevel ERROR",
        f"SetEnv {setenv}",
    ]
    atomic_write(sn.config, "\n".join(lines) + "\n", mode=0o600)
    return sn


def start(sn: SshNode) -> None:
    """Start the node's sshd (it daemonizes after it listens)."""
    if os.geteuid() == 0:
        # sshd's privilege separation needs this empty directory when run as root.
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    res = subprocess.run(
        [SSHD, "-f", str(sn.config), "-E", str(sn.log)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if res.returncode != 0:
        log = sn.log.read_text(errors="replace").strip() if sn.log.exists() else ""
        raise LabError(f"sshd for {sn.node} did not start: {(res.stderr.strip() or log)[:300]}")


def write_client_files(lab_dir: Path, nodes: list[SshNode]) -> None:
    """``known_hosts`` (each node's host key at ``[127.0.0.1]:port``) and ``ssh_config``."""
    kh = []
    cfg = ["# ssh -F this-file <node> <command>: run a command on a lab node (ovntrace lab)"]
    for sn in nodes:
        pub = sn.host_key.with_suffix(".pub").read_text().split()
        kh.append(f"[{LOOPBACK}]:{sn.port} {pub[0]} {pub[1]}")
        cfg += [
            "",
            f"Host {sn.node}",
            f"  HostName {LOOPBACK}",
            f"  Port {sn.port}",
            f"  User {user()}",
            f"  IdentityFile {client_key(lab_dir)}",
            "  IdentitiesOnly yes",
            f"  UserKnownHostsFile {known_hosts(lab_dir)}",
            "  GlobalKnownHostsFile /dev/null",
            "  StrictHostKeyChecking yes",
            "  BatchMode yes",
            "  LogLevel ERROR",
        ]
    atomic_write(known_hosts(lab_dir), "\n".join(kh) + "\n")
    atomic_write(ssh_config(lab_dir), "\n".join(cfg) + "\n")
