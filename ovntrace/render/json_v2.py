r"""The ``ovntrace.explain/2`` JSON contract (docs/json-contract.md, schema ovntrace/schemas/explain.v2.schema.json).

The rules every ``/2`` document follows (:mod:`ovntrace.render.contract` applies them to the other commands):

* every object of a type has the same keys (a step: the keys of its ``kind``); ``null`` when unknown,
  ``[]``/``{}`` for an empty list/map, never a missing key;
* a value OVS writes as a plain decimal integer (``ttl=64``, ``in_port=9``, ``tp_dst=6081``) is a JSON
  number; hex (``0x4``), masked (``0x1/0xffff``), addresses and names stay strings as written
  (:func:`num`);
* one line (the separators of ``json.dumps``: ``, `` and ``: ``), ASCII only (every other character, and every control
  character, a ``\uXXXX`` escape: safe on any terminal, ``json.loads`` gives the exact strings back), a
  newline at the end.

:func:`write` streams the document one trace at a time and encodes the step tree in pre-order with an
explicit stack (trees nest 4096 deep), building no per-step dict: it is the hot path of
``explain --format json``. :func:`to_dict` is the same document as Python objects (``json.loads`` of
what :func:`write` writes: one implementation, not two).
"""

from __future__ import annotations

import gc
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from ovntrace.model import Action, DatapathAction, ParseResult, Pass, Step, StepKind, Subfield, Trace, Verdict
from ovntrace.model.ovn import ActionOvn, Hop, OvnVerdict, StepOvn, TraceOvn

SCHEMA = "ovntrace.explain/2"
MAX_SAFE = (1 << 53) - 1  # JSON numbers beyond this lose precision in JavaScript and jq

# ASCII only: every non-ASCII character, control or format character is a \uXXXX escape
_DUMP = json.JSONEncoder(check_circular=False).encode  # separators ", " and ": ", as json.dumps
_S = json.encoder.encode_basestring_ascii  # the C quoting of a str
DEEP = 200  # step levels above which a trace is encoded chunk by chunk (the C encoder recurses per level)


def num(v: Any) -> Any:
    """A plain decimal integer string (``"64"``, ``"0"``; no sign, no leading zero, <= 2**53-1) as an int;
    anything else unchanged."""
    if type(v) is str and v.isdigit() and v.isascii() and (v[0] != "0" or len(v) == 1) and len(v) < 17:
        n = int(v)
        if n <= MAX_SAFE:
            return n
    return v


