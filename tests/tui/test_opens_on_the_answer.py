"""Issue 16 (TUI), with the pilot: stage names first, the tree opens on the step that decided the verdict,
`v` goes back there, search lands on its row, the verdict bar is never cut, the path pane shows its end,
`y` says where it copied, the export dialog says what its keys do."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from rich.console import Console
from rich.text import Text
from textual.pilot import Pilot

from ovntrace.tui import clipboard
from ovntrace.tui.app import OvnTraceApp
from ovntrace.tui.screens.explain import ExplainScreen
from ovntrace.tui.screens.export import ExportScreen
from ovntrace.tui.widgets.path import PathPane, fit_row
from ovntrace.tui.widgets.tree import TraceTree
from ovntrace.tui.widgets.verdict import MAX_LINES, VerdictBar, fit_headline
from tests.tui.conftest import ACL_DROP, XNODE, make_app, settle

Scenario = Callable[[Pilot[int], ExplainScreen], Awaitable[None]]


def run(app: OvnTraceApp, scenario: Scenario, size: tuple[int, int] = (80, 24)) -> None:
    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            screen = pilot.app.screen
            assert isinstance(screen, ExplainScreen)
            await scenario(pilot, screen)

    asyncio.run(main())


def tree(screen: ExplainScreen) -> TraceTree:
    return screen.query_one("#tree", TraceTree)


def visible_tree_lines(screen: ExplainScreen) -> list[str]:
    """The tree's rows as drawn now (its viewport only)."""
    t = tree(screen)
    return [t.render_line(y).text for y in range(t.scrollable_content_region.height)]


# -- stage names ------------------------------------------------------------------------------------

def test_stage_names_come_first_at_80_columns() -> None:
    async def scenario(pilot: Pilot[int], screen: ExplainScreen) -> None:
        assert screen.outline is not None
        node = screen.outline.find_line(12)  # table 8 (ls_in_check_port_sec), its match is long
        assert node is not None
        tree(screen).goto(node)
        await pilot.pause(0.1)
        row = next(ln for ln in visible_tree_lines(screen) if " 8. " in ln)
        assert "8. ls_in_check_port_sec  metadata=0x5" in row  # before the match, inside 80 columns

    run(make_app(XNODE), scenario)


def test_folded_noop_rows_list_their_stages_and_unfolded_rows_keep_them() -> None:
    async def scenario(pilot: Pilot[int], screen: ExplainScreen) -> None:
        assert screen.outline is not None
        folded = next(n for n in screen.outline.flat if n.text.startswith("tables 9–12: no-op"))
        assert folded.head().startswith(
            "tables 9–12: no-op: ls_in_apply_port_sec, ls_in_lookup_fdb, ls_in_put_fdb, ls_in_pre_acl (")
        t = tree(screen)
        t.goto(folded)
        await pilot.press("enter")
        await pilot.pause(0.1)
        cursor = t.cursor_node
        assert cursor is not None and cursor.is_expanded
        heads = [c.data.head() for c in cursor.children if c.data is not None]
        assert [h.split("  ")[0] for h in heads] == ["9. ls_in_apply_port_sec", "10. ls_in_lookup_fdb",
                                                     "11. ls_in_put_fdb", "12. ls_in_pre_acl"]
        assert all(c.data is not None and c.data.ovn == "switch 5" for c in cursor.children)
        # a search for a stage inside the fold finds the unfolded row itself
        screen.search("ls_in_lookup_fdb")
        await pilot.pause(0.1)
        node = t.selected
        assert node is not None and node.head().startswith("10. ls_in_lookup_fdb")

    run(make_app(XNODE), scenario)


def test_without_ovn_meaning_the_rows_are_as_before() -> None:
    async def scenario(pilot: Pilot[int], screen: ExplainScreen) -> None:
        assert screen.outline is not None
        assert all(not n.stage for n in screen.outline.flat)
        node = screen.outline.find_line(12)
        assert node is not None and node.head() == node.text

    run(make_app(XNODE, correlate=False), scenario)


