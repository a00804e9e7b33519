"""What an explanation shows, as rows: shared by the terminal (Rich) and Markdown renderers.

The tree is shown the way OVS meant it: a table entered by a tail ``resubmit`` is printed at its
caller's level (a ``resubmit(,N)`` chain reads top to bottom), the actions OVS repeated after
``clone(...)``/``ct(...)`` are shown inside their container, and runs of tables that only pass the
packet on (``priority 0`` -> ``resubmit(,N+1)``) fold into one "no-op" row unless ``full``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from ovntrace.model import ParseResult, Pass, Step, StepKind, Trace, VerdictKind
from ovntrace.model.ovn import StepOvn, TraceOvn

NOOP_RUN_MIN = 3  # fold runs of at least this many pass-through tables


class Row(NamedTuple):
    """One row of an explanation (immutable; a named tuple: rows are made by the ten thousand)."""

    depth: int
    style: str  # key into the renderer's style table: table, action.<name>, detail, warning ...
    text: str
    line: int | None = None
    note: str = ""  # dim trailing text (priority/cookie, "OVS artefact" ...)
    cookie: str | None = None
    ovn: str = ""  # OVN meaning, shown after the row (stage @ datapath, decoded controller action ...)
    lflow: str = ""  # the logical flow behind a table, shown under it


def is_noop(step: Step) -> bool:
    """A table whose only effect is to resubmit/goto the next table (its tail)."""
    if step.kind is not StepKind.TABLE or step.miss:
        return False
    kids = step.children
    if len(kids) != 2 or kids[1].kind is not StepKind.TABLE:
        return False
    a = kids[0].action
    return kids[0].kind is StepKind.ACTION and a is not None and a.name in ("resubmit", "goto_table")


def _is_clear(step: Step) -> bool:
    a = step.action
    return (step.kind is StepKind.ACTION and a is not None and a.name == "set_field" and a.args.get("value") == "0"
            and not a.args.get("mask"))


def _chain(step: Step) -> list[Step]:
    """``step`` and the tables it tail-resubmits into, in order."""
    out = [step]
    cur = step
    while cur.kind is StepKind.TABLE and cur.children and cur.children[-1].kind is StepKind.TABLE:
        cur = cur.children[-1]
        out.append(cur)
    return out


def _own_children(step: Step) -> tuple[Step, ...]:
    if step.kind is StepKind.TABLE and step.children and step.children[-1].kind is StepKind.TABLE:
        return step.children[:-1]
    return step.children


def table_text(step: Step) -> str:
    tid = "--" if step.table is None else str(step.table)
    if step.miss:
        return f"{tid}. {step.text.split('. ', 1)[-1] if '. ' in step.text else step.text}"
    return f"{tid}. {step.match}" if step.match else f"{tid}."


def table_note(step: Step) -> str:
    parts = []
    if step.priority is not None:
        parts.append(f"priority {step.priority}")
    if step.cookie:
        parts.append(f"cookie {step.cookie}")
    return ", ".join(parts)


def rows_for_steps(steps: Sequence[Step], full: bool, ovn: TraceOvn | None = None) -> Iterator[Row]:
    """Iterative depth-first rows for a list of steps."""
    table = StepKind.TABLE
    # stack of [depth, the steps to show at that depth, the index of the next one]
    stack: list[list[Any]] = [[0, _expand(steps), 0]]
    while stack:
        frame = stack[-1]
        depth, todo, i = frame
        n = len(todo)
        if i >= n:
            stack.pop()
            continue
        step = todo[i]
        if not full:
            if step.kind is table:
                if is_noop(step):
                    j = i + 1
                    while j < n and is_noop(todo[j]):
                        j += 1
                    if j - i >= NOOP_RUN_MIN:
                        frame[2] = j
                        ids = [s.table for s in todo[i:j] if s.table is not None]
                        span = f"{ids[0]}–{ids[-1]}" if ids else "?"
                        yield Row(depth, "noop", f"tables {span}: no-op ({j - i} tables pass the packet on)",
                                  step.line, "--full shows them")
                        continue
            elif i + 1 < n and _is_clear(step) and _is_clear(todo[i + 1]):
                j = i + 2
                while j < n and _is_clear(todo[j]):
                    j += 1
                if j - i >= NOOP_RUN_MIN:
                    frame[2] = j
                    run = todo[i:j]
                    names = [r.action.args["field"] for r in run if r.action is not None]
                    yield Row(depth, "action.set_field", f"set_field:0 -> {', '.join(names)}", step.line,
                              f"{len(run)} fields cleared, lines {step.line}-{run[-1].line}")
                    continue
        frame[2] = i + 1
        yield row(step, depth, ovn)
        kids = step.children
        if kids:
            if step.kind is table and kids[-1].kind is table:  # (_own_children)
                kids = kids[:-1]
                if not kids:
                    continue
            stack.append([depth + 1, _expand(_group_nested(kids)), 0])


def _expand(steps: Sequence[Step]) -> list[Step]:
    out: list[Step] = []
    add = out.append
    table = StepKind.TABLE
    for s in steps:
        if s.kind is table and s.children and s.children[-1].kind is table:
            out.extend(_chain(s))
        else:
            add(s)
    return out


class _Container:
    """A clone/ct action with the lines OVS repeated after it, shown as its children."""


def _group_nested(kids: Sequence[Step]) -> list[Step]:
    """Move ``nested_in`` actions (and what they produced) under their container for display."""
    action = StepKind.ACTION
    out: list[Step] = []
    i = 0
    n = len(kids)
    while i < n:
        k = kids[i]
        a = k.action
        if a is not None and k.kind is action and (a.name == "clone" or a.name == "ct") and k.nested_in is None:
            inner: list[Step] = []
            j = i + 1
            while j < n and (kids[j].nested_in == k.line or kids[j].kind is not action):
                if kids[j].kind is action and kids[j].nested_in != k.line:
                    break
                # details of the container itself ("A clone of the packet is forked ...") stay with it
                inner.append(kids[j])
                j += 1
            if inner:
                out.append(Step(k.kind, k.line, k.text, tuple(inner), action=k.action, spurious=k.spurious,
                                nested_in=k.nested_in))
                i = j
                continue
        out.append(k)
        i += 1
    return out


def step_stage(st: StepOvn) -> str:
    """The stage of a table (``ls_in_acl``); an open name (candidate releases or datapath types disagree)
    with a "?" (``ls_out_acl | ls_out_acl_eval ?``), never as a fact; else its table role, else ""."""
    return st.stage or (" | ".join(st.stage_candidates) + " ?" if st.stage_candidates else st.table_role) or ""


def step_ovn_text(st: StepOvn, stage: bool = True) -> str:
    """``lr_in_ip_routing @ router kube-master · in rtos-kube-node2 · out rtos-kube-node1``; without the
    stage (``stage=False``: shown elsewhere, the TUI puts it first): ``router kube-master · in …``."""
    where = step_stage(st) if stage else ""
    parts = [where] if where else []
    if st.datapath is not None and (st.pipeline or st.datapath.name):
        parts[-1:] = [f"{parts[-1]} @ {st.datapath.label()}"] if parts else [st.datapath.label()]
    if st.inport:
        parts.append(f"in {st.inport}")
    if st.outport:
        parts.append(f"out {st.outport}")
    if st.nb and st.nb.get("table") == "ACL":
        parts.append(acl_text(st.nb))
    elif st.nb:
        parts.append(f"{st.nb.get('table')} {st.nb.get('name') or st.nb.get('uuid', '')[:8]}")
    if st.physical:
        ph = st.physical
        parts.append(f"{ph.get('table')} {ph.get('logical_port') or ph.get('name') or ''}".strip())
    if st.lflow_ambiguous:
        parts.append(f"cookie ambiguous: {len(st.lflow_ambiguous)} logical flows")
    parts.extend(st.notes)
    return " · ".join(parts)


def acl_text(acl: Mapping[str, Any]) -> str:
    name = acl.get("name")
    bits = ", ".join(str(b) for b in (acl.get("direction"), f"priority {acl.get('priority')}"
                                      if acl.get("priority") is not None else None, acl.get("action")) if b)
    return f"ACL {name or acl.get('uuid', '')[:8]} ({bits})"


def _row(step: Step, depth: int, ovn: TraceOvn | None = None) -> Iterator[Row]:
    """The step's row (:func:`row`), as an iterator."""
    yield row(step, depth, ovn)


