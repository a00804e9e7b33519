"""With an inventory, the runbook pane shows `ovntrace doctor`'s findings, read over the lab's real SSH."""

from __future__ import annotations

import asyncio

import pytest
from textual.pilot import Pilot

from ovntrace.lab import inventory
from ovntrace.lab.lab import Lab
from ovntrace.tui.app import create_app
from ovntrace.tui.source import Options, Source
from ovntrace.tui.widgets.panes import TextPane
from tests.tui.conftest import XNODE, settle


@pytest.mark.lab
def test_runbook_pane_shows_doctor_findings(lab: Lab) -> None:
    path = lab.inventory_path
    app = create_app(Source(path=XNODE, name=XNODE.name),
                     Options(inventory=inventory.load(path), inventory_path=str(path)))

    async def scenario(pilot: Pilot[int]) -> None:
        await settle(pilot)
        await pilot.press("2")  # the runbook tab
        await pilot.press("j")
        await pilot.pause(0.3)
        pane = pilot.app.screen.query_one("#runbook-pane", TextPane)
        assert "# doctor: 0 error(s)" in pane.shown, pane.shown[:400]
        assert "kube-node1" in pane.shown

    async def main() -> None:
        async with app.run_test(size=(160, 48)) as pilot:
            await scenario(pilot)

    asyncio.run(main())


@pytest.mark.lab
def test_doctor_progress_shows_and_escape_stops_it(lab: Lab) -> None:
    path = lab.inventory_path
    app = create_app(Source(path=XNODE, name=XNODE.name),
                     Options(inventory=inventory.load(path), inventory_path=str(path)))

    async def scenario(pilot: Pilot[int]) -> None:
        await pilot.press("2")  # the runbook tab
        pane = pilot.app.screen.query_one("#runbook-pane", TextPane)
        for _ in range(200):  # until the first commands have answered
            await pilot.pause(0.02)
            if " commands (escape: stop)" in pane.shown:
                break
        assert "# doctor: checking the cluster over SSH (read-only)…" in pane.shown, pane.shown[:300]
        assert " commands (escape: stop)" in pane.shown
        await pilot.press("escape")
        await settle(pilot)
        screen = pilot.app.screen
        assert screen.doctor_state == "stopped"  # type: ignore[attr-defined]
        assert any("stopped" in n.message for n in pilot.app._notifications)
        assert "# doctor:" not in pane.shown  # no half report
        assert pilot.app.is_running

    async def main() -> None:
        async with app.run_test(size=(160, 48)) as pilot:
            await scenario(pilot)

    asyncio.run(main())
