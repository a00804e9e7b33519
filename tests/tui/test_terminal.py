"""A real terminal: ``python -m ovntrace.tui FIXTURE`` in tmux, keys sent, the screen captured."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import ROOT
from tests.tui.conftest import XNODE

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    def __init__(self, session: str) -> None:
        self.session = session

    def run(self, *args: str) -> str:
        proc = subprocess.run(["tmux", *args], capture_output=True, text=True, check=True, timeout=20)
        return proc.stdout

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.session, *keys)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.session)

    def wait_for(self, text: str, deadline_s: float = 30.0) -> str:
        """Poll the pane until ``text`` shows (a wait, not a timing assertion)."""
        end = time.monotonic() + deadline_s
        screen = ""
        while time.monotonic() < end:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never showed; last screen:\n{screen}")


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    session = f"ovntrace-tui-{uuid.uuid4().hex[:8]}"
    t = _start(session, {"TERM": "xterm-256color", "PYTHONPATH": str(ROOT)})
    try:
        yield t
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, timeout=20, check=False)


def test_real_terminal_search_expand_help(tmux: Tmux) -> None:
    screen = tmux.wait_for("TUNNEL: tunnelled to 172.17.42.31")
    tmux.keys("g")  # it opens on the tunnel output, deep in pass 2: to the top
    screen = tmux.wait_for("bridge(\"br-int\")")
    assert "pass 1" in screen
    # search a row inside a folded no-op run: the tree unfolds it and shows the hit
    tmux.keys("/")
    tmux.wait_for("search the tree")
    tmux.keys("resubmit(,10)", "Enter")
    screen = tmux.wait_for("match 1 of")
    assert "resubmit(,10)" in screen
    # fold and unfold the row under the cursor's parent table with h / enter
    tmux.keys("h")  # to the table (9.)
    tmux.keys("Enter")  # fold it
    tmux.keys("Enter")  # unfold it
    screen = tmux.wait_for("resubmit(,10)")
    tmux.keys("?")
    screen = tmux.wait_for("ovntrace tui: keys")
    assert "search the tree" in screen and "export Markdown or JSON" in screen
    tmux.keys("Escape")
    tmux.keys("q")


def _start(session: str, env: dict[str, str]) -> Tmux:
    cmd = " ".join([*(f"{k}={v}" for k, v in env.items()), sys.executable, "-m", "ovntrace.tui", str(XNODE)])
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "100", "-y", "30", cmd],
                   check=True, timeout=20, cwd=ROOT, env={**os.environ, "TERM": "xterm-256color"})
    return Tmux(session)


def _colours(t: Tmux) -> set[int]:
    """The 256-colour indexes on screen (tmux re-encodes what the app drew, `capture-pane -e`)."""
    import re

    seen = t.run("capture-pane", "-e", "-p", "-t", t.session)
    return {int(n) for n in re.findall(r"\x1b\[(?:[0-9;]*;)?[34]8;5;(\d+)", seen)}


def _hues(colours: set[int]) -> set[int]:
    """Colours that are not grey: 0-15 are the named ones, 16-231 a 6x6x6 cube (grey when r=g=b), then greys."""
    out = set()
    for c in colours:
        if 16 <= c <= 231:
            r, g, b = (c - 16) // 36, (c - 16) // 6 % 6, (c - 16) % 6
            if not r == g == b:
                out.add(c)
        elif 1 <= c <= 14 and c not in (7, 8):
            out.add(c)
    return out


@pytest.mark.parametrize("no_color", [False, True])
def test_no_color_draws_in_greys_only(no_color: bool) -> None:
    env = {"TERM": "xterm-256color", "PYTHONPATH": str(ROOT)}
    if no_color:
        env["NO_COLOR"] = "1"
    session = f"ovntrace-nc-{uuid.uuid4().hex[:8]}"
    t = _start(session, env)
    try:
        t.wait_for("TUNNEL: tunnelled to 172.17.42.31")
        time.sleep(0.5)  # OVN meaning drawn too
        colours = _colours(t)
        assert colours, "no colour codes at all: the capture is not what the app drew"
        if no_color:
            assert not _hues(colours), sorted(_hues(colours))
        else:  # the same screen in colour has hues: the check above can fail
            assert _hues(colours)
        t.keys("q")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, timeout=20, check=False)
