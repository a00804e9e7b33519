"""``ovntrace tui TRACE --nb … --sb …``: cluster facts are read in a worker after the parse, never on the UI
thread; a source that cannot be read is a notification; escape stops waiting for a slow one.

Sources are real: the lab's NB/SB database files (the fixtures the lab traces come from), the session lab's
live ovsdb-servers over tcp, and, for "a server that does not answer", a real listening socket that
accepts and stays silent (an OVSDB server stuck on a big transaction looks like that to a client).
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest
from textual.pilot import Pilot

from ovntrace.lab.lab import Lab
from ovntrace.tui.app import OvnTraceApp, create_app
from ovntrace.tui.screens.explain import ExplainScreen
from ovntrace.tui.source import Options, Source
from tests.conftest import FIX
from tests.tui.conftest import XNODE, settle
from tests.tui.conftest import run_on_screen as _run
from tests.tui.conftest import verdict_text as _verdict

NB, SB = FIX / "lab" / "ovnnb_db.db", FIX / "lab" / "ovnsb_db.db"
# the chassis by its Chassis.name (the lab's system-id), its hostname beside it
WITH_FACTS = re.compile(r"TUNNEL: tunnelled to chassis [0-9a-f-]{36} \(hostname kube-node1, 172\.17\.42\.31\) "
                        r"over geneve for outport default_sshd-2 \(key dp 4, in 1, out 3\)")
TRACE_ALONE = "TUNNEL: tunnelled to 172.17.42.31 over geneve (key dp 4, in 1, out 3)"


def _app(**sources: tuple[str, ...]) -> OvnTraceApp:
    return create_app(Source(path=XNODE, name=XNODE.name), Options(**sources))  # type: ignore[arg-type]


def test_db_files_give_names_to_the_verdict() -> None:
    async def scenario(pilot: Pilot[int], screen: ExplainScreen) -> None:
        await settle(pilot)
        assert screen.facts_state == "done"
        assert WITH_FACTS.match(_verdict(screen)), _verdict(screen)
        assert screen.outline is not None
        assert any("switch kube-node1" in n.ovn for n in screen.outline.flat if n.ovn)
        generation = screen.generation
        await pilot.press("r")  # re-run: the trace and the facts are read again
        await settle(pilot)
        assert screen.generation == generation + 1 and screen.facts_state == "done"
        assert WITH_FACTS.match(_verdict(screen))

    _run(_app(nb=(str(NB),), sb=(str(SB),)), scenario)


def test_a_source_that_cannot_be_read_is_a_notification() -> None:
    async def scenario(pilot: Pilot[int], screen: ExplainScreen) -> None:
        await settle(pilot)
        assert screen.facts_state == "failed"
        notes = [n.message for n in pilot.app._notifications]
        assert any("cannot load cluster facts" in m and "/nonexistent/ovnsb_db.db" in m for m in notes), notes
        assert _verdict(screen).startswith(TRACE_ALONE)  # explained from the trace alone
        assert pilot.app.is_running

    _run(_app(sb=("/nonexistent/ovnsb_db.db",)), scenario)


def test_escape_stops_waiting_for_a_silent_server() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    async def scenario(pilot: Pilot[int], screen: ExplainScreen) -> None:
        for _ in range(100):  # the parse is done and the facts worker is waiting on the server
            await pilot.pause(0.05)
            if screen._pending is not None:
                break
        assert screen.facts_state == "loading"
        assert screen.outline is not None  # the tree is usable meanwhile
        assert "reading cluster facts" in str(screen.query_one("#tree").border_subtitle)
        await pilot.press("j")
        await pilot.press("escape")
        assert screen.facts_state == "skipped"
        server.close()  # the worker's read ends (EOF); its result is ignored
        await settle(pilot)
        assert _verdict(screen).startswith(TRACE_ALONE)
        assert screen.facts_state == "skipped"

    try:
        _run(_app(sb=(f"tcp:127.0.0.1:{port}",)), scenario)
    finally:
        server.close()


def test_a_failed_reparse_while_facts_load_still_explains_what_is_shown(tmp_path: Path) -> None:
    """r while the facts are being read, and the file is gone: the tree keeps the first parse, and the
    facts read for it (here: the server closes, an error) still end in its OVN meaning, not a stuck state."""
    trace = tmp_path / XNODE.name
    trace.write_text(XNODE.read_text(encoding="utf-8"), encoding="utf-8")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    app = create_app(Source(path=trace, name=trace.name), Options(sb=(f"tcp:127.0.0.1:{port}",)))

    async def scenario(pilot: Pilot[int], screen: ExplainScreen) -> None:
        for _ in range(100):
            await pilot.pause(0.05)
            if screen._pending is not None:
                break
        shown = screen.outline
        assert shown is not None and screen.facts_state == "loading"
        trace.unlink()
        await pilot.press("r")
        await pilot.pause(0.3)
        assert any("cannot read" in n.message for n in pilot.app._notifications)
        assert screen.outline is shown  # the first parse stays on screen
        server.close()  # the facts read for it ends (an error)
        await settle(pilot)
        assert screen.facts_state == "failed"
        assert str(screen.query_one("#tree").border_subtitle) == ""
        assert _verdict(screen).startswith(TRACE_ALONE)  # correlated after all

    try:
        _run(app, scenario)
    finally:
        server.close()


@pytest.mark.lab
def test_live_ovsdb_like_the_files(lab: Lab) -> None:
    c = lab.inventory.cluster

    async def scenario(pilot: Pilot[int], screen: ExplainScreen) -> None:
        await settle(pilot)
        assert screen.facts_state == "done"
        assert WITH_FACTS.match(_verdict(screen)), _verdict(screen)

    _run(_app(nb=(f"tcp:{c.db_address}:{c.nb_port}",), sb=(f"tcp:{c.db_address}:{c.sb_port}",)), scenario)