def nums(v: Any) -> Any:
    """:func:`num` through dicts, lists and :class:`Subfield` (OVS-syntax maps: action/datapath-action
    arguments, tunnel keys); keys are kept."""
    t = type(v)
    if t is str:
        return num(v)
    if t is list or t is tuple:
        return [nums(x) for x in v]
    if v is None or t is bool or t is int:
        return v
    if isinstance(v, Subfield):
        return v.to_json()
    if isinstance(v, Mapping):
        return {k: nums(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [nums(x) for x in v]
    return v


def plain(v: Any) -> Any:
    """Mappings and tuples as dicts and lists, values untouched (database rows keep their types)."""
    if isinstance(v, Subfield):
        return v.to_json()
    if isinstance(v, Mapping):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


def _str(v: str | None) -> str:
    return "null" if v is None else _S(v)


def _int(v: int | None) -> str:
    return "null" if v is None else str(v)


def _v(x: Any) -> str:
    """One value's JSON, as :data:`_DUMP` writes it (str and int without the encoder's call)."""
    t = type(x)
    if t is str:
        return _S(x)
    if x is None:
        return "null"
    if t is int:
        return str(x)
    return _DUMP(x)


def _strs(v: Sequence[str]) -> str:
    """A sequence of strings' JSON."""
    if not v:
        return "[]"
    return "[" + ", ".join([_v(x) for x in v]) + "]"


def step_ovn_text(st: StepOvn) -> str:
    """:func:`step_ovn_dict`'s JSON, written directly."""
    d = st.datapath
    dp = "null" if d is None else (f'{{"name": {_v(d.name)}, "key": {_v(d.key)}, "type": {_v(d.type)}, '
                                   f'"uuid": {_v(d.uuid)}}}')
    lf = st.lflow
    lft = "null" if lf is None else (
        f'{{"uuid": {_v(lf.uuid)}, "match": {_v(lf.match)}, "actions": {_v(lf.actions)}, '
        f'"priority": {_v(lf.priority)}, "table_id": {_v(lf.table_id)}, "pipeline": {_v(lf.pipeline)}}}')
    sr = st.stage_releases
    return (f'{{"table_role": {_v(st.table_role)}, "datapath": {dp}, "pipeline": {_v(st.pipeline)}, '
            f'"stage": {_v(st.stage)}, "stage_candidates": {_strs(st.stage_candidates)}, '
            f'"stage_candidate_releases": {_DUMP({n: list(r) for n, r in sr.items()}) if sr else "{}"}, '
            f'"lflow": {lft}, "lflow_ambiguous": {_strs(st.lflow_ambiguous)}, '
            f'"nb": {_DUMP(plain(st.nb)) if st.nb else "null"}, '
            f'"physical": {_DUMP(plain(st.physical)) if st.physical else "null"}, '
            f'"inport": {_v(st.inport)}, "outport": {_v(st.outport)}, "notes": {_strs(st.notes)}}}')


# -- small objects (dicts, encoded with the C encoder) ------------------------------------------------------


def action_dict(a: Action) -> dict[str, Any]:
    return {"name": a.name, "known": a.known, "args": nums(a.args)}


def odp_dict(a: DatapathAction) -> dict[str, Any]:
    return {"name": a.name, "text": a.text, "args": nums(a.args), "inner": [odp_dict(i) for i in a.inner]}


def _dp(d: Any, uuid: bool) -> dict[str, Any] | None:
    if d is None:
        return None
    out = {"name": d.name, "key": d.key, "type": d.type}
    if uuid:
        out["uuid"] = d.uuid
    return out


def step_ovn_dict(st: StepOvn) -> dict[str, Any]:
    lf = st.lflow
    return {
        "table_role": st.table_role,
        "datapath": _dp(st.datapath, True),
        "pipeline": st.pipeline,
        "stage": st.stage,
        "stage_candidates": list(st.stage_candidates),
        "stage_candidate_releases": {n: list(r) for n, r in st.stage_releases.items()},
        "lflow": {"uuid": lf.uuid, "match": lf.match, "actions": lf.actions, "priority": lf.priority,
                  "table_id": lf.table_id, "pipeline": lf.pipeline} if lf else None,
        "lflow_ambiguous": list(st.lflow_ambiguous),
        "nb": plain(st.nb) if st.nb else None,
        "physical": plain(st.physical) if st.physical else None,
        "inport": st.inport,
        "outport": st.outport,
        "notes": list(st.notes),
    }


def action_ovn_dict(ao: ActionOvn) -> dict[str, Any]:
    return {"words": ao.words, "effect": ao.effect, "details": plain(ao.details)}


OUTPUT_KEYS = ("kind", "line", "openflow", "ofport", "dp_port", "underlay_dp_port", "interface", "logical_port",
               "pod", "port_type", "datapath", "multicast", "arp_reply", "encap", "remote_ip", "chassis",
               "chassis_candidates", "key")
CHASSIS_KEYS = ("name", "hostname", "ip", "encaps", "metadata", "candidates")
_PORT_KEYS = frozenset({"ofport", "dp_port", "underlay_dp_port", "port"})  # OVS port numbers


def _ports(d: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (num(v) if k in _PORT_KEYS else plain(v)) for k, v in d.items()}


def chassis_dict(c: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if c is None:
        return None
    out = {k: plain(c.get(k)) for k in CHASSIS_KEYS}
    out["encaps"] = out["encaps"] or []
    out["candidates"] = out["candidates"] or []
    out.update((k, plain(v)) for k, v in c.items() if k not in out)
    return out


def output_dict(o: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = dict.fromkeys(OUTPUT_KEYS)
    out.update(_ports(o))
    out["arp_reply"] = bool(out["arp_reply"])
    out["chassis"] = chassis_dict(out["chassis"]) if isinstance(out["chassis"], dict) else out["chassis"]
    out["chassis_candidates"] = out["chassis_candidates"] or []
    return out


def verdict_dict(v: Verdict, ovn: OvnVerdict | None, with_ovn: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": v.kind.value, "ports": [num(p) for p in v.ports], "line": v.line,
                           "reason": v.reason, "tunnel": nums(v.tunnel) if v.tunnel else None,
                           "stage": v.stage, "datapath": v.datapath}
    o = ovn if with_ovn else None
    out.update(
        ovn_kind=o.kind if o else None, cause=o.cause if o else None, cause_line=o.line if o else None,
        ovn_reason=o.reason if o else None, outport=o.outport if o else None,
        acl=plain(o.acl) if o and o.acl else None, chassis=chassis_dict(o.chassis) if o else None,
        outputs=[output_dict(x) for x in o.outputs] if o else None,
        arrival=_ports(o.arrival) if o and o.arrival else None,
        drop=plain(o.drop) if o and o.drop else None, lb=plain(o.lb) if o and o.lb else None,
        arp=plain(o.arp) if o and o.arp else None)
    return out


def ovn_dict(o: TraceOvn) -> dict[str, Any]:
    return {"release": o.release, "release_source": o.release_source,
            "release_candidates": list(o.release_candidates), "release_guess": o.release_guess,
            "layout_confidence": o.layout_confidence, "bridges": list(o.bridges), "warnings": list(o.warnings),
            "notes": list(o.notes)}


def hop_dict(h: Hop, node: str | None = None, tunnel: dict[str, Any] | None = None) -> dict[str, Any]:
    """One hop of a path (explain's ``path``, ``ovntrace.path/2``'s ``hops``): structured, ``text`` is only
    its words."""
    return {"kind": h.kind, "node": node, "line": h.line, "datapath": _dp(h.datapath, False),
            "pipeline": h.pipeline, "ports": {"in": h.inport, "out": h.outport},
            "tunnel": tunnel if h.kind == "tunnel" else None, "text": h.text}


def hop_tunnel(h: Hop, verdict: Verdict, ovn: OvnVerdict | None) -> dict[str, Any] | None:
    """What is known of a tunnel hop's crossing: the OVN output on its line (else the first tunnel output),
    or the datapath actions' tunnel."""
    if h.kind != "tunnel":
        return None
    outs = [o for o in (ovn.outputs if ovn else ()) if o.get("kind") == "tunnel"]
    o = next((x for x in outs if x.get("line") == h.line), outs[0] if outs else None)
    ch = o.get("chassis") if o else None
    tun = verdict.tunnel
    return {"encap": o.get("encap") if o else None,
            "remote_ip": (o.get("remote_ip") if o else None) or tun.get("dst"),
            "chassis": ch.get("name") if isinstance(ch, Mapping) else None,
            "key": plain(o.get("key")) if o and o.get("key") else None,
            "to_node": None}  # ovntrace.path/2: the node whose trace follows


def pass_head(p: Pass) -> dict[str, Any]:
    return {
        "recirc_id": p.recirc_id, "ct_state": p.ct_state, "first_line": p.first_line, "flow_line": p.flow_line,
        "flow": p.flow,
        "fields": {k: (num(v) if v != "" else True) for k, v in p.fields.items()},
        "nat": dict(p.nat) or None,
    }


def pass_tail(p: Pass) -> dict[str, Any]:
    return {
        "final_flow": p.final_flow, "megaflow": p.megaflow, "datapath_actions": p.datapath_actions,
        "datapath_actions_line": p.datapath_actions_line,
        "datapath_actions_parsed": [odp_dict(a) for a in p.datapath_actions_parsed]
        if p.datapath_actions_parsed is not None else None,
        "translation_error": p.translation_error, "slow_path": list(p.slow_path),
        "section_lines": [{"line": x.line, "kind": x.kind, "text": x.text, "used": x.used} for x in p.section_lines],
    }


# -- the tree: encoded directly ------------------------------------------------------------------------------


#: the JSON of each parsed action, by its text (kept with the action: used for that action or an equal one,
#: e.g. the same text parsed in another trace), for one document (:class:`Encoder`); emptied past this many
ACTION_MEMO = 1 << 16
_F = "false"
_T = "true"
_ACTION = StepKind.ACTION
_TABLE = StepKind.TABLE


class _Tree:
    """Encodes steps; remembers what steps share for one trace (the field-state snapshots) and, in
    ``actions`` (owned by the caller: a document's :class:`Encoder`), the JSON of each action."""

    __slots__ = ("_actions", "_states", "ovn")

    def __init__(self, ovn: TraceOvn | None, actions: dict[str, tuple[Any, str]] | None = None) -> None:
        self.ovn = ovn
        self._states: dict[int, tuple[Any, str]] = {}
        self._actions: dict[str, tuple[Any, str]] = {} if actions is None else actions

    def _state(self, m: Mapping[str, str]) -> str:
        got = self._states.get(id(m))
        if got is None or got[0] is not m:
            got = (m, _DUMP(dict(m)))
            self._states[id(m)] = got
        return got[1]

    def _action(self, a: Action | None) -> str:
        if a is None:
            return "null"
        memo = self._actions
        got = memo.get(a.text)
        if got is None or (got[0] is not a and got[0] != a):  # an equal action of another trace: its JSON
            if len(memo) >= ACTION_MEMO:
                memo.clear()
            got = (a, _DUMP(action_dict(a)))
            memo[a.text] = got
        return got[1]

    def head(self, s: Step) -> str:
        """The step's JSON up to and including ``"children": [`` (the keys of its kind, in the contract's order)."""
        k = s.kind
        ovn = self.ovn
        a = s.action
        if a is None:
            act = "null"
        else:
            got = self._actions.get(a.text)
            act = got[1] if got is not None and got[0] is a else self._action(a)
        ni = s.nested_in
        tail = (f'"action": {act}, "ovn": ', f', "spurious": {_T if s.spurious else _F}, '
                f'"nested_in": {"null" if ni is None else ni}, "children": [')
        if k is _ACTION:
            ao = None if ovn is None else ovn.actions.get(s.line)
            return (f'{{"kind": "action", "line": {s.line}, "text": {_S(s.text)}, {tail[0]}'
                    f'{"null" if ao is None else _DUMP(action_ovn_dict(ao))}{tail[1]}')
        if k is _TABLE:
            st = None if ovn is None else ovn.steps.get(s.line)
            v = s.match
            match = "null" if v is None else _S(v)
            v = s.cookie
            cookie = "null" if v is None else _S(v)
            v = s.bridge
            bridge = "null" if v is None else _S(v)
            return (f'{{"kind": "table", "line": {s.line}, "text": {_S(s.text)}, "bridge": {bridge}, '
                    f'"table": {_int(s.table)}, "match": {match}, "priority": {_int(s.priority)}, '
                    f'"cookie": {cookie}, "miss": {_T if s.miss else _F}, "via": {_int(s.via)}, '
                    f'"state": {self._state(s.state)}, {tail[0]}{"null" if st is None else step_ovn_text(st)}'
                    f'{tail[1]}')
        if k is StepKind.STAGE:
            st = None if ovn is None else ovn.steps.get(s.line)
            return (f'{{"kind": "stage", "line": {s.line}, "text": {_S(s.text)}, "datapath": {_str(s.datapath)}, '
                    f'"pipeline": {_str(s.pipeline)}, "table": {_int(s.table)}, "stage": {_str(s.stage)}, '
                    f'"source": {_str(s.source)}, "match": {_str(s.match)}, "priority": {_int(s.priority)}, '
                    f'"uuid": {_str(s.uuid)}, "miss": {_T if s.miss else _F}, {tail[0]}'
                    f'{"null" if st is None else step_ovn_text(st)}{tail[1]}')
        rest = f"{tail[0]}null{tail[1]}"
        if k is StepKind.BRIDGE:
            return (f'{{"kind": "bridge", "line": {s.line}, "text": {_S(s.text)}, "bridge": {_str(s.bridge)}, '
                    f'{rest}')
        if k is StepKind.PIPELINE or k is StepKind.TRANSFORM:
            mid = (f'"datapath": {_str(s.datapath)}, "pipeline": {_str(s.pipeline)}, "inport": {_str(s.inport)}, '
                   f'"outport": {_str(s.outport)}, ')
            if k is StepKind.TRANSFORM:
                mid += f'"transform": {_str(s.stage)}, '
            return f'{{"kind": "{k.value}", "line": {s.line}, "text": {_S(s.text)}, {mid}{rest}'
        if k is StepKind.OPENFLOW:
            return (f'{{"kind": "openflow", "line": {s.line}, "text": {_S(s.text)}, "table": {_int(s.table)}, '
                    f'"priority": {_int(s.priority)}, "cookie": {_str(s.cookie)}, {rest}')
        return f'{{"kind": "{k.value}", "line": {s.line}, "text": {_S(s.text)}, {rest}'

    def steps(self, steps: Sequence[Step], out: list[str]) -> None:
        """``[step,...]`` appended to ``out`` in pre-order, without recursion."""
        if not steps:
            out.append("[]")
            return
        out.append("[")
        add = out.append
        head = self.head
        stack: list[Any] = [iter(steps)]
        more = False  # the next step at this level follows a sibling: ", " first
        while stack:
            s = next(stack[-1], None)
            if s is None:
                stack.pop()
                add("]}" if stack else "]")
                more = True
                continue
            if more:
                add(", ")
            add(head(s))
            if s.children:
                stack.append(iter(s.children))
                more = False
            else:
                add("]}")
                more = True


def _tail_obj(d: dict[str, Any]) -> str:
    """``,"k":v,...}`` of ``d``."""
    return ", " + _DUMP(d)[1:]


class _TooDeep(Exception):
    pass


class _Build(_Tree):
    """The same steps as dicts (:func:`to_dict`), for trees up to :data:`DEEP` levels."""

    __slots__ = ("_adicts", "_sdicts")

    def __init__(self, ovn: TraceOvn | None) -> None:
        super().__init__(ovn)
        self._sdicts: dict[int, tuple[Any, Any]] = {}
        self._adicts: dict[int, tuple[Any, Any]] = {}

    def step(self, s: Step, depth: int) -> dict[str, Any]:
        """The step as a dict, its children built first (recursion: at most :data:`DEEP` levels); one dict
        literal per kind, in the key order of the contract."""
        if depth > DEEP:
            raise _TooDeep
        k = s.kind
        a = s.action
        act: Any = None
        if a is not None:
            ga = self._adicts.get(id(a))
            if ga is None or ga[0] is not a:
                ga = (a, action_dict(a))
                self._adicts[id(a)] = ga
            act = ga[1]
        ovn = self.ovn
        ov: Any = None
        if ovn is not None:
            if k is StepKind.TABLE or k is StepKind.STAGE:
                st = ovn.steps.get(s.line)
                ov = None if st is None else step_ovn_dict(st)
            elif k is StepKind.ACTION:
                ao = ovn.actions.get(s.line)
                ov = None if ao is None else action_ovn_dict(ao)
        kids = [self.step(c, depth + 1) for c in s.children] if s.children else []
        if k is StepKind.ACTION:
            return {"kind": "action", "line": s.line, "text": s.text, "action": act, "ovn": ov,
                    "spurious": s.spurious, "nested_in": s.nested_in, "children": kids}
        if k is StepKind.TABLE:
            m = s.state
            got = self._sdicts.get(id(m))
            if got is None or got[0] is not m:
                got = (m, dict(m))
                self._sdicts[id(m)] = got
            return {"kind": "table", "line": s.line, "text": s.text, "bridge": s.bridge, "table": s.table,
                    "match": s.match, "priority": s.priority, "cookie": s.cookie, "miss": s.miss, "via": s.via,
                    "state": got[1], "action": act, "ovn": ov, "spurious": s.spurious, "nested_in": s.nested_in,
                    "children": kids}
        if k is StepKind.BRIDGE:
            return {"kind": "bridge", "line": s.line, "text": s.text, "bridge": s.bridge, "action": act, "ovn": ov,
                    "spurious": s.spurious, "nested_in": s.nested_in, "children": kids}
        if k is StepKind.STAGE:
            return {"kind": "stage", "line": s.line, "text": s.text, "datapath": s.datapath,
                    "pipeline": s.pipeline, "table": s.table, "stage": s.stage, "source": s.source,
                    "match": s.match, "priority": s.priority, "uuid": s.uuid, "miss": s.miss, "action": act,
                    "ovn": ov, "spurious": s.spurious, "nested_in": s.nested_in, "children": kids}
        if k is StepKind.PIPELINE:
            return {"kind": "pipeline", "line": s.line, "text": s.text, "datapath": s.datapath,
                    "pipeline": s.pipeline, "inport": s.inport, "outport": s.outport, "action": act, "ovn": ov,
                    "spurious": s.spurious, "nested_in": s.nested_in, "children": kids}
        if k is StepKind.TRANSFORM:
            return {"kind": "transform", "line": s.line, "text": s.text, "datapath": s.datapath,
                    "pipeline": s.pipeline, "inport": s.inport, "outport": s.outport, "transform": s.stage,
                    "action": act, "ovn": ov, "spurious": s.spurious, "nested_in": s.nested_in, "children": kids}
        if k is StepKind.OPENFLOW:
            return {"kind": "openflow", "line": s.line, "text": s.text, "table": s.table, "priority": s.priority,
                    "cookie": s.cookie, "action": act, "ovn": ov, "spurious": s.spurious,
                    "nested_in": s.nested_in, "children": kids}
        return {"kind": k.value, "line": s.line, "text": s.text, "action": act, "ovn": ov, "spurious": s.spurious,
                "nested_in": s.nested_in, "children": kids}


def _trace_rest(t: Trace, ovn: TraceOvn | None) -> dict[str, Any]:
    ov = ovn.verdict if ovn is not None else None
    return {
        "verdict": verdict_dict(t.verdict, ov, ovn is not None),
        "ovn": ovn_dict(ovn) if ovn is not None else None,
        "path": [hop_dict(h, None, hop_tunnel(h, t.verdict, ov)) for h in ovn.path] if ovn is not None else None,
        "raw": [{"line": s.line, "text": s.text} for s in t.raw],
    }


def _trace_head(t: Trace) -> dict[str, Any]:
    return {"format": t.format.value, "first_line": t.first_line, "last_line": t.last_line,
            "command": t.command, "bridge": t.bridge, "detail": t.detail}


def trace_dict(t: Trace, ovn: TraceOvn | None, b: _Build | None = None) -> dict[str, Any]:
    """One trace of the document as Python objects (raises :class:`_TooDeep` past :data:`DEEP` levels)."""
    b = b or _Build(ovn)
    notes = _Build(None)
    passes = []
    for p in t.passes:
        d = pass_head(p)
        d["steps"] = [b.step(x, 1) for x in p.steps]
        d["notes"] = [notes.step(x, 1) for x in p.notes]
        d.update(pass_tail(p))
        passes.append(d)
    out = _trace_head(t)
    out["passes"] = passes
    out.update(_trace_rest(t, ovn))
    return out


def trace_chunks(t: Trace, ovn: TraceOvn | None, out: list[str],
                 actions: dict[str, tuple[Any, str]] | None = None) -> None:
    """The trace's JSON text in chunks, without recursion (any depth); ``actions``: a document's memo of
    encoded actions (:class:`Encoder`)."""
    tree = _Tree(ovn, actions)
    out.append(_DUMP(_trace_head(t))[:-1])
    out.append(', "passes": [')
    for i, p in enumerate(t.passes):
        if i:
            out.append(", ")
        out.append(_DUMP(pass_head(p))[:-1])
        out.append(', "steps": ')
        tree.steps(p.steps, out)
        out.append(', "notes": ')
        _Tree(None, tree._actions).steps(p.notes, out)
        out.append(_tail_obj(pass_tail(p)))
    out.append("]")
    out.append(_tail_obj(_trace_rest(t, ovn)))


class Encoder:
    """Encodes the traces of one document (:meth:`trace`), remembering the JSON of each parsed action meanwhile."""

    def __init__(self) -> None:
        self.actions: dict[str, tuple[Any, str]] = {}

    def trace(self, t: Trace, ovn: TraceOvn | None) -> str:
        """One trace's JSON: written directly in pre-order (no dict per step, no recursion: any depth)."""
        chunks: list[str] = []
        trace_chunks(t, ovn, chunks, self.actions)
        return "".join(chunks)


def trace_text(t: Trace, ovn: TraceOvn | None) -> str:
    return Encoder().trace(t, ovn)


def _ovn_of(ovn: Sequence[TraceOvn | None] | None, i: int) -> TraceOvn | None:
    return ovn[i] if ovn is not None and i < len(ovn) else None


def head_dict(result: ParseResult) -> dict[str, Any]:
    return {"schema": SCHEMA, "warnings": [{"line": w.line, "message": w.message} for w in result.warnings],
            "line_count": result.line_count, "prose_lines": list(result.prose_lines)}


def head_text(result: ParseResult) -> str:
    """The document up to its first trace (``result.traces`` is not read): ``{"schema": ..., "traces": [``."""
    return _DUMP(head_dict(result))[:-1] + ', "traces": ['


TRACE_SEP = ", "


def tail_text(comparison: Sequence[dict[str, Any]] | None = None) -> str:
    return '], "comparison": ' + _DUMP(list(comparison) if comparison else None) + "}\n"


def write(result: ParseResult, out: TextIO, ovn: Sequence[TraceOvn | None] | None = None,
          comparison: Sequence[dict[str, Any]] | None = None) -> None:
    """The document, one trace at a time (memory: the largest trace's text), and a newline. ``comparison``:
    the logical/physical comparisons of a paste holding both (docs/json-contract.md), null when none.

    The cyclic garbage collector is paused while a trace is built and encoded: the dicts made here hold
    no cycles, and each of the collections their allocation would trigger walks the whole parsed tree
    (it doubled the time of this function)."""
    out.write(head_text(result))
    enc = Encoder()
    for i, t in enumerate(result.traces):
        if i:
            out.write(TRACE_SEP)
        was = gc.isenabled()
        gc.disable()
        try:
            text = enc.trace(t, _ovn_of(ovn, i))
        finally:
            if was:
                gc.enable()
        out.write(text)
    out.write(tail_text(comparison))


def render(result: ParseResult, ovn: Sequence[TraceOvn | None] | None = None) -> str:
    buf = io.StringIO()
    write(result, buf, ovn)
    return buf.getvalue()


def to_dict(result: ParseResult, ovn: Sequence[TraceOvn | None] | None = None) -> dict[str, Any]:
    """The document as Python objects (a deep tree is decoded from its text: the builder would recurse)."""
    d = head_dict(result)
    traces = []
    for i, t in enumerate(result.traces):
        try:
            traces.append(trace_dict(t, _ovn_of(ovn, i)))
        except _TooDeep:
            traces.append(json.loads(trace_text(t, _ovn_of(ovn, i))))
    d["traces"] = traces
    d["comparison"] = None
    return d
