"""Hostile secrets through `provision plan` and `provision apply` (this host's shell as the node: the
transport a node without [nodes.ssh] gets), the apply log's mode, and the local-node warning."""

from __future__ import annotations

import json
import os
import shlex
import stat
from pathlib import Path

import pytest

from ovntrace.lab import inventory as inv_mod
from ovntrace.lab import runbook
from ovntrace.lab.apply import PlannedStep, apply, planned_steps
from ovntrace.lab.cli import main
from ovntrace.lab.errors import LabError
from ovntrace.sources.ssh import LocalTransport, Pool
from tests.secrets.hostile import BY_NAME, BY_SHAPE, hostile, leaks

SECRETS = {**BY_NAME, **BY_SHAPE}


@pytest.fixture
def inv_path(tmp_path: Path) -> Path:
    p = tmp_path / "inventory.toml"
    inv_mod.save(hostile(inv_mod.load()), p)
    return p


def test_plan_never_shows_a_secret(inv_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inv = inv_mod.load(inv_path)
    assert inv.nodes[1].external_ids["k8s-api-token"] == BY_NAME["k8s-api-token"]  # loaded byte-exact
    for node in (None, "kube-node1"):
        text = runbook.render(inv, node=node, checks=True)
        assert not leaks(text), leaks(text)
        assert 'external_ids:k8s-api-token="***"' in text and 'external_ids:db-password="***"' in text
        assert 'external_ids:k8s-api-server="https://admin:***@api.example:6443/path"' in text  # shape only
    assert main(["provision", "plan", "--checks", "--inventory", str(inv_path)]) == 0
    out = capsys.readouterr().out
    assert not leaks(out) and "ovs-vsctl set Open_vSwitch" in out


def test_planned_steps_show_redacted_and_run_real(inv_path: Path) -> None:
    inv = inv_mod.load(inv_path)
    ps = next(p for p in planned_steps(inv) if p.node == "kube-node1" and p.id == "compute.7")
    assert not leaks(ps.shown) and not leaks(ps.shown_check or "")
    real = shlex.split(ps.step.command)
    assert f"external_ids:k8s-api-token={runbook.atom(BY_NAME['k8s-api-token'])}" in real  # what runs is real


def _echo_step(node: str) -> PlannedStep:
    """A step whose output holds every secret raw, JSON-escaped and shell-quoted, then fails (exit 3)."""
    parts = [f"printf '%s\\n' {shlex.quote(v)} {shlex.quote(json.dumps(v))} {shlex.quote(shlex.quote(v))}"
             for v in SECRETS.values()]
    cmd = "; ".join(parts) + "; exit 3"
    return PlannedStep("x.1", 1, runbook.Step(node, "x", "print the secrets", cmd), shown="printf … (secrets)")


def test_apply_output_and_log_are_redacted_and_log_is_0600(inv_path: Path, tmp_path: Path) -> None:
    import io

    inv = inv_mod.load(inv_path)
    log = tmp_path / "provision-apply.log"
    log.write_text("old line\n")
    os.chmod(log, 0o644)  # the old default mode: apply makes it 0600
    out = io.StringIO()
    with Pool({"kube-node1": LocalTransport("kube-node1")}) as pool:
        res = apply(inv, pool, [_echo_step("kube-node1")], out, None, log)
    text = out.getvalue()
    assert res.failed and "FAILED (exit 3)" in text
    assert "Bearer ***" in text and "https://admin:***@api.example" in text  # the output is there, redacted
    assert not leaks(text), leaks(text)
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    body = log.read_text()
    assert body.startswith("old line\n") and "kube-node1 x.1 run rc=3" in body and not leaks(body)
    new = tmp_path / "new.log"
    with Pool({"kube-node1": LocalTransport("kube-node1")}) as pool:
        apply(inv, pool, [_echo_step("kube-node1")], io.StringIO(), None, new)
    assert stat.S_IMODE(new.stat().st_mode) == 0o600


def test_apply_log_refuses_a_symlink(inv_path: Path, tmp_path: Path) -> None:
    import io

    target = tmp_path / "elsewhere"
    target.write_text("")
    link = tmp_path / "link.log"
    link.symlink_to(target)
    with Pool({"kube-node1": LocalTransport("kube-node1")}) as pool, pytest.raises(LabError, match="symlink"):
        apply(inv_mod.load(inv_path), pool, [_echo_step("kube-node1")], io.StringIO(), None, link)
    assert target.read_text() == ""


def test_a_node_run_here_is_said_before_anything_runs(inv_path: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """No [nodes.ssh]: the steps would run on this machine. Said first, and in the question (asked on a
    real pty; answered "n": nothing runs)."""
    import argparse
    import io

    from ovntrace.lab.apply import cmd_apply

    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.ssh/config naming the node
    master, slave = os.openpty()
    os.write(master, b"n\n")
    out = io.StringIO()
    args = argparse.Namespace(inventory=str(inv_path), node="kube-node1", step=["compute.7"], yes=False,
                              log=str(tmp_path / "a.log"), accept_new=False)
    with os.fdopen(slave, "r") as stdin:
        rc = cmd_apply(args, stdin, out, io.StringIO())
    os.close(master)
    text = out.getvalue()
    assert rc == 3
    note = text.index("# NOTE: node kube-node1 has no [nodes.ssh]")
    assert note < text.index("[kube-node1] compute.7")
    assert "run on THIS machine" in text and "apply changes on kube-node1 (THIS machine)? [y/N]" in text
    assert not leaks(text)


def test_text_net_alone_redacts_raw_command_lines(inv_path: Path) -> None:
    """What the TUI's runbook pane does (inv.redact over the real command lines): it used to find the raw
    value only, never its quoted form."""
    inv = inv_mod.load(inv_path)
    text = "\n".join(f"{st.line()}\n{st.check or ''}" for ph in runbook.plan(inv) for st in ph.steps)
    assert leaks(text)  # the real commands do hold the secrets
    assert not leaks(inv.redact(text)), leaks(inv.redact(text))


def test_model_external_ids_use_the_rule() -> None:
    """A node's conf.db (any source: a sosreport's file, a dump) -> NodeFacts.external_ids, redacted."""
    from ovntrace.sources.convert import node_facts

    tables = {"Open_vSwitch": {"u1": {"external_ids": {"hostname": "n1", "system-id": "c1", **SECRETS}}}}
    ids = node_facts(tables, "n1").external_ids  # type: ignore[arg-type]
    assert ids["hostname"] == "n1" and ids["system-id"] == "c1"
    assert all(ids[k] == "***" for k in BY_NAME) and ids["k8s-api-server"] == "https://admin:***@api.example:6443/path"
    assert not leaks(repr(ids)), leaks(repr(ids))
