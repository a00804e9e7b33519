"""SSH collection: per-node command prefixes, ProxyJump, only the tables needed, the progress display.

Against the session's lab (tests/conftest.py) over its real sshd. The ProxyJump tests start one more sshd,
a copy of kube-master's (same host key and environment) on another loopback port with TCP forwarding
allowed (the lab's own sshds forbid it), and stop it by its pid."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from ovntrace.lab import inventory as inv_mod
from ovntrace.lab.lab import Lab
from ovntrace.lab.sshd import LOOPBACK, SSHD, free_port, user
from ovntrace.path import run_path
from ovntrace.pathcmd import main
from ovntrace.sources import collect, rpc
from ovntrace.sources.load import context_from_text_any
from ovntrace.sources.ssh import Pool, SshError, SshTransport, Target, resolve_target, split_prefix
from ovntrace.sources.tables import NB, SB, WANTED

SRC, DST = "default/client-1", "default/sshd-2"


def _run(*argv: str, tty: bool = False) -> tuple[int, str, str]:
    out = io.StringIO()
    err = _Tty() if tty else io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def lab_n(lab: Lab) -> Lab:
    for n in ("kube-node1", "kube-node2"):
        lab._refresh_neighbors(n)
    return lab


def _inventory(lab: Lab, tmp_path: Path, extra: dict[str, str], known_hosts: Path | None = None) -> Path:
    """A copy of the lab's inventory with ``extra`` (node -> TOML lines) added to that node's [nodes.ssh]."""
    inv = inv_mod.load(lab.inventory_path)
    nodes = []
    for n in inv.nodes:
        assert n.ssh is not None
        ssh = n.ssh
        if known_hosts is not None:
            ssh = dataclasses.replace(ssh, known_hosts=str(known_hosts))
        nodes.append(dataclasses.replace(n, ssh=ssh))
    text = inv_mod.dumps(dataclasses.replace(inv, nodes=tuple(nodes)))
    parts = text.split("[nodes.ssh]\n")
    assert len(parts) == len(nodes) + 1
    out = parts[0]
    for n, part in zip(nodes, parts[1:], strict=True):
        out += "[nodes.ssh]\n" + (extra[n.name] + "\n" if n.name in extra else "") + part
    p = tmp_path / "inventory.toml"
    p.write_text(out)
    return p


# -- 1. per-node command prefix -------------------------------------------------------------------------

def test_inventory_prefix_and_jump_are_optional_and_round_trip(lab: Lab) -> None:
    base = inv_mod.load(lab.inventory_path)
    assert all(n.ssh and n.ssh.prefix == "" and n.ssh.jump == "" for n in base.nodes)  # old TOML: defaults
    text = inv_mod.dumps(base)
    assert "prefix" not in text and "jump" not in text  # written only when set: the old format stays
    for key in ("prefix", "command_prefix"):
        t2 = text.replace("[nodes.ssh]\n", f"[nodes.ssh]\n{key} = 'kubectl exec -n ovn-kubernetes p -c c --'\n"
                          "jump = 'me@bastion:2222'\n", 1)
        inv = inv_mod.parse(__import__("tomllib").loads(t2))
        s = inv.nodes[0].ssh
        assert s is not None and s.prefix == "kubectl exec -n ovn-kubernetes p -c c --" and s.jump == "me@bastion:2222"
        assert inv_mod.parse(__import__("tomllib").loads(inv_mod.dumps(inv))).nodes[0].ssh == s
        t = resolve_target(inv.nodes[0].name, s)
        assert t.prefix == ("kubectl", "exec", "-n", "ovn-kubernetes", "p", "-c", "c", "--")
        assert [(j.user, j.host, j.port) for j in t.jump] == [("me", "bastion", 2222)]
    assert split_prefix("env 'A=a b'") == ("env", "A=a b")


@pytest.mark.lab
def test_prefix_from_the_inventory_is_run_each_word_quoted(lab_n: Lab, tmp_path: Path) -> None:
    # a prefix with a word holding a space: it reaches the remote shell as one word, else `b` would be run
    prefix = "nice -n 0 env 'OVNTRACE_PROBE=a b'"
    inv = _inventory(lab_n, tmp_path, {n: f"prefix = {json.dumps(prefix)}" for n in lab_n.inventory.node_names})
    r = run_path(SRC, DST, inv, "icmp")
    assert r.chains[0].verdict["delivered"]
    assert all(t.command.startswith("ovs-appctl") for c in r.chains for t in c.traces)  # as the user reruns it
    snap = tmp_path / "s.json"
    rc, _out, err = _run("snapshot", "--inventory", str(inv), "-o", str(snap))
    assert rc == 0, err
    cmds = [c["command"] for c in json.loads(snap.read_text())["commands"]]
    assert cmds and all(c.startswith("nice -n 0 env 'OVNTRACE_PROBE=a b' ovsdb-client ") for c in cmds)
    # the prefix is really run there: one that unsets the node's OVS environment breaks its conf.db read
    bad = _inventory(lab_n, tmp_path, {"kube-node1": 'command_prefix = "env -u OVS_RUNDIR -u OVS_DBDIR"'})
    rc, _out, err = _run("snapshot", "--inventory", str(bad), "-o", str(snap))
    assert rc == 1 and "kube-node1 not collected: kube-node1: `env -u OVS_RUNDIR -u OVS_DBDIR ovsdb-client" in err


# -- 2. ProxyJump -----------------------------------------------------------------------------------------

@pytest.fixture
def jump_sshd(lab: Lab, tmp_path: Path) -> Iterator[tuple[int, str]]:
    """(port, known_hosts line) of a copy of kube-master's sshd that allows TCP forwarding."""
    nd = lab.node_dir("kube-master")
    port = free_port()
    pid = tmp_path / "jump-sshd.pid"
    cfg = []
    for ln in (nd / "sshd_config").read_text().splitlines():
        if ln.startswith("ListenAddress "):
            ln = f"ListenAddress {LOOPBACK}:{port}"
        elif ln.startswith("PidFile "):
            ln = f"PidFile {pid}"
        elif ln.startswith("AllowTcpForwarding "):
            ln = "AllowTcpForwarding yes"
        cfg.append(ln)
    (tmp_path / "jump_sshd_config").write_text("\n".join(cfg) + "\n")
    os.chmod(tmp_path / "jump_sshd_config", 0o600)
    subprocess.run([SSHD, "-f", str(tmp_path / "jump_sshd_config"), "-E", str(tmp_path / "jump-sshd.log")],
                   check=True, timeout=30)
    for _ in range(100):
        if pid.exists() and pid.read_text().strip():
            break
        time.sleep(0.05)
    pub = (nd / "ssh_host_ed25519_key.pub").read_text().split()
    try:
        yield port, f"[{LOOPBACK}]:{port} {pub[0]} {pub[1]}"
    finally:
        with contextlib.suppress(ProcessLookupError, ValueError, FileNotFoundError):
            os.kill(int(pid.read_text().strip()), signal.SIGTERM)


