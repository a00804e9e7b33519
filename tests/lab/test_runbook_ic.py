"""The interconnect runbook and inventory, without a lab (no daemons): what every zone is told to build."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from ovntrace.lab import inventory as inv_mod
from ovntrace.lab import runbook
from ovntrace.lab.apply import planned_steps
from ovntrace.lab.cli import main
from ovntrace.lab.errors import LabError
from ovntrace.lab.inventory import TRANSIT_SWITCH_KEY, Inventory


def ic_inventory() -> Inventory:
    inv = inv_mod.load()
    return replace(inv, cluster=replace(inv.cluster, topology="interconnect"))


def test_topology_round_trips_and_defaults_to_central() -> None:
    assert inv_mod.load().cluster.topology == "central" and not inv_mod.load().interconnect
    inv = ic_inventory()
    text = inv_mod.dumps(inv)
    assert 'topology = "interconnect"' in text
    again = inv_mod.parse(tomllib.loads(text), inv.source)
    assert again == inv and again.interconnect and again.router == "ovn_cluster_router"
    # the central dump is unchanged (no topology key)
    assert "topology" not in inv_mod.dumps(inv_mod.load())


def test_node_ids_and_transit_addresses() -> None:
    inv = ic_inventory()
    assert [inv.node_id(n) for n in inv.node_names] == [2, 3, 4]
    assert [inv.transit_ip(n) for n in inv.node_names] == ["100.88.0.2", "100.88.0.3", "100.88.0.4"]
    assert [inv.chassis_name(n) for n in inv.node_names] == inv.node_names
    assert inv_mod.load().chassis_name("kube-node1") == ""  # central: the runbook's uuidgen names it


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (lambda d: d["cluster"].update(topology="mesh"), "topology 'mesh' is not one of central, interconnect"),
        (lambda d: d["nodes"][1].update(node_id=2), "node id 2 is also node kube-master's"),
        (lambda d: d["nodes"][1].update(node_id="3"), "node_id must be"),
        (lambda d: d["nodes"][1].update(nb_port=70000), "not a TCP port"),
    ],
)
def test_bad_interconnect_inventory_is_a_clear_error(patch: object, message: str) -> None:
    data = tomllib.loads(inv_mod.dumps(ic_inventory()))
    patch(data)  # type: ignore[operator]
    with pytest.raises(LabError, match=message):
        inv_mod.parse(data)


def _steps(inv: Inventory, node: str, role: str | None = None) -> list[runbook.Step]:
    return [st for ph in runbook.plan(inv) for st in ph.steps if st.node == node and (role is None or st.role == role)]


def test_every_node_builds_its_own_zone() -> None:
    inv = ic_inventory()
    for n in inv.nodes:
        roles = [ph.role for ph in runbook.plan(inv) if ph.node == n.name]
        assert roles[:3] == ["central", "compute", "master-init"], roles
        for role in ("node-init", "gateway-init", "interconnect", "policy"):
            assert role in roles, (n.name, roles)
        for st in _steps(inv, n.name):
            assert "--db=" not in st.command, st.command  # every zone's NB/SB on its own node
        compute = " ".join(st.command for st in _steps(inv, n.name, "compute"))
        addr, _, sb = inv.zone_db(n.name)
        assert f"ovn-remote=\"tcp:{addr}:{sb}\"" in compute and 'ovn-is-interconn="true"' in compute
        assert f"echo {n.name} >" in compute  # the chassis name every other zone's SB uses


def test_transit_switch_and_ports_have_the_same_keys_everywhere() -> None:
    inv = ic_inventory()
    for n in inv.nodes:
        ic = [st.command for st in _steps(inv, n.name, "interconnect")]
        ts = next(c for c in ic if "ls-add transit_switch" in c)
        assert f'other_config:requested-tnl-key="{TRANSIT_SWITCH_KEY}"' in ts
        assert 'other_config:interconn-ts="transit_switch"' in ts
        for other in inv.nodes:
            o = other.name
            port = next(c for c in ic if f"lsp-add transit_switch tstor-{o} " in c)
            assert f"requested-tnl-key={inv.node_id(o)}" in port
            if o == n.name:
                assert f"lsp-set-type tstor-{o} router" in port and f"router-port=rtots-{o}" in port
                assert any(f"lrp-add ovn_cluster_router rtots-{o} " in c and f"{inv.transit_ip(o)}/16" in c
                           for c in ic)
            else:
                assert f"lsp-set-type tstor-{o} remote" in port and f"requested-chassis={o}" in port
                assert f"lsp-bind tstor-{o} {o}" in port
                chassis = next(c for c in ic if f"chassis-add {o} " in c)
                assert f"chassis-add {o} geneve {other.encap_ip}" in chassis and "is-remote=true" in chassis
                assert any(f"lr-route-add ovn_cluster_router {other.subnet} {inv.transit_ip(o)}" in c for c in ic)


def test_every_interconnect_step_has_a_check_and_an_id() -> None:
    inv = ic_inventory()
    ids = [ps.ref for ps in planned_steps(inv)]
    assert len(ids) == len(set(ids))
    for ps in planned_steps(inv):
        if ps.step.role == "interconnect":
            assert ps.step.check, ps.step.comment
    assert "kube-node2:interconnect.1" in ids


def test_policy_lives_in_the_zone_of_its_switch() -> None:
    inv = ic_inventory()
    acl_nodes = {st.node for ph in runbook.plan(inv) for st in ph.steps if "acl-add" in st.command}
    assert acl_nodes == {"kube-node1"}  # the seed's ACL is on switch kube-node1
    for n in inv.node_names:  # each zone has the service on its own switch, and waits for its own chassis
        cmds = [st.command for st in _steps(inv, n, "policy")]
        assert any(f"ls-lb-add {n} default_sshd-svc" in c for c in cmds)
        assert cmds[-1].startswith("ovn-nbctl --wait=hv")


def test_every_node_gets_a_gateway_router() -> None:
    inv = ic_inventory()
    for n in inv.nodes:
        gi = " ".join(st.command for st in _steps(inv, n.name, "gateway-init"))
        assert f"lr-add GR_{n.name}" in gi
        assert f"--policy=src-ip lr-route-add ovn_cluster_router {n.subnet} 100.64.1.{inv.node_id(n.name)}" in gi


def test_plan_cli_says_the_topology(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "ic.toml"
    p.write_text(inv_mod.dumps(ic_inventory()))
    assert main(["provision", "plan", "--inventory", str(p), "--node", "kube-node1"]) == 0
    out = capsys.readouterr().out
    assert "topology interconnect" in out and "tstor-kube-node2" in out and "kube-master:" not in out
