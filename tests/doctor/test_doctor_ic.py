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

    report = run_doctor(inv, node=SRC)
    errs = [f for f in report.findings if f.severity == "error"]
    assert [(f.node, f.check) for f in errs] == [(SRC, "switch-port")], [f.to_json() for f in errs]
    fd = errs[0]
    assert f"tstor-{DST}" in fd.message and "transit_switch" in fd.message
    assert fd.fix is not None and fd.fix.node == SRC and fd.fix.step.startswith("interconnect.")
    assert f"lsp-set-type tstor-{DST} remote" in fd.fix.command
    assert f"requested-chassis={DST}" in fd.fix.command
    assert f"--step {fd.fix.step}" in fd.fix.apply and f"--node {SRC}" in fd.fix.apply

    argv = fd.fix.apply.split()
    assert argv[:3] == ["ovntrace", "provision", "apply"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OVS_", "OVN_"))}
    res = subprocess.run([*OVNTRACE, *argv[1:], "--yes"], capture_output=True, text=True, timeout=180,
                         check=False, env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 run" in res.stdout, res.stdout
    lab.run(SRC, ["ovn-nbctl", "--wait=hv", "--timeout=30", "sync"])

    again = run_doctor(inv, node=SRC)
    assert not again.findings, [f.to_json() for f in again.findings]
    assert _crosses(lab)
