"""Helpers for the TUI tests: real fixtures, and a pilot that waits for the workers to settle."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from ovntrace.lab import inventory
from ovntrace.tui.app import OvnTraceApp, create_app
from ovntrace.tui.screens.explain import ExplainScreen
from ovntrace.tui.source import Options, Source
from tests.conftest import FIX, ROOT

XNODE = FIX / "lab" / "xnode-icmp-src.txt"  # cross-node, leaves by a geneve tunnel
ACL_DROP = FIX / "lab" / "acl-drop-dst.txt"  # dropped by an ACL (log verdict drop)
INVENTORY = ROOT / "ovntrace" / "lab" / "default-inventory.toml"  # the cluster the lab fixtures come from


def make_app(path: Path | None = None, *, text: str | None = None, with_inventory: bool = False,
             correlate: bool = True) -> OvnTraceApp:
    inv = inventory.load(INVENTORY) if with_inventory else None
    source = None
    if path is not None:
        source = Source(path=path, name=path.name)
    elif text is not None:
        source = Source(text=text, name="stdin")
    return create_app(source, Options(inventory=inv, correlate=correlate))


async def settle(pilot: Pilot[int]) -> None:
    """Until no worker runs (parse, then OVN correlation started by the parse) and messages are handled."""
    for _ in range(50):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.15)
        if not any(w.is_running for w in pilot.app.workers):
            await pilot.pause(0.15)
            if not any(w.is_running for w in pilot.app.workers):
                return


def run_on_screen(app: OvnTraceApp, scenario: Callable[[Pilot[int], ExplainScreen], Awaitable[None]]) -> None:
    """Run ``scenario`` at 160x48 on the app's explain screen, from its first frame (workers still running)."""
    async def main() -> None:
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            screen = pilot.app.screen
            assert isinstance(screen, ExplainScreen)
            await scenario(pilot, screen)

    asyncio.run(main())


def verdict_text(screen: ExplainScreen) -> str:
    return str(screen.query_one("#verdict").render())


@pytest.fixture(autouse=True)
def _clipboard_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`y` writes its file here, not into the user's ~/.cache."""
    path = tmp_path / "clipboard.txt"
    monkeypatch.setenv("OVNTRACE_CLIPBOARD_FILE", str(path))
    return path