# -- the step that decided the verdict -----------------------------------------------------------------

@pytest.mark.parametrize(("path", "correlate", "line", "starts"), [
    (ACL_DROP, True, 63, "controller(userdata="),  # the ACL's log action (OVN: dropped by the ACL)
    (ACL_DROP, False, 67, "drop"),  # OVS alone: its last datapath action's line ... is the verdict line
    (XNODE, True, 373, "output:"),  # the tunnel output
])
def test_opens_on_the_step_that_decided_the_verdict(path: Path, correlate: bool, line: int, starts: str) -> None:
    async def scenario(pilot: Pilot[int], screen: ExplainScreen) -> None:
        node = tree(screen).selected
        assert node is not None and screen.verdict_line_of(0) == line
        assert node.line == line or (node.line is not None and node.line <= line), node
        found = screen.outline.find_line(line) if screen.outline else None
        assert node is found
        # drawn: the cursor row is inside the tree's viewport, at 80x24
        t = tree(screen)
        assert t.scroll_offset.y <= t.cursor_line < t.scroll_offset.y + t.scrollable_content_region.height
        await pilot.press("g")
        assert tree(screen).selected is not node
        await pilot.press("v")  # from anywhere: back to it
        assert tree(screen).selected is node
        await pilot.press("tab", "tab", "v")  # from the side tabs too
        assert tree(screen).selected is node and tree(screen).has_focus

    run(make_app(path, correlate=correlate), scenario)


def test_help_lists_the_verdict_key() -> None:
    from ovntrace.tui.keys import KEYS

    assert any(k == "v" and "decided the verdict" in what for _, k, what in KEYS)
    assert "| everywhere | `v` |" in Path(__file__).resolve().parents[2].joinpath("docs", "tui.md").read_text()


def test_search_lands_on_the_matching_row_and_unfolds_its_parents() -> None:
    async def scenario(pilot: Pilot[int], screen: ExplainScreen) -> None:
        await pilot.press("g", "slash", *"resubmit(,11)", "enter")
        await pilot.pause(0.1)
        t = tree(screen)
        node = t.selected
        assert node is not None and node.text == "resubmit(,11)"  # in the folded run of tables 9-12
        tnode = t.cursor_node
        assert tnode is not None and tnode.parent is not None and tnode.parent.is_expanded
        assert tnode.parent.parent is not None and tnode.parent.parent.is_expanded  # the folded row itself
        assert t.scroll_offset.y <= t.cursor_line < t.scroll_offset.y + t.scrollable_content_region.height
        assert any("resubmit(,11)" in ln for ln in visible_tree_lines(screen))

    run(make_app(XNODE), scenario)


# -- 80x24: the verdict and the path --------------------------------------------------------------------

def test_verdict_bar_is_never_cut() -> None:
    async def scenario(pilot: Pilot[int], screen: ExplainScreen) -> None:
        bar = screen.query_one("#verdict", VerdictBar)
        shown = str(bar.render())
        assert shown.startswith("DROP: dropped by ACL deny-ssh-from-client-1")
        assert "(line 63)" in shown
        width = bar.content_size.width
        assert len(Text(shown).wrap(Console(), width)) <= MAX_LINES <= bar.size.height
        await pilot.resize_terminal(50, 24)
        await pilot.pause(0.2)
        shown = str(bar.render())
        assert shown.startswith("DROP: dropped by ACL") and "(line 63)" in shown and "…" in shown
        assert len(Text(shown).wrap(Console(), bar.content_size.width)) <= bar.size.height

    run(make_app(ACL_DROP), scenario)


