"""Pilot tests: what a user does with the keys, on real traces."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, TabbedContent, TextArea

from ovntrace.tui.app import OvnTraceApp
from ovntrace.tui.screens.explain import ExplainScreen
from ovntrace.tui.screens.help import HelpScreen
from ovntrace.tui.screens.paste import PasteScreen
from ovntrace.tui.widgets.panes import TextPane
from ovntrace.tui.widgets.path import PathPane
from ovntrace.tui.widgets.tree import TraceTree
from ovntrace.tui.widgets.verdict import VerdictBar
from tests.tui.conftest import ACL_DROP, XNODE, make_app, settle

Scenario = Callable[[Pilot[int]], Awaitable[None]]


def run(app: OvnTraceApp, scenario: Scenario, size: tuple[int, int] = (100, 40)) -> None:
    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await scenario(pilot)

    asyncio.run(main())


def explain(pilot: Pilot[int]) -> ExplainScreen:
    screen = pilot.app.screen
    assert isinstance(screen, ExplainScreen), type(screen)
    return screen


def tree(pilot: Pilot[int]) -> TraceTree:
    return explain(pilot).query_one("#tree", TraceTree)


def details(pilot: Pilot[int]) -> str:
    return explain(pilot).query_one("#details-pane", TextPane).plain


def verdict(pilot: Pilot[int]) -> str:
    return str(explain(pilot).query_one("#verdict", VerdictBar).render())


def test_opens_with_the_verdict_and_its_cause() -> None:
    async def scenario(pilot: Pilot[int]) -> None:
        assert verdict(pilot).startswith("DROP: dropped by ACL deny-ssh-from-client-1")
        node = tree(pilot).selected  # the tree opens on the step that decided it (the ACL's log action)
        assert node is not None and node.line == 63 and node.text.startswith("controller(")
        await pilot.press("g")  # the trace row: the verdict with its line
        await pilot.pause(0.15)
        node = tree(pilot).selected
        assert node is not None and node.kind == "trace"
        assert "Verdict" in details(pilot) and "decided at: line 63" in details(pilot)

    run(make_app(ACL_DROP), scenario)


def test_navigation_j_k_g_G_and_details_follow() -> None:
    async def scenario(pilot: Pilot[int]) -> None:
        await pilot.press("g", "j", "j", "j", "j")  # trace, pass 1, bridge, table 0, its first action
        node = tree(pilot).selected
        assert node is not None and node.line == 6 and node.text.startswith("move:NXM_NX_TUN_ID")
        await pilot.pause(0.15)  # the details pane follows once the keys stop
        text = details(pilot)
        assert "6      move:NXM_NX_TUN_ID[0..23]->OXM_OF_METADATA[0..23]" in text  # raw line, its number
        assert '"field": "tun_id"' in text  # parsed arguments
        await pilot.press("k")
        node = tree(pilot).selected
        assert node is not None and node.text.startswith("0. in_port=4")
        await pilot.press("G")
        last = tree(pilot).selected
        assert last is not None and last.line is not None and last.line >= 63
        await pilot.press("g")
        first = tree(pilot).selected
        assert first is not None and first.kind == "trace"

    run(make_app(ACL_DROP), scenario)


def test_table_details_mark_what_changed_since_the_previous_table() -> None:
    async def scenario(pilot: Pilot[int]) -> None:
        screen = explain(pilot)
        assert screen.outline is not None
        node = screen.outline.find_line(13)  # table 40, after table 0 loaded metadata/reg14/reg15
        assert node is not None
        tree(pilot).goto(node)
        await pilot.pause(0.15)
        text = details(pilot)
        assert "marked: changed since table 0 (line 5)" in text
        assert "~ metadata       = 0x4  (was 0)" in text
        assert "~ reg15          = 0x3  (was 0)" in text
        assert "  in_port        = 4" in text  # unchanged: not marked
        assert "LOCAL_OUTPUT" in text  # OVN meaning (offline correlation)

    run(make_app(ACL_DROP), scenario)


def test_enter_unfolds_a_folded_noop_run() -> None:
    async def scenario(pilot: Pilot[int]) -> None:
        screen = explain(pilot)
        assert screen.outline is not None
        folded = next(n for n in screen.outline.flat if n.text.startswith("tables 9–12: no-op"))
        t = tree(pilot)
        t.goto(folded)
        await pilot.pause(0.15)
        cursor = t.cursor_node
        assert cursor is not None and not cursor.is_expanded
        await pilot.press("enter")
        await pilot.pause(0.15)
        assert cursor.is_expanded
        assert [c.data.text.split(".")[0] for c in cursor.children if c.data] == ["9", "10", "11", "12"]
        await pilot.press("enter")
        assert not cursor.is_expanded

    run(make_app(XNODE), scenario)


def test_search_with_n_and_N_reaches_folded_rows() -> None:
    async def scenario(pilot: Pilot[int]) -> None:
        await pilot.press("slash")
        box = explain(pilot).query_one("#search", Input)
        assert box.display and box.has_focus
        await pilot.press(*"resubmit(,10)", "enter")
        await pilot.pause(0.15)
        node = tree(pilot).selected
        assert node is not None and node.text == "resubmit(,10)"  # inside the folded run of tables 9-12
        assert tree(pilot).has_focus and not box.display
        status = str(explain(pilot).query_one("#status").render())
        assert "match 1 of" in status
        await pilot.press("slash", *"output", "enter")  # the search box opens with the text selected
        await pilot.pause(0.15)
        hits = len(explain(pilot).matches)
        assert hits >= 1
        first = tree(pilot).selected
        await pilot.press("n")
        await pilot.press("N")
        assert tree(pilot).selected is first

    run(make_app(XNODE), scenario)


def test_search_without_a_match_says_so() -> None:
    async def scenario(pilot: Pilot[int]) -> None:
        await pilot.press("slash", *"no-such-thing", "enter")
        await pilot.pause(0.15)
        assert "no match" in str(explain(pilot).query_one("#status").render())

    run(make_app(ACL_DROP), scenario)


def test_path_pane_lists_passes_and_hops_and_moves_the_tree() -> None:
    async def scenario(pilot: Pilot[int]) -> None:
        path = explain(pilot).query_one("#path", PathPane)
        prompts = [str(path.get_option_at_index(i).prompt) for i in range(path.option_count)]
        assert prompts[0].startswith("pass 1 · br-int")
        assert any("pass 2: recirc(0x1)" in p for p in prompts)
        assert any("⇒ geneve → 172.17.42.31" in p for p in prompts)  # the tunnel hop
        hop = next(i for i, p in enumerate(prompts) if "pass 2" in p)
        path.focus()
        path.highlighted = hop
        await pilot.press("enter")
        await pilot.pause(0.15)
        node = tree(pilot).selected
        assert node is not None and node.kind == "pass" and node.text.startswith("pass 2")

    run(make_app(XNODE), scenario)


def test_mouse_clicks_a_hop_a_tab_and_a_tree_row() -> None:
    async def scenario(pilot: Pilot[int]) -> None:
        screen = explain(pilot)
        path = screen.query_one("#path", PathPane)
        prompts = [str(path.get_option_at_index(i).prompt) for i in range(path.option_count)]
        hop = next(i for i, p in enumerate(prompts) if "pass 2" in p)
        path.scroll_home(animate=False, immediate=True)  # it opens on the end of the path
        await pilot.pause(0.05)
        # a click on the hop's line in the path pane (inside its border) moves the tree there
        assert await pilot.click("#path", offset=(3, 1 + hop))
        await pilot.pause(0.2)
        node = tree(pilot).selected
        assert node is not None and node.kind == "pass" and node.text.startswith("pass 2"), node
        # a click on the Runbook tab switches the side pane
        assert await pilot.click("#side Tab#--content-tab-runbook")
        await pilot.pause(0.1)
        assert screen.query_one("#side", TabbedContent).active == "runbook"
        # a click on a tree row (two rows away from the cursor, in view; 1: the border) selects it
        t = tree(pilot)
        before = t.cursor_line
        step = -2 if before - t.scroll_offset.y >= 2 else 2
        assert await pilot.click("#tree", offset=(10, 1 + (before - t.scroll_offset.y) + step))
        await pilot.pause(0.1)
        assert t.cursor_line == before + step

    run(make_app(XNODE), scenario)


def test_paste_and_explain() -> None:
    text = ACL_DROP.read_text(encoding="utf-8")

    async def scenario(pilot: Pilot[int]) -> None:
        assert isinstance(pilot.app.screen, PasteScreen)
        area = pilot.app.screen.query_one("#paste-area", TextArea)
        area.load_text("> " + text.replace("\n", "\n> "))  # mail-quoted, as pasted from a bug report
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert verdict(pilot).startswith("DROP: dropped by ACL deny-ssh-from-client-1")

    run(make_app(), scenario)


def test_paste_without_a_trace_explains_what_was_expected() -> None:
    async def scenario(pilot: Pilot[int]) -> None:
        area = pilot.app.screen.query_one("#paste-area", TextArea)
        area.load_text("hello\nthis is not a trace\n")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(pilot.app.screen, PasteScreen)  # back, with the text kept
        assert "this is not a trace" in pilot.app.screen.query_one("#paste-area", TextArea).text
        messages = [n.message for n in pilot.app._notifications]
        assert any("no ofproto/trace output found" in m for m in messages)

    run(make_app(), scenario)


@pytest.mark.parametrize(("choice", "suffix"), [("markdown", ".md"), ("json", ".json")])
def test_export_writes_the_file(tmp_path: Path, choice: str, suffix: str) -> None:
    target = tmp_path / f"out{suffix}"

    async def scenario(pilot: Pilot[int]) -> None:
        await pilot.press("e")
        await pilot.pause(0.15)
        if choice == "json":
            pilot.app.screen.query_one("#fmt-json").value = True  # type: ignore[attr-defined]
            await pilot.pause(0.15)
        box = pilot.app.screen.query_one("#export-path", Input)
        box.value = str(target)
        box.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ExplainScreen)

    run(make_app(ACL_DROP), scenario)
    body = target.read_text(encoding="utf-8")
    if choice == "json":
        doc = json.loads(body)
        assert doc["schema"] == "ovntrace.explain/2"
        assert doc["traces"][0]["verdict"]["cause"].startswith("dropped by ACL deny-ssh-from-client-1")
    else:
        assert body.startswith("### trace 1")
        assert "**Verdict:** DROP: dropped by ACL deny-ssh-from-client-1" in body
    assert not list(tmp_path.glob(".*.tmp"))  # atomic: no temporary file left


def test_help_screen_opens_and_closes() -> None:
    async def scenario(pilot: Pilot[int]) -> None:
        await pilot.press("question_mark")
        await pilot.pause(0.15)
        assert isinstance(pilot.app.screen, HelpScreen)
        text = pilot.app.export_screenshot().replace("&#160;", " ")
        assert "search the tree" in text and "export Markdown or JSON" in text
        await pilot.press("escape")
        await pilot.pause(0.15)
        assert isinstance(pilot.app.screen, ExplainScreen)

    run(make_app(ACL_DROP), scenario)


def test_copy_and_conntrack_and_rerun() -> None:
    async def scenario(pilot: Pilot[int]) -> None:
        await pilot.press("g", "j", "j", "j")  # table 0
        await pilot.press("y")
        assert pilot.app.clipboard.startswith(" 0. in_port=4, priority 100")
        assert "resubmit(,40)" in pilot.app.clipboard
        await pilot.press("c")
        messages = [n.message for n in pilot.app._notifications]
        assert any("needs a live source" in m for m in messages)
        before = tree(pilot).selected
        await pilot.press("r")
        await settle(pilot)
        after = tree(pilot).selected
        assert before is not None and after is not None and after.line == before.line  # same place
        assert after is not before  # a new parse

    run(make_app(ACL_DROP), scenario)


def test_runbook_tab_shows_the_commands_for_the_selection() -> None:
    async def scenario(pilot: Pilot[int]) -> None:
        screen = explain(pilot)
        assert screen.outline is not None
        node = screen.outline.find_line(63)  # the ACL log controller() action
        assert node is not None
        tree(pilot).goto(node)
        await pilot.press("2")
        await pilot.pause(0.15)
        assert screen.query_one("#side", TabbedContent).active == "runbook"
        text = screen.query_one("#runbook-pane", TextPane).plain
        assert "acl-add kube-node1 to-lport 1001" in text
        assert "--name=deny-ssh-from-client-1" in text

    run(make_app(ACL_DROP, with_inventory=True), scenario)


def test_runbook_without_inventory_gives_a_hint() -> None:
    async def scenario(pilot: Pilot[int]) -> None:
        await pilot.press("2")
        await pilot.pause(0.15)
        body = explain(pilot).query_one("#runbook-pane", TextPane).shown
        assert "--inventory" in str(body)

    run(make_app(ACL_DROP), scenario)


def test_raw_tab_selects_the_lines_of_the_step() -> None:
    async def scenario(pilot: Pilot[int]) -> None:
        await pilot.press("g", "j", "j", "j", "3")  # table 0 (lines 5-12), raw tab
        await pilot.pause(0.15)
        raw = explain(pilot).query_one("#raw-view", TextArea)
        assert raw.selected_text.startswith(" 0. in_port=4")
        assert raw.selected_text.rstrip().endswith("resubmit(,40)")

    run(make_app(ACL_DROP), scenario)


def test_trace_text_is_never_markup() -> None:
    """A paste carrying Rich/Textual markup shows it literally (and does not crash the app)."""
    text = ACL_DROP.read_text(encoding="utf-8").replace("resubmit(,43)", "resubmit(,43) [bold red]x[/] [/]")

    async def scenario(pilot: Pilot[int]) -> None:
        screen = explain(pilot)
        assert screen.outline is not None
        node = next(n for n in screen.outline.flat if "[bold red]" in n.text)
        tree(pilot).goto(node)
        await pilot.pause(0.15)
        assert "[bold red]x[/] [/]" in details(pilot)
        assert "[bold red]x[/] [/]" in tree(pilot).label_text(node).plain

    run(make_app(text=text), scenario)


def test_narrow_terminal_stacks_the_panes() -> None:
    async def scenario(pilot: Pilot[int]) -> None:
        screen = explain(pilot)
        assert screen.has_class("-narrow")
        t = screen.query_one("#tree")
        side = screen.query_one("#side")
        assert side.region.y > t.region.y  # under the tree, not beside it

    run(make_app(ACL_DROP), scenario, size=(80, 24))


def test_several_traces_only_the_first_is_built() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in (ACL_DROP, XNODE, ACL_DROP))

    async def scenario(pilot: Pilot[int]) -> None:
        t = tree(pilot)
        roots = t.root.children
        assert len(roots) == 3
        assert roots[0].is_expanded and not roots[1].is_expanded and not roots[1].children
        assert "trace 1/3" in verdict(pilot)
        screen = explain(pilot)
        assert screen.outline is not None
        deep = next(n for n in screen.outline.flat if n.trace_index == 1 and n.text == "-> output to native tunnel")
        t.goto(deep)
        await pilot.pause(0.15)
        assert t.selected is deep
        assert "trace 2/3" in verdict(pilot) and verdict(pilot).startswith("TUNNEL")

    run(make_app(text=text), scenario)


def test_rerun_does_not_pile_up_frozen_objects() -> None:
    """The loaded trace is frozen out of the GC (keypress latency); r must not keep the old ones frozen."""
    import gc

    counts: list[int] = []

    async def scenario(pilot: Pilot[int]) -> None:
        counts.append(gc.get_freeze_count())
        for _ in range(4):
            await pilot.press("r")
            await settle(pilot)
            counts.append(gc.get_freeze_count())

    run(make_app(XNODE), scenario)
    assert counts[0] > 10_000  # the trace's objects were frozen
    assert max(counts[1:]) < counts[0] * 1.1, counts  # and a re-run replaces them, it does not add to them


def test_export_names_are_file_names() -> None:
    from ovntrace.tui.export import default_path

    assert default_path("xnode-icmp-src.txt", "json", Path("/w")) == Path("/w/xnode-icmp-src.ovntrace.json")
    new = default_path("path default/client-1 10.0.0.5 trk,new", "markdown", Path("/w"), literal=True)
    est = default_path("path default/client-1 10.0.0.5 trk,est", "markdown", Path("/w"), literal=True)
    assert new == Path("/w/path-default-client-1-10.0.0.5-trk-new.ovntrace.md")
    assert new != est
