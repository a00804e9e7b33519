"""`provision apply` interrupted: the remote step dies with its SSH channel (issue 17, item 11).

Real sshd, real ovn-nbctl: kube-node2's ovn-controller is stopped (SIGSTOP), so the runbook's
`ovn-nbctl --wait=hv sync` waits (up to its --timeout=60); apply is killed (SIGKILL: no cleanup of its
own runs) while it waits, and the ovn-nbctl that sshd started must be gone within seconds, not linger
until its own timeout.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ovntrace.lab import inventory as inv_mod
from ovntrace.lab.apply import _run_local, open_pool, planned_steps, run_shell
from ovntrace.lab.lab import Lab

pytestmark = pytest.mark.lab
OVNTRACE = [sys.executable, "-c", "from ovntrace.cli import main; main()"]


def _ppid(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _live(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX"
    except OSError:
        return False


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def _descendants(root: int) -> list[int]:
    """Live processes below ``root`` (the lab's sshd of a node): what SSH sessions to it run."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        pid, seen = int(d), 0
        p: int | None = pid
        while p and p > 1 and seen < 64:
            p = _ppid(p)
            seen += 1
            if p == root:
                if _live(pid):
                    out.append(pid)
                break
    return out


def _sshd(lab: Lab, node: str) -> int:
    return next(p.pid for p in lab.procs if p.node == node and p.name == "sshd")


def _matching(root: int, needle: str) -> list[int]:
    return [p for p in _descendants(root) if needle in _cmdline(p)]


def _wait_for(cond: object, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return bool(cond())  # type: ignore[operator]


@pytest.fixture
def stopped_controller(lab: Lab) -> Iterator[int]:
    pid = int((lab.node_dir("kube-node2") / "ovn-controller.pid").read_text().strip())
    os.kill(pid, signal.SIGSTOP)
    try:
        yield pid
    finally:
        os.kill(pid, signal.SIGCONT)
        lab.run("kube-master", ["ovn-nbctl", "--wait=hv", "--timeout=60", "sync"])


def test_killed_apply_leaves_no_wait_running_on_the_node(lab: Lab, stopped_controller: int, tmp_path: Path) -> None:
    inv = inv_mod.load(lab.inventory_path)
    wait = next(ps for ps in planned_steps(inv) if "--wait=hv" in ps.step.command)
    assert "--timeout=" in wait.step.command  # the wait itself is bounded too
    sshd = _sshd(lab, wait.node)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OVS_", "OVN_"))}
    proc = subprocess.Popen([*OVNTRACE, "provision", "apply", "--inventory", str(lab.inventory_path), "--node",
                             wait.node, "--step", wait.id, "--yes", "--log", str(tmp_path / "a.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        def nbctls() -> list[int]:
            return [p for p in _matching(sshd, "--wait=hv") if _cmdline(p).startswith("ovn-nbctl")]

        assert _wait_for(nbctls, 30), "the wait never started on the node"
        nbctl = nbctls()
        time.sleep(0.5)
        assert all(_live(p) for p in nbctl)  # still waiting: the controller is stopped
    finally:
        proc.kill()
        proc.wait()
    # the channel closed with the killed apply: the node's watcher kills the step's process group
    assert _wait_for(lambda: not any(_live(p) for p in nbctl), 10), \
        f"ovn-nbctl still running on the node: {[_cmdline(p) for p in nbctl if _live(p)]}"
    assert _wait_for(lambda: not _matching(sshd, "ovntrace-step"), 10)


def test_the_node_side_deadline_stops_a_step(lab: Lab) -> None:
    inv = inv_mod.load(lab.inventory_path)
    sshd = _sshd(lab, "kube-node1")
    t0 = time.monotonic()
    with open_pool(inv, lab.inventory_path) as pool:
        r = run_shell(pool, "kube-node1", "echo started; sleep 297; echo never", timeout=2)
    took = time.monotonic() - t0
    assert r.rc == 124 and "started" in r.output and "never" not in r.output  # timeout(1)'s status
    assert took < 10
    assert _wait_for(lambda: not _matching(sshd, "sleep 297"), 5)


def test_a_local_step_dies_with_apply(tmp_path: Path) -> None:
    """A node run on this machine: the step's stdin pipe is held by apply only; killing apply kills it."""
    mark = f"{296 + (os.getpid() % 1000) / 1000:.3f}"  # a sleep length no one else uses
    code = ("import sys; from ovntrace.lab.apply import _run_local; "
            f"print(_run_local('n', 'sleep {mark}; echo never', 60)); sys.stdout.flush()")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)

    def sleeping() -> list[int]:
        return [int(d) for d in os.listdir("/proc") if d.isdigit() and _cmdline(int(d)) == f"sleep {mark} "
                and _live(int(d))]

    try:
        assert _wait_for(sleeping, 20)
        found = sleeping()
    finally:
        proc.kill()
        proc.wait()
    assert _wait_for(lambda: not any(_live(p) for p in found), 10), "the local step outlived apply"
    assert _run_local("n", "echo hi; exit 4", 10).rc == 4
