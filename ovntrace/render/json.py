"""The ``ovntrace.explain/1`` JSON contract (documented in docs/json-contract.md)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

from ovntrace.model import Action, DatapathAction, ParseResult, Pass, Step, StepKind, Subfield, Trace, Verdict
from ovntrace.model.ovn import Hop, OvnVerdict, StepOvn, TraceOvn
from ovntrace.render.safe import json_text

SCHEMA = "ovntrace.explain/1"


def jsonable(value: Any) -> Any:
    if isinstance(value, Subfield):
        return value.to_json()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "items"):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def action_json(a: Action) -> dict[str, Any]:
    out: dict[str, Any] = {"name": a.name}
    for k, v in a.args.items():
        out[k] = jsonable(v)
    if not a.known:
        out["known"] = False
    return out


def odp_json(a: DatapathAction) -> dict[str, Any]:
    out: dict[str, Any] = {"name": a.name, "text": a.text, "args": jsonable(dict(a.args))}
    if a.inner:
        out["inner"] = [odp_json(i) for i in a.inner]
    return out


def step_ovn_json(st: StepOvn) -> dict[str, Any]:
    out: dict[str, Any] = {
        "table_role": st.table_role,
        "datapath": {"name": st.datapath.name, "key": st.datapath.key, "uuid": st.datapath.uuid,
                     "type": st.datapath.type} if st.datapath else None,
        "pipeline": st.pipeline,
        "stage": st.stage,
        "lflow": {"uuid": st.lflow.uuid, "match": st.lflow.match, "actions": st.lflow.actions,
                  "priority": st.lflow.priority, "table_id": st.lflow.table_id, "pipeline": st.lflow.pipeline}
        if st.lflow else None,
        "nb": jsonable(dict(st.nb)) if st.nb else None,
        "inport": st.inport,
        "outport": st.outport,
    }
    if st.stage_candidates:
        out["stage_candidates"] = list(st.stage_candidates)
        if st.stage_releases:
            out["stage_candidate_releases"] = {n: list(r) for n, r in st.stage_releases.items()}
    if st.lflow_ambiguous:
        out["lflow_ambiguous"] = list(st.lflow_ambiguous)
    if st.physical:
        out["physical"] = jsonable(dict(st.physical))
    if st.notes:
        out["notes"] = list(st.notes)
    return out


def ovn_json(o: TraceOvn) -> dict[str, Any]:
    return {"release": o.release, "release_guess": o.release_guess, "layout_confidence": o.layout_confidence,
            "release_source": o.release_source, "release_candidates": list(o.release_candidates),
            "bridges": list(o.bridges), "warnings": list(o.warnings), "notes": list(o.notes)}


def hop_json(h: Hop) -> dict[str, Any]:
    return {"kind": h.kind, "line": h.line, "text": h.text,
            "datapath": {"name": h.datapath.name, "key": h.datapath.key, "type": h.datapath.type}
            if h.datapath else None, "pipeline": h.pipeline, "inport": h.inport, "outport": h.outport}


def step_json(step: Step, ovn: TraceOvn | None = None) -> dict[str, Any]:
    """Iterative (steps nest hundreds deep): build children lists bottom-up."""
    out_of: dict[int, dict[str, Any]] = {}
    stack: list[tuple[Step, bool]] = [(step, False)]
    while stack:
        s, expanded = stack.pop()
        if not expanded:
            stack.append((s, True))
            stack.extend((c, False) for c in s.children)
            continue
        d: dict[str, Any] = {"kind": s.kind.value, "line": s.line, "text": s.text}
        if s.kind is StepKind.TABLE:
            d.update(bridge=s.bridge, table=s.table, match=s.match, priority=s.priority, cookie=s.cookie,
                     miss=s.miss, state=dict(s.state))
            if s.via is not None:
                d["via"] = s.via
        elif s.kind is StepKind.BRIDGE:
            d["bridge"] = s.bridge
        elif s.kind is StepKind.STAGE:
            d.update(datapath=s.datapath, pipeline=s.pipeline, table=s.table, stage=s.stage, source=s.source,
                     match=s.match, priority=s.priority, uuid=s.uuid, miss=s.miss)
        elif s.kind in (StepKind.PIPELINE, StepKind.TRANSFORM):
            d.update(datapath=s.datapath, pipeline=s.pipeline, inport=s.inport, outport=s.outport)
            if s.kind is StepKind.TRANSFORM:
                d["transform"] = s.stage
        elif s.kind is StepKind.OPENFLOW:
            d.update(table=s.table, priority=s.priority, cookie=s.cookie)
        if s.action is not None:
            d["action"] = action_json(s.action)
        if ovn is not None:
            st = ovn.steps.get(s.line) if s.kind in (StepKind.TABLE, StepKind.STAGE) else None
            if st is not None:
                d["ovn"] = step_ovn_json(st)
            ao = ovn.actions.get(s.line) if s.kind is StepKind.ACTION else None
            if ao is not None:
                d["ovn"] = {"words": ao.words, "effect": ao.effect, **jsonable(dict(ao.details))}
        if s.spurious:
            d["spurious"] = True
        if s.nested_in is not None:
            d["nested_in"] = s.nested_in
        d["children"] = [out_of.pop(id(c)) for c in s.children]
        out_of[id(s)] = d
    return out_of[id(step)]


def verdict_json(v: Verdict, ovn: OvnVerdict | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": v.kind.value, "ports": list(v.ports), "line": v.line, "reason": v.reason}
    if v.tunnel:
        out["tunnel"] = jsonable(dict(v.tunnel))
    if v.stage is not None or v.datapath is not None:
        out["stage"] = v.stage
        out["datapath"] = v.datapath
    if ovn is not None:
        out["cause"] = ovn.cause
        out["ovn_kind"] = ovn.kind
        out["cause_line"] = ovn.line
        if ovn.acl:
            out["acl"] = jsonable(dict(ovn.acl))
        if ovn.chassis:
            out["chassis"] = jsonable(dict(ovn.chassis))
        if ovn.outport:
            out["outport"] = ovn.outport
        out["ovn_reason"] = ovn.reason
        out["outputs"] = [jsonable(dict(o)) for o in ovn.outputs]
        for key in ("arrival", "drop", "lb", "arp"):
            value = getattr(ovn, key)
            if value:
                out[key] = jsonable(dict(value))
    return out


def pass_json(p: Pass, ovn: TraceOvn | None = None) -> dict[str, Any]:
    return {
        "recirc_id": p.recirc_id,
        "ct_state": p.ct_state,
        "first_line": p.first_line,
        "flow": p.flow,
        "flow_line": p.flow_line,
        "fields": dict(p.fields),
        "nat": dict(p.nat) or None,
        "steps": [step_json(s, ovn) for s in p.steps],
        "final_flow": p.final_flow,
        "megaflow": p.megaflow,
        "datapath_actions": p.datapath_actions,
        "datapath_actions_line": p.datapath_actions_line,
        "datapath_actions_parsed": [odp_json(a) for a in p.datapath_actions_parsed]
        if p.datapath_actions_parsed is not None else None,
        "translation_error": p.translation_error,
        "slow_path": list(p.slow_path),
        "notes": [step_json(n) for n in p.notes],
        "section_lines": [{"line": x.line, "kind": x.kind, "text": x.text, "used": x.used} for x in p.section_lines],
    }


def trace_json(t: Trace, ovn: TraceOvn | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "format": t.format.value,
        "first_line": t.first_line,
        "last_line": t.last_line,
        "command": t.command,
        "bridge": t.bridge,
        "passes": [pass_json(p, ovn) for p in t.passes],
        "verdict": verdict_json(t.verdict, ovn.verdict if ovn else None),
    }
    if t.detail is not None:
        out["detail"] = t.detail
    if ovn is not None:
        out["ovn"] = ovn_json(ovn)
        out["path"] = [hop_json(h) for h in ovn.path]
    if t.raw:
        out["raw"] = [{"line": s.line, "text": s.text} for s in t.raw]
    return out


def to_dict(result: ParseResult, ovn: Sequence[TraceOvn | None] | None = None) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "warnings": [{"line": w.line, "message": w.message} for w in result.warnings],
        "line_count": result.line_count,
        "prose_lines": list(result.prose_lines),
        "traces": [trace_json(t, ovn[i] if ovn is not None and i < len(ovn) else None)
                   for i, t in enumerate(result.traces)],
    }


def render(result: ParseResult, indent: int | None = None, ovn: Sequence[TraceOvn | None] | None = None) -> str:
    """Compact by default: the tree nests as deep as OVS's resubmits (100+ levels), so indenting it
    multiplies the output (2.5 MB instead of 0.2 MB for a 374-line trace) and the encoding time.
    Strings keep their exact text; DEL, C1 and format characters are written as ``\\uXXXX`` (as json
    writes C0): nothing in the document is a raw control character (docs/json-contract.md)."""
    if indent is not None:
        return json_text(json.dumps(to_dict(result, ovn), indent=indent, ensure_ascii=False)) + "\n"
    out = io.StringIO()
    write(result, out, ovn)
    return out.getvalue()


# keys whose values hold the trace tree: encoded by :func:`_encode` itself, without recursion
_TREE_KEYS = frozenset({"traces", "passes", "steps", "notes", "children"})


def head_text(result: ParseResult) -> str:
    """The document up to its first trace (``result.traces`` is not read)."""
    head = to_dict(ParseResult((), result.warnings, result.line_count, result.prose_lines))
    return json_text(json.dumps(head, ensure_ascii=False)[: -len("]}")])  # ends with "traces": [


TRACE_SEP = ", "


def trace_text(t: Trace, ovn: TraceOvn | None = None) -> str:
    return "".join(json_text(chunk) for chunk in _encode(trace_json(t, ovn)))


def tail_text(comparison: Sequence[dict[str, Any]] | None = None) -> str:
    tail = "]"
    if comparison:  # logical vs physical (docs/json-contract.md, "comparison"): only when a paste has both
        tail += ', "comparison": ' + json_text(json.dumps(list(comparison), ensure_ascii=False))
    return tail + "}\n"


def write(result: ParseResult, out: TextIO, ovn: Sequence[TraceOvn | None] | None = None,
          comparison: Sequence[dict[str, Any]] | None = None) -> None:
    """Write the same text as ``json.dumps(to_dict(result, ovn), ensure_ascii=False)`` plus a newline,
    one trace at a time (memory: the largest trace, not the whole document) and without recursing
    into the tree (``json.dumps`` recurses once per level; the parser caps trees at 4096 levels)."""
    out.write(head_text(result))
    for i, t in enumerate(result.traces):
        if i:
            out.write(TRACE_SEP)
        out.write(trace_text(t, ovn[i] if ovn is not None and i < len(ovn) else None))
    out.write(tail_text(comparison))


_DUMP = json.JSONEncoder(ensure_ascii=False).encode


def _nests(value: Any) -> bool:
    """A dict holding part of the tree (a non-empty list under a tree key)."""
    return isinstance(value, dict) and any(value.get(k) for k in _TREE_KEYS)


def _encode(value: Any) -> Iterator[str]:
    """``json.dumps`` (default separators), iteratively through the tree keys, in chunks: a step's
    own fields are encoded in one call, only its children are walked here."""
    stack: list[Iterator[Any]] = [iter((value,))]
    while stack:
        item = next(stack[-1], _END)
        if item is _END:
            stack.pop()
        elif isinstance(item, _Close):
            yield item.text
        elif _nests(item):
            stack.append(_dict_parts(item))
        elif isinstance(item, list) and any(_nests(v) for v in item):
            stack.append(_list_parts(item))
        else:
            yield _DUMP(item)


class _Close:
    """Literal JSON text between encoded values."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


_END = _Close("")


def _dict_parts(d: dict[str, Any]) -> Iterator[Any]:
    run: dict[str, Any] = {}
    sep = "{"
    for k, v in d.items():
        if k in _TREE_KEYS and v:
            if run:
                yield _Close(sep + _DUMP(run)[1:-1])
                sep, run = ", ", {}
            yield _Close(sep + _DUMP(k) + ": ")
            sep = ", "
            yield v
        else:
            run[k] = v
    yield _Close((sep + _DUMP(run)[1:-1] if run else "") + "}")


def _list_parts(items: list[Any]) -> Iterator[Any]:
    for i, v in enumerate(items):
        yield _Close("[" if i == 0 else ", ")
        yield v
    yield _Close("]")


def write_format(fmt: str, result: ParseResult, out: TextIO, ovn: Sequence[TraceOvn | None] | None = None,
                 comparison: Sequence[dict[str, Any]] | None = None) -> None:
    """``--format json`` (``ovntrace.explain/2``) or ``json1`` (``ovntrace.explain/1``, this module)."""
    if fmt == "json1":
        write(result, out, ovn, comparison)
    else:
        from ovntrace.render import json_v2

        json_v2.write(result, out, ovn, comparison)
