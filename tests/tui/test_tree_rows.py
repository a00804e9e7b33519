"""The trace tree draws its rows itself (TraceTree._draw_row, cheaper per row): each row must be the one
Textual's own ``Tree`` drawing makes, segment by segment (text, colours, the mouse's line/node meta), in
every state a row can be in: cursor on it or not, inside the cursor's subtree, folded and unfolded, with
OVN words, focused or not, dark and light, narrow; and a search hit falls back to Tree's drawing."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Tree

from ovntrace.tui.screens.explain import ExplainScreen
from ovntrace.tui.widgets.tree import TraceTree
from tests.tui.conftest import ACL_DROP, XNODE, make_app
from tests.tui.test_pilot import run


def _rows_equal(tree: TraceTree) -> int:
    """Every row of the tree (not only those on screen) drawn both ways; returns how many were compared."""
    tree._pseudo_class_state = tree.get_pseudo_class_state()  # what Tree.render_lines sets for a frame
    tree._row_styles = None
    base = tree.rich_style
    width = tree.size.width
    lines = tree._tree_lines
    assert lines
    compared = 0
    for y, line in enumerate(lines):
        ours = tree._row_strip(y, line, base, width)
        if ours is None:  # a row only Tree draws (a search hit)
            continue
        tree._line_cache.clear()
        theirs = Tree._render_line(tree, y, 0, ours.cell_length + 10, base)
        assert list(ours) == list(theirs), f"row {y}: {line.node.data}"
        assert ours.cell_length == theirs.cell_length
        compared += 1
    tree._line_cache.clear()
    return compared


def _tree(pilot: Pilot[int]) -> TraceTree:
    screen = pilot.app.screen
    assert isinstance(screen, ExplainScreen)
    return screen.query_one("#tree", TraceTree)


def test_rows_equal_tree_drawing_in_every_state() -> None:
    async def scenario(pilot: Pilot[int]) -> None:
        tree = _tree(pilot)
        assert tree.has_focus
        n = _rows_equal(tree)  # opened on the verdict's step, OVN words in, the cursor deep in the tree
        assert n > 30
        await pilot.press("g")  # the cursor on the trace row: every row is in its subtree
        assert _rows_equal(tree) == n
        await pilot.press("j", "j", "j", "enter")  # a table folded
        assert _rows_equal(tree) < n
        await pilot.press("enter", "G")
        assert _rows_equal(tree) == n
        tree.screen.set_focus(None)  # unfocused: no guides highlighted, the cursor row drawn unfocused
        await pilot.pause()
        assert not tree.has_focus
        assert _rows_equal(tree) == n
        tree.focus()
        pilot.app.theme = "textual-light"
        await pilot.pause(0.1)
        assert _rows_equal(tree) == n

    run(make_app(ACL_DROP), scenario, size=(160, 48))


def test_rows_equal_tree_drawing_narrow_and_a_search_hit_falls_back() -> None:
    async def scenario(pilot: Pilot[int]) -> None:
        tree = _tree(pilot)
        n = _rows_equal(tree)
        assert n > 20
        tree.set_query("resubmit")  # hits are highlighted over the row's own styles: Tree draws those
        compared = _rows_equal(tree)
        assert 0 < compared < n
        line = next(i for i, ln in enumerate(tree._tree_lines) if "resubmit" in ln.node.data.search)
        assert tree._row_strip(line, tree._tree_lines[line], tree.rich_style, tree.size.width) is None

    run(make_app(XNODE), scenario, size=(80, 24))
