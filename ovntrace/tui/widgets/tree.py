"""The trace tree: a Textual ``Tree`` over :mod:`ovntrace.tui.outline` nodes, filled lazily.

Only expanded nodes get Textual nodes (a 10k-line input has thousands of rows; most stay folded),
labels are styled when a line is drawn (so a theme switch or OVN meaning arriving costs no
rebuild), and a search hit's ancestors are materialised on demand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

if TYPE_CHECKING:
    from textual.widgets._tree import _TreeLine

from ovntrace.render.safe import SafeText
from ovntrace.tui import styles
from ovntrace.tui.outline import Node, NodeKind, Outline

_EMPTY = Text()
_PREFIX_WIDTH = 2  # the ▶/▼ toggle


def _expanded_by_default(node: Node) -> bool:
    return not node.run  # folded no-op runs stay folded, as in `explain`; the rest reads like it


class _RowStyles:
    """What every row of one frame shares (see ``TraceTree._draw_row``): the guides' style and strings
    (space, vertical, terminator, cross) outside and inside the cursor's subtree, the label's style, the
    theme's darkness."""

    __slots__ = ("cursor", "dark", "guides", "label", "selected")

    def __init__(self, guides: tuple[Style, tuple[str, ...]], selected: tuple[Style, tuple[str, ...]],
                 label: Style, cursor: Style, dark: bool) -> None:
        self.dark = dark
        self.guides = guides
        self.selected = selected
        self.label = label
        self.cursor = cursor