def _kh_with(lab: Lab, tmp_path: Path, *lines: str) -> Path:
    kh = tmp_path / "known_hosts"
    kh.write_text((lab.dir / "known_hosts").read_text() + "".join(ln + "\n" for ln in lines))
    return kh


@pytest.mark.lab
def test_proxyjump_from_the_inventory(lab_n: Lab, jump_sshd: tuple[int, str], tmp_path: Path) -> None:
    port, kh_line = jump_sshd
    kh = _kh_with(lab_n, tmp_path, kh_line)
    jump = f'jump = "{user()}@{LOOPBACK}:{port}"'
    inv = _inventory(lab_n, tmp_path, {"kube-node2": jump}, known_hosts=kh)
    r = run_path(SRC, DST, inv, "icmp")
    assert r.chains[0].verdict["delivered"] and r.chains[0].traces[0].node == "kube-node2"
    assert r.stats["connections"] == 4  # the jump host's connection, then kube-node2's through it
    # the target's connection really runs inside a direct-tcpip channel of the jump host's
    node2 = inv_mod.load(inv).node("kube-node2")
    t = resolve_target("kube-node2", node2.ssh)
    assert [(j.host, j.port) for j in t.jump] == [(LOOPBACK, port)] and t.jump[0].key == t.key
    tr = SshTransport(t)
    try:
        assert tr.run(["sh", "-c", "echo $OVS_RUNDIR"]).strip().endswith("/kube-node2")
        client = tr._client
        assert isinstance(client, paramiko.SSHClient)
        sock = client.get_transport().sock  # type: ignore[union-attr]
        assert isinstance(sock, paramiko.Channel)
        assert tr.connections == 2
    finally:
        tr.close()


