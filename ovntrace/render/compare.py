"""The logical/physical comparison (:mod:`ovntrace.correlate.compare`) as text or Markdown lines.

Every name and match comes from a paste or a database: escaped (:func:`ovntrace.render.safe.escape`, or
:func:`~ovntrace.render.safe.md_text` / :func:`~ovntrace.render.safe.md_code` in Markdown).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ovntrace.correlate.compare import Comparison, StageMatch
from ovntrace.render.safe import escape, md_code, md_text

_MARK = {"matched": "=", "unseen": "~", "diverged": "✗", "after": "·", "remote": "→", "no-match": "∅",
         "no-uuid": "?", "missing": "✗"}


def head(c: Comparison) -> str:
    """One word for the outcome: AGREE, DIVERGE or UNKNOWN."""
    return "AGREE" if c.agree else "DIVERGE" if c.agree is False else "UNKNOWN"


def _who(c: Comparison) -> str:
    lt = f"trace {c.logical + 1}" if c.logical is not None else "the ovn-trace"
    ph = ", ".join(n or f"trace {i + 1}" if i is not None else (n or "?") for n, i in zip(c.nodes, c.physical,
                                                                                           strict=False))
    return f"ovn-trace ({lt}) vs ofproto/trace ({ph})"


def _stage_line(s: StageMatch) -> str:
    where = ""
    if s.of_table is not None:
        where = f" → OpenFlow table {s.of_table}" + (f" line {s.of_line}" if s.of_line is not None else "")
        if s.node:
            where += f" on {s.node}"
    dp = f"{s.datapath}/" if s.datapath else ""
    return (f"{_MARK.get(s.status, '?')} line {s.line}: {dp}{s.pipeline or '?'} {s.table} {s.stage or '?'}"
            f" uuid {s.uuid or '-'}: {s.status}{where}")


_ORDER = ("matched", "unseen", "diverged", "after", "remote", "no-match", "no-uuid", "missing")


def _counts(c: Comparison) -> str:
    counts = c.counts()
    return ", ".join(f"{counts[k]} {k}" for k in sorted(counts, key=lambda k: _ORDER.index(k) if k in _ORDER else 99))


def _offsets(c: Comparison) -> str:
    return ", ".join(f"{p} table 0 = OpenFlow {t}" for p, t in sorted(c.offsets.items()))


def text_lines(comparisons: Sequence[Comparison], full: bool = False) -> list[str]:
    """Plain text (escaped); ``full``: every stage, else the ones not found by cookie."""
    out: list[str] = []
    for c in comparisons:
        out += ["", f"logical vs physical: {escape(_who(c))}", f"  {head(c)}: {escape(c.summary)}",
                f"  ovn-trace: {escape(c.logical_verdict)}"]
        if c.physical_verdict:
            out.append(f"  {escape(c.physical_verdict)}")
        counts = c.counts()
        if counts:
            out.append("  stages: " + _counts(c)
                       + (f" ({_offsets(c)})" if c.offsets else ""))
        shown = c.stages if full else tuple(s for s in c.stages if s.status not in ("matched", "after", "remote"))
        out += [f"    {escape(_stage_line(s))}" for s in shown]
        out += [f"  note: {escape(n)}" for n in c.notes]
    return out


def markdown_lines(comparisons: Sequence[Comparison], full: bool = False) -> list[str]:
    out: list[str] = []
    for c in comparisons:
        out += ["", f"### Logical vs physical: {md_text(_who(c))}", "", f"**{head(c)}**: {md_text(c.summary)}", "",
                f"- ovn-trace: {md_text(c.logical_verdict)}"]
        if c.physical_verdict:
            out.append(f"- {md_text(c.physical_verdict)}")
        counts = c.counts()
        if counts:
            out.append("- stages: " + md_text(_counts(c))
                       + (f" ({md_text(_offsets(c))})" if c.offsets else ""))
        shown = c.stages if full else tuple(s for s in c.stages if s.status not in ("matched", "after", "remote"))
        out += [f"  - {md_code(_stage_line(s))}" for s in shown]
        out += [f"- note: {md_text(n)}" for n in c.notes]
    return out


def path_lines(chain: Any, markdown: bool, full: bool = False) -> list[str]:
    """``ovntrace path``: the logical line of a chain (its ovn-trace compared with its ofproto/traces)."""
    lt = getattr(chain, "logical", None)
    if lt is None:
        return []
    md = md_text if markdown else escape
    ind = "" if markdown else "  "
    if lt.halves:  # interconnect: one line per zone crossed
        out: list[str] = []
        for h in lt.halves:
            for line in path_lines(_Half(h), markdown, full):
                out.append(line.replace("logical: ", f"logical: zone {md(h.zone or '?')}, hop {h.half}: ", 1))
        return out
    if lt.error:
        return [f"{ind}logical: {md(lt.error)}"]
    c = lt.comparison
    if c is None:
        v = lt.trace.verdict if lt.trace is not None else None
        return [f"{ind}logical: ovn-trace on {md(lt.node)}: {md(f'{v.kind.value}: {v.reason}' if v else '?')} "
                "(no ofproto/trace to compare with)"]
    out = [f"{ind}logical: {head(c)}: {md(c.summary)}"]
    if markdown:
        out.insert(0, "")
        out.append("")
    if full:
        out += [f"{ind}  {md(_stage_line(s))}" for s in c.stages]
    return out


class _Half:
    """A chain-like holder of one interconnect half, for the central code paths."""

    def __init__(self, logical: Any) -> None:
        self.logical = logical


def path_hop(chain: Any, markdown: bool, full: bool) -> list[str]:
    """``ovntrace path --hops``: the chain's ovn-trace explained, after its ofproto/traces."""
    import io

    lt = getattr(chain, "logical", None)
    if lt is not None and lt.halves:
        return [line for h in lt.halves for line in path_hop(_Half(h), markdown, full)]
    if lt is None or lt.result is None or not lt.result.traces:
        return []
    if markdown:
        from ovntrace.render import markdown as md_render

        return ["", f"### ovn-trace on {md_text(lt.node)}, ct {lt.ct}: {md_code(lt.command)}",
                md_render.render(lt.result, full=full)]
    from ovntrace.render import text as tr

    buf = io.StringIO()
    tr.render(lt.result, buf, full=full, color=False)
    return ["", f"== ovn-trace on {escape(lt.node)}, ct {lt.ct}: {escape(lt.command)}", buf.getvalue().rstrip("\n")]


