"""Snapshot tests (pytest-textual-snapshot) at 80x24 and 160x48 on real traces; goldens reviewed.

Update with ``pytest tests/tui/test_snapshots.py --snapshot-update`` and look at the SVGs in
``tests/tui/__snapshots__/`` before committing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from ovntrace.tui.screens.explain import ExplainScreen
from tests.tui.conftest import ACL_DROP, XNODE, make_app, settle

SnapCompare = Callable[..., bool]
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]


def goto_line(line: int) -> Callable[[Pilot[Any]], Any]:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, ExplainScreen) and screen.outline is not None
        node = screen.outline.find_line(line)
        assert node is not None
        screen.query_one("#tree").goto(node)  # type: ignore[attr-defined]
        await pilot.pause(0.15)

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_xnode_tunnel_opened(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """Cross-node ICMP leaving by geneve, as it opens: verdict TUNNEL, the path pane on its tunnel hop, the tree
    on the step that decided it (the output to the tunnel port, line 373)."""
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)

    assert snap_compare(make_app(XNODE), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_xnode_table_details(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """Table 13 (ls_in_pre_lb) selected: its input lines, OVN stage, state with changes marked."""
    assert snap_compare(make_app(XNODE), terminal_size=size, run_before=goto_line(28))


@pytest.mark.parametrize("size", SIZES)
def test_acl_drop_controller_action(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """The ACL log controller() action that drops the packet, with its decoded meaning."""
    assert snap_compare(make_app(ACL_DROP), terminal_size=size, run_before=goto_line(63))


@pytest.mark.parametrize("size", SIZES)
def test_acl_drop_runbook(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """Runbook tab with the bundled inventory: the acl-add that made the dropping ACL."""
    async def run_before(pilot: Pilot[Any]) -> None:
        await goto_line(63)(pilot)
        await pilot.press("2")
        await pilot.pause(0.15)

    assert snap_compare(make_app(ACL_DROP, with_inventory=True), terminal_size=size, run_before=run_before)


def test_acl_drop_light_theme(snap_compare: SnapCompare) -> None:
    """The same in the light theme (readability of the colours on white)."""
    async def run_before(pilot: Pilot[Any]) -> None:
        await goto_line(58)(pilot)
        pilot.app.theme = "textual-light"
        await pilot.pause(0.15)

    assert snap_compare(make_app(ACL_DROP), terminal_size=(160, 48), run_before=run_before)


def test_help_80x24(snap_compare: SnapCompare) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.15)

    assert snap_compare(make_app(ACL_DROP), terminal_size=(80, 24), run_before=run_before)


def test_paste_screen_80x24(snap_compare: SnapCompare) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24))


