"""The TUI's Logical tab beside the OpenFlow tree (tui/widgets/logical.py): a paste holding an ovn-trace and
the ofproto/trace of the same packet (real lab pairs), and a live `ovntrace path --tui` on the real lab."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widgets import TabbedContent

from ovntrace.lab import inventory
from ovntrace.lab.lab import Lab
from ovntrace.tui.app import create_app
from ovntrace.tui.live import PathRequest
from ovntrace.tui.screens.explain import ExplainScreen
from ovntrace.tui.source import Options
from ovntrace.tui.widgets.logical import NONE, LogicalPane
from tests.conftest import FIX
from tests.tui.conftest import make_app, run_on_screen, settle

D = FIX / "lab" / "ovn-trace"


def _pane(screen: ExplainScreen) -> LogicalPane:
    return screen.query_one("#logical-pane", LogicalPane)


def test_logical_tab_shows_the_divergence_of_a_paste() -> None:
    async def scenario(pilot: Pilot[int], screen: ExplainScreen) -> None:
        await settle(pilot)
        await pilot.press("4")
        await pilot.pause(0.1)
        assert screen.query_one("#side", TabbedContent).active == "logical"
        text = _pane(screen).plain
        assert text.startswith("DIVERGE  diverge at ls_in_l2_lkup")
        assert "check ovn-controller" in text
        # the stage whose flow was deleted, marked, at the table where its flow should have been
        assert "✗ L35 ingress 28 ls_in_l2_lkup 0a78b04d → table 36  diverged" in text
        assert "= L6 ingress 0 ls_in_check_port_sec 8d23a481 → table 8  matched" in text

    run_on_screen(make_app(D / "25.03" / "divergence-deleted-flow.txt"), scenario)


def test_logical_tab_agrees_on_a_clean_pair_and_says_so_without_one() -> None:
    async def agree(pilot: Pilot[int], screen: ExplainScreen) -> None:
        await settle(pilot)
        assert _pane(screen).plain.startswith("AGREE  agree: both output to default_sshd-2")

    run_on_screen(make_app(D / "23.03" / "pair-router-hop-icmp.txt"), agree)

    async def none(pilot: Pilot[int], screen: ExplainScreen) -> None:
        await settle(pilot)
        assert _pane(screen).plain == NONE
        side = screen.query_one("#side", TabbedContent)
        assert not side.get_tab("logical").display  # the tab is hidden: nothing to compare
        await pilot.press("4")
        await pilot.pause(0.1)
        assert side.active == "details"

    run_on_screen(make_app(D / "25.03" / "same-node-icmp-detailed.txt"), none)


@pytest.mark.lab
def test_live_path_shows_the_logical_comparison(lab: Lab) -> None:
    lab._refresh_neighbors("kube-node2")
    req = PathRequest("default/client-1", "default/sshd-2", str(lab.inventory_path))
    app = create_app(None, Options(inventory=inventory.load(lab.inventory_path), live=req, doctor=False))

    async def scenario(pilot: Pilot[int], screen: ExplainScreen) -> None:
        await settle(pilot)
        assert screen.path_view is not None and screen.path_view.logical is not None
        assert screen.path_view.nodes == ("kube-node2", "kube-node1")  # the paste is the hops' traces only
        text = _pane(screen).plain
        assert text.startswith(f"ovn-trace on {lab.inventory.cluster.central}: ovn-trace --db=tcp:")
        assert "AGREE  agree: both output to default_sshd-2" in text
        assert "@kube-node2" in text and "@kube-node1" in text

    run_on_screen(app, scenario)
