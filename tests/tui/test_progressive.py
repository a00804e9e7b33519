"""Opening a long input: the first traces are shown while the rest is read (tui/progressive.py), and
the details pane renders only the rows it draws (tui/widgets/panes.py). Both must show what the
straightforward way shows: the same parse, the same tree, the same rows."""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual.pilot import Pilot
from textual.strip import Strip

from ovntrace.parser import parse
from ovntrace.render.safe import SafeText
from ovntrace.tui.details import describe
from ovntrace.tui.messages import MoreTraces, Parsed
from ovntrace.tui.outline import build
from ovntrace.tui.progressive import parse_in_steps
from ovntrace.tui.screens.explain import ExplainScreen
from ovntrace.tui.widgets.panes import TextPane
from ovntrace.tui.widgets.tree import TraceTree
from tests.conftest import FIX
from tests.tui.conftest import ACL_DROP, XNODE, make_app, settle

LAB = sorted((FIX / "lab").glob("*.txt"))


def test_parse_in_steps_ends_with_what_parse_returns() -> None:
    inputs = [p.read_text(encoding="utf-8", errors="replace") for p in LAB]
    inputs += [(FIX / "ovn-24.03.9" / "trace2.txt").read_text(encoding="utf-8"), "", "no trace here\n",
               "\n".join(inputs)]  # many traces, with warnings and prose between them
    for text in inputs:
        steps = list(parse_in_steps(text))
        whole = parse(text)
        assert steps[-1].done and steps[-1].result == whole
        assert [s.done for s in steps] == [False] * (len(steps) - 1) + [True]
        assert all(s.total == len(whole.traces) for s in steps)
        for i, s in enumerate(steps[:-1]):  # each partial result: the first traces, as parse builds them
            assert s.result.traces == whole.traces[: i + 1]


def test_a_long_input_opens_on_its_first_trace_and_the_rest_follows(monkeypatch: object) -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in (ACL_DROP, *LAB[:8], XNODE))
    seen: list[tuple[str, bool, int]] = []
    on_parsed, on_more = ExplainScreen.on_parsed, ExplainScreen.on_more_traces

    def parsed(self: ExplainScreen, m: Parsed) -> None:
        seen.append(("parsed", m.complete, len(m.result.traces)))
        on_parsed(self, m)
        if not m.complete:  # while the rest is read: the tree says so, export waits for the whole input
            assert str(self.query_one("#tree", TraceTree).border_subtitle).startswith("reading traces… 1/")
            said: list[str] = []
            notify = self.app.notify
            self.app.notify = lambda message, **kw: said.append(message)  # type: ignore[method-assign]
            try:
                self.action_export()
            finally:
                self.app.notify = notify  # type: ignore[method-assign]
            assert isinstance(self.app.screen, ExplainScreen)  # no export dialog
            assert any("still reading the input" in m for m in said), said

    def more(self: ExplainScreen, m: MoreTraces) -> None:
        seen.append(("more", m.complete, len(m.result.traces)))
        on_more(self, m)

    ExplainScreen.on_parsed = parsed  # type: ignore[method-assign]
    ExplainScreen.on_more_traces = more  # type: ignore[method-assign]
    whole = parse(text)
    full = build(whole)

    async def main() -> None:
        app = make_app(text=text)
        async with app.run_test(size=(160, 48)) as pilot:
            await settle(pilot)
            screen = pilot.app.screen
            assert isinstance(screen, ExplainScreen) and screen.outline is not None
            o = screen.outline
            assert o.result == whole  # the whole input in the end, as one parse reads it
            assert [(n.index, n.trace_index, n.text, n.line) for n in o.flat] == [
                (n.index, n.trace_index, n.text, n.line) for n in full.flat]
            tree = screen.query_one("#tree", TraceTree)
            assert len(tree.root.children) == len(whole.traces)
            # opened on the first trace's answer, and the traces added later did not move the cursor
            assert tree.selected is not None and tree.selected.trace_index == 0
            line = screen.verdict_line_of(0)  # OVN's (the ACL's log action) once known
            assert line is not None and tree.selected is o.find_line(line)
            assert not tree.border_subtitle or "reading" not in str(tree.border_subtitle)
            assert f"trace 1/{len(whole.traces)}" in str(screen.query_one("#verdict").render())
            screen.search("output to native tunnel")  # rows of the traces added later are searched too
            hits = [n for n in screen.matches if n.trace_index == len(whole.traces) - 1]
            assert hits
            tree.goto(hits[0])  # and shown: unfolded on demand
            await pilot.pause()
            assert tree.selected is hits[0]

    try:
        asyncio.run(main())
    finally:
        ExplainScreen.on_parsed = on_parsed  # type: ignore[method-assign]
        ExplainScreen.on_more_traces = on_more  # type: ignore[method-assign]
    assert seen[0] == ("parsed", False, 1), seen  # the first trace alone first
    assert seen[-1][1] and seen[-1][2] == len(whole.traces), seen
    assert all(kind == "more" for kind, _, _ in seen[1:])


def _whole(pane: TextPane, text: Text, width: int) -> list[Strip]:
    console = pane.app.console
    options = console.options.update(width=width, min_width=width, max_width=width, highlight=False,
                                     no_wrap=False, overflow="fold")
    return [Strip(line, width) for line in console.render_lines(text, options, pad=True)]


def _cells(strip: Strip) -> list[tuple[str, object]]:
    return [(ch, seg.style) for seg in strip for ch in seg.text]


def _drawn(pane: TextPane) -> list[Strip]:
    assert pane.scroll_offset.y == 0
    pane.render_lines(pane.size.region)  # a frame: what it reads once per frame
    return [pane.render_line(y) for y in range(pane.virtual_size.height)]  # every row, as if scrolled to it


def test_the_details_pane_draws_the_rows_of_the_whole_text() -> None:
    """Lazy rows (a line that fits counted, a long one wrapped alone) are the rows of the text rendered
    whole at the pane's width: every table of a real trace, plus wide, long, blank and escaped lines."""

    async def scenario(pilot: Pilot[int]) -> None:
        screen = pilot.app.screen
        assert isinstance(screen, ExplainScreen) and screen.outline is not None
        pane = screen.query_one("#details-pane", TextPane)
        width = pane.scrollable_content_region.width
        style = pane.rich_style
        texts: list[Text] = [describe(n, screen.outline, screen.text_lines, True)
                             for n in screen.outline.flat[:60]]
        odd = SafeText("first\n\n" + "x" * (3 * width + 5) + "\n宽字符" * 40 + "\n[bold]\x1b[2J\n", style="red")
        odd.append("a word " * 40, style="bold")
        texts.append(odd)
        for text in texts:
            pane.show(text)
            await pilot.pause()
            want = [s.apply_style(style) for s in _whole(pane, text, width)]
            got = _drawn(pane)
            assert [s.text for s in got] == [s.text for s in want]
            assert [_cells(s) for s in got] == [_cells(s) for s in want]  # each cell's character and style

    async def main() -> None:
        app = make_app(XNODE)
        async with app.run_test(size=(160, 48)) as pilot:
            await settle(pilot)
            await scenario(pilot)

    asyncio.run(main())
