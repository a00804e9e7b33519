"""The key bar at the bottom: Textual's ``Footer``, rebuilt once per burst of binding changes.

Textual's ``Footer`` rebuilds its keys (removes and mounts a widget per key) after the next refresh each
time the screen says its bindings changed; opening the main screen says so five times before its first
frame (focus, tabs, the hidden search box...), and each rebuild read the same bindings. Here requests that
arrive while one is already queued join it: the rebuild still runs after the refresh and reads the
bindings as they are then.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual.widgets import Footer


class KeysFooter(Footer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rebuild_queued = False

    def call_after_refresh(self, callback: Callable[..., Any] | Callable[..., Awaitable[Any]], *args: Any,
                           **kwargs: Any) -> bool:
        if callback != self.recompose or args or kwargs:
            return super().call_after_refresh(callback, *args, **kwargs)
        if not self._rebuild_queued:
            self._rebuild_queued = True
            super().call_after_refresh(self._rebuild)
        return True

    async def _rebuild(self) -> None:
        self._rebuild_queued = False
        await self.recompose()