_FIXED = {StepKind.BRIDGE: "bridge", StepKind.THAW: "thaw", StepKind.BUCKET: "bucket",
          StepKind.ANNOTATION: "annotation", StepKind.PIPELINE: "bridge", StepKind.TRANSFORM: "thaw"}
_ARTEFACT = "OVS artefact: empty nested action list"


def row(step: Step, depth: int, ovn: TraceOvn | None = None) -> Row:
    """One step's row (its children are rows of their own)."""
    kind = step.kind
    if kind is StepKind.ACTION:
        a = step.action
        if a is None and step.line and _is_logical_action(step.text):
            return Row(depth, "action.logical", _short(step.text), step.line)
        text = step.text
        if len(text) > 160:
            text = text[:159] + "…"
        ao = ovn.actions.get(step.line) if ovn is not None else None
        if step.spurious:
            return Row(depth, "spurious", text, step.line, _ARTEFACT, None, ao.words if ao is not None else "")
        return Row(depth, f"action.{a.name if a is not None else 'unknown'}", text, step.line, "", None,
                   ao.words if ao is not None else "")
    if kind is StepKind.TABLE:
        st = ovn.steps.get(step.line) if ovn is not None else None
        lflow = ""
        if st is not None and st.lflow is not None:
            lflow = _short(f"{st.lflow.match} → {st.lflow.actions}", 200)
        return Row(depth, "table.miss" if step.miss else "table", table_text(step), step.line, table_note(step),
                   step.cookie, step_ovn_text(st) if st is not None else "", lflow)
    fixed = _FIXED.get(kind)
    if fixed is not None:
        return Row(depth, fixed, step.text, step.line)
    if kind is StepKind.DETAIL:
        # ovn-trace's "/* ... */" comments are shown as printed; OVS's details keep their "-> "
        logical = step.text.startswith("/*") or step.text in ("};", "}")
        return Row(depth, "detail", step.text if logical else f"-> {step.text}", step.line)
    if kind is StepKind.WARNING:
        return Row(depth, "warning", f">> {step.text}", step.line)
    if kind is StepKind.ERROR:
        return Row(depth, "error", f">>>> {step.text} <<<<", step.line)
    if kind is StepKind.ELIDED:
        return Row(depth, "elided", f"{step.text}  (elided in the input)", step.line)
    if kind is StepKind.STAGE:
        sto = ovn.steps.get(step.line) if ovn is not None else None
        return Row(depth, "table.miss" if step.miss else "table", stage_text(step), step.line, stage_note(step),
                   ovn=logical_ovn_text(sto) if sto is not None else "")
    if kind is StepKind.OPENFLOW:
        return Row(depth, "detail", f"OpenFlow: {step.text}", step.line)
    return Row(depth, "unparsed", f"? {step.text}", step.line, "not understood, kept as is")