@pytest.mark.lab
def test_proxyjump_host_key_checked_and_forwarding_refused(lab_n: Lab, jump_sshd: tuple[int, str],
                                                           tmp_path: Path) -> None:
    port, _kh_line = jump_sshd
    # the jump host's key unknown: rejected, naming the node and the jump host
    inv = _inventory(lab_n, tmp_path, {"kube-node2": f'jump = "{user()}@{LOOPBACK}:{port}"'})
    rc, _out, err = _run("path", SRC, DST, "--inventory", str(inv))
    assert rc == 1 and "kube-node2 (jump " in err and f"unknown host key for [{LOOPBACK}]:{port}" in err
    # the lab's own kube-master sshd forbids TCP forwarding: a clear error
    master_port = inv_mod.load(lab_n.inventory_path).node("kube-master").ssh.port  # type: ignore[union-attr]
    inv = _inventory(lab_n, tmp_path, {"kube-node2": f'jump = "{user()}@{LOOPBACK}:{master_port}"'})
    rc, _out, err = _run("path", SRC, DST, "--inventory", str(inv))
    assert rc == 1 and "kube-node2: jump host" in err and "cannot forward" in err


@pytest.mark.lab
def test_proxyjump_from_ssh_config(lab_n: Lab, jump_sshd: tuple[int, str], tmp_path: Path) -> None:
    port, kh_line = jump_sshd
    kh = _kh_with(lab_n, tmp_path, kh_line)
    node2 = inv_mod.load(lab_n.inventory_path).node("kube-node2").ssh
    assert node2 is not None
    cfg = tmp_path / "ssh_config"
    cfg.write_text(
        f"Host bastion\n  HostName {LOOPBACK}\n  Port {port}\n  User {user()}\n  IdentityFile {node2.key}\n"
        f"  UserKnownHostsFile {kh}\n\n"
        f"Host kube-node2\n  HostName {LOOPBACK}\n  Port {node2.port}\n  User {user()}\n"
        f"  IdentityFile {node2.key}\n  UserKnownHostsFile {kh}\n  ProxyJump bastion\n")
    t = resolve_target("kube-node2", None, [cfg])
    assert [(j.host, j.port, j.known_hosts) for j in t.jump] == [(LOOPBACK, port, str(kh))]
    with Pool({"kube-node2": SshTransport(t)}) as pool:
        assert pool.run("kube-node2", ["echo", "through bastion"]) == "through bastion\n"
        assert pool.connections == 2
    # a changed key of the jump host: refused
    bad = tmp_path / "known_hosts_bad"
    master_pub = (lab_n.node_dir("kube-node1") / "ssh_host_ed25519_key.pub").read_text().split()
    bad.write_text(kh.read_text().replace(kh_line, f"[{LOOPBACK}]:{port} {master_pub[0]} {master_pub[1]}"))
    t_bad = dataclasses.replace(t, jump=(dataclasses.replace(t.jump[0], known_hosts=str(bad)),))
    with pytest.raises(SshError) as ei:
        SshTransport(t_bad).run(["true"])
    assert ei.value.kind == "hostkey-changed"


def test_jump_spec_parsing() -> None:
    via = Target("n", "10.0.0.5", 22, "me", "/k", "/kh")
    from ovntrace.sources.ssh import _jump_hops

    hops = _jump_hops("a@h1:2200,h2,[fe80::1]:22", via, [], False)
    assert [(h.user, h.host, h.port, h.key) for h in hops] == [
        ("a", "h1", 2200, "/k"), ("me", "h2", 22, "/k"), ("me", "fe80::1", 22, "/k")]
    assert _jump_hops("none", via, [], False) == ()
    with pytest.raises(SshError):
        _jump_hops("h:port", via, [], False)


# -- 3. only the tables needed: ovsdb-client query ---------------------------------------------------------

