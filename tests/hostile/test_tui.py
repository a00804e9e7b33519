"""The hostile corpus in the TUI: with Textual's pilot (every pane drawn, notifications, exports) and in a
real terminal (tmux: the pane title an OSC 2 would set; a pty: every byte the app wrote).

The input is the lab trace with the combined payload put at every site of tests/hostile/corpus.py at once,
and the lab's NB/SB dumps with every name poisoned the same way (both derived from real fixtures).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from ovntrace.sources import load_cluster
from ovntrace.tui.app import create_app
from ovntrace.tui.export import export
from ovntrace.tui.live import PathRequest, PathView
from ovntrace.tui.screens.explain import ExplainScreen
from ovntrace.tui.screens.paste import PasteScreen
from ovntrace.tui.source import Options, Source
from ovntrace.tui.widgets.panes import TextPane
from ovntrace.tui.widgets.raw import RawView
from tests.conftest import ROOT
from tests.hostile import oracle
from tests.hostile.corpus import ON_NODE, PAYLOADS, SITES, TRACES, inject, poison_dumps
from tests.tui.conftest import settle

ALL = PAYLOADS["ALL"]
# what must never reach a terminal as bytes (each payload's active part)
RAW = [b"\x1b]2;PWNED", b"\x1b]0;PWNED", b"\x1b]8;;http://evil", b"\x1b[31;1mRED", "\x9b".encode(),
       "\x9d0;PWNED".encode(), "\u202e".encode(), "\u2066".encode(), b"\x1b[2J\x1b[H"]


def hostile_trace() -> str:
    text = TRACES["lab"].read_text()
    for site in SITES:
        text = inject(text, site, ALL)
    return text


@pytest.fixture(scope="module")
def hostile_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("hostile-tui")
    nb, sb = poison_dumps(ALL)
    out = {"trace": d / "hostile-trace.txt", "nb": d / "nb.json", "sb": d / "sb.json"}
    out["trace"].write_text(hostile_trace(), encoding="utf-8")
    out["nb"].write_text(nb, encoding="utf-8")
    out["sb"].write_text(sb, encoding="utf-8")
    return out


def _screen_text(pilot: Pilot[int]) -> str:
    """What the app draws (the screenshot's text: every widget, toasts included), XML entities undone."""
    svg = pilot.app.export_screenshot()
    return html.unescape(re.sub(r"<[^>]+>", "", svg))


def test_pilot_every_pane_and_notification(hostile_files: dict[str, Path], tmp_path: Path) -> None:
    ctx = load_cluster([str(hostile_files["nb"])], [str(hostile_files["sb"])], [], [])
    source = Source(path=hostile_files["trace"], name="trace\x1b]2;PWNED-NAME\x07.txt")
    app = create_app(source, Options(context=ctx, on_node=ON_NODE, ovn_version="23.03.1"))

    async def main() -> None:
        async with app.run_test(size=(160, 48)) as pilot:
            await settle(pilot)
            screen = pilot.app.screen
            assert isinstance(screen, ExplainScreen)
            # notifications (the parser warnings' one, quoting the junk line), escaped and never markup
            messages = [n.message for n in pilot.app._notifications]
            assert any("parser warnings" in m for m in messages)
            for n in pilot.app._notifications:
                oracle.assert_plain(n.message + n.title, "notification")
                assert not n.markup
            seen = []
            await pilot.press("g")  # the tree opens on the verdict's step: walk it from the top
            for tab in ("1", "3", "2", "1"):
                await pilot.press(tab)
                for _ in range(12):
                    await pilot.press("j")
                    await pilot.pause(0.08)
                    seen.append(_screen_text(pilot))
                    oracle.assert_plain(seen[-1], f"screen (tab {tab})")
            drawn = "\n".join(seen)
            assert "PWNED-TITLE" in drawn and "\\x1b]2;PWNED-TITLE\\x07" in drawn  # shown, escaped
            assert "[bold]B[/]" in drawn  # markup literal
            # the panes' own text (what `y` copies from them)
            details = screen.query_one("#details-pane", TextPane)
            oracle.assert_plain(details.shown, "details pane")
            raw = screen.query_one("#raw-view", RawView)
            oracle.assert_plain(raw.text, "raw view")
            assert raw.document.line_count == len(screen.text_lines)  # line numbers are the input's
            # a search for the payload: the status line echoes it escaped
            await pilot.press("slash")
            box = screen.query_one("#search", Input)
            box.value = "\x1b]2;PWNED-TITLE\x07"  # as a paste from the trace would put it
            await pilot.pause(0.2)
            drawn = _screen_text(pilot)
            oracle.assert_plain(drawn, "the search box")
            assert "␛]2;PWNED-TITLE" in drawn  # (Rich drops the BEL itself)
            await pilot.press("enter")
            await pilot.pause(0.2)
            oracle.assert_plain(_screen_text(pilot), "after a search")
            # the export `e` writes: Markdown safe, JSON exact
            outline = screen.outline
            assert outline is not None
            md_path, js_path = tmp_path / "x.md", tmp_path / "x.json"
            export(outline.result, "markdown", md_path, outline.ovn, screen._export_preamble())
            export(outline.result, "json", js_path, outline.ovn)
            oracle.assert_markdown_safe(md_path.read_text(), "TUI Markdown export")
            js = js_path.read_text()
            oracle.assert_plain(js[:-1], "TUI JSON export")
            assert any(ALL in s for s in oracle.strings(json.loads(js)))

    asyncio.run(main())


def test_live_export_preamble_escapes_names() -> None:
    """A live path's Markdown export starts with the path's line and verdict: cluster names, escaped."""
    request = PathRequest("default/client-1" + ALL, "default/sshd-2")
    view = PathView(request, "", ("kube-node2" + ALL,), None, "pod client-1" + ALL + " → switch " + ALL,
                    {"kind": "drop", "cause": "dropped by ACL " + ALL, "delivered": False})
    screen = ExplainScreen(Source(text="", name="x"))
    screen.path_view = view
    pre = screen._export_preamble()
    p = oracle.assert_markdown_safe(pre, "live preamble")
    assert [c for c in p.code if c.startswith("pod client-1")] == [view.line.replace(ALL, oracle.visible(ALL))]


def test_paste_box_draws_controls_as_pictures() -> None:
    """The paste screen's editor keeps the pasted text as is (it is what gets parsed) but draws it safely."""
    text = hostile_trace()

    async def main() -> None:
        app = create_app(None)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            assert isinstance(pilot.app.screen, PasteScreen)
            area = pilot.app.screen.query_one("#paste-area")
            area.load_text(text)  # type: ignore[attr-defined]
            await pilot.pause(0.2)
            # the document keeps the characters (Textual's document splits lines on \r, \x85, U+2028 ... too)
            assert "\x1b]2;PWNED-TITLE\x07" in area.text and "\u202e" in area.text  # type: ignore[attr-defined]
            drawn = _screen_text(pilot)
            oracle.assert_plain(drawn, "paste box")
            assert "␛]2;PWNED-TITLE␇" in drawn

    asyncio.run(main())


# -- a real terminal ------------------------------------------------------------------------------------

needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True, timeout=20).stdout


