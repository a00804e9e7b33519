"""``ovntrace explain --format markdown``: the same explanation, fit to paste into a GitHub issue.

The tree goes in a fenced ``text`` block, so Markdown cannot eat its indentation or table numbers
(the damage ovntrace otherwise has to undo); its fence is longer than any backtick run inside it.
Everything outside the block is escaped (:mod:`ovntrace.render.safe`): HTML as entities, Markdown
punctuation backslashed, commands and flows in code spans whose fence no backtick inside can close,
and control characters shown as ``\x1b`` everywhere, the block included.
"""

from __future__ import annotations

from collections.abc import Sequence

from ovntrace.model import ParseResult
from ovntrace.model.ovn import TraceOvn
from ovntrace.render.display import pass_title, path_line, result_rows, summary, verdict_line
from ovntrace.render.safe import escape, md_code, md_fence, md_text


def render(result: ParseResult, *, full: bool = False, ovn: Sequence[TraceOvn | None] | None = None) -> str:
    out: list[str] = []
    block: list[str] = []

    def flush() -> None:
        if block:
            body = "\n".join(block)
            fence = md_fence(body)
            out.append(f"{fence}text\n{body}\n{fence}")
            block.clear()

    index = 0
    for kind, trace, p, row in result_rows(result, full, ovn):
        if kind == "trace" and trace is not None:
            flush()
            index += 1
            tovn = ovn[index - 1] if ovn is not None and index - 1 < len(ovn) else None
            out.append(f"### {summary(trace, index).split(':', 1)[0]}")
            out.append(f"**Verdict:** {md_text(verdict_line(trace, tovn))}  ")
            path = path_line(tovn)
            if path:
                out.append(f"**Path:** {md_text(path)}  ")
            for note in tovn.notes if tovn is not None else ():
                out.append(f"- {md_text(note)}")
            out.append(md_text(summary(trace, index).split(": ", 1)[1].rsplit(" · ", 1)[0]))
            if trace.command:
                out.append(f"\nCommand: {md_code(trace.command)}")
        elif kind == "pass" and p is not None and trace is not None:
            flush()
            i = trace.passes.index(p) + 1
            out.append(f"\n**{md_text(pass_title(p, i))}**" + (f": {md_code('Flow: ' + p.flow)}" if p.flow else ""))
            if p.datapath_actions is not None:
                out.append(f"Datapath actions: {md_code(p.datapath_actions)}")
            out.append("")
        elif row is not None:
            note = f"  ({row.note})" if row.note else ""
            if row.ovn:
                note += f"  # {row.ovn}"
            text = escape(row.text + note)
            block.append(f"{'    ' * row.depth}{text}  [L{row.line}]" if row.line else f"{'    ' * row.depth}{text}")
            if row.lflow:
                block.append(f"{'    ' * (row.depth + 1)}lflow: {escape(row.lflow)}")
    flush()
    if result.warnings:
        out.append("\n<details><summary>Parser warnings</summary>\n")
        out.extend(f"- line {w.line}: {md_text(w.message)}" for w in result.warnings)
        out.append("\n</details>")
    if not result.traces:
        out.append("_No trace found._")
    return "\n".join(out) + "\n"