@pytest.mark.lab
def test_query_of_wanted_tables_equals_the_full_dump(lab: Lab) -> None:
    inv = lab.inventory
    assert inv.nodes[0].ssh is not None
    configs = [lab.inventory_path.parent / "ssh_config"]
    central = inv.cluster.central or inv.nodes[0].name
    transports = {n.name: SshTransport(resolve_target(n.name, n.ssh, configs)) for n in inv.nodes}
    with Pool(transports) as pool:  # type: ignore[arg-type]
        for db, port in ((NB, inv.cluster.nb_port), (SB, inv.cluster.sb_port)):
            remote = f"tcp:{inv.cluster.db_address}:{port}"
            lines: list[tuple[str, str]] = []
            read = collect.read_db(pool, central, remote, db, lines)
            # read-only, every argument one shell word; one select per wanted table, wanted columns only
            assert [shlex.split(ln)[:2] for _, ln in lines] == [["ovsdb-client", "get-schema"],
                                                                ["ovsdb-client", "query"]]
            txn = json.loads(shlex.split(lines[1][1])[3])
            assert txn[0] == db and {op["op"] for op in txn[1:]} == {"select"}
            assert {op["table"] for op in txn[1:]} == set(WANTED[db]) & set(read.schema.tables)
            for op in txn[1:]:
                cols = WANTED[db][op["table"]]
                assert cols is None or set(op["columns"]) <= cols | {"_uuid"}
            full = pool.run(central, ["ovsdb-client", "dump", "--format=json", remote, db])
            want = context_from_text_any(full, "dump", "nb" if db == NB else "sb")
            got = read.context()
            assert dataclasses.replace(got, sources=()) == dataclasses.replace(want, sources=())
            assert got.port_bindings or got.nb_rows
            # the dump-form text of the same reply (what a snapshot keeps) converts to the same context too
            again = context_from_text_any(read.dump_text(), "again", "nb" if db == NB else "sb")
            assert dataclasses.replace(again, sources=()) == dataclasses.replace(want, sources=())
            assert len(read.dump_text()) < len(full)


def test_select_helpers_are_pure() -> None:
    from ovntrace.sources.ovsdb import Schema

    schema = Schema.from_json({"name": NB, "tables": {
        "ACL": {"columns": {"priority": {"type": "integer"}, "name": {"type": {"key": "string", "min": 0}}}},
        "Other": {"columns": {"x": {"type": "string"}}}}})
    plan = rpc.select_plan(schema, NB)
    assert plan == [("ACL", ["priority", "name"])]
    assert rpc.select_transaction(NB, plan) == [
        NB, {"op": "select", "table": "ACL", "where": [], "columns": ["_uuid", "priority", "name"]}]
    results = [{"rows": [{"_uuid": ["uuid", "u1"], "priority": 5, "name": ["set", []]}]}]
    tables = rpc.tables_from_select_results(schema, plan, results)
    assert dict(tables["ACL"]) == {"u1": {"priority": 5, "name": None}}
    assert rpc.select_results_as_dump(plan, results) == [
        {"caption": "ACL table", "headings": ["_uuid", "priority", "name"], "data": [[["uuid", "u1"], 5, ["set", []]]]}]
    with pytest.raises(Exception, match="select on ACL failed"):
        rpc.tables_from_select_results(schema, plan, [{"error": "x"}])


# -- 4. progress display ----------------------------------------------------------------------------------

def test_progress_only_on_a_tty() -> None:
    plain = io.StringIO()
    p = collect.Progress(plain)
    p.start(2)
    p.step("a")
    p.finish()
    assert plain.getvalue() == ""
    tty = _Tty()
    p = collect.Progress(tty)
    p.start(2)
    p.step("kube-node1 conf.db")
    p.step("x")
    p.finish()
    out = tty.getvalue()
    assert "collecting 1/2" in out and "kube-node1 conf.db" in out and "collecting 2/2" in out
    assert out.endswith("\r\x1b[K") and "\n" not in out


@pytest.mark.lab
def test_progress_on_stderr_keeps_stdout_json(lab_n: Lab) -> None:
    rc, out, err = _run("path", SRC, DST, "--inventory", str(lab_n.inventory_path), "--format", "json", tty=True)
    assert rc == 0
    assert json.loads(out)["schema"] == "ovntrace.path/2"
    said, _, progress = err.partition("\n")  # the inventory line, then the progress display in place
    assert said.startswith("ovntrace path: inventory ") and "collecting 5/5" in progress and "\n" not in progress
    rc, out, err = _run("path", SRC, DST, "--inventory", str(lab_n.inventory_path), "--format", "json")
    assert rc == 0 and err.splitlines() == [said] and json.loads(out)["verdict"]["delivered"]
    rc, out, err = _run("path", SRC, DST, "--inventory", str(lab_n.inventory_path), "-f", "json", "-q", tty=True)
    assert rc == 0 and err == "" and json.loads(out)["verdict"]["delivered"]  # -q: no line, no progress