def _is_logical_action(text: str) -> bool:
    return text.endswith(";")


def stage_text(step: Step) -> str:
    """``9. ls_in_acl: reg0[8] == 1 && ...`` (stage first) or ``13. ls_in_l2_lkup: no match (implicit drop)``."""
    tid = "?" if step.table is None else str(step.table)
    name = step.stage or "table"
    if step.miss:
        rest = step.text.split(": ", 1)[-1] if ": " in step.text else step.text.split(". ", 1)[-1]
        return f"{tid}. {name}: {rest}"
    return f"{tid}. {name}: {step.match}"


def logical_ovn_text(st: StepOvn) -> str:
    """An ovn-trace stage's lflow and NB row: ``ACL deny-ssh (to-lport, priority 1001, drop) · lflow 07c6feb6``."""
    parts: list[str] = []
    if st.nb and st.nb.get("table") == "ACL":
        parts.append(acl_text(st.nb))
    elif st.nb:
        parts.append(f"{st.nb.get('table')} {st.nb.get('name') or st.nb.get('uuid', '')[:8]}")
    if st.lflow_ambiguous:
        parts.append(f"uuid prefix ambiguous: {len(st.lflow_ambiguous)} logical flows")
    parts.extend(st.notes)
    return " · ".join(parts)


def stage_note(step: Step) -> str:
    parts = []
    if step.priority is not None:
        parts.append(f"priority {step.priority}")
    if step.uuid:
        parts.append(f"lflow {step.uuid}")
    if step.source:
        parts.append(step.source)
    return ", ".join(parts)


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def count_tables(t: Trace) -> int:
    return sum(1 for _ in t.tables())