def path_json(chain: Any) -> dict[str, Any] | None:
    """``ovntrace path`` JSON: a chain's ``logical`` object (docs/json-contract.md, "comparison")."""
    from ovntrace.correlate.compare import to_json

    lt = getattr(chain, "logical", None)
    if lt is None:
        return None
    if lt.halves:  # interconnect: the halves, one per zone crossed; "agree" over all of them
        halves = [{**(path_json(_Half(h)) or {}), "zone": h.zone, "half": h.half} for h in lt.halves]
        errors = [f"hop {h.half} (zone {h.zone}): {h.error}" for h in lt.halves if h.error]
        return {"node": None, "ct": lt.ct, "command": None, "seconds": round(lt.seconds, 3),
                "error": "; ".join(errors) or None, "verdict": halves[-1]["verdict"], "comparison": None,
                "agree": lt.agree, "halves": halves}
    v = lt.trace.verdict if lt.trace is not None else None
    return {"node": lt.node, "ct": lt.ct, "command": lt.command, "seconds": round(lt.seconds, 3),
            "error": lt.error, "verdict": None if v is None else {"kind": v.kind.value, "reason": v.reason,
                                                                   "ports": list(v.ports), "line": v.line},
            "comparison": to_json(lt.comparison) if lt.comparison is not None else None}


__all__ = ["head", "markdown_lines", "path_hop", "path_json", "path_lines", "text_lines"]
