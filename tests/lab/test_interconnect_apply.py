"""The printed interconnect runbook (`provision plan`, as a user runs it: each node's block in bash) on a
bare interconnect lab (daemons only, nothing provisioned): afterwards every step's check passes, a
cross-node trace leaves by the transit switch's tunnel, and `provision apply` of a zone over SSH runs only
the unchecked steps. OVN 23.03 only (the host's packages); the 25.03 runbook runs in `lab25_ic` and
test_doctor_ic.py (a whole-plan `apply` over SSH took 450 s under this machine's load: not a suite test)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from ovntrace.lab import runbook
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


def _blocks(plan_text: str) -> list[tuple[str, str]]:
    """(node, script) for each block of a printed plan."""
    out: list[tuple[str, str]] = []
    for chunk in re.split(r"^(?=# ===== )", plan_text, flags=re.M)[1:]:
        m = re.match(r"# ===== (\S+):", chunk)
        assert m
        out.append((m.group(1), chunk))
    return out


def _run(lab: Lab, node: str, script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*lab.prefix, "bash", "-euo", "pipefail", "-c", script], env=lab._full_env(node),
                          capture_output=True, text=True, timeout=300, check=False)


def test_printed_interconnect_plan_builds_the_cluster(bare_ic: Lab) -> None:
    lab = bare_ic
    assert lab.run("kube-node1", ["ovn-nbctl", "ls-list"]).strip() == ""  # nothing provisioned yet
    text = runbook.render(lab.inventory)
    assert "topology interconnect" in text.splitlines()[0]
    for node, script in _blocks(text):
        res = _run(lab, node, script)
        assert res.returncode == 0, f"{node}: {res.stderr}\n{script}"
    # every step's check now says it is done (except where the printed plan held a redacted secret)
    secrets = lab.inventory.secrets()
    undone = []
    for phase in runbook.plan(lab.inventory):
        for st in phase.steps:
            if (st.check and not any(x in st.command for x in secrets)
                    and _run(lab, st.node, st.check).returncode != 0):
                undone.append(f"{st.node} {st.role}: {st.comment}")
    assert not undone, undone
    tr = lab.trace("kube-node2", lab.microflow("kube-node2", "client-1", "192.168.2.3"))
    acts = re.findall(r"^Datapath actions: (.*)$", tr, re.M)[-1]
    assert "tnl_push" in acts and f"vni={TRANSIT_SWITCH_KEY:#x}" in acts, acts


def test_provision_apply_on_a_built_zone_changes_nothing(bare_ic: Lab) -> None:
    """After the plan, `provision apply` of one zone over SSH runs only its unchecked steps."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OVS_", "OVN_"))}
    res = subprocess.run([*OVNTRACE, "provision", "apply", "--inventory", str(bare_ic.inventory_path), "--node",
                          "kube-node2", "--yes"], capture_output=True, text=True, timeout=600, check=False, env=env)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr
    assert "cluster 'seed' (interconnect, 3 nodes)" in res.stdout
    m = re.search(r"^# (\d+) run, (\d+) skipped", res.stdout, re.M)
    assert m and int(m.group(1)) == 2 and int(m.group(2)) > 30, res.stdout[-3000:]  # ls-lb-add, --wait=hv sync
