"""The whole interconnect runbook through `ovntrace provision apply` (over the lab's sshd), on a bare
interconnect lab (daemons only, nothing provisioned): afterwards every step's check passes (a second apply
runs nothing but the unchecked steps) and a cross-node trace leaves by the transit switch's tunnel.
OVN 23.03 only (the host's packages); the 25.03 runbook runs in `lab25_ic` and test_doctor_ic.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from ovntrace.lab.inventory import TRANSIT_SWITCH_KEY
from ovntrace.lab.lab import Lab
from tests.conftest import need_lab_packages

pytestmark = pytest.mark.lab
OVNTRACE = [sys.executable, "-c", "from ovntrace.cli import main; main()"]


@pytest.fixture(scope="module")
def bare_ic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    need_lab_packages()
    lab = Lab.up(None, tmp_path_factory.mktemp("bareic", numbered=True), provision=False, topology="interconnect")
    try:
        yield lab
    finally:
        left = lab.down()
        assert not left, f"processes left running: {left}"


def _apply(lab: Lab) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OVS_", "OVN_"))}
    return subprocess.run([*OVNTRACE, "provision", "apply", "--inventory", str(lab.inventory_path), "--yes"],
                          capture_output=True, text=True, timeout=900, check=False, env=env)


def test_provision_apply_builds_the_interconnect_cluster(bare_ic: Lab) -> None:
    lab = bare_ic
    assert lab.run("kube-node1", ["ovn-nbctl", "ls-list"]).strip() == ""  # nothing provisioned yet
    first = _apply(lab)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr
    assert "cluster 'seed' (interconnect, 3 nodes)" in first.stdout
    m = re.search(r"^# (\d+) run, (\d+) skipped", first.stdout, re.M)
    assert m and int(m.group(1)) > 60, first.stdout[-2000:]
    again = _apply(lab)
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr
    m2 = re.search(r"^# (\d+) run, (\d+) skipped", again.stdout, re.M)
    assert m2, again.stdout[-2000:]
    # the second time only the steps without a check run (ls-lb-add, --wait=hv sync): one per zone each
    assert int(m2.group(1)) == 2 * len(lab.inventory.nodes), again.stdout[-3000:]

    tr = lab.trace("kube-node2", lab.microflow("kube-node2", "client-1", "192.168.2.3"))
    acts = re.findall(r"^Datapath actions: (.*)$", tr, re.M)[-1]
    assert "tnl_push" in acts and f"vni={TRANSIT_SWITCH_KEY:#x}" in acts, acts
