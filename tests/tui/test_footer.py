"""The key bar: binding changes that arrive together rebuild it once, and it shows the screen's keys."""

from __future__ import annotations

import asyncio

from textual.widgets._footer import FooterKey

from ovntrace.tui.screens.explain import ExplainScreen
from ovntrace.tui.widgets.footer import KeysFooter
from tests.tui.conftest import ACL_DROP, make_app, settle


def test_a_burst_of_binding_changes_rebuilds_the_keys_once() -> None:
    async def main() -> None:
        app = make_app(ACL_DROP)
        async with app.run_test(size=(160, 48)) as pilot:
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, ExplainScreen)
            footer = screen.query_one(KeysFooter)
            before = [k.key for k in footer.query(FooterKey)]
            assert {"slash", "r", "e", "y", "v", "q", "question_mark"} <= set(before)
            rebuilds = 0
            original = footer.recompose

            async def counting() -> None:
                nonlocal rebuilds
                rebuilds += 1
                await original()

            footer.recompose = counting  # type: ignore[method-assign]
            for _ in range(5):
                screen.refresh_bindings()
            await pilot.pause(0.2)
            assert rebuilds == 1
            assert [k.key for k in footer.query(FooterKey)] == before
            screen.refresh_bindings()  # a later change rebuilds again
            await pilot.pause(0.2)
            assert rebuilds == 2

    asyncio.run(main())