def test_fit_headline_abbreviates_in_order() -> None:
    console = Console()

    def lines_of(width: int) -> Callable[[str], int]:
        return lambda text: len(Text(text).wrap(console, width))

    head = ("DROP: dropped by ACL deny-ssh-from-client-1 on switch 4 (ACL log verdict drop); arrived over geneve "
            "from 172.17.42.32 (key dp 4, in 1, out 3) (line 63) · OVS: controller: sent to the OpenFlow "
            "controller (line 67)")
    where = "  f.txt · trace 1/2"
    assert fit_headline(head, where, " · trace 1/2", 200, lines_of(200)) == (head, where)
    main = head.split(" · OVS: ")[0]
    assert fit_headline(head, "  f.txt", "", 60, lines_of(60)) == (main, "")
    short, _ = fit_headline(head, "  f.txt", "", 30, lines_of(30))
    assert short.startswith("DROP: dropped") and "…" in short
    assert short.endswith("(line 63)") and lines_of(30)(short) <= MAX_LINES


def test_path_pane_shows_the_end_of_the_path() -> None:
    async def scenario(pilot: Pilot[int], screen: ExplainScreen) -> None:
        pane = screen.query_one("#path", PathPane)
        await pilot.pause(0.2)
        height = pane.scrollable_content_region.height
        assert pane.option_count > height  # does not fit at 80x24
        assert pane.scroll_offset.y == pane.max_scroll_y > 0  # the end in view
        last = str(pane.get_option_at_index(pane.option_count - 1).prompt)
        assert "⇒ geneve" in last or "→" in last
        assert pane.border_subtitle == f"↑ {pane.option_count - height} more"

    run(make_app(XNODE), scenario)


def test_fit_row_keeps_the_end() -> None:
    text = "pass 2: recirc(0x3), ct_state=trk|new · br-int · 2 tables ⇒ ct(commit),set(tunnel(dst=1.2.3.4)),4"
    out = fit_row(text, 50)
    assert len(out) == 50 and out.startswith("pass 2") and out.endswith("(dst=1.2.3.4)),4") and "…" in out
    assert fit_row(text, 200) == text


# -- copy and export ---------------------------------------------------------------------------------------

def test_copy_says_where_it_copied_and_writes_the_file(_clipboard_file: Path) -> None:
    async def scenario(pilot: Pilot[int], screen: ExplainScreen) -> None:
        await pilot.press("y")  # the verdict's step: one input line
        await pilot.pause(0.1)
        messages = [n.message for n in pilot.app._notifications]
        assert any(str(_clipboard_file) in m and "1 input line" in m for m in messages), messages
        assert _clipboard_file.read_text() == ACL_DROP.read_text().splitlines()[62] + "\n"
        assert stat.S_IMODE(os.stat(_clipboard_file).st_mode) == 0o600
        assert pilot.app.clipboard == ACL_DROP.read_text().splitlines()[62]

    run(make_app(ACL_DROP), scenario)


@pytest.mark.parametrize(("env", "osc52"), [
    ({"TERM": "linux"}, False),
    ({"TERM": "dumb"}, False),
    ({"TERM": "screen", "STY": "1.pts-0"}, False),
    ({"TERM": "xterm-256color"}, None),
])
def test_clipboard_detection(env: dict[str, str], osc52: bool | None) -> None:
    support = clipboard.detect(env)
    assert support.osc52 is osc52
    msg = clipboard.message("3 input lines", support, Path("/tmp/x.txt"))
    assert "/tmp/x.txt" in msg
    assert ("no terminal clipboard here" in msg) == (osc52 is False)


def test_export_dialog_says_what_tab_and_enter_do() -> None:
    async def scenario(pilot: Pilot[int], screen: ExplainScreen) -> None:
        await pilot.press("e")
        await pilot.pause(0.1)
        dialog = pilot.app.screen
        assert isinstance(dialog, ExportScreen)
        hint = dialog.hint_text()
        assert f"Enter: write Markdown to {Path.cwd() / 'acl-drop-dst.ovntrace.md'}" in hint
        assert "Tab: to the Export button" in hint and "Escape: cancel" in hint
        await pilot.press("shift+tab")
        await pilot.pause(0.05)
        assert "↑ ↓: pick the format" in dialog.hint_text() and "Tab: to the file name" in dialog.hint_text()
        await pilot.press("escape")

    run(make_app(ACL_DROP), scenario)
