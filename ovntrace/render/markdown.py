"""``ovntrace explain --format markdown``: the same explanation, fit to paste into a GitHub issue.

The tree goes in a fenced ``text`` block, so Markdown cannot eat its indentation or table numbers
(the damage ovntrace otherwise has to undo); its fence is longer than any backtick run inside it.
Everything outside the block is escaped (:mod:`ovntrace.render.safe`): HTML as entities, Markdown
punctuation backslashed, commands and flows in code spans whose fence no backtick inside can close,
and control characters shown as ``\x1b`` everywhere, the block included.
"""

from __future__ import annotations

from collections.abc import Sequence

from ovntrace.model import ParseResult, Trace
from ovntrace.model.ovn import TraceOvn
from ovntrace.model.trace import ParseWarning
from ovntrace.render.display import _row as display_row
from ovntrace.render.display import pass_title, path_line, rows_for_steps, summary, verdict_line
from ovntrace.render.safe import escape, md_code, md_fence, md_text


def render(result: ParseResult, *, full: bool = False, ovn: Sequence[TraceOvn | None] | None = None) -> str:
    out = [trace_text(t, ovn[i] if ovn is not None and i < len(ovn) else None, i + 1, full)
           for i, t in enumerate(result.traces)]
    out.extend(tail_lines(result.warnings, bool(result.traces)))
    return "\n".join(out) + "\n"


def tail_lines(warnings: Sequence[ParseWarning], traces: bool = True) -> list[str]:
    """What follows the traces: the parser warnings (and, ``traces`` False, that there is none)."""
    out: list[str] = []
    if warnings:
        out.append("\n<details><summary>Parser warnings</summary>\n")
        out.extend(f"- line {w.line}: {md_text(w.message)}" for w in warnings)
        out.append("\n</details>")
    if not traces:
        out.append("_No trace found._")
    return out


def trace_text(trace: Trace, tovn: TraceOvn | None, index: int, full: bool = False) -> str:
    """One trace's part of the document (``index``: its number, 1-based), without the line feed that
    separates it from the next part."""
    out: list[str] = []
    block: list[str] = []

    def flush() -> None:
        if block:
            body = "\n".join(block)
            fence = md_fence(body)
            out.append(f"{fence}text\n{body}\n{fence}")
            block.clear()

    title = summary(trace, index)
    out.append(f"### {title.split(':', 1)[0]}")
    out.append(f"**Verdict:** {md_text(verdict_line(trace, tovn))}  ")
    path = path_line(tovn)
    if path:
        out.append(f"**Path:** {md_text(path)}  ")
    for note in tovn.notes if tovn is not None else ():
        out.append(f"- {md_text(note)}")
    out.append(md_text(title.split(": ", 1)[1].rsplit(" · ", 1)[0]))
    if trace.command:
        out.append(f"\nCommand: {md_code(trace.command)}")
    for i, p in enumerate(trace.passes, 1):
        flush()
        out.append(f"\n**{md_text(pass_title(p, i))}**" + (f": {md_code('Flow: ' + p.flow)}" if p.flow else ""))
        if p.datapath_actions is not None:
            out.append(f"Datapath actions: {md_code(p.datapath_actions)}")
        out.append("")
        for part in (rows_for_steps(p.steps, full, tovn), *(display_row(n, 0) for n in p.notes)):
            for row in part:
                note = f"  ({row.note})" if row.note else ""
                if row.ovn:
                    note += f"  # {row.ovn}"
                text = escape(row.text + note)
                pad = "    " * row.depth
                block.append(f"{pad}{text}  [L{row.line}]" if row.line else f"{pad}{text}")
                if row.lflow:
                    block.append(f"{pad}    lflow: {escape(row.lflow)}")
    flush()
    return "\n".join(out)