class TraceTree(Tree[Node]):
    """Bridges, passes, tables and actions; enter/space fold, j/k move, g/G jump."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="tree.down", tooltip="Next row"),
        Binding("k", "cursor_up", "Up", show=False, id="tree.up", tooltip="Previous row"),
        Binding("g,home", "top", "Top", show=False, id="tree.top", tooltip="First row"),
        Binding("G,end", "bottom", "Bottom", show=False, id="tree.bottom", tooltip="Last row"),
        Binding("l,right", "expand", "Expand", show=False, id="tree.expand", tooltip="Expand the row"),
        Binding("h,left", "collapse", "Collapse", show=False, id="tree.collapse",
                tooltip="Collapse the row (or go to its parent)"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Text("trace"), id=id)
        self.show_root = False
        self.guide_depth = 3
        self.auto_expand = True
        self.outline: Outline | None = None
        self.query_text = ""
        self._by_index: dict[int, TreeNode[Node]] = {}
        self._frame: tuple[Style, int] = (Style(), 0)  # style and width while one frame is drawn
        self._row_styles: _RowStyles | None = None  # the rows' shared styles, once per frame
        # called in the handler that moved the cursor, with the new row: what follows the selection (the
        # details pane) is then drawn in the same frame as the tree, not one message later in a second one
        self.on_move: Callable[[Node], None] | None = None
        self._moving = False  # in the cursor's watcher

    # -- content ----------------------------------------------------------------------------

    def load(self, outline: Outline) -> None:
        """Show a new outline: the first trace expanded (all of it when it is the only one)."""
        self.clear()
        self._by_index.clear()
        self.outline = outline
        for i, root in enumerate(outline.roots):
            tnode = self._add(self.root, root, expand=i == 0)
            if i == 0:
                self._populate(tnode, deep=True)
        if self.root.children:
            self.move_cursor(self.root.children[0])

    def add_roots(self, roots: list[Node]) -> None:
        """More traces at the end (an input still being read), folded; the cursor and folds stay."""
        for root in roots:
            self._add(self.root, root, expand=False)

    def _add(self, parent: TreeNode[Node], node: Node, expand: bool) -> TreeNode[Node]:
        has_kids = bool(node.children)
        tnode = parent.add(_EMPTY, data=node, expand=expand and has_kids, allow_expand=has_kids)
        self._by_index[node.index] = tnode
        return tnode

    def _populate(self, tnode: TreeNode[Node], deep: bool) -> None:
        """Give ``tnode`` its children (once); ``deep``: also those expanded by default, recursively."""
        todo = [tnode]
        while todo:
            cur = todo.pop()
            node = cur.data
            if node is None or cur.children or not node.children:
                continue
            for child in node.children:
                expand = deep and _expanded_by_default(child)
                ctn = self._add(cur, child, expand)
                if expand:
                    todo.append(ctn)

    def watch_cursor_line(self, previous_line: int, line: int) -> None:
        before = self._cursor_node
        self._moving = True  # the guides under the cursor look the same selected or not (ovntrace.tcss)
        try:
            super().watch_cursor_line(previous_line, line)
        finally:
            self._moving = False
        node = self._cursor_node
        if node is not None and node is not before and node.data is not None and self.on_move is not None:
            self.on_move(node.data)

    def _refresh_node(self, node: TreeNode[Node]) -> None:
        """A cursor move repaints the two rows it changes, not the rows under them (Tree repaints a
        node's whole visible subtree, for the guides it highlights under the cursor: not here)."""
        if not self._moving:
            super()._refresh_node(node)
        elif node._line >= 0:
            self._refresh_line(node._line)

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[Node]) -> None:
        self._populate(event.node, deep=True)

    def materialise(self, node: Node) -> TreeNode[Node]:
        """The Textual node showing ``node``, creating and expanding its ancestors as needed."""
        if node.index in self._by_index:
            tnode = self._by_index[node.index]
        else:
            tnode = self.root
            for anc in node.ancestors():
                tnode = self._by_index.get(anc.index) or tnode
                self._populate(tnode, deep=False)
            self._populate(tnode, deep=False)
            tnode = self._by_index[node.index]
        parent = tnode.parent
        while parent is not None and parent is not self.root:
            if not parent.is_expanded:
                parent.expand()
            parent = parent.parent
        return tnode

    def goto(self, node: Node) -> None:
        """Put the cursor on ``node`` (materialised and scrolled into view)."""
        tnode = self.materialise(node)
        _ = self.last_line  # builds the lines if an expand just invalidated them
        self.move_cursor(tnode)
        self.scroll_to_node(tnode, animate=False)
        # again once laid out: a first load, or labels that grew a horizontal scrollbar, change the viewport
        self.call_after_refresh(self._scroll_to_cursor)

    def watch_show_horizontal_scrollbar(self, shown: bool) -> None:
        """The horizontal scrollbar takes a row when it comes (labels grew): the cursor's row stays in view."""
        if shown:
            self.call_after_refresh(self._scroll_to_cursor)

    def _scroll_to_cursor(self) -> None:
        tnode = self.cursor_node
        if tnode is not None:
            self.scroll_to_node(tnode, animate=False)

    def relabel(self, nodes: list[Node]) -> None:
        """Repaint the given nodes (their OVN text changed); no rebuild. A cursor in view stays in view
        (longer labels can bring a horizontal scrollbar, which takes a row)."""
        if any(n.index in self._by_index for n in nodes):
            top = self.scroll_offset.y
            if top <= self.cursor_line < top + self.scrollable_content_region.height:
                self.call_after_refresh(self._scroll_to_cursor)
            self._invalidate()

    def set_query(self, query: str) -> None:
        self.query_text = query.lower()
        self._invalidate()

    @property
    def selected(self) -> Node | None:
        node = self.cursor_node
        return node.data if node is not None else None

    # -- rendering --------------------------------------------------------------------------

    def label_text(self, node: Node, dark: bool | None = None) -> Text:
        """The styled label (a :class:`SafeText`: trace text is never markup, its controls show escaped)."""
        if dark is None:
            dark = self.app.current_theme.dark if self.is_attached else True
        t = SafeText(no_wrap=True, end="")
        if node.kind == NodeKind.TRACE and node.trace is not None:
            from ovntrace.render.display import verdict_style

            t.append(node.text + " ", style=styles.style("header", dark))
            t.append(node.note, style=styles.style(verdict_style(node.trace.verdict.kind), dark))
        elif node.kind == NodeKind.PASS:
            t.append(node.text, style=styles.style("pass", dark))
            if node.note:
                t.append("  " + node.note, style=styles.style("note", dark))
        else:
            before, stage, after = node.head_parts()
            t.append(before, style=styles.style(node.style, dark))
            if stage:
                t.append(stage, style=styles.style("stage", dark))
                t.append(after, style=styles.style(node.style, dark))
            if node.note:
                t.append("  ")
                if node.cookie:
                    prio, _, _ = node.note.partition(", cookie")
                    t.append(prio, style=styles.style("note", dark))
                    t.append(f", cookie {node.cookie}", style=styles.cookie(node.cookie, dark))
                else:
                    t.append(node.note, style=styles.style("note", dark))
            if node.line is not None:
                t.append(f"  L{node.line}", style=styles.style("lineno", dark))
            if node.ovn:
                t.append(f"  {node.ovn}", style=styles.style("ovn", dark))
            if node.lflow:
                t.append(f"  lflow: {node.lflow}", style=styles.style("lflow", dark))
        if self.query_text and self.query_text in node.search:
            low = t.plain.lower()
            start = low.find(self.query_text)
            while start >= 0:
                t.stylize(styles.style("match", dark), start, start + len(self.query_text))
                start = low.find(self.query_text, start + 1)
        return t

    def render_lines(self, crop: Region) -> list[Strip]:
        # the widget's style walks every ancestor's styles and its size is computed: once per frame, not
        # once per row as Tree.render_line does (most of a repainted row's cost)
        self._frame = (self.rich_style, self.size.width)
        self._row_styles = None
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        style, width = self._frame
        scroll_x, scroll_y = self.scroll_offset
        if self.hover_line < 0:  # no mouse over the tree: no hover styles to draw
            strip = self._draw_row(y + scroll_y, style, width)
            if strip is not None:
                return strip.crop(scroll_x, scroll_x + width)
        return self._render_line(y + scroll_y, scroll_x, scroll_x + width, style)

    # Drawing a row: what Textual's ``Tree._render_line`` draws (tests/tui/test_tree_rows.py compares the
    # two, row by row, segment by segment), made from the row's parts directly instead of through a Rich
    # ``Text`` assembled, restyled and rendered per row, with what all rows share looked up once per frame:
    # about half the cost per row (cProfile), and a first screen or a G/g scroll draws every row in view.

    def _frame_row_styles(self) -> _RowStyles:
        styles_ = self._row_styles
        if styles_ is None:
            base = self.get_component_rich_style("tree--guides", partial=True)
            selected = base + self.get_component_rich_style("tree--guides-selected", partial=True)
            styles_ = self._row_styles = _RowStyles(
                (base, self._guide_strings(base, "tree--guides")),
                (selected, self._guide_strings(selected, "tree--guides-selected")),
                self.get_component_rich_style("tree--label", partial=True),
                self.get_component_rich_style("tree--cursor", partial=False), self.app.current_theme.dark)
        return styles_

    def _guide_strings(self, style: Style, component: str) -> tuple[str, ...]:
        """Space, vertical, terminator and cross, as wide as ``guide_depth`` (blank when the guides are off
        or their colour is transparent)."""
        if not self.show_guides or self.get_component_styles(component).color.a == 0:
            return ("  ",) * 4
        kind = "bold" if style.bold else "double" if style.underline2 else "default"
        pad = max(0, self.guide_depth - 2)
        return tuple(f"{chars[0]}{chars[1] * pad} " for chars in self.LINES[kind])

    def _draw_row(self, y: int, base_style: Style, width: int) -> Strip | None:
        """Row ``y`` of the tree, uncropped (cached as Tree caches its rows); None when only Tree's own
        drawing does it (a label whose styles overlap: a search hit's highlight)."""
        lines = self._tree_lines
        if y >= len(lines):
            return Strip.blank(width, base_style)
        line = lines[y]
        path = line.path
        key = (y, False, width, self._updates, self._pseudo_class_state, tuple(n._updates for n in path))
        strip = self._line_cache.get(key)
        if strip is None:
            strip = self._row_strip(y, line, base_style, width)
            if strip is None:
                return None
            self._line_cache[key] = strip
        return strip

    def _row_strip(self, y: int, line: _TreeLine[Node], base_style: Style, width: int) -> Strip | None:
        node = line.path[-1]
        data = node.data
        if data is None:
            return None
        rs = self._frame_row_styles()
        label = self.label_text(data, rs.dark)
        plain = label.plain
        # the label's own runs: its styled parts and the unstyled text between them (Rich cuts a line
        # into segments where a style starts or ends, not between two unstyled appends)
        runs: list[tuple[str, Style | None]] = []
        pos = 0
        for start, end, part_style in label.spans:
            if start < pos or not isinstance(part_style, Style):
                return None  # overlapping styles (a search hit): Tree's drawing stacks them
            if start > pos:
                runs.append((plain[pos:start], None))
            if end > start:
                runs.append((plain[start:end], part_style))
            pos = end
        if pos < len(plain):
            runs.append((plain[pos:], None))

        focus = self.has_focus
        line_style = base_style + Style(meta={"line": y})
        segments: list[Segment] = []
        add = segments.append
        path = line.path
        selected = path[0]._selected and focus
        g_style, g_strings = rs.guides
        for tnode in path[1:]:
            g_style, g_strings = rs.selected if selected else rs.guides
            if tnode is not node:
                add(Segment(g_strings[0] if tnode.is_last else g_strings[1], line_style + g_style))
            selected = (selected or tnode._selected) and focus
        if len(path) > 1:
            add(Segment(g_strings[2] if line.last else g_strings[3], line_style + g_style))
        label_style = rs.label + rs.cursor if self.cursor_line == y else rs.label
        meta = Style(meta={"node": node._id})
        expander = self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
        add(Segment(expander if node.allow_expand else "  ", line_style + line_style + meta))
        for text, run_style in runs:
            style = line_style if run_style is None else line_style + run_style
            add(Segment(text, style + label_style + meta))
        cells = sum(cell_len(seg.text) for seg in segments)
        pad = max(self.virtual_size.width, width) - cells
        if pad:
            add(Segment(" " * pad, line_style))
        return Strip(segments)

    def render_label(self, node: TreeNode[Node], base_style: Style, style: Style) -> Text:
        data = node.data
        if data is None:
            return super().render_label(node, base_style, style)
        label = self.label_text(data)
        label.stylize(style)
        if node.allow_expand:
            prefix = (self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE, base_style)
        else:
            prefix = ("  ", base_style)
        return Text.assemble(prefix, label)

    def get_label_width(self, node: TreeNode[Node]) -> int:
        """From the plain text (drawing every label to measure it would cost O(rows) per fold)."""
        data = node.data
        if data is None:
            return super().get_label_width(node)
        return len(data.plain()) + _PREFIX_WIDTH + (len(data.note) + 1 if data.kind == NodeKind.TRACE else 0)

    # -- actions ----------------------------------------------------------------------------

    def action_top(self) -> None:
        if self.last_line >= 0:
            self.move_cursor_to_line(0)

    def action_bottom(self) -> None:
        if self.last_line >= 0:
            self.move_cursor_to_line(self.last_line)

    def action_expand(self) -> None:
        node = self.cursor_node
        if node is not None and node.allow_expand and not node.is_expanded:
            node.expand()

    def action_collapse(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and node.is_expanded:
            node.collapse()
        elif node.parent is not None and node.parent is not self.root:
            self.move_cursor(node.parent)
