"""The runbook and the inventory, without a lab (no daemons)."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest

from ovntrace.lab import inventory as inv_mod
from ovntrace.lab import runbook
from ovntrace.lab.cli import main
from ovntrace.lab.errors import LabError

TOKEN = "example-token-0123456789abcdef"


def test_default_inventory_is_the_seed_cluster() -> None:
    inv = inv_mod.load()
    assert inv.node_names == ["kube-master", "kube-node1", "kube-node2"]
    assert [n.encap_ip for n in inv.nodes] == ["172.17.42.30", "172.17.42.31", "172.17.42.32"]
    assert [n.subnet for n in inv.nodes] == ["192.168.1.0/24", "192.168.2.0/24", "192.168.3.0/24"]
    assert inv.cluster.cluster_subnet == "192.168.0.0/16"
    sshd2 = inv.pod("default/sshd-2")
    assert (sshd2.node, sshd2.mac, sshd2.ip, sshd2.lsp) == (
        "kube-node1",
        "0a:00:00:00:00:01",
        "192.168.2.3",
        "default_sshd-2",
    )
    assert inv.pod("client-1").node == "kube-node2"
    assert inv.central_node.gateway is not None and inv.central_node.gateway.bridge == "breth0"


def test_inventory_round_trips_through_toml() -> None:
    inv = inv_mod.load()
    again = inv_mod.parse(tomllib.loads(inv_mod.dumps(inv)), inv.source)
    assert again == inv


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (lambda d: d["nodes"][0].update(role="boss"), "role"),
        (lambda d: d["nodes"][1].update(subnet="192.168.2.0/33"), "not an IPv4 network"),
        (lambda d: d["pods"][0].update(node="nowhere"), "unknown node"),
        (lambda d: d["cluster"].update(central="nowhere"), "is not a node"),
        (lambda d: d["pods"][0].update(mac="zz"), "not a MAC"),
    ],
)
def test_bad_inventory_is_a_clear_error(patch: object, message: str) -> None:
    data = tomllib.loads(inv_mod.dumps(inv_mod.load()))
    patch(data)  # type: ignore[operator]
    with pytest.raises(LabError, match=message):
        inv_mod.parse(data)


def test_missing_inventory_file(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="cannot read inventory"):
        inv_mod.load(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[cluster\n")
    with pytest.raises(LabError, match="invalid TOML"):
        inv_mod.load(bad)


def test_plan_has_every_role_in_order_with_comments() -> None:
    inv = inv_mod.load()
    phases = runbook.plan(inv)
    roles = [p.role for p in phases]
    assert roles.index("central") < roles.index("compute") < roles.index("master-init")
    assert roles.index("master-init") < roles.index("node-init") < roles.index("gateway-init")
    assert roles.index("gateway-init") < roles.index("pod") < roles.index("policy")
    text = runbook.render(inv)
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line and not line.startswith("#"):
            assert lines[i - 1].startswith("# "), f"command without a comment: {line}"
    # the seed's commands, expressed for today's OVN
    assert "ovn-nbctl set-connection ptcp:6641\n" in text
    assert "ovn-sbctl set-connection ptcp:6642\n" in text
    assert 'test -e "${OVS_SYSCONFDIR:-/etc/openvswitch}/system-id.conf" || uuidgen >' in text
    assert "'external_ids:ovn-remote=\"tcp:172.17.42.30:6642\"'" in text
    assert "'external_ids:ovn-encap-type=\"geneve\"'" in text
    assert "--may-exist lrp-add kube-master rtos-kube-node1 " in text
    assert "ovn-nbctl --db=tcp:172.17.42.30:6641 --may-exist ls-add kube-node1" in text
    assert 'external_ids:ovn-bridge-mappings="physnet:breth0"' in text


def test_every_config_step_is_idempotent_and_checkable() -> None:
    inv = inv_mod.load()
    for phase in runbook.plan(inv):
        for st in phase.steps:
            if st.daemon:
                assert st.check and st.line().startswith(st.check + " >/dev/null 2>&1 || ")
                continue
            cmd = st.command
            assert (
                "--may-exist" in cmd
                or "--if-exists" in cmd
                or cmd.startswith(
                    ("test -e ", "ovs-vsctl set ", "ovn-nbctl set-connection", "ovn-sbctl set-connection")
                )
                or "sync" in cmd
            ), f"not idempotent: {cmd}"
            if phase.role != "policy" or "acl-add" in cmd or ("lb-add" in cmd and "ls-lb-add" not in cmd):
                assert st.check, f"no check: {cmd}"


def test_commands_are_properly_quoted() -> None:
    inv = inv_mod.load()
    for phase in runbook.plan(inv):
        for st in phase.steps:
            words = shlex.split(st.command)
            assert words
    acl = next(s for p in runbook.plan(inv) for s in p.steps if "acl-add" in s.command)
    words = shlex.split(acl.command)
    assert 'outport == "default_sshd-2" && ip4.src == 192.168.3.3 && tcp.dst == 22' in words
    assert "--name=deny-ssh-from-client-1" in words and "--log" in words


def test_secrets_are_redacted_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    inv = inv_mod.load()
    assert inv.secrets() == [TOKEN]
    text = runbook.render(inv, checks=True)
    assert TOKEN not in text
    assert 'external_ids:k8s-api-token="***"' in text
    assert main(["provision", "plan", "--checks"]) == 0
    out = capsys.readouterr().out
    assert TOKEN not in out and "***" in out


def test_plan_for_one_node(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["provision", "plan", "--node", "kube-node2"]) == 0
    out = capsys.readouterr().out
    nodes = set(re.findall(r"^# ===== (\S+):", out, re.M))
    assert nodes == {"kube-node2"}
    assert "default_client-1" in out and "default_sshd-2" not in out
    assert main(["provision", "plan", "--node", "kube-node9"]) == 1
    assert "no node 'kube-node9'" in capsys.readouterr().err


def test_plan_with_an_inventory_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inv = inv_mod.load()
    path = tmp_path / "inv.toml"
    inv_mod.save(inv, path)
    assert main(["provision", "plan", "--inventory", str(path)]) == 0
    assert f"inventory {path}" in capsys.readouterr().out


def test_macs_are_stable() -> None:
    assert runbook.router_mac("rtos-kube-node1") == runbook.router_mac("rtos-kube-node1")
    assert re.fullmatch(r"00:00:00(:[0-9a-f]{2}){3}", runbook.router_mac("x"))
    assert runbook.ip_mac("192.168.2.2") == "0a:58:c0:a8:02:02"
