"""doctor and provision apply on an interconnect lab of their own (both releases): a clean lab is clean,
a remote transit port deleted in one zone is found there (and only there), with the runbook step that
puts it back; `provision apply` of that step repairs it and the cross-node trace is delivered again.

Everything is real: the labs' own NB/SB per zone, ovs-vswitchd's ofproto/trace, the CLI over SSH."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from ovntrace.doctor.cli import run_doctor
from ovntrace.lab.inventory import TRANSIT_SWITCH_KEY
from ovntrace.lab.lab import Lab
from tests.conftest import need_lab_packages, need_release

pytestmark = pytest.mark.lab
OVNTRACE = [sys.executable, "-c", "from ovntrace.cli import main; main()"]
SRC, DST = "kube-node2", "kube-node1"


@pytest.fixture(scope="module", params=[None, "25.03"], ids=["23.03", "25.03"])
def ic_lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    if request.param is None:
        need_lab_packages()
    else:
        need_release(request.param)
    lab = Lab.up(None, tmp_path_factory.mktemp("docic", numbered=True), release=request.param,
                 topology="interconnect")
    try:
        yield lab
    finally:
        left = lab.down()
        assert not left, f"processes left running: {left}"


def _crosses(lab: Lab) -> bool:
    """Hop 1 of client-1 -> sshd-2 leaves kube-node2 by geneve with the transit switch's key."""
    tr = lab.trace(SRC, lab.microflow(SRC, "client-1", "192.168.2.3"))
    acts = re.findall(r"^Datapath actions: (.*)$", tr, re.M)[-1]
    return "tnl_push" in acts and f"vni={TRANSIT_SWITCH_KEY:#x}" in acts


def test_missing_remote_port_found_and_repaired(ic_lab: Lab) -> None:
    lab = ic_lab
    inv = str(lab.inventory_path)
    clean = run_doctor(inv)
    assert not clean.findings, [f.to_json() for f in clean.findings]
    assert clean.checks > 100 and clean.nodes == lab.inventory.node_names
    assert _crosses(lab)

    lab.run(SRC, ["ovn-nbctl", "--wait=hv", "--timeout=30", "lsp-del", f"tstor-{DST}"])
    assert not _crosses(lab)  # no remote port: the transit switch has nowhere to send it
    # and the remote chassis of kube-master gets a wrong encap IP in kube-node2's SB
    enc = lab.run(SRC, ["ovn-sbctl", "--bare", "--columns=_uuid", "find", "Encap", 'chassis_name="kube-master"'])
    lab.run(SRC, ["ovn-sbctl", "set", "Encap", enc.strip(), 'ip="172.17.42.99"'])

    report = run_doctor(inv, node=SRC)
    errs = {f.check: f for f in report.findings if f.severity == "error"}
    # the tunnel to kube-master follows the wrong row: its fix is the remote chassis step too
    assert {(f.node, c) for c, f in errs.items()} == {(SRC, "switch-port"), (SRC, "remote-chassis-encap"),
                                                      (SRC, "tunnel")}, [f.to_json() for f in report.findings]
    fd = errs["switch-port"]
    assert f"tstor-{DST}" in fd.message and "transit_switch" in fd.message
    assert fd.fix is not None and fd.fix.node == SRC and fd.fix.step.startswith("interconnect.")
    assert f"lsp-set-type tstor-{DST} remote" in fd.fix.command
    assert f"requested-chassis={DST}" in fd.fix.command
    assert f"--step {fd.fix.step}" in fd.fix.apply and f"--node {SRC}" in fd.fix.apply
    ch = errs["remote-chassis-encap"]
    assert "172.17.42.99" in ch.message and "172.17.42.30" in ch.message
    assert ch.fix is not None and ch.fix.step.startswith("interconnect.") and ch.fix.step != fd.fix.step
    assert "the remote chassis kube-master" in ch.fix.comment
    tun = errs["tunnel"]
    assert "kube-master" in tun.message and tun.fix is not None and tun.fix.step == ch.fix.step

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OVS_", "OVN_"))}
    for fix in (fd.fix, ch.fix):
        argv = fix.apply.split()
        assert argv[:3] == ["ovntrace", "provision", "apply"]
        res = subprocess.run([*OVNTRACE, *argv[1:], "--yes"], capture_output=True, text=True, timeout=180,
                             check=False, env=env)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "# 1 run, 0 skipped" in res.stdout, res.stdout
        assert "cluster 'seed' (interconnect, 3 nodes)" in res.stdout  # issue 16: which inventory, said
    lab.run(SRC, ["ovn-nbctl", "--wait=hv", "--timeout=30", "sync"])

    again = subprocess.run([*OVNTRACE, "doctor", "--inventory", inv, "--node", SRC], capture_output=True,
                           text=True, timeout=180, check=False, env=env)
    assert again.returncode == 0 and "0 error(s)" in again.stdout, again.stdout + again.stderr
    # issue 16: which inventory and cluster, always said
    assert f"inventory {inv} (selected by --inventory), cluster 'seed' (interconnect, 3 nodes)" in again.stderr
    assert _crosses(lab)
