"""Logical and physical side by side: an ``ovn-trace`` and the ``ofproto/trace`` output(s) of the same packet.

Pure (no I/O). ovn-controller gives every OpenFlow flow it installs for a logical flow the cookie made of
the first 32 bits of the lflow's UUID (``controller/lflow.c``, OVN 20.03-25.03), and ovn-trace prints that
prefix as ``uuid XXXXXXXX`` on each stage line. So each logical stage is looked for, by cookie, in the
OpenFlow tables the physical trace(s) went through; the stage of an OpenFlow table is the logical table
plus the pipeline's first OpenFlow table (``LOG_INGRESS_PIPELINE``/``LOG_EGRESS_PIPELINE``), learned here from
the stages found by cookie (so no release table is needed).

The physical side is a chain: the source node's trace, then, after a tunnel, the next node's. Where the
two stop agreeing is the *divergence*: the first logical stage after the last one found in the physical
trace. What the node did at that stage's OpenFlow table says why:

* the table matched another flow (another lflow's cookie, at a lower priority) or none at all, and the
  stage does not depend on conntrack state: the node's flows are not what northd computed (check
  ovn-controller);
* the stage matches on conntrack state: the two traces may simply assume different states (ovn-trace's
  ``--ct`` defaults to ``est``; ofproto/trace's to ``trk,new``): unknown;
* the physical trace never reached that table: unknown, with what it did instead.

When the evidence does not decide (the physical trace stops at a tunnel whose far side was not traced,
not the same packet, no uuids in an old ovn-trace), ``agree`` is ``None`` and the words say why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ovntrace.model.ovn import TraceOvn
from ovntrace.model.trace import Step, StepKind, Trace, TraceFormat, VerdictKind
from ovntrace.parser.ovnverdict import GENERATORS

CHECK_CONTROLLER = "flows on the node are not what northd computed: check ovn-controller"
_CT_WORDS = ("ct.", "ct_state", "ct_mark", "ct_label")


@dataclass(frozen=True, slots=True)
class Physical:
    """One ofproto/trace of the chain: the node it ran on (None when a paste does not say), the trace, its
    OVN annotation, and its index in the paste."""

    node: str | None
    trace: Trace
    ovn: TraceOvn | None = None
    index: int | None = None

    @property
    def label(self) -> str:
        if self.node:
            return f"ofproto/trace on {self.node}"
        return f"ofproto/trace (trace {self.index + 1})" if self.index is not None else "ofproto/trace"


@dataclass(frozen=True, slots=True)
class StageMatch:
    """One logical stage of the ovn-trace and where its lflow's flows were in the physical trace(s).

    ``status``: ``matched`` (a flow with the lflow's cookie), ``unseen`` (no flow with its cookie, yet later
    stages were: the flows may be merged with another lflow's, or shared), ``diverged`` (the first stage
    after the last one matched, where the physical path left the logical one), ``after`` (past the
    divergence), ``remote`` (after the physical trace left by a tunnel that was not followed), ``no-match``
    (an implicit drop in ovn-trace: no cookie to look for), ``no-uuid`` (ovn-trace printed no uuid)."""

    line: int
    datapath: str | None
    pipeline: str | None
    table: int | None
    stage: str | None
    uuid: str | None
    priority: int | None
    match: str | None
    status: str
    node: str | None = None
    of_table: int | None = None
    of_line: int | None = None
    trace: int | None = None  # index in the paste of the physical trace holding the flow


@dataclass(frozen=True, slots=True)
class Divergence:
    logical_line: int
    stage: str | None
    uuid: str | None
    node: str | None
    of_table: int | None  # the OpenFlow table the stage runs in (None: not known)
    of_line: int | None  # the physical trace's line at that table, if it went there
    found: str  # what the physical trace did there, in words
    diagnosis: str  # CHECK_CONTROLLER, or why it stays unknown
    decided: bool  # True when the diagnosis is CHECK_CONTROLLER (the evidence decides)


@dataclass(frozen=True, slots=True)
class Comparison:
    logical: int | None  # index of the ovn-trace in the paste
    physical: tuple[int | None, ...]  # indexes of the ofproto/traces
    nodes: tuple[str | None, ...]
    agree: bool | None  # None: the evidence does not decide
    logical_verdict: str
    physical_verdict: str
    summary: str
    stages: tuple[StageMatch, ...] = ()
    divergence: Divergence | None = None
    offsets: dict[str, int] = field(default_factory=dict)  # pipeline -> first OpenFlow table
    notes: tuple[str, ...] = ()

    def counts(self) -> dict[str, int]:
        return dict(Counter(s.status for s in self.stages))


# -- the logical side -------------------------------------------------------------------------------

def _stages(trace: Trace) -> Iterator[tuple[Step, bool]]:
    """Every stage of the ovn-trace in order, and whether it runs in a packet ovn-controller makes (arp,
    icmp4 ...), which ofproto/trace does not follow."""
    stack: list[tuple[Step, bool]] = [(s, False) for p in reversed(trace.passes) for s in reversed(p.steps)]
    while stack:
        s, gen = stack.pop()
        if s.kind is StepKind.STAGE:
            yield s, gen
        inner = gen or (s.kind is StepKind.TRANSFORM and s.stage in GENERATORS)
        stack.extend((c, inner) for c in reversed(s.children))


def _cookie(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return int(text, 16) & 0xFFFFFFFF
    except ValueError:
        return None


def _uuid(text: str | None) -> int | None:
    if not text or len(text) < 8:
        return None
    try:
        return int(text[:8], 16)
    except ValueError:
        return None


# -- the physical side ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Flow:
    pos: int  # order along the chain
    chain: int  # which physical trace
    step: Step


def _flows(chain: Sequence[Physical]) -> list[_Flow]:
    out: list[_Flow] = []
    for ci, ph in enumerate(chain):
        for s in ph.trace.walk():
            if s.kind is StepKind.TABLE and (s.bridge in (None, "br-int")):
                out.append(_Flow(len(out), ci, s))
    return out


def _verdict_words(ph: Physical) -> tuple[str, str, str | None]:
    """(kind, words, outport) of a physical trace."""
    v = ph.ovn.verdict if ph.ovn is not None else None
    tv = ph.trace.verdict
    if v is not None:
        return v.kind, f"{v.kind}: {v.cause}", v.outport
    return tv.kind.value, f"{tv.kind.value}: {tv.reason}", None


def _physical_short(ph: Physical) -> str:
    v = ph.ovn.verdict if ph.ovn is not None else None
    tv = ph.trace.verdict
    kind = v.kind if v is not None else tv.kind.value
    if kind == "drop":
        d = (v.drop if v is not None else None) or {}
        table = d.get("table")
        stage = d.get("stage")
        acl = (v.acl or {}).get("name") if v is not None else None
        return ("dropped" + (f" at table {table}" if table is not None else "") + (f" ({stage})" if stage else "")
                + (f" by ACL {acl}" if acl else ""))
    if kind == "output":
        port = v.outport if v is not None else None
        return f"delivered to {port}" if port else f"output to {', '.join(tv.ports) or '?'}"
    if kind == "tunnel":
        dst = tv.tunnel.get("dst")
        return f"tunnelled{f' to {dst}' if dst else ''}"
    return kind


def _logical_words(t: Trace) -> str:
    v = t.verdict
    return f"{v.kind.value}: {v.reason}"


_L4_ALIASES = {"tcp_src": "tp_src", "udp_src": "tp_src", "sctp_src": "tp_src",
               "tcp_dst": "tp_dst", "udp_dst": "tp_dst", "sctp_dst": "tp_dst"}


def _norm_fields(fields: Any) -> dict[str, str]:
    """A flow's fields with OVS's L4 aliases (``tcp_src``) under the name ovn-trace prints (``tp_src``)."""
    return {_L4_ALIASES.get(str(k)) or str(k): str(v) for k, v in dict(fields).items()}


def _same_packet(logical: Trace, first: Trace) -> str | None:
    """None when the microflows agree on what both name (addresses, protocol); else what differs."""
    lf = _norm_fields(logical.passes[0].fields if logical.passes else {})
    pf = _norm_fields(first.passes[0].fields if first.passes else {})
    if not lf or not pf:
        return None
    for key in ("dl_src", "dl_dst", "nw_src", "nw_dst", "tp_src", "tp_dst", "icmp_type"):
        a, b = lf.get(key), pf.get(key)
        if a is not None and b is not None and a.lower() != b.lower():
            return f"{key} {a} in the ovn-trace, {b} in the ofproto/trace"
    lp = next((p for p in ("icmp", "tcp", "udp", "arp", "icmp6", "sctp") if p in lf), None)
    pp = next((p for p in ("icmp", "tcp", "udp", "arp", "icmp6", "sctp") if p in pf), None)
    if lp and pp and lp != pp:
        return f"protocol {lp} in the ovn-trace, {pp} in the ofproto/trace"
    return None


def _describe_flow(ph: Physical, s: Step) -> str:
    st = ph.ovn.steps.get(s.line) if ph.ovn is not None else None
    if s.miss or (s.cookie is None and s.priority is None):
        return f"no flow matched in table {s.table} (line {s.line})"
    words = f"table {s.table} matched priority {s.priority}"
    if s.cookie and _cookie(s.cookie):
        words += f", cookie {s.cookie}"
        if st is not None and st.lflow is not None:
            lf = st.lflow
            words += f" (lflow {lf.uuid[:8]}: {lf.stage or lf.pipeline}, match {lf.match})"
    else:
        words += " with no cookie (not a logical flow's)"
    return words + f" (line {s.line})"


def compare(logical: Trace, chain: Sequence[Physical], logical_index: int | None = None, *,
            handoff: str | None = None, sent_ingress: str | None = None) -> Comparison:
    """Line up ``logical`` (an ovn-trace) with ``chain`` (the ofproto/traces of the same packet, in path
    order) and say whether and where they diverge.

    Interconnect halves (``ovntrace path``): ``handoff``, the remote port (``tstor-*``) by which the packet
    leaves this zone: an ovn-trace output to it and a physical tunnel for it agree (the stages after the
    tunnel run on the receiving chassis). ``sent_ingress``: the datapath whose first ingress pipeline ran on
    the sending chassis (the transit switch, for the receiving half): its stages are ``remote``."""
    nodes = tuple(p.node for p in chain)
    idx = tuple(p.index for p in chain)
    lwords = _logical_words(logical)
    if not chain:
        return Comparison(logical_index, idx, nodes, None, lwords, "", "no ofproto/trace to compare with")
    last = chain[-1]
    pkind, pwords, poutport = _verdict_words(last)
    base = dict(logical=logical_index, physical=idx, nodes=nodes, logical_verdict=lwords,
                physical_verdict=f"{last.label}: {pwords}")
    differs = _same_packet(logical, chain[0].trace)
    if differs:
        return Comparison(**base, agree=None, summary=f"not compared: not the same packet ({differs})")  # type: ignore[arg-type]
    flows = _flows(chain)
    by_cookie: dict[int, list[_Flow]] = {}
    for f in flows:
        c = _cookie(f.step.cookie)
        if c:
            by_cookie.setdefault(c, []).append(f)
    # match each stage to the first flow with its cookie at or after the previous match (path order)
    rows: list[dict[str, Any]] = []
    cursor = 0
    leading = sent_ingress is not None
    # an interconnect half: one node's trace, in path order; a cookie seen only before the cursor (an lflow
    # shared by several datapaths, e.g. a check_port_sec flow) is not this stage's flow
    ordered = sent_ingress is not None or handoff is not None
    for s, gen in _stages(logical):
        if gen:
            continue
        row: dict[str, Any] = dict(line=s.line, datapath=s.datapath, pipeline=s.pipeline, table=s.table,
                                   stage=s.stage, uuid=s.uuid, priority=s.priority, match=s.match)
        u = _uuid(s.uuid)
        leading = leading and s.datapath == sent_ingress and s.pipeline == "ingress"
        if leading:
            row["status"] = "remote"  # ran on the sending chassis, before the tunnel
        elif s.miss:
            row["status"] = "no-match"
        elif u is None:
            row["status"] = "no-uuid"
        else:
            cands = by_cookie.get(u, [])
            hit = next((f for f in cands if f.pos >= cursor), None) or (cands[0] if cands and not ordered else None)
            if hit is not None:
                cursor = max(cursor, hit.pos)
                ph = chain[hit.chain]
                row.update(status="matched", node=ph.node, of_table=hit.step.table, of_line=hit.step.line,
                           trace=ph.index, _pos=hit.pos)
            else:
                row["status"] = "missing"
        rows.append(row)
    notes: list[str] = []
    if rows and all(r["status"] in ("no-uuid", "no-match") for r in rows):
        stages = tuple(StageMatch(**{k: v for k, v in r.items() if not k.startswith("_")}) for r in rows)
        return Comparison(**base, agree=None, stages=stages,  # type: ignore[arg-type]
                          summary="not compared: this ovn-trace prints no lflow uuids (OVN before 2.8?)")
    # OpenFlow table of each pipeline's logical table 0, from the stages found
    offs: dict[str, Counter[int]] = {}
    for r in rows:
        if r["status"] == "matched" and r["table"] is not None and r["of_table"] is not None and r["pipeline"]:
            offs.setdefault(r["pipeline"], Counter())[r["of_table"] - r["table"]] += 1
    offsets = {p: c.most_common(1)[0][0] for p, c in offs.items()}
    last_hit = max((i for i, r in enumerate(rows) if r["status"] == "matched"), default=-1)
    tunnel_end = pkind == "tunnel" or last.trace.verdict.kind is VerdictKind.TUNNEL
    divergence: Divergence | None = None
    for i, r in enumerate(rows):
        if r["status"] != "missing":
            continue
        if i < last_hit:
            r["status"] = "unseen"
        elif tunnel_end:
            r["status"] = "remote"
        elif divergence is None:
            r["status"] = "diverged"
            divergence = _diverge(r, rows, chain, flows, offsets)
            # where the stage's flow should have been, and what the node's trace has there
            r.update(node=divergence.node, of_table=divergence.of_table, of_line=divergence.of_line)
        else:
            r["status"] = "after"
    for r in rows[last_hit + 1:]:
        if tunnel_end and r["status"] in ("no-match", "no-uuid"):
            r["status"] = "remote"
    stages = tuple(StageMatch(**{k: v for k, v in r.items() if not k.startswith("_")}) for r in rows)
    unseen = [r for r in rows if r["status"] == "unseen"]
    if unseen:
        ct = [r for r in unseen if any(w in (r["match"] or "") for w in _CT_WORDS)]
        names = ", ".join(f"{r['stage'] or 'table ' + str(r['table'])} (line {r['line']})" for r in unseen)
        why = ("they match on conntrack state, which ovn-trace (--ct, default est) and ofproto/trace (default "
               "trk,new) assume differently" if len(ct) == len(unseen) else
               "the node took another flow there (conntrack state assumed differently, or the flows of identical "
               "lflows merged under one cookie)")
        notes.append(f"{len(unseen)} stage(s) with no flow of their lflow in the ofproto/trace, though later "
                     f"stages have theirs: {names}; {why}; not a divergence")
    agree, summary = _conclude(logical, chain, pkind, poutport, rows, divergence, tunnel_end, last, handoff)
    return Comparison(**base, agree=agree, summary=summary, stages=stages,  # type: ignore[arg-type]
                      divergence=divergence, offsets=offsets, notes=tuple(notes))


def _conclude(logical: Trace, chain: Sequence[Physical], pkind: str, poutport: str | None,
              rows: list[dict[str, Any]], divergence: Divergence | None, tunnel_end: bool,
              last: Physical, handoff: str | None = None) -> tuple[bool | None, str]:
    lv = logical.verdict
    lk = lv.kind.value
    matched = sum(1 for r in rows if r["status"] == "matched")
    total = len(rows)
    trail = f"{matched} of {total} stages found by cookie"
    if lk == VerdictKind.INCOMPLETE.value or pkind == VerdictKind.INCOMPLETE.value:
        return None, f"unknown: a trace is incomplete ({trail})"
    if (handoff is not None and tunnel_end and divergence is None and lk == VerdictKind.OUTPUT.value
            and tuple(lv.ports) == (handoff,) and poutport == handoff):
        remote = sum(1 for r in rows if r["status"] == "remote")
        after = f", {remote} after the tunnel run on the receiving chassis" if remote else ""
        return True, (f"agree: both leave this zone for {handoff} (ovn-trace outputs to the remote port, "
                      f"{last.label} tunnels to its chassis; {trail}{after})")
    if tunnel_end and lk != pkind:
        remote = sum(1 for r in rows if r["status"] == "remote")
        return None, (f"agree as far as traced ({trail}): {last.label} leaves by a tunnel and the "
                      f"{remote} stage(s) after it run on the remote chassis, whose trace is not here")
    if lk == pkind and divergence is None:
        if lk == "output" and poutport and lv.ports and poutport not in lv.ports:
            return False, (f"diverge: ovn-trace outputs to {', '.join(lv.ports)}; {last.label} to {poutport} "
                           f"({trail})")
        port = f" to {', '.join(lv.ports)}" if lv.ports else ""
        return True, f"agree: both {lk}{port} ({trail})"
    if divergence is not None:
        d = divergence
        where = (f"{d.stage or 'stage'} (ovn-trace line {d.logical_line}, lflow {d.uuid}"
                 + (f", OpenFlow table {d.of_table}" if d.of_table is not None else "") + ")")
        if lk == pkind:  # the same end by another way (conntrack state, merged flows ...)
            return (not d.decided), (f"agree: both {lk}; the paths differ from {where}: {d.found} → "
                                     f"{d.diagnosis}")
        return False, (f"diverge at {where}: ovn-trace: {_short(logical)}; {last.label}: {_physical_short(last)} "
                       f"({d.found}) → {d.diagnosis}")
    return False, f"diverge: ovn-trace: {_short(logical)}; {last.label}: {pkind} ({trail})"


def _short(t: Trace) -> str:
    v = t.verdict
    if v.kind is VerdictKind.OUTPUT and v.ports:
        return f"delivered to {', '.join(v.ports)}"
    if v.kind is VerdictKind.DROP:
        return f"dropped{f' in {v.stage}' if v.stage else ''}"
    return v.kind.value


def _diverge(r: dict[str, Any], rows: list[dict[str, Any]], chain: Sequence[Physical], flows: list[_Flow],
             offsets: dict[str, int]) -> Divergence:
    prev = next((x for x in reversed(rows[:rows.index(r)]) if x["status"] == "matched"), None)
    after = prev["_pos"] if prev is not None else -1
    ci = next((f.chain for f in flows if f.pos == after), 0) if prev is not None else 0
    ph = chain[ci]
    off = offsets.get(r["pipeline"] or "")
    of_table = off + r["table"] if off is not None and r["table"] is not None else None
    ct_dependent = any(w in (r["match"] or "") for w in _CT_WORDS)
    at = [f for f in flows if f.chain == ci and f.pos > after and of_table is not None and f.step.table == of_table]
    if of_table is None:
        found = "the OpenFlow table of this stage is not known (no stage of its pipeline found by cookie)"
        return Divergence(r["line"], r["stage"], r["uuid"], ph.node, None, None, found,
                          "unknown: the evidence does not decide", False)
    if not at:
        _k, words, _o = _verdict_words(ph)
        found = f"the packet never reached table {of_table}: {words}"
        diag = "unknown: the physical trace left the logical path before this stage"
        return Divergence(r["line"], r["stage"], r["uuid"], ph.node, of_table, None, found, diag, False)
    s = at[0].step
    found = _describe_flow(ph, s)
    if not s.miss:
        found = f"no flow of lflow {r['uuid']} there: {found}"
    lower = s.miss or s.priority is None or r["priority"] is None or s.priority <= r["priority"]
    if ct_dependent:
        diag = ("unknown: this stage matches on conntrack state, which the two traces may assume differently "
                "(ovn-trace --ct, ofproto/trace --ct-next)")
        return Divergence(r["line"], r["stage"], r["uuid"], ph.node, of_table, s.line, found, diag, False)
    if lower:
        return Divergence(r["line"], r["stage"], r["uuid"], ph.node, of_table, s.line, found, CHECK_CONTROLLER, True)
    diag = "unknown: a flow of higher priority than the lflow matched on the node (not from this lflow)"
    return Divergence(r["line"], r["stage"], r["uuid"], ph.node, of_table, s.line, found, diag, False)


# -- pastes -----------------------------------------------------------------------------------------

def pairs(traces: Sequence[Trace]) -> list[tuple[int, list[int]]]:
    """(ovn-trace index, [ofproto/trace indexes]) of a paste: each ovn-trace with the ofproto/traces that
    follow it up to the next ovn-trace (or, when none follow, the unclaimed ones just before it)."""
    out: list[tuple[int, list[int]]] = []
    logical = [i for i, t in enumerate(traces) if t.format is TraceFormat.OVN_TRACE]
    claimed: set[int] = set()
    for n, li in enumerate(logical):
        end = logical[n + 1] if n + 1 < len(logical) else len(traces)
        after = [i for i in range(li + 1, end) if traces[i].format is not TraceFormat.OVN_TRACE]
        if not after:
            start = logical[n - 1] + 1 if n else 0
            after = [i for i in range(start, li) if i not in claimed and traces[i].format is not TraceFormat.OVN_TRACE]
        if after:
            claimed.update(after)
            out.append((li, after))
    return out


def compare_result(traces: Sequence[Trace], ovn: Sequence[TraceOvn | None] | None = None,
                   nodes: Sequence[str | None] | None = None) -> list[Comparison]:
    """Every comparison a paste holds (none when it has no ovn-trace with an ofproto/trace)."""
    out = []
    for li, phys in pairs(traces):
        chain = [Physical(nodes[i] if nodes is not None and i < len(nodes) else None, traces[i],
                          ovn[i] if ovn is not None and i < len(ovn) else None, i) for i in phys]
        out.append(compare(traces[li], chain, li))
    return out


def to_json(c: Comparison) -> dict[str, Any]:
    """The ``comparison`` objects of the JSON output (docs/json-contract.md, "comparison")."""
    d = c.divergence
    return {
        "logical_trace": c.logical,
        "physical_traces": list(c.physical),
        "nodes": list(c.nodes),
        "agree": c.agree,
        "summary": c.summary,
        "logical_verdict": c.logical_verdict,
        "physical_verdict": c.physical_verdict,
        "divergence": None if d is None else {
            "logical_line": d.logical_line, "stage": d.stage, "uuid": d.uuid, "node": d.node,
            "openflow_table": d.of_table, "physical_line": d.of_line, "found": d.found,
            "diagnosis": d.diagnosis, "decided": d.decided},
        "offsets": dict(c.offsets),
        "counts": c.counts(),
        "stages": [{"line": s.line, "datapath": s.datapath, "pipeline": s.pipeline, "table": s.table,
                    "stage": s.stage, "uuid": s.uuid, "status": s.status, "node": s.node,
                    "openflow_table": s.of_table, "physical_line": s.of_line, "physical_trace": s.trace}
                   for s in c.stages],
        "notes": list(c.notes),
    }


__all__ = ["CHECK_CONTROLLER", "Comparison", "Divergence", "Physical", "StageMatch", "compare",
           "compare_result", "pairs", "to_json"]
