"""The keys, in one table: the help screen and docs/tui.md show it (bindings live with their widgets)."""

from __future__ import annotations

KEYS: tuple[tuple[str, str, str], ...] = (
    # (where, keys, what)
    ("everywhere", "?", "this help"),
    ("everywhere", "q", "quit (closes this help / a dialog first)"),
    ("everywhere", "tab / shift+tab", "next / previous pane (path, tree, side tabs)"),
    ("everywhere", "1 / 2 / 3", "side tab: details / runbook / raw input"),
    ("everywhere", "/", "search the tree (labels, OVN text, line numbers as L123)"),
    ("everywhere", "n / N", "next / previous search hit"),
    ("everywhere", "v", "go to the step that decided the verdict (the ACL drop, the tunnel output); the tree "
                        "opens there"),
    ("everywhere", "r", "re-run: read the input again and re-parse it (live: trace the path again)"),
    ("everywhere", "e", "export Markdown or JSON (ovntrace.explain/2) to a file"),
    ("everywhere", "y", "copy the selection: the step's input lines, the details, or the runbook commands"),
    ("everywhere", "c", "live (path --tui): pick a conntrack state (--ct-next) and re-trace the path"),
    ("everywhere", "escape", "close the search box; live: cancel the trace in progress"),
    ("everywhere", "T", "switch light / dark theme"),
    ("tree", "↑ ↓ / j k", "previous / next row"),
    ("tree", "enter / space", "fold or unfold the row (a folded no-op run shows its tables)"),
    ("tree", "→ ← / l h", "unfold / fold (or go to the parent)"),
    ("tree", "g G / home end", "first / last row"),
    ("tree", "shift+↑ shift+↓", "previous / next sibling"),
    ("path", "enter / click", "move the tree to that pass or hop"),
    ("panes", "j k / g G / space", "scroll like less"),
    ("paste screen", "ctrl+s", "explain the pasted trace"),
    ("mouse", "click / wheel", "select rows, fold (click ▶/▼), switch tabs, scroll"),
)


def as_markdown() -> str:
    rows = ["| where | keys | what |", "| --- | --- | --- |"]
    rows += [f"| {w} | `{k}` | {what} |" for w, k, what in KEYS]
    return "\n".join(rows) + "\n"
