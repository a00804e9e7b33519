"""The OVN verdict of one trace: what happened to the packet, in words, with the objects named.

Pure: no I/O. Takes the parsed trace, the per-step OVN meaning :mod:`ovntrace.correlate.annotate`
computed and the cluster index, and says why the packet was dropped, where it was delivered, to which
chassis it was tunnelled, or what ovn-controller was asked to do.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import Any

from ovntrace.correlate.index import ClusterIndex
from ovntrace.model.ovn import ActionOvn, OvnVerdict, StepOvn
from ovntrace.model.trace import Pass, Step, StepKind, Trace, VerdictKind
from ovntrace.ovn import tunnel as ovn_tunnel


def acl_words(acl: Mapping[str, Any]) -> str:
    name = acl.get("name")
    label = f"ACL {name}" if name else "an ACL"
    bits = [b for b in (acl.get("direction"), f"priority {acl['priority']}" if "priority" in acl else None) if b]
    return f"{label} ({', '.join(str(b) for b in bits)})" if bits else label


def make_verdict(trace: Trace, steps: Mapping[int, StepOvn], actions: Mapping[int, ActionOvn],
                 release: str | None, ix: ClusterIndex) -> OvnVerdict:
    """The OVN verdict of ``trace`` (``steps``/``actions`` keyed by step line, as in :class:`TraceOvn`)."""
    v = trace.verdict
    drops = [(line, a) for line, a in actions.items() if a.effect == "drop"]
    if drops and v.kind in (VerdictKind.CONTROLLER, VerdictKind.DROP):
        line, a = drops[0]
        st = _table_of(trace, line, steps)
        acl = dict(st.nb) if st is not None and st.nb and st.nb.get("table") == "ACL" else None
        log = a.details.get("acl_log") or {}
        if acl is None and log.get("name"):
            acl = {"name": log["name"]}
        where = f" on {st.datapath.label()}" if st is not None and st.datapath is not None else ""
        cause = f"dropped by {acl_words(acl) if acl else 'an ACL'}{where} (ACL log verdict {log.get('verdict')})"
        return OvnVerdict("drop", cause, line, acl=acl)
    if v.kind is VerdictKind.TUNNEL:
        return _tunnel_verdict(trace, release, ix)
    if v.kind is VerdictKind.OUTPUT:
        outs = [(s.line, actions.get(s.line)) for s in trace.walk()
                if s.action is not None and s.action.name == "output" and not s.spurious]
        named = [(ln, a) for ln, a in outs if a is not None]
        if named:
            ln, a = named[-1]
            return OvnVerdict("output", f"delivered {a.words}", ln)
        return OvnVerdict("output", v.reason, v.line)
    if v.kind is VerdictKind.DROP:
        return _drop_verdict(trace, steps)
    if v.kind is VerdictKind.CONTROLLER:
        ctrl = [(ln, a) for ln, a in actions.items() if a.effect is not None]
        if ctrl:
            ln, a = ctrl[-1]
            return OvnVerdict("controller", f"sent to ovn-controller: {a.words}", ln)
    return OvnVerdict(v.kind.value, v.reason, v.line)


def _tunnel_verdict(trace: Trace, release: str | None, ix: ClusterIndex) -> OvnVerdict:
    v = trace.verdict
    t = v.tunnel
    dst = str(t.get("dst", "?"))
    ch = ix.chassis_by_ip.get(dst)
    chassis: dict[str, Any] = {"ip": dst, "name": ch.name, "hostname": ch.hostname} if ch else {"ip": dst}
    meta = None
    opts = t.get("geneve") or []
    opt = next((o for o in opts if str(o.get("class", "")).lower() in ("0x102", "0x0102")), None)
    if t.get("tun_id") is not None:
        try:
            meta = ovn_tunnel.decode_geneve(t.get("tun_id"), opt.get("value") if opt else None)
        except ValueError:
            meta = None
    outport = None
    words = f"tunnelled to {'chassis ' + (ch.hostname or ch.name) + ' (' + dst + ')' if ch else dst}"
    if meta is not None:
        dp = ix.datapath(meta.datapath) if meta.datapath is not None else None
        pb = ix.port(dp, meta.outport) if meta.outport is not None else None
        outport = pb.logical_port if pb else None
        if outport:
            words += f" for outport {outport}"
        parts = [f"dp {meta.datapath}"]
        if meta.inport is not None:
            parts += [f"in {meta.inport}", f"out {meta.outport}"]
        words += f" ({', '.join(parts)})"
        chassis["metadata"] = {"datapath": meta.datapath, "inport": meta.inport, "outport": meta.outport}
    return OvnVerdict("tunnel", words, v.line, chassis=chassis, outport=outport)


def _drop_verdict(trace: Trace, steps: Mapping[int, StepOvn]) -> OvnVerdict:
    v = trace.verdict
    last_pass = trace.passes[-1]
    tables = list(_pass_tables(last_pass))
    if not tables:
        return OvnVerdict("drop", v.reason, v.line)
    last = tables[-1]
    st = steps.get(last.line)
    if last.miss:
        where = f"table {last.table}" + (f" ({st.table_role})" if st and st.table_role else "")
        return OvnVerdict("drop", f"no OpenFlow flow matched in {where}: dropped", last.line)
    if st is None:
        return OvnVerdict("drop", v.reason, v.line)
    where = f" on {st.datapath.label()}" if st.datapath else ""
    stage = st.stage or (" or ".join(st.stage_candidates) if st.stage_candidates else None)
    if st.nb and st.nb.get("table") == "ACL":
        return OvnVerdict("drop", f"dropped by {acl_words(st.nb)}{where}", last.line, acl=dict(st.nb))
    if stage and "port_sec" in stage:
        who = st.inport if "_in_" in stage else st.outport
        addr = last.state.get("nw_src") if "_in_" in stage else last.state.get("nw_dst")
        mac = last.state.get("dl_src") if "_in_" in stage else last.state.get("dl_dst")
        what = addr if addr and _is_ip(addr) else mac
        cause = f"port security on {who or 'the port'}" + (f" does not allow {what}" if what else "") + where
        return OvnVerdict("drop", cause, last.line)
    if stage:
        cause = f"dropped in stage {stage}{where}"
        if st.lflow is not None:
            cause += f" by logical flow ({st.lflow.match}) → ({st.lflow.actions})"
        return OvnVerdict("drop", cause, last.line)
    return OvnVerdict("drop", v.reason, v.line)


def _table_of(trace: Trace, line: int, steps: Mapping[int, StepOvn]) -> StepOvn | None:
    owner = None
    for s in trace.walk():
        if s.kind is StepKind.TABLE and any(c.line == line for c in s.children):
            owner = s
    return steps.get(owner.line) if owner is not None else None


def _pass_tables(p: Pass) -> Iterator[Step]:
    for s in p.walk():
        if s.kind is StepKind.TABLE:
            yield s


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