def bridges(t: Trace) -> list[str]:
    seen: dict[str, None] = {}
    for s in t.walk():
        if s.kind is StepKind.BRIDGE and s.bridge:
            seen[s.bridge] = None
    return list(seen)


def _bridges_and_tables(t: Trace) -> tuple[list[str], int]:
    """:func:`bridges` and :func:`count_tables` in one walk."""
    seen: dict[str, None] = {}
    tables = 0
    table, bridge = StepKind.TABLE, StepKind.BRIDGE
    for p in t.passes:
        stack = list(reversed(p.steps))
        pop, extend = stack.pop, stack.extend
        while stack:
            s = pop()
            k = s.kind
            if k is table:
                tables += 1
            elif k is bridge and s.bridge:
                seen[s.bridge] = None
            if s.children:
                extend(reversed(s.children))
    return list(seen), tables


def no_trace_message(text: str) -> str:
    """Why an input is not a trace: what was expected, and the first lines seen."""
    seen = [ln for ln in text.splitlines() if ln.strip()][:3]
    quoted = " | ".join(ln.strip()[:60] for ln in seen) if seen else "(empty input)"
    return (
        "no ofproto/trace output found: expected a 'Flow: ...' line, a 'bridge(\"br-int\")' header "
        f"or an old-format 'Bridge:/Rule:' block; first lines seen: {quoted}"
    )


def path_line(ovn: TraceOvn | None) -> str | None:
    if ovn is None or not ovn.path:
        return None
    parts = []
    outs = ovn.verdict.outputs if ovn.verdict is not None else ()
    tunnels = [o for o in outs if o.get("kind") == "tunnel"]
    for h in ovn.path:
        if h.kind == "tunnel":
            if not tunnels:  # else the verdict's tunnel outputs say it, with the chassis by name
                parts.append(f"⇒ {h.text}")
        else:
            parts.append(("→ " if parts else "") + h.text)
    if len(tunnels) == 1 and len(outs) == 1:
        parts.append(f"⇒ {_tunnel_hop(tunnels[0])}")
    if len(outs) > 1:  # the fan-out: every port the packet leaves by
        parts.append("⇉ {" + ", ".join(_output_label(o) for o in outs) + "}")
    return " ".join(parts)


def _tunnel_hop(o: Mapping[str, Any]) -> str:
    ch = o.get("chassis") or {}
    who = f" (chassis {ch['name']})" if ch.get("name") else ""
    return f"{o.get('encap') or 'tunnel'} → {o.get('remote_ip') or '?'}{who}"


def _output_label(o: Mapping[str, Any]) -> str:
    who = o.get("pod") or o.get("logical_port") or o.get("interface") or o.get("openflow") or "?"
    if o.get("kind") == "tunnel":
        ch = o.get("chassis") or {}
        return f"tunnel → {ch.get('name') or o.get('remote_ip') or '?'} ({who})"
    return str(who)


def trace_title(t: Trace, index: int) -> str:
    """``trace 1 (lines 1-390)``, with the format when not ofproto (``[ovn-trace --detailed]``): the start
    of :func:`summary`, without walking the trace."""
    if t.format.value == "ovn-trace":
        return f"trace {index} (lines {t.first_line}-{t.last_line}) [ovn-trace --{t.detail or '?'}]"
    fmt = "" if t.format.value == "ofproto" else f" [{t.format.value}]"
    return f"trace {index} (lines {t.first_line}-{t.last_line}){fmt}"


