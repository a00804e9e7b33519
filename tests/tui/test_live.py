"""``ovntrace path SRC DST --tui``: the path traced over the lab's real sshd, in Textual workers.

Nothing is mocked: the lab's OVN/OVS run for real, paramiko talks to the lab's sshd, ``ofproto/trace`` runs
on the nodes. The pilot drives the app; a tmux test runs the command in a real terminal.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from ovntrace.lab import inventory
from ovntrace.lab.lab import Lab
from ovntrace.pathcmd import main as cli_main
from ovntrace.tui.app import OvnTraceApp, create_app
from ovntrace.tui.live import PathRequest
from ovntrace.tui.screens.conntrack import ConntrackScreen
from ovntrace.tui.screens.explain import ExplainScreen
from ovntrace.tui.source import Options
from ovntrace.tui.widgets.path import PathPane, fit_row
from ovntrace.tui.widgets.tree import TraceTree
from tests.conftest import ROOT
from tests.tui.conftest import run_on_screen as _run
from tests.tui.conftest import settle
from tests.tui.conftest import verdict_text as _verdict
from tests.tui.test_terminal import Tmux

SRC, DST = "default/client-1", "default/sshd-2"
PATH_LINE = (
    "pod default/client-1 @ kube-node2 → switch kube-node2 → router kube-master → switch kube-node1 ⇒ "
    "geneve 172.17.42.32 → 172.17.42.31 (dp 4, in 1, out 3) ⇒ switch kube-node1 (egress) → "
    "pod default/sshd-2 @ kube-node1"
)

pytestmark = pytest.mark.lab


@pytest.fixture
def live_lab(lab: Lab) -> Lab:
    """The lab's dummy underlay: the source node still knows its peers' MACs (as `lab trace` does)."""
    lab._refresh_neighbors("kube-node2")
    return lab


def _app(lab: Lab, **kw: object) -> OvnTraceApp:
    req = PathRequest(SRC, DST, str(lab.inventory_path), **kw)  # type: ignore[arg-type]
    return create_app(None, Options(inventory=inventory.load(lab.inventory_path), live=req, doctor=False))


def _notes(pilot: Pilot[int]) -> list[str]:
    return [n.message for n in pilot.app._notifications]


def test_live_path_traced_in_a_worker_and_explained_per_node(live_lab: Lab) -> None:
    async def scenario(pilot: Pilot[int], screen: ExplainScreen) -> None:
        assert "starting" in _verdict(screen) or "(escape: cancel)" in _verdict(screen)  # progress, not a freeze
        await settle(pilot)
        view = screen.path_view
        assert view is not None and view.line == PATH_LINE
        assert view.nodes == ("kube-node2", "kube-node1")
        assert _verdict(screen).startswith("DELIVERED: delivered to pod default/sshd-2")
        assert "(icmp, trk,new) · hop 1/2 on kube-node2" in _verdict(screen)
        pane = screen.query_one("#path", PathPane)
        rows = [str(o.prompt) for o in pane.options]
        # cut in its middle to the pane's width, its end (where the packet arrives) kept
        assert rows[0] == fit_row(f"⇒ {PATH_LINE}", pane._row_width())
        assert rows[0].endswith("⇒ switch kube-node1 (egress) → pod default/sshd-2 @ kube-node1")
        assert any(r.startswith("hop 2 @ kube-node1 · ") for r in rows)
        # each hop's trace is read with its own node's facts: hop 1 tunnels, hop 2 delivers to sshd-2's port
        assert screen.outline is not None and len(screen.outline.ovn) == 2
        hop1, hop2 = screen.outline.ovn
        assert hop1 is not None and hop1.verdict is not None and hop1.verdict.kind == "tunnel"
        assert hop2 is not None and hop2.verdict is not None and "default_sshd-2" in hop2.verdict.cause
        # the input is the hops' own ofproto/trace outputs, each after the command that made it
        assert "# ovntrace path: hop 2 on kube-node1 (trk,new): ovs-appctl ofproto/trace br-int" in screen.text

    _run(_app(live_lab), scenario)


def test_export_of_a_live_path_starts_with_the_path(live_lab: Lab, tmp_path: Path) -> None:
    target = tmp_path / "path.md"

    async def scenario(pilot: Pilot[int], screen: ExplainScreen) -> None:
        await settle(pilot)
        await pilot.press("e")
        await pilot.pause(0.15)
        box = pilot.app.screen.query_one("#export-path", Input)
        assert Path(box.value).name == "path-default-client-1-default-sshd-2-trk-new.ovntrace.md"  # a file name
        box.value = str(target)
        box.focus()
        await pilot.press("enter")
        await settle(pilot)

    _run(_app(live_lab), scenario)
    body = target.read_text(encoding="utf-8")
    assert body.startswith(f"## ovntrace path {SRC} → {DST} (icmp, trk,new)\n")
    assert f"**Path:** `{PATH_LINE}`" in body
    assert "in path order: hop 1 on kube-node2, hop 2 on kube-node1." in body
    assert body.count("### trace ") == 2


def test_c_picks_a_conntrack_state_and_retraces(live_lab: Lab) -> None:
    async def scenario(pilot: Pilot[int], screen: ExplainScreen) -> None:
        await settle(pilot)
        assert "--ct-next trk" not in screen.text
        await pilot.press("c")
        await pilot.pause(0.2)
        assert isinstance(pilot.app.screen, ConntrackScreen)
        await pilot.press("down", "enter")  # trk,new -> trk,est
        await pilot.pause(0.1)
        assert isinstance(pilot.app.screen, ExplainScreen)
        await settle(pilot)
        assert screen.live is not None and screen.live.ct == "trk,est"
        assert "--ct-next trk,est" in screen.text
        assert "(icmp, trk,est)" in _verdict(screen)
        tree = screen.query_one("#tree", TraceTree)
        assert screen.outline is not None and tree.outline is screen.outline  # the tree shows the new trace
        assert any("ct_state=est|trk" in n.text for n in screen.outline.flat)
        # escape in the picker keeps the state
        await pilot.press("c")
        await pilot.pause(0.2)
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert screen.live.ct == "trk,est" and isinstance(pilot.app.screen, ExplainScreen)

    _run(_app(live_lab), scenario)


def test_live_acl_drop_names_the_acl(live_lab: Lab) -> None:
    async def scenario(pilot: Pilot[int], screen: ExplainScreen) -> None:
        await settle(pilot)
        assert "deny-ssh-from-client-1" in _verdict(screen), _verdict(screen)
        assert screen.path_view is not None and not screen.path_view.verdict["delivered"]

    _run(_app(live_lab, proto="tcp", dport=22), scenario)


def test_escape_cancels_then_r_traces_again(live_lab: Lab) -> None:
    async def scenario(pilot: Pilot[int], screen: ExplainScreen) -> None:
        await pilot.press("escape")  # while the worker is still collecting over SSH
        await settle(pilot)
        assert screen.path_view is None and screen.outline is None
        assert "cancelled" in _verdict(screen)
        assert any("cancelled" in m for m in _notes(pilot))
        await pilot.press("r")
        await settle(pilot)
        assert screen.path_view is not None and screen.path_view.line == PATH_LINE

    _run(_app(live_lab), scenario)


def test_unknown_pod_is_a_notification_not_a_crash(live_lab: Lab) -> None:
    req = PathRequest("default/nope", DST, str(live_lab.inventory_path))
    app = create_app(None, Options(live=req, doctor=False))

    async def scenario(pilot: Pilot[int], screen: ExplainScreen) -> None:
        await settle(pilot)
        assert any("default/nope" in m for m in _notes(pilot)), _notes(pilot)
        assert "default/nope" in _verdict(screen)
        assert pilot.app.is_running

    _run(app, scenario)


def test_path_tui_usage_errors_exit_2_before_the_screen(capsys: pytest.CaptureFixture[str], tmp_path: object) -> None:
    assert cli_main(["path", SRC, DST, "--tui", "--reverse"]) == 2
    assert "--reverse" in capsys.readouterr().err
    assert cli_main(["path", SRC, DST, "--tui", "--inventory", "/nonexistent/inventory.toml"]) == 2
    assert "no inventory at /nonexistent/inventory.toml" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_path_tui_in_a_real_terminal(live_lab: Lab) -> None:
    session = f"ovntrace-path-{uuid.uuid4().hex[:8]}"
    ovntrace = os.path.join(os.path.dirname(sys.executable), "ovntrace")
    cmd = (f"TERM=xterm-256color PYTHONPATH={ROOT} {ovntrace} path {SRC} {DST} --tui "
           f"--inventory {live_lab.inventory_path}")
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "36", cmd],
                   check=True, timeout=20, cwd=ROOT, env={**os.environ, "TERM": "xterm-256color"})
    t = Tmux(session)
    try:
        screen = t.wait_for("DELIVERED: delivered to pod default/sshd-2")
        assert "(icmp, trk,new)" in screen and "hop 1 @ kube-node2" in screen
        t.keys("c")
        t.wait_for("Conntrack state")
        t.keys("Down", "Enter")
        screen = t.wait_for("(icmp, trk,est)")
        t.wait_for("DELIVERED: delivered to pod default/sshd-2")
        t.keys("q")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, timeout=20, check=False)
