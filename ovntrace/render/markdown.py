"""``ovntrace explain --format markdown``: the same explanation, fit to paste into a GitHub issue.

The tree goes in a fenced ``text`` block, so Markdown cannot eat its indentation or table numbers
(the damage ovntrace otherwise has to undo).
"""

from __future__ import annotations

from collections.abc import Sequence

from ovntrace.model import ParseResult
from ovntrace.model.ovn import TraceOvn
from ovntrace.render.display import pass_title, path_line, result_rows, summary, verdict_line


def _fence(text: str) -> str:
    longest = max((len(run) for run in text.split("\n") for run in [run] if run.startswith("```")), default=0)
    return "`" * max(3, longest + 1)


def render(result: ParseResult, *, full: bool = False, ovn: Sequence[TraceOvn | None] | None = None) -> str:
    out: list[str] = []
    block: list[str] = []

    def flush() -> None:
        if block:
            body = "\n".join(block)
            fence = _fence(body)
            out.append(f"{fence}text\n{body}\n{fence}")
            block.clear()

    index = 0
    for kind, trace, p, row in result_rows(result, full, ovn):
        if kind == "trace" and trace is not None:
            flush()
            index += 1
            tovn = ovn[index - 1] if ovn is not None and index - 1 < len(ovn) else None
            out.append(f"### {summary(trace, index).split(':', 1)[0]}")
            out.append(f"**Verdict:** {verdict_line(trace, tovn)}  ")
            path = path_line(tovn)
            if path:
                out.append(f"**Path:** {path}  ")
            for note in tovn.notes if tovn is not None else ():
                out.append(f"- {note}")
            out.append(summary(trace, index).split(": ", 1)[1].rsplit(" · ", 1)[0])
            if trace.command:
                out.append(f"\nCommand: `{trace.command}`")
        elif kind == "pass" and p is not None and trace is not None:
            flush()
            i = trace.passes.index(p) + 1
            out.append(f"\n**{pass_title(p, i)}**" + (f": `Flow: {p.flow}`" if p.flow else ""))
            if p.datapath_actions is not None:
                out.append(f"Datapath actions: `{p.datapath_actions}`")
            out.append("")
        elif row is not None:
            note = f"  ({row.note})" if row.note else ""
            if row.ovn:
                note += f"  # {row.ovn}"
            block.append(f"{'    ' * row.depth}{row.text}{note}  [L{row.line}]" if row.line else
                         f"{'    ' * row.depth}{row.text}{note}")
            if row.lflow:
                block.append(f"{'    ' * (row.depth + 1)}lflow: {row.lflow}")
    flush()
    if result.warnings:
        out.append("\n<details><summary>Parser warnings</summary>\n")
        out.extend(f"- line {w.line}: {w.message}" for w in result.warnings)
        out.append("\n</details>")
    if not result.traces:
        out.append("_No trace found._")
    return "\n".join(out) + "\n"