def summary(t: Trace, index: int, ovn: TraceOvn | None = None) -> str:
    """One line: bridges, passes, tables, verdict."""
    if t.format.value == "ovn-trace":
        dps = list(dict.fromkeys(s.datapath for s in t.walk() if s.kind is StepKind.PIPELINE and s.datapath))
        stages = sum(1 for s in t.walk() if s.kind is StepKind.STAGE)
        where = f"datapath{'s' if len(dps) != 1 else ''} {', '.join(dps) or '?'}"
        return (f"trace {index} (lines {t.first_line}-{t.last_line}) [ovn-trace --{t.detail or '?'}]: "
                f"{where} · {stages} stages · {verdict_line(t, ovn)}")
    br, tables = _bridges_and_tables(t)
    recircs = [p.recirc_id for p in t.passes if p.recirc_id]
    passes = f"{len(t.passes)} pass{'es' if len(t.passes) != 1 else ''}"
    if recircs:
        passes += f" (recirc {', '.join(r for r in recircs if r)})"
    fmt = "" if t.format.value == "ofproto" else f" [{t.format.value}]"
    return (f"trace {index} (lines {t.first_line}-{t.last_line}){fmt}: "
            f"bridge{'s' if len(br) != 1 else ''} {', '.join(br) or '?'} · {passes} · "
            f"{tables} tables · {verdict_line(t, ovn)}")


def verdict_line(t: Trace, ovn: TraceOvn | None = None) -> str:
    """The headline: the OVN verdict when there is one, the OVS-level one beside it (as such) when it
    says something else (``DROP: dropped by ACL … · OVS: controller: sent to the OpenFlow controller``)."""
    v = t.verdict
    where = f" (line {v.line})" if v.line else ""
    if ovn is not None and ovn.verdict is not None:
        v2 = ovn.verdict
        line = f"{v2.kind.upper()}: {v2.cause}" + (f" (line {v2.line})" if v2.line else "")
        if v2.kind != v.kind.value:
            line += f" · {ovs_verdict_words(t)}"
        return line
    return f"{v.kind.value.upper()}: {v.reason}{where}"


def ovs_verdict_words(t: Trace) -> str:
    """The OVS-level verdict, labelled as such: ``OVS: controller: sent to the OpenFlow controller (line 67)``."""
    v = t.verdict
    return f"OVS: {v.kind.value}: {v.reason}" + (f" (line {v.line})" if v.line else "")


def headline_style(t: Trace, ovn: TraceOvn | None = None) -> str:
    """The style of the headline: of the OVN verdict's kind when there is one."""
    if ovn is not None and ovn.verdict is not None:
        try:
            return verdict_style(VerdictKind(ovn.verdict.kind))
        except ValueError:
            pass
    return verdict_style(t.verdict.kind)


def pass_title(p: Pass, i: int) -> str:
    if p.recirc_id is None and p.flow is not None and not p.datapath_actions and not p.final_flow \
            and p.steps and p.steps[0].kind in (StepKind.PIPELINE, StepKind.TRANSFORM, StepKind.ACTION):
        return "microflow"  # ovn-trace's "# ..." line (printed after the title)
    if p.recirc_id is None:
        return f"pass {i}"
    ct = f", ct_state={p.ct_state}" if p.ct_state else ""
    return f"pass {i}: recirc({p.recirc_id}){ct}"


def verdict_style(kind: VerdictKind) -> str:
    return {
        VerdictKind.OUTPUT: "verdict.ok",
        VerdictKind.TUNNEL: "verdict.ok",
        VerdictKind.DROP: "verdict.drop",
        VerdictKind.CONTROLLER: "verdict.punt",
        VerdictKind.RECIRC: "verdict.punt",
        VerdictKind.INCOMPLETE: "verdict.unknown",
    }[kind]


def result_rows(result: ParseResult, full: bool, ovn: Sequence[TraceOvn | None] | None = None,
                ) -> Iterator[tuple[str, Trace | None, Pass | None, Row | None]]:
    """Everything to print, in order: ("trace", t, None, None), ("pass", t, p, None), ("row", ...)."""
    for i, t in enumerate(result.traces):
        tovn = ovn[i] if ovn is not None and i < len(ovn) else None
        yield "trace", t, None, None
        for p in t.passes:
            yield "pass", t, p, None
            for row in rows_for_steps(p.steps, full, tovn):
                yield "row", t, p, row
            for n in p.notes:
                yield from (("row", t, p, r) for r in _row(n, 0))
