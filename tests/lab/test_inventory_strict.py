"""The inventory refuses what it does not understand: unknown keys (named, with their line), wrong types and
values, each as one line and exit 2, never a traceback. (Issue 17, items 7 and 9.)"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from ovntrace.lab import inventory as inv_mod
from ovntrace.lab.cli import main

BASE = inv_mod.dumps(inv_mod.load())


def _write(tmp_path: Path, text: str, name: str = "inv.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _line_of(text: str, needle: str) -> int:
    return text.split("\n").index(needle) + 1


def _error(tmp_path: Path, text: str) -> inv_mod.InventoryError:
    with pytest.raises(inv_mod.InventoryError) as ei:
        inv_mod.load(_write(tmp_path, text))
    assert ei.value.exit_code == 2
    assert "\n" not in str(ei.value)
    return ei.value


def test_a_typo_for_ssh_is_an_error_naming_the_key_and_line(tmp_path: Path) -> None:
    # the bug: [nodes.shh] was ignored, the node had no ssh target and `apply --yes` ran its steps here
    text = BASE.replace("[nodes.gateway]", '[nodes.shh]\nhost = "10.0.0.1"\nport = 22\n\n[nodes.gateway]', 1)
    e = _error(tmp_path, text)
    assert f"line {_line_of(text, '[nodes.shh]')}" in str(e)
    assert "unknown key 'shh'" in str(e) and "node kube-master" in str(e) and "did you mean 'ssh'" in str(e)


@pytest.mark.parametrize(
    ("edit", "needle", "message"),
    [
        # unknown keys, wherever they are: top level, [cluster], a node, [nodes.ssh] (table, dotted, inline)
        (lambda t: "colour = 1\n" + t, "colour = 1", "unknown key 'colour' in the inventory"),
        (lambda t: t.replace('sb_port = 6642', 'sb_port = 6642\nsb-port = 1'), "sb-port = 1", "unknown key 'sb-port'"),
        (lambda t: t.replace('encap_ip = "172.17.42.31"', 'encap_ip = "172.17.42.31"\nsshh.host = "h"'),
         'sshh.host = "h"', "unknown key 'sshh' in node kube-node1"),
        (lambda t: t.replace('encap_ip = "172.17.42.32"', 'encap_ip = "172.17.42.32"\nssh = { host = "h", prot = 2 }'),
         'ssh = { host = "h", prot = 2 }', "unknown key 'prot' in node kube-node2 [nodes.ssh]"),
        (lambda t: t.replace('[[pods]]\nnamespace = "default"\nname = "web-1"',
                             '[[pods]]\nnamespace = "default"\nname = "web-1"\nnodes = "x"'),
         'nodes = "x"', "unknown key 'nodes' in [[pods]] #2"),
        (lambda t: t.replace('protocol = "tcp"', 'protocol = "tcp"\nbackend = "1.2.3.4"'),
         'backend = "1.2.3.4"', "unknown key 'backend'"),
        # ports: outside 1-65535 was written into every node's ovn-remote
        (lambda t: t.replace("sb_port = 6642", "sb_port = 70000"), "sb_port = 70000",
         "sb_port 70000 is not a TCP port"),
        (lambda t: t.replace("nb_port = 6641", "nb_port = 0"), "nb_port = 0", "nb_port 0 is not a TCP port"),
        (lambda t: t.replace("sb_port = 6642", "sb_port = 6641"), "sb_port = 6641", "both 6641"),
        # types (these raised TypeError / AddressValueError, exit 1)
        (lambda t: t.replace("sb_port = 6642", 'sb_port = "6642"'), 'sb_port = "6642"',
         "must be an integer, not '6642'"),
        (lambda t: t.replace('physical_ip = "172.17.42.30/24"', 'physical_ip = "banana"'),
         'physical_ip = "banana"', "physical_ip 'banana' is not an IPv4 address/prefix"),
        (lambda t: t.replace('physical_ip = "172.17.42.30/24"', "physical_ip = 7"),
         "physical_ip = 7", "physical_ip must be a string, not 7"),
        (lambda t: t.replace('mac = "0a:00:00:00:00:01"', "mac = 5"), "mac = 5", "mac must be a string, not 5"),
        (lambda t: t.replace('k8s-api-server = "127.0.0.1:8080"', "k8s-api-server = 8080"),
         "k8s-api-server = 8080", "k8s-api-server must be a string"),
        (lambda t: t.replace('backends = ["192.168.2.3:22"]', "backends = [22]"), "backends = [22]",
         "backend must be a string, not 22"),
        (lambda t: t.replace('datapath_type = "system"', 'datapath_type = "system"\ngateway = "breth0"', 1)
         .replace('[nodes.gateway]\nbridge = "breth0"\ninterface = "eth0"\nphysical_ip = "172.17.42.30/24"\n'
                  'default_gw = "172.17.42.1"', ""),
         'gateway = "breth0"', "[nodes.gateway] must be a table, not 'breth0'"),
        (lambda t: t.replace("log = true", 'log = "yes"'), 'log = "yes"', "log must be true or false"),
        # values
        (lambda t: t.replace('role = "compute"', 'role = "boss"', 1), 'role = "boss"', "role 'boss' is not one of"),
        (lambda t: t.replace('encap_type = "geneve"\n', 'encap_type = "gre"\n', 1), 'encap_type = "gre"',
         "encap_type 'gre' is not geneve, vxlan, stt"),
        (lambda t: t.replace('ip = "192.168.3.3"', 'ip = "192.168.9.3"'), 'ip = "192.168.9.3"',
         "is not in node kube-node2's subnet"),
        (lambda t: t.replace("priority = 1001", "priority = 40000"), "priority = 40000", "priority 40000 is not"),
        (lambda t: t.replace('action = "drop"', 'action = "dorp"'), 'action = "dorp"', "action 'dorp' is not one of"),
        (lambda t: t.replace('vip = "10.96.0.22:22"', 'vip = "10.96.0.22:99999"'), 'vip = "10.96.0.22:99999"',
         "port must be 1-65535"),
        (lambda t: t.replace('name = "kube-node2"', 'name = "kube node2"'), 'name = "kube node2"',
         "must be 1-63 letters"),
        (lambda t: t.replace('k8s-api-server = "127.0.0.1:8080"', 'k8s-api-server = "a\\u001b[2Jb"'),
         'k8s-api-server = "a\\u001b[2Jb"', "control character"),
    ],
)
def test_bad_keys_types_and_values(tmp_path: Path, edit: object, needle: str, message: str) -> None:
    text = edit(BASE)  # type: ignore[operator]
    assert text != BASE
    e = _error(tmp_path, text)
    assert message in str(e), str(e)
    assert f"line {_line_of(text, needle)}:" in str(e), str(e)


def test_ssh_table_values(tmp_path: Path) -> None:
    def with_ssh(body: str) -> str:
        return BASE.replace("[nodes.gateway]", "[nodes.ssh]\n" + body + "\n[nodes.gateway]", 1)

    assert inv_mod.load(_write(tmp_path, with_ssh('host = "10.0.0.1"\nport = 2222\njump = "me@bastion:22"')))
    for body, msg in [
        ('host = "10.0.0.1"\nport = 65536', "port 65536 is not a TCP port"),
        ('host = "10.0.0.1 ; rm"', "must be a host name"),
        ('host = ""', "must be a host name"),
        ('host = "h"\njump = "me@bastion:99999"', "jump hop"),
        ('host = "h"\nprefix = "sudo \'unclosed"', "not a shell word list"),
        ('port = 22', "has no 'host'"),
    ]:
        e = _error(tmp_path, with_ssh(body))
        assert msg in str(e) and "[nodes.ssh]" in str(e), str(e)


def test_unreadable_inventories_are_one_line_exit_2(tmp_path: Path) -> None:
    raw = BASE.encode().replace(b'name = "seed"', b'name = "s\xffeed"')
    p = tmp_path / "latin.toml"
    p.write_bytes(raw)
    with pytest.raises(inv_mod.InventoryError, match=r"line 4: not UTF-8 \(byte 0xff\)"):
        inv_mod.load(p)
    with pytest.raises(inv_mod.InventoryError, match="cannot read inventory") as ei:
        inv_mod.load(tmp_path / "nope.toml")
    assert ei.value.exit_code == 2
    with pytest.raises(inv_mod.InventoryError, match="invalid TOML"):
        inv_mod.load(_write(tmp_path, "[cluster\n"))


@pytest.mark.parametrize("command", [["provision", "plan"], ["provision", "apply", "--yes"]])
def test_cli_exits_2_with_one_line(tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    p = _write(tmp_path, BASE.replace('physical_ip = "172.17.42.30/24"', "physical_ip = 7"))
    assert main([*command, "--inventory", str(p)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "physical_ip must be a string, not 7" in err and "Error" not in err


def test_main_cli_and_path_exit_2_not_a_class_name(tmp_path: Path) -> None:
    p = _write(tmp_path, BASE.replace("sb_port = 6642", "sb_port = 70000"))
    for args in (["provision", "plan", "--inventory", str(p)], ["doctor", "--inventory", str(p)],
                 ["path", "a", "b", "--inventory", str(p)]):
        res = subprocess.run([sys.executable, "-c", "from ovntrace.cli import main; main()", *args],
                             capture_output=True, text=True, timeout=60, check=False)
        assert res.returncode == 2, (args, res.returncode, res.stderr)
        assert "sb_port 70000 is not a TCP port" in res.stderr and "Traceback" not in res.stderr
        assert not re.search(r"\b[A-Z][a-z]+Error\b", res.stderr), res.stderr


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    inv = inv_mod.load()
    p = tmp_path / "i.toml"
    inv_mod.save(inv, p)
    again = inv_mod.load(p)
    assert again.nodes == inv.nodes and again.cluster == inv.cluster and again.pods == inv.pods
