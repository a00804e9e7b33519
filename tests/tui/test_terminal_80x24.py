"""Issue 16 (TUI) in a real terminal: ``python -m ovntrace.tui FIXTURE`` in tmux at 80×24 (its own tmux
server, ``-L``, so its options cannot touch another session's), keys sent, the screen captured."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.tui.conftest import ACL_DROP, XNODE

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    def __init__(self, socket: str) -> None:
        self.socket = socket

    def run(self, *args: str) -> str:
        proc = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True,
                              timeout=20)
        return proc.stdout

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "t", *keys)

    def screen(self) -> list[str]:
        return self.run("capture-pane", "-p", "-t", "t").splitlines()

    def wait_for(self, text: str, deadline_s: float = 40.0) -> list[str]:
        """Poll the pane until ``text`` shows (a wait, not a timing assertion)."""
        return self.wait_until(lambda screen: any(text in line for line in screen), repr(text), deadline_s)

    def wait_until(self, ok: Callable[[list[str]], bool], what: str, deadline_s: float = 40.0) -> list[str]:
        end = time.monotonic() + deadline_s
        screen: list[str] = []
        while time.monotonic() < end:
            screen = self.screen()
            if ok(screen):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{what} never showed; last screen:\n" + "\n".join(screen))


def tree_lines(screen: list[str]) -> list[str]:
    """The rows inside the tree's border."""
    start = next((i for i, ln in enumerate(screen) if ln.startswith("╭─ trace")), len(screen))
    end = next((i for i in range(start + 1, len(screen)) if screen[i].startswith("╰")), len(screen))
    return screen[start + 1:end]


def start(fixture: Path, env: dict[str, str], width: int = 80, height: int = 24,
          clipboard: str | None = None) -> Tmux:
    t = Tmux(f"ovntrace-{uuid.uuid4().hex[:8]}")
    cmd = " ".join([*(f"{k}={v}" for k, v in env.items()), "TERM=xterm-256color", f"PYTHONPATH={ROOT}",
                    sys.executable, "-m", "ovntrace.tui", str(fixture)])
    # the server starts with the session: set-clipboard is set before the app could copy anything
    subprocess.run(["tmux", "-L", t.socket, "-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", str(width),
                    "-y", str(height), cmd], check=True, timeout=20, cwd=ROOT,
                   env={**os.environ, "TERM": "xterm-256color"})
    if clipboard is not None:
        t.run("set-option", "-g", "set-clipboard", clipboard)
    return t


@pytest.fixture
def sessions() -> Iterator[list[Tmux]]:
    started: list[Tmux] = []
    yield started
    for t in started:
        subprocess.run(["tmux", "-L", t.socket, "kill-server"], capture_output=True, timeout=20, check=False)


def test_80x24_opens_on_the_verdict_step_with_stage_names_and_the_whole_verdict(sessions: list[Tmux]) -> None:
    t = start(ACL_DROP, {})
    sessions.append(t)
    # OVN meaning arrived (stage names in the tree) and the tree settled on the ACL's log action (line 63)
    # (the path pane's logical hops come with the same OVN meaning, drawn in the same or the next frame)
    screen = t.wait_until(lambda sc: any("ls_out_acl_hint" in ln for ln in sc)
                          and any("controller(userdata=" in ln for ln in tree_lines(sc))
                          and any("→ switch 4 (egress)" in ln for ln in sc), "the verdict's row")
    # the verdict bar (the first three lines): the whole headline, up to its line number
    bar = " ".join(line.strip() for line in screen[:3])
    assert bar.startswith("DROP: dropped by ACL deny-ssh-from-client-1 on switch 4")
    assert "(line 63)" in bar
    assert screen[3].startswith("╭─ path")
    # the tree opened on the ACL's log action (line 63), in view, its table's stage before the match
    tree = tree_lines(screen)
    assert any("46. ls_out_acl | ls_out_acl_eval ?  tcp," in ln for ln in tree)
    assert any("45. ls_out_acl_hint  ct_state=" in ln for ln in tree)
    # the path pane shows its end: the last logical hop and how many rows are above
    path = screen[3:screen.index(next(ln for ln in screen if ln.startswith("╭─ trace")))]
    assert any("→ switch 4 (egress)" in ln for ln in path), "\n".join(path)
    assert "↑ 1 more" in path[-1]
    # g to the top, v back to the verdict's step
    t.keys("g")
    screen = t.wait_for("▼ trace 1 (lines 1-67)")
    t.keys("v")
    screen = t.wait_for("verdict of trace 1: line 63")
    assert any("controller(userdata=" in ln for ln in screen)
    t.keys("q")


def test_narrower_than_80_the_verdict_is_abbreviated_never_cut(sessions: list[Tmux]) -> None:
    t = start(ACL_DROP, {}, width=50)
    sessions.append(t)
    screen = t.wait_for("ls_out_acl")
    bar = [ln.strip() for ln in screen[:3]]
    assert screen[3].startswith("╭─ path")  # three lines at most
    text = " ".join(bar)
    assert text.startswith("DROP: dropped by ACL") and text.endswith("(line 63)") and "…" in text


def test_folded_noop_row_lists_its_stages_at_80_columns(sessions: list[Tmux]) -> None:
    t = start(XNODE, {})
    sessions.append(t)
    t.wait_for("⇒ geneve → 172.17.42.31")  # OVN meaning arrived (the path's logical hops)
    t.keys("/")
    t.wait_for("search the tree")
    t.keys("no-op: ls_in_apply", "Enter")
    screen = t.wait_for("match 1 of")
    assert any("tables 9–12: no-op: ls_in_apply_port_sec, ls_in_lookup_fdb," in ln for ln in screen), \
        "\n".join(screen)
    t.keys("Enter")  # unfold: each table keeps its stage
    screen = t.wait_for("10. ls_in_lookup_fdb  metadata=0x5")
    assert any("9. ls_in_apply_port_sec  metadata=0x5" in ln for ln in screen)


@pytest.mark.parametrize("setting", ["on", "external"])
def test_copy_says_where_and_falls_back_to_a_file(sessions: list[Tmux], tmp_path: Path, setting: str) -> None:
    target = tmp_path / "clip.txt"
    t = start(ACL_DROP, {"OVNTRACE_CLIPBOARD_FILE": str(target)}, width=120, height=30, clipboard=setting)
    sessions.append(t)
    t.wait_for("ls_out_acl_hint")
    t.keys("y")  # the verdict's step: line 63
    line63 = ACL_DROP.read_text(encoding="utf-8").splitlines()[62]
    if setting == "on":
        screen = t.wait_for("copied 1 input line to the terminal")
        deadline = time.monotonic() + 10
        while t.run("list-buffers") == "" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert t.run("show-buffer") == line63  # tmux took the OSC 52 sequence
    else:
        screen = t.wait_for("no terminal clipboard here")
        assert t.run("list-buffers") == ""  # tmux ignored it: the file is what there is
        assert any("set-clipboard on" in ln for ln in screen)
    flat = "".join(ln.strip(" ▌") for ln in screen)
    assert str(target) in flat.replace(" ", "") or target.name in flat
    assert target.read_text(encoding="utf-8") == line63 + "\n"
