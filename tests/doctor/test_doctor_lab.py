"""doctor and provision apply on a real lab of their own: break it the ways doctor checks, read the finding and
its fix, apply the fix with `provision apply --yes`, and find doctor clean (and `ovntrace path` working) again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ovntrace.doctor.checks import Report
from ovntrace.doctor.cli import run_doctor
from ovntrace.lab.lab import Lab, Proc, _stat, alive, stop_procs
from tests.conftest import need_lab_packages

pytestmark = pytest.mark.lab
OVNTRACE = [sys.executable, "-c", "from ovntrace.cli import main; main()"]
DOCTOR = [sys.executable, "-m", "ovntrace.doctor.cli"]  # until ovntrace/cli.py wires doctor
TOKEN = "example-token-0123456789abcdef"


@pytest.fixture(scope="module")
def own_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    need_lab_packages()
    lab = Lab.up(None, tmp_path_factory.mktemp("doclab", numbered=True))
    try:
        yield lab
    finally:
        left = lab.down()
        assert not left, f"processes left running: {left}"


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    entry = DOCTOR if args[0] == "doctor" else OVNTRACE
    return subprocess.run([*entry, *args], capture_output=True, text=True, input=stdin, timeout=180,
                          check=False, env={k: v for k, v in os.environ.items() if not k.startswith(("OVS_", "OVN_"))})


def _doctor(lab: Lab) -> Report:
    return run_doctor(str(lab.inventory_path))


def _apply(lab: Lab, fix_apply: str) -> subprocess.CompletedProcess[str]:
    argv = fix_apply.split()
    assert argv[:3] == ["ovntrace", "provision", "apply"]
    res = _cli(*argv[1:], "--yes")
    assert res.returncode == 0, res.stdout + res.stderr
    return res


def _track_controller(lab: Lab, node: str) -> None:
    """An ovn-controller started by the runbook (ovn-ctl, with its --monitor parent) is not one the lab
    started: record both pids so that lab.down() stops exactly them."""
    pid = int((lab.node_dir(node) / "ovn-controller.pid").read_text().strip())
    for p in (pid, int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])):
        st = _stat(p)
        if st is not None and "ovn-controller" in Path(f"/proc/{p}/cmdline").read_text():
            lab.procs.append(Proc(node, "ovn-controller-runbook", p, st[1]))
    lab._save_state()


def _one(report: Report, node: str, check: str) -> dict[str, object]:
    found = [f for f in report.findings if f.node == node and f.check == check]
    assert found, f"no {check} finding on {node}: {[f.to_json() for f in report.findings]}"
    return found[0].to_json()


def test_clean_lab_is_clean(own_lab: Lab) -> None:
    res = _cli("doctor", "--inventory", str(own_lab.inventory_path))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 error(s)" in res.stdout
    doc = json.loads(_cli("doctor", "--inventory", str(own_lab.inventory_path), "--format", "json").stdout)
    assert doc["schema"] == "ovntrace.doctor/2" and doc["errors"] == 0 and doc["checks"] > 50
    assert TOKEN not in res.stdout


def test_break_five_ways_then_fix(own_lab: Lab) -> None:
    lab = own_lab
    # 1. no ovn-encap-ip on kube-node1
    lab.run("kube-node1", ["ovs-vsctl", "remove", "Open_vSwitch", ".", "external_ids", "ovn-encap-ip"])
    # 2. ovn-controller stopped on kube-node2 (by pid), 3. then its tunnel to kube-master deleted
    ctl = next(p for p in lab.procs if p.node == "kube-node2" and p.name == "ovn-controller")
    assert not stop_procs([ctl]) and not alive(ctl)
    tun = lab.run("kube-node2", ["ovs-vsctl", "--bare", "--columns=name", "find", "Interface",
                                 'options:remote_ip="172.17.42.30"']).strip()
    assert tun
    lab.run("kube-node2", ["ovs-vsctl", "del-port", "br-int", tun])
    # 4. the router port of kube-node2 removed
    lab.run("kube-master", ["ovn-nbctl", "lrp-del", "rtos-kube-node2"])
    # 5. NB no longer listening
    lab.run("kube-master", ["ovn-nbctl", "del-connection"])

    res = _cli("doctor", "--inventory", str(lab.inventory_path))
    assert res.returncode == 1, res.stdout + res.stderr
    report = _doctor(lab)
    enc = _one(report, "kube-node1", "ovn-encap-ip")
    ctlf = _one(report, "kube-node2", "ovn-controller")
    tunf = _one(report, "kube-node2", "tunnel")
    rp = _one(report, "kube-node2", "router-port")
    nb = _one(report, "kube-master", "nb-listening")
    fixes = {k: f["fix"] for k, f in (("enc", enc), ("ctl", ctlf), ("tun", tunf), ("rp", rp), ("nb", nb))}
    assert all(isinstance(v, dict) for v in fixes.values())
    steps = {k: (v["node"], v["step"]) for k, v in fixes.items()}  # type: ignore[index]
    assert steps == {"enc": ("kube-node1", "compute.2"), "ctl": ("kube-node2", "compute.6"),
                     "tun": ("kube-node2", "compute.6"), "rp": ("kube-node2", "node-init.2"),
                     "nb": ("kube-master", "central.2")}
    assert "ovn-encap-ip" in str(fixes["enc"]["command"])  # type: ignore[index]
    assert "set-connection" in str(fixes["nb"]["command"])  # type: ignore[index]
    assert "lrp-add" in str(fixes["rp"]["command"]) and "192.168.3.1/24" in str(fixes["rp"]["command"])  # type: ignore[index]
    assert "start_controller" in str(fixes["ctl"]["command"])  # type: ignore[index]
    assert "no ovn-encap-ip" in " ".join(enc["evidence"])  # type: ignore[arg-type]
    assert "ovn-nbctl get-connection" in " ".join(nb["evidence"])  # type: ignore[arg-type]
    assert TOKEN not in res.stdout

    # without --yes and without a terminal nothing changes
    refused = _cli("provision", "apply", "--inventory", str(lab.inventory_path), "--node", "kube-master",
                   "--step", "central.2", stdin="y\n")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert _one(_doctor(lab), "kube-master", "nb-listening")

    # apply the fixes doctor gave: NB first (the node's ovn-nbctl reaches NB over TCP)
    for k in ("nb", "enc", "ctl", "rp"):
        out = _apply(lab, str(fixes[k]["apply"])).stdout  # type: ignore[index]
        assert "$ " in out and TOKEN not in out
    _track_controller(lab, "kube-node2")
    # the tunnel's fix is the same step: now done, so skipped
    again = _apply(lab, str(fixes["tun"]["apply"])).stdout  # type: ignore[index]
    assert "skipped" in again
    lab.run("kube-master", ["ovn-nbctl", "--wait=hv", "--timeout=30", "sync"])

    report = _doctor(lab)
    assert not report.findings, [f.to_json() for f in report.findings]
    log = (lab.dir / "provision-apply.log").read_text()
    assert "set-connection" in log and "start_controller" in log and TOKEN not in log

    path = _cli("path", "default/client-1", "default/sshd-2", "--inventory", str(lab.inventory_path))
    assert path.returncode == 0, path.stdout + path.stderr
    assert "DELIVERED" in path.stdout


def test_apply_whole_node_is_idempotent_and_redacts(own_lab: Lab) -> None:
    res = _cli("provision", "apply", "--inventory", str(own_lab.inventory_path), "--node", "kube-node1",
               "--step", "compute", "--yes")
    assert res.returncode == 0, res.stdout + res.stderr
    assert TOKEN not in res.stdout and "***" in res.stdout
    assert "0 run, 7 skipped" in res.stdout


def test_apply_stops_at_first_failure(own_lab: Lab) -> None:
    # kube-node1's node-init runs ovn-nbctl over TCP: with NB not listening its check and command fail
    lab = own_lab
    lab.run("kube-master", ["ovn-nbctl", "del-connection"])
    lab.run("kube-master", ["ovn-nbctl", "lsp-del", "k8s-kube-node1"])
    try:
        res = _cli("provision", "apply", "--inventory", str(lab.inventory_path), "--node", "kube-node1",
                   "--step", "node-init", "--yes")
        assert res.returncode == 1, res.stdout + res.stderr
        assert "FAILED (exit" in res.stdout and "| " in res.stdout
        assert "stopped:" in res.stdout
    finally:
        nb = lab.inventory.cluster
        lab.run("kube-master", ["ovn-nbctl", "set-connection", f"ptcp:{nb.nb_port}:{nb.listen_address}"])
    ok = _cli("provision", "apply", "--inventory", str(lab.inventory_path), "--node", "kube-node1", "--yes")
    assert ok.returncode == 0, ok.stdout
    assert not _doctor(lab).findings


def test_unknown_step_and_missing_inventory(tmp_path: Path, own_lab: Lab) -> None:
    res = _cli("provision", "apply", "--inventory", str(own_lab.inventory_path), "--step", "nope.1", "--yes")
    assert res.returncode == 2 and "no step nope.1" in res.stderr
    res = _cli("doctor", "--inventory", str(tmp_path / "none.toml"))
    assert res.returncode == 2 and "no inventory" in res.stderr