def _wait(session: str, text: str, deadline_s: float = 40.0) -> str:
    end = time.monotonic() + deadline_s
    screen = ""
    while time.monotonic() < end:
        screen = _tmux("capture-pane", "-p", "-t", session)
        if text in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never showed; last screen:\n{screen}")


@needs_tmux
def test_tmux_title_untouched_and_payload_shown_escaped(hostile_files: dict[str, Path]) -> None:
    session = f"ovntrace-hostile-{uuid.uuid4().hex[:8]}"
    cmd = " ".join(["TERM=xterm-256color", f"PYTHONPATH={ROOT}", sys.executable, "-m", "ovntrace.tui",
                    str(hostile_files["trace"]), "--nb", str(hostile_files["nb"]), "--sb", str(hostile_files["sb"])])
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "48", cmd], check=True,
                   timeout=20, cwd=ROOT, env={**os.environ, "TERM": "xterm-256color"})
    try:
        _tmux("select-pane", "-t", session, "-T", "ovntrace-test")
        with contextlib.suppress(AssertionError):  # (a cleared screen never shows it: the title says why)
            _wait(session, "DROP: dropped by ACL", 30)
        for key in ("j", "j", "j", "3", "j", "1", "j", "j"):
            _tmux("send-keys", "-t", session, key)
            time.sleep(0.3)
        time.sleep(1)
        title = _tmux("display-message", "-p", "-t", session, "#{pane_title}").strip()
        assert title == "ovntrace-test", f"the trace retitled the terminal: {title!r}"
        screen = _wait(session, "\\x1b]2;PWNED-TITLE\\x07")  # shown, escaped
        assert "DROP: dropped by ACL" in screen  # and the screen was not cleared away
        _tmux("send-keys", "-t", session, "q")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, timeout=20, check=False)


def test_pty_bytes_hold_no_injected_sequence(hostile_files: dict[str, Path]) -> None:
    """Every byte the TUI writes to a real pty while showing the hostile input and moving through it."""
    import fcntl
    import pty
    import select
    import signal
    import struct
    import termios

    pid, fd = pty.fork()
    if pid == 0:  # the child: the TUI on the pty
        os.environ.update(TERM="xterm-256color", PYTHONPATH=str(ROOT))
        os.execv(sys.executable, [sys.executable, "-m", "ovntrace.tui", str(hostile_files["trace"]),
                                  "--nb", str(hostile_files["nb"]), "--sb", str(hostile_files["sb"])])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 48, 160, 0, 0))
    buf = bytearray()

    def pump(seconds: float, until: bytes | None = None) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not (until and until in buf):
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                try:
                    buf.extend(os.read(fd, 65536))
                except OSError:
                    return

    try:
        pump(40, until=b"PWNED-TITLE")
        pump(1.5)
        for key in (b"j", b"j", b"j", b"3", b"j", b"j", b"2", b"1", b"j", b"/", b"PWNED", b"\r"):
            os.write(fd, key)
            pump(0.6)
        os.write(fd, b"q")
        pump(5, until=b"\x1b[?1049l")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)  # the child this test forked, by its pid
        os.waitpid(pid, 0)
        os.close(fd)
    out = bytes(buf)
    assert b"PWNED-TITLE" in out, "the payload was never drawn: nothing was checked"
    assert b"\\x1b]2;PWNED-TITLE" in out  # drawn, escaped
    for seq in RAW:
        assert seq not in out, f"{seq!r} reached the terminal"
    # every OSC the app wrote is Textual's own (22: pointer shape); no C1 control at all
    assert {m for m in re.findall(rb"\x1b\](\d+)", out)} <= {b"22"}, re.findall(rb"\x1b\]\d+[^\x07\x1b]{0,20}", out)
    assert not re.search(rb"\xc2[\x80-\x9f]", out)  # U+0080..U+009F in UTF-8 (0xC2 only ever leads)
