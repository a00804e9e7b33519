"""The details pane's content for one selected node, as a :class:`~ovntrace.render.safe.SafeText` (never
markup; control characters in the input lines, names and values show escaped).

For a table: the input lines it spans (with their numbers), its OVN meaning when known, the field
state at entry with what changed since the previous table marked (``~`` changed, ``+`` now known,
``-`` no longer known: readable without colour too), and its actions with their parsed arguments.
For an action: its parsed arguments and the state of the table it is in. For a pass: its flow and
datapath actions; for a trace: the verdict with the tunnel metadata.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from rich.text import Text

from ovntrace.model import Pass, Step, StepKind, Trace
from ovntrace.model.ovn import StepOvn, TraceOvn
from ovntrace.render.display import acl_text, step_ovn_text
from ovntrace.render.json import action_json, jsonable, odp_json
from ovntrace.render.safe import SafeText
from ovntrace.tui.outline import Node, NodeKind, Outline
from ovntrace.tui.styles import style

MAX_INPUT_LINES = 40


def own_lines(step: Step) -> list[int]:
    """The input lines of ``step`` and what it contains, without the table it tail-resubmits to."""
    kids = step.children
    if step.kind is StepKind.TABLE and kids and kids[-1].kind is StepKind.TABLE:
        kids = kids[:-1]
    out = [step.line]
    for k in kids:
        out.extend(s.line for s in k.walk())
    return sorted(set(out))


def node_lines(node: Node) -> list[int]:
    """The input lines a node stands for (what `y` copies and the raw view selects)."""
    if node.kind == NodeKind.TRACE and node.trace is not None:
        return list(range(node.trace.first_line, node.trace.last_line + 1))
    if node.kind == NodeKind.PASS and node.pass_ is not None:
        p = node.pass_
        last = max([p.datapath_actions_line or 0, *(s.line for s in p.walk()), *(s.line for s in p.notes)])
        return list(range(p.first_line, max(last, p.first_line) + 1))
    if node.run:
        lines: list[int] = []
        for s in node.run:
            lines.extend(own_lines(s) if s.kind is StepKind.TABLE else [s.line])
        return sorted(set(lines))
    if node.step is not None:
        return own_lines(node.step)
    return [node.line] if node.line is not None else []


def _section(out: Text, title: str, dark: bool) -> None:
    if out.plain:
        out.append("\n" if out.plain.endswith("\n") else "\n\n")
    out.append(title, style=style("section", dark))
    out.append("\n")


def _kv(out: Text, key: str, value: str, dark: bool, value_style: str = "") -> None:
    out.append(f"{key}: ", style=style("key", dark))
    out.append(value, style=style(value_style, dark) if value_style else "")
    out.append("\n")


def input_lines(out: Text, lines: Sequence[int], text_lines: Sequence[str], dark: bool) -> None:
    shown = list(lines)[:MAX_INPUT_LINES]
    width = len(str(shown[-1])) if shown else 1
    prev = None
    for ln in shown:
        if prev is not None and ln != prev + 1:
            out.append(" " * width + "  …\n", style=style("lineno", dark))
        text = text_lines[ln - 1] if 0 < ln <= len(text_lines) else ""
        out.append(f"{ln:>{width}}  ", style=style("lineno", dark))
        out.append(text + "\n")
        prev = ln
    if len(lines) > len(shown):
        out.append(f"… {len(lines) - len(shown)} more lines (raw tab shows all)\n", style=style("hint", dark))


def state_diff(state: Mapping[str, str], before: Mapping[str, str] | None) -> list[tuple[str, str, str | None, str]]:
    """``(mark, key, old, new)`` for every field known at entry or before; mark is ``~ + -`` or space."""
    rows: list[tuple[str, str, str | None, str]] = []
    for key, value in state.items():
        if before is None:
            rows.append((" ", key, None, value))
        elif key not in before:
            rows.append(("+", key, None, value))
        elif before[key] != value:
            rows.append(("~", key, before[key], value))
        else:
            rows.append((" ", key, None, value))
    if before is not None:
        rows.extend(("-", key, old, "") for key, old in before.items() if key not in state)
    changed = [r for r in rows if r[0] != " "]
    same = [r for r in rows if r[0] == " "]
    return changed + same


def state_section(out: Text, table: Step, before: Step | None, dark: bool, title: str) -> None:
    _section(out, title, dark)
    if before is None:
        out.append("(the first table of the trace: nothing to compare with)\n", style=style("hint", dark))
    else:
        out.append(f"marked: changed since table {before.table} (line {before.line})\n", style=style("hint", dark))
    if not table.state:
        out.append("(no field known)\n", style=style("hint", dark))
    rows = state_diff(table.state, before.state if before is not None else None)
    width = max((len(k) for _, k, _, _ in rows), default=0)
    for mark, key, old, new in rows:
        st = {"~": "changed", "+": "added", "-": "removed"}.get(mark, "")
        out.append(f"{mark} {key:<{width}} = ", style=style(st, dark) if st else "")
        if mark == "-":
            out.append(f"(unknown; was {old})\n", style=style("removed", dark))
            continue
        out.append(new, style=style(st, dark) if st else "")
        if old is not None:
            out.append(f"  (was {old})", style=style("lineno", dark))
        out.append("\n")


def _args_text(step: Step) -> str:
    if step.action is None:
        return ""
    args = action_json(step.action)
    args.pop("name", None)
    return json.dumps(args, ensure_ascii=False, separators=(", ", ": "))


def actions_section(out: Text, steps: Sequence[Step], tovn: TraceOvn | None, dark: bool) -> None:
    acts = [s for s in steps if s.kind is StepKind.ACTION and s.action is not None]
    if not acts:
        return
    _section(out, "Actions (parsed)", dark)
    for s in acts:
        assert s.action is not None
        name = s.action.name
        out.append(f"L{s.line} ", style=style("lineno", dark))
        out.append(name, style=style(f"action.{name}", dark))
        args = _args_text(s)
        if args and args != "{}":
            out.append(f"  {args}")
        if s.spurious:
            out.append("  (OVS artefact)", style=style("note", dark))
        ao = tovn.actions.get(s.line) if tovn is not None else None
        if ao is not None:
            out.append(f"\n    {ao.words}", style=style("ovn", dark))
        out.append("\n")


def ovn_section(out: Text, st: StepOvn, dark: bool) -> None:
    _section(out, "OVN", dark)
    where = step_ovn_text(st)
    if where:
        out.append(where + "\n", style=style("ovn", dark))
    if st.datapath is not None:
        _kv(out, "datapath", f"{st.datapath.label()} (key {st.datapath.key})", dark)
    if st.lflow is not None:
        lf = st.lflow
        _kv(out, "logical flow", f"{lf.pipeline} table {lf.table_id} priority {lf.priority} ({lf.uuid[:8]})", dark)
        _kv(out, "  match", lf.match, dark, "lflow")
        _kv(out, "  actions", lf.actions, dark, "lflow")
    if st.nb:
        label = acl_text(st.nb) if st.nb.get("table") == "ACL" else f"{st.nb.get('table')} {st.nb.get('name', '')}"
        _kv(out, "northbound", label, dark)
    if st.physical:
        _kv(out, "physical", json.dumps(jsonable(dict(st.physical)), ensure_ascii=False), dark)


def _table_details(out: Text, node: Node, table: Step, outline: Outline, dark: bool) -> None:
    tovn = outline.ovn[node.trace_index]
    st = tovn.steps.get(table.line) if tovn is not None else None
    if st is not None:
        ovn_section(out, st, dark)
    before = outline.previous_table(node.trace_index, table)
    state_section(out, table, before, dark, "Field state at entry")
    kids = table.children
    if kids and kids[-1].kind is StepKind.TABLE:
        kids = kids[:-1]
    actions_section(out, [s for k in kids for s in k.walk()], tovn, dark)


def _pass_details(out: Text, p: Pass, dark: bool) -> None:
    _section(out, "Pass", dark)
    if p.recirc_id:
        _kv(out, "recirculation", p.recirc_id, dark)
    if p.ct_state:
        _kv(out, "ct_state", p.ct_state, dark)
    if p.flow:
        _kv(out, "Flow", p.flow, dark)
    for k, v in p.nat.items():
        _kv(out, f"NAT {k}", v, dark)
    if p.final_flow:
        _kv(out, "Final flow", p.final_flow, dark)
    if p.megaflow:
        _kv(out, "Megaflow", p.megaflow, dark)
    if p.translation_error:
        _kv(out, "translation error", p.translation_error, dark, "error")
    if p.datapath_actions is not None:
        _kv(out, "Datapath actions", p.datapath_actions, dark)
        for a in p.datapath_actions_parsed or ():
            out.append(f"  {a.name}", style=style("key", dark))
            args = odp_json(a)["args"]
            if args:
                out.append("  " + json.dumps(args, ensure_ascii=False))
            out.append("\n")


def _trace_details(out: Text, t: Trace, tovn: TraceOvn | None, dark: bool) -> None:
    from ovntrace.render.display import headline_style, ovs_verdict_words, verdict_style

    _section(out, "Verdict", dark)
    v = t.verdict
    ov = tovn.verdict if tovn is not None else None
    if ov is not None:  # one verdict: OVN's leads, the OVS-level one is shown beside it as such
        out.append(f"{ov.kind.upper()}: {ov.cause}\n", style=style(headline_style(t, tovn), dark))
        if ov.line:
            _kv(out, "decided at", f"line {ov.line}", dark)
        _kv(out, "OVS", ovs_verdict_words(t).removeprefix("OVS: "), dark)
        for o in ov.outputs:
            _kv(out, "output", ", ".join(f"{k}={val}" for k, val in o.items()
                                         if not isinstance(val, (dict, list)) and k != "line"), dark)
    else:
        out.append(f"{v.kind.value.upper()}: {v.reason}\n", style=style(verdict_style(v.kind), dark))
    if v.line:
        _kv(out, "line", str(v.line), dark)
    if v.ports:
        _kv(out, "ports", ", ".join(v.ports), dark)
    for key, value in v.tunnel.items():
        _kv(out, f"tunnel {key}", value if isinstance(value, str) else json.dumps(jsonable(value)), dark)
    if t.command:
        _kv(out, "command", t.command, dark)
    _kv(out, "format", t.format.value, dark)
    if tovn is not None and tovn.release_guess:
        _kv(out, "OVN", tovn.release_guess, dark)
    if tovn is not None and tovn.path:
        _section(out, "Logical path", dark)
        for h in tovn.path:
            out.append(f"L{h.line} ", style=style("lineno", dark))
            out.append(("⇒ " if h.kind == "tunnel" else "→ ") + h.text + "\n", style=style("path", dark))


def describe(node: Node, outline: Outline, text_lines: Sequence[str], dark: bool = True) -> Text:
    """Everything the details pane shows for ``node``."""
    out = SafeText()
    tovn = outline.ovn[node.trace_index] if node.trace_index < len(outline.ovn) else None
    title = node.text if len(node.text) < 100 else node.text[:99] + "…"
    out.append(title, style=style("header", dark))
    if node.line is not None:
        out.append(f"  line {node.line}", style=style("lineno", dark))
    out.append("\n")
    step = node.step
    if step is not None and step.kind is StepKind.TABLE:
        parts = [p for p in (f"table {step.table}" if step.table is not None else "",
                             f"priority {step.priority}" if step.priority is not None else "",
                             f"cookie {step.cookie}" if step.cookie else "",
                             f"bridge {step.bridge}" if step.bridge else "",
                             f"entered from line {step.via}" if step.via else "",
                             "MISS (no flow matched)" if step.miss else "") if p]
        out.append(" · ".join(parts) + "\n", style=style("note", dark))
    if node.kind == NodeKind.TRACE and node.trace is not None:
        _trace_details(out, node.trace, tovn, dark)
    elif node.kind == NodeKind.PASS and node.pass_ is not None:
        _pass_details(out, node.pass_, dark)
    lines = node_lines(node)
    if node.kind == NodeKind.ROW and lines:
        _section(out, "Input", dark)
        input_lines(out, lines, text_lines, dark)
    if step is not None and step.kind is StepKind.TABLE:
        _table_details(out, node, step, outline, dark)
    elif node.run and node.run[0].kind is StepKind.TABLE:
        _section(out, "Folded", dark)
        out.append(f"{len(node.run)} tables that only resubmit to the next one; enter shows them\n")
        first = node.run[0]
        state_section(out, first, outline.previous_table(node.trace_index, first), dark,
                      f"Field state at entry of table {first.table}")
    elif step is not None or node.run:
        acts = list(node.run) if node.run else ([step] if step is not None else [])
        actions_section(out, acts, tovn, dark)
        within = node.table()
        if within is not None:
            state_section(out, within, outline.previous_table(node.trace_index, within), dark,
                          f"Field state at entry of table {within.table}")
    return out


def summarise_json(value: Any) -> str:
    return json.dumps(jsonable(value), ensure_ascii=False)
