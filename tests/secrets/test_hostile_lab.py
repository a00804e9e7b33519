"""Hostile secrets on the real lab: `provision apply` over the lab's sshd, `doctor`, `snapshot`.

The session lab's kube-node1 gets every secret of tests/secrets/hostile.py in its Open_vSwitch external_ids
(by `provision apply` itself: the real command must carry them byte-exact), and an SSH command prefix with a
token; then nothing secret may reach an output, a log or a snapshot file. The keys are removed afterwards.
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from ovntrace.lab import inventory as inv_mod
from ovntrace.lab.apply import apply, open_pool
from ovntrace.lab.lab import Lab
from tests.secrets.hostile import BY_NAME, BY_SHAPE, hostile, leaks
from tests.secrets.test_plan_apply_local import _echo_step

pytestmark = pytest.mark.lab
OVNTRACE = [sys.executable, "-c", "from ovntrace.cli import main; main()"]
SECRETS = {**BY_NAME, **BY_SHAPE}
PREFIX = "env OVNTRACE_TEST_TOKEN=S3CRET-PREFIX-J"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OVS_", "OVN_"))}
    return subprocess.run([*OVNTRACE, *args], capture_output=True, text=True, timeout=240, check=False, env=env)


@pytest.fixture(scope="module")
def hostile_inv(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    base = inv_mod.load(lab.inventory_path)
    inv = hostile(base)
    nodes = tuple(replace(n, ssh=replace(n.ssh, prefix=PREFIX)) if n.name == "kube-node1" and n.ssh else n
                  for n in inv.nodes)
    path = tmp_path_factory.mktemp("hostile") / "inventory.toml"
    inv_mod.save(replace(inv, nodes=nodes), path)
    try:
        yield path
    finally:
        lab.run("kube-node1", ["ovs-vsctl", "remove", "Open_vSwitch", ".", "external_ids", *SECRETS])
        lab.run("kube-node1", ["ovs-vsctl", "set", "Open_vSwitch", ".",
                               *(f"external_ids:{k}={json.dumps(v)}" for k, v in
                                 base.node("kube-node1").external_ids.items())])


@pytest.fixture(scope="module")
def applied(lab: Lab, hostile_inv: Path) -> subprocess.CompletedProcess[str]:
    res = _cli("provision", "apply", "--inventory", str(hostile_inv), "--node", "kube-node1", "--step",
               "compute.7", "--yes")
    assert res.returncode == 0, res.stdout + res.stderr
    return res


def _ids(lab: Lab) -> dict[str, str]:
    doc = json.loads(lab.run("kube-node1", ["ovs-vsctl", "--format=json", "--columns=external_ids", "list",
                                            "Open_vSwitch"]))
    return {k: v for k, v in doc["data"][0][0][1]}


def test_apply_over_ssh_sets_the_real_values_and_shows_none(lab: Lab, hostile_inv: Path,
                                                             applied: subprocess.CompletedProcess[str]) -> None:
    ids = _ids(lab)
    for k, v in SECRETS.items():
        assert ids[k] == v, k  # the command that ran carried every value byte-exact, through sshd
    out = applied.stdout + applied.stderr
    assert "[kube-node1] compute.7" in out and "ok" in out
    assert not leaks(out), leaks(out)
    log = hostile_inv.parent / "provision-apply.log"
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    body = log.read_text()
    assert "kube-node1 compute.7 run rc=0" in body and not leaks(body), leaks(body)
    again = _cli("provision", "apply", "--inventory", str(hostile_inv), "--node", "kube-node1", "--step",
                 "compute.7", "--yes")  # its check (an ovs-vsctl find with every value) says done
    assert again.returncode == 0 and "done already" in again.stdout and not leaks(again.stdout + again.stderr)


def test_a_failing_step_echoing_secrets_over_ssh_is_redacted(hostile_inv: Path, tmp_path: Path) -> None:
    inv = inv_mod.load(hostile_inv)
    out = io.StringIO()
    log = tmp_path / "apply.log"
    with open_pool(inv, hostile_inv) as pool:
        res = apply(inv, pool, [_echo_step("kube-node1")], out, None, log)
    text = out.getvalue()
    assert res.failed and "FAILED (exit 3)" in text and "Bearer ***" in text
    assert not leaks(text), leaks(text)
    assert stat.S_IMODE(log.stat().st_mode) == 0o600 and not leaks(log.read_text())


def test_doctor_shows_no_secret(hostile_inv: Path, applied: subprocess.CompletedProcess[str]) -> None:
    for fmt in ("text", "json"):
        res = _cli("doctor", "--inventory", str(hostile_inv), "--format", fmt)
        assert res.returncode in (0, 1), res.stderr
        assert not leaks(res.stdout + res.stderr), leaks(res.stdout + res.stderr)
        if fmt == "json":
            fixes = [f["fix"]["command"] for f in json.loads(res.stdout)["findings"] if f["fix"]]
            assert not leaks(" ".join(fixes))


def test_snapshot_file_holds_no_secret(hostile_inv: Path, applied: subprocess.CompletedProcess[str],
                                       tmp_path: Path) -> None:
    out = tmp_path / "snap.json"
    res = _cli("snapshot", "--inventory", str(hostile_inv), "-o", str(out))
    assert res.returncode == 0, res.stderr
    text = out.read_text()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert not leaks(text), leaks(text)
    assert not leaks(res.stdout + res.stderr)
    doc = json.loads(text)
    red = doc["redacted"]
    for k in SECRETS:
        assert f"kube-node1:Open_vSwitch.Open_vSwitch.external_ids:{k}" in red, k
    assert any("S3CRET" not in c["command"] and "OVNTRACE_TEST_TOKEN=<redacted>" in c["command"]
               for c in doc["commands"])
    # and what explain / path read from it: the model's external_ids
    from ovntrace.sources.load import load_context

    ctx = load_context(str(out))
    assert ctx.nodes and not leaks(repr(ctx.nodes))
