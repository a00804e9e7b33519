"""Trace + cluster facts -> OVN meaning for every step, a logical path, and a verdict in words.

Pure: no I/O. Works with an empty :class:`ClusterContext` (a pasted trace alone): stage names come
from the table layout (inferred from landmarks in the trace, the OVN version only as a hint),
registers, tunnel metadata and controller opcodes are decoded from the trace itself. With databases
the datapath, logical flow, NB object and port names are filled in.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ovntrace.correlate.index import ClusterIndex, build_index, cookie_prefix
from ovntrace.correlate.verdict import make_verdict
from ovntrace.model.cluster import ClusterContext, Datapath, LogicalFlow, NbRow, PortBinding
from ovntrace.model.ovn import ActionOvn, DatapathRef, Hop, LflowRef, StepOvn, TraceOvn
from ovntrace.model.trace import Step, StepKind, Trace, VerdictKind
from ovntrace.ovn import controller as ovn_controller
from ovntrace.ovn import registers as ovn_registers
from ovntrace.ovn import stages as ovn_stages
from ovntrace.ovn import tables as ovn_tables
from ovntrace.ovn import tunnel as ovn_tunnel

MIN_CONFIDENCE = 0.5  # below this (and with no database hit) the trace is not treated as OVN's


def _int(value: str | None) -> int | None:
    """A fully known state value ("0x5"), not a partial one ("0x5/0xffff")."""
    if value is None or "/" in value:
        return None
    try:
        return int(value, 0)
    except ValueError:
        return None


def _evidence(trace: Trace) -> list[ovn_tables.FlowEvidence]:
    out = []
    for s in trace.tables():
        if s.table is None or s.miss:
            continue
        actions = [c.text for c in s.children if c.kind is StepKind.ACTION]
        cookie = int(s.cookie, 16) if s.cookie else 0
        out.append(ovn_tables.FlowEvidence(s.table, s.match or "", actions, cookie))
    return out


@dataclass(frozen=True)
class _Layout:
    layout: ovn_tables.Layout | None
    release: str | None
    confidence: float | None
    words: str | None


def _choose_layout(trace: Trace, version: str | None) -> _Layout:
    evidence = _evidence(trace)
    if not evidence:
        return _Layout(None, version, None, None)
    candidates = ovn_tables.infer_layout(evidence, version)
    if not candidates:
        return _Layout(None, version, None, None)
    best = candidates[0]
    release: str | None
    if version:
        release = version
        words = f"OVN {version} (given); table layout {best.layout.label}"
        if version not in best.layout.releases:
            words += f" fits the trace better than {version}'s (confidence {best.confidence:.0%})"
    else:
        rels = best.releases or best.layout.releases
        release = rels[-1] if rels else None
        fitting = [c for c in candidates if c.score >= best.score]
        if len(fitting) > 1:
            words = (f"table layout fits {len(fitting)} OVN layouts ({fitting[-1].layout.label} to "
                     f"{fitting[0].layout.label}); names per OVN {best.layout.label}, confidence "
                     f"{best.confidence:.0%} for the tables seen; pass --ovn-version to be sure")
        else:
            words = (f"OVN {best.layout.label} guessed from the table layout (confidence {best.confidence:.0%}); "
                     "pass --ovn-version to set it")
    return _Layout(best.layout, release, best.confidence, words)


def _dp_ref(dp: Datapath | None, key: int | None, guessed_type: str | None = None) -> DatapathRef | None:
    if dp is not None:
        return DatapathRef(dp.key, dp.name, dp.uuid, dp.type or guessed_type)
    return DatapathRef(key, type=guessed_type) if key is not None else None


def _lflow_ref(lf: LogicalFlow) -> LflowRef:
    return LflowRef(lf.uuid, lf.pipeline, lf.table_id, lf.priority, lf.match, lf.actions, lf.stage_name)


def nb_summary(row: NbRow) -> dict[str, Any]:
    c = row.columns
    out: dict[str, Any] = {"table": row.table, "uuid": row.uuid}
    if row.table == "ACL":
        for k in ("name", "direction", "priority", "match", "action", "log", "severity", "label", "tier"):
            if k in c and c[k] not in (None, [], ""):
                out[k] = c[k]
        if isinstance(out.get("name"), list):
            out["name"] = out["name"][0] if out["name"] else None
    else:
        for k in ("name", "addresses", "type", "networks", "mac", "ip_prefix", "nexthop", "policy", "match",
                  "action", "external_ip", "logical_ip", "vips", "protocol"):
            if k in c and c[k] not in (None, [], "", {}):
                out[k] = c[k]
    return out


class Correlator:
    """Annotates traces against one cluster context (indexes built once)."""

    def __init__(self, ctx: ClusterContext | None = None, ovn_version: str | None = None,
                 node: str | None = None) -> None:
        self.ctx = ctx or ClusterContext()
        self.ix: ClusterIndex = build_index(self.ctx)
        self.version = ovn_version or self.ctx.ovn_version
        self.node = node

    # -- per trace -------------------------------------------------------------------------------
    def annotate(self, trace: Trace) -> TraceOvn | None:
        if trace.format.value == "ovn-trace" or not trace.passes:
            return None
        lay = _choose_layout(trace, self.version)
        hits = self._db_hits(trace)
        if lay.layout is None or ((lay.confidence or 0) < MIN_CONFIDENCE and not hits):
            return None
        dp_types = self._dp_types(trace)
        lay = self._pick_release(trace, lay, dp_types)
        steps: dict[int, StepOvn] = {}
        for s in trace.tables():
            steps[s.line] = self._step(s, lay, dp_types)
        actions = self._actions(trace, lay.release)
        path = self._path(trace, steps)
        verdict = make_verdict(trace, steps, actions, lay.release, self.ix, self.node)
        warnings = tuple(w for st in steps.values() for w in (
            [f"cookie matches {len(st.lflow_ambiguous)} logical flows that stay ambiguous"]
            if st.lflow_ambiguous else []))
        return TraceOvn(lay.release, lay.words, lay.confidence, steps, actions, path, verdict, warnings,
                        self._mac_notes(trace))

    def _mac_notes(self, trace: Trace) -> tuple[str, ...]:
        """Whose MACs the packet carries: the seed's first note ("dl_dst is stor-kube-node2's MAC")."""
        if not self.ix.mac_owner:
            return ()
        notes = []
        fields = trace.passes[0].fields if trace.passes else {}
        flow = dict(fields)
        if not flow and trace.command:
            flow = {k: v for k, _, v in (kv.partition("=") for kv in trace.command.split()[-1].split(","))}
        for key in ("dl_src", "dl_dst"):
            mac = flow.get(key)
            owner = self.ix.mac_owner.get(mac.lower()) if mac else None
            if owner:
                notes.append(f"{key} {mac} is {owner}")
        return tuple(notes)

    def _db_hits(self, trace: Trace) -> int:
        if self.ix.empty:
            return 0
        return sum(1 for s in trace.tables() if s.cookie and cookie_prefix(s.cookie) in self.ix.lflows_by_cookie)

    def _dp_types(self, trace: Trace) -> dict[int, str]:
        """Datapath type per metadata: from the SB; else inferred from what the trace shows: a
        datapath that decrements the TTL is a router; the datapath a VIF or tunnel packet enters
        first, and one entered from a router, is a switch (OVN attaches VIFs to switches and
        routers to switches)."""
        out: dict[int, str] = {}
        order: list[int] = []
        for s in trace.tables():
            md = _int(s.state.get("metadata"))
            if md is None or md == 0:
                continue
            if md not in order:
                order.append(md)
            dp = self.ix.datapath(md)
            if dp is not None and dp.type:
                out[md] = dp.type
            elif any(c.action is not None and c.action.name == "dec_ttl" for c in s.children):
                out[md] = "router"
        has_table0 = any(s.table == 0 for s in trace.tables())
        for i, md in enumerate(order):
            if md in out:
                continue
            if (i == 0 and has_table0) or (i > 0 and out.get(order[i - 1]) == "router"):
                out[md] = "switch"
        return out

    def _pick_release(self, trace: Trace, lay: _Layout, dp_types: dict[int, str]) -> _Layout:
        """Within a layout's releases, stage lists can differ: keep the release whose stage names
        fit what the tables do (dec_ttl in ip_routing, setting eth_dst from reg0 in arp_resolve ...)."""
        if self.version or lay.layout is None:
            return lay
        releases = lay.layout.releases
        if len(releases) < 2:
            return lay
        best: tuple[int, int] = (-1, -1)
        chosen = lay.release
        seen_sets: set[tuple[str, ...]] = set()
        for idx, rel in enumerate(releases):
            ss = ovn_stages.stage_set(rel)
            key = ss.switch_ingress + ss.router_ingress + ss.switch_egress + ss.router_egress
            if key in seen_sets:
                continue
            seen_sets.add(key)
            score = 0
            for s in trace.tables():
                md = _int(s.state.get("metadata"))
                kind = dp_types.get(md) if md is not None else None
                role = lay.layout.role_of(s.table) if s.table is not None else None
                if kind is None or role is None or role.stage_index is None:
                    continue
                st = ovn_stages.stage(kind, role.kind, role.stage_index, rel)  # type: ignore[arg-type]
                score += _signature_score(s, st.name if st else None)
            if (score, idx) > best:
                best, chosen = (score, idx), rel
        if chosen == lay.release:
            return lay
        words = (lay.words or "").replace(f"OVN {lay.layout.label}", f"OVN {chosen} (layout {lay.layout.label})")
        return _Layout(lay.layout, chosen, lay.confidence, words + "; stage names fit " + str(chosen))

    def _step(self, s: Step, lay: _Layout, dp_types: dict[int, str]) -> StepOvn:
        layout = lay.layout
        assert layout is not None
        role = layout.role_of(s.table) if s.table is not None else None
        md = _int(s.state.get("metadata"))
        if md == 0:
            md = None  # before table 0 sets it (or after a patch port): no datapath yet
        dp = self.ix.datapath(md) if md is not None else None
        dp_type = dp.type if dp is not None and dp.type else dp_types.get(md) if md is not None else None
        pipeline = stage = None
        candidates: tuple[str, ...] = ()
        table_role = None
        if role is not None:
            table_role = role.kind if role.kind != "physical" else role.name
            if role.kind in ("ingress", "egress"):
                pipeline = role.kind
                found = ovn_stages.stage_for_table(s.table, layout, dp_type, lay.release)  # type: ignore[arg-type]
                if len(found) == 1:
                    stage = found[0].name
                else:
                    candidates = tuple(st.name for st in found)
        lflow = None
        ambiguous: tuple[str, ...] = ()
        nb = physical = None
        if s.cookie:
            prefix = cookie_prefix(s.cookie)
            lfs = self.ix.lflows_by_cookie.get(prefix, [])
            if lfs:
                narrowed = self._narrow(lfs, pipeline, role.stage_index if role else None, dp)
                if len(narrowed) == 1:
                    lflow = _lflow_ref(narrowed[0])
                    stage = stage or narrowed[0].stage_name
                    if narrowed[0].stage_name and not stage:
                        stage = narrowed[0].stage_name
                    if dp is None and len(self.ix.lflow_datapaths(narrowed[0])) == 1:
                        dp = self.ix.dp_by_uuid.get(self.ix.lflow_datapaths(narrowed[0])[0])
                    row = self.ix.nb_row(narrowed[0].stage_hint)
                    nb = nb_summary(row) if row is not None else None
                elif narrowed:
                    ambiguous = tuple(lf.uuid for lf in narrowed)
            else:
                rows = self.ix.rows_by_prefix.get(prefix, [])
                if len(rows) == 1:
                    physical = _physical(rows[0])
        if stage is None and lflow is not None and lflow.stage:
            stage = lflow.stage
        if stage is not None:
            candidates = ()
        inport = outport = None
        r14, r15 = _int(s.state.get("reg14")), _int(s.state.get("reg15"))
        if dp is not None:
            if r14:
                pb = self.ix.port(dp, r14)
                inport = pb.logical_port if pb else None
            if r15:
                pb = self.ix.port(dp, r15)
                outport = pb.logical_port if pb else None
                if outport is None:
                    mc = next((m for m in self.ix.ctx.multicast_groups if m.datapath == dp.uuid
                               and m.tunnel_key == r15), None)
                    outport = mc.name if mc else None
        if outport is None and r15 is not None and ovn_tunnel.is_multicast_key(r15):
            outport = ovn_tunnel.multicast_group_name(r15, lay.release)
        notes = self._notes(s, lay.release)
        return StepOvn(table_role, _dp_ref(dp, md, dp_type), pipeline, stage, candidates, lflow, ambiguous, nb,
                       physical, inport, outport, notes)

    def _narrow(self, lfs: list[LogicalFlow], pipeline: str | None, index: int | None,
                dp: Datapath | None) -> list[LogicalFlow]:
        """A 32-bit cookie can collide: keep the flows of this pipeline, stage and datapath."""
        out = lfs
        if pipeline is not None:
            out = [lf for lf in out if lf.pipeline == pipeline] or out
        if index is not None:
            out = [lf for lf in out if lf.table_id == index] or out
        if dp is not None:
            out = [lf for lf in out if dp.uuid in self.ix.lflow_datapaths(lf)] or out
        return out

    def _notes(self, s: Step, release: str | None) -> tuple[str, ...]:
        notes = []
        zone = _int(s.state.get("reg13"))
        facts = self.ix.nodes_by_name.get(self.node) if self.node else (
            next(iter(self.ix.nodes_by_name.values())) if len(self.ix.nodes_by_name) == 1 else None)
        if zone and facts is not None and facts.ct_zones:
            owners = [p for p, z in facts.ct_zones.items() if z == zone & 0xFFFF]
            if owners:
                notes.append(f"ct zone {zone & 0xFFFF} = {', '.join(owners)}")
        r10 = s.state.get("reg10")
        value = _int(r10)
        if value:
            flags = ovn_registers.decode_flags(value, release)
            if flags:
                notes.append("flags: " + ", ".join(flags))
        return tuple(notes)

    # -- actions ------------------------------------------------------------------------------------
    def _actions(self, trace: Trace, release: str | None) -> dict[int, ActionOvn]:
        out: dict[int, ActionOvn] = {}
        for s in trace.walk():
            a = s.action
            if s.kind is not StepKind.ACTION or a is None or s.spurious:
                continue
            if a.name == "controller" and "userdata" in a.args:
                try:
                    dec = ovn_controller.decode_controller_userdata(str(a.args["userdata"]), release)
                except (ValueError, LookupError):
                    continue
                details: dict[str, Any] = {"opcode": dec.opcode, "name": dec.name}
                if dec.acl_log is not None:
                    details["acl_log"] = {"verdict": dec.acl_log.verdict, "severity": dec.acl_log.severity,
                                          "name": dec.acl_log.name}
                out[s.line] = ActionOvn(dec.words, dec.effect, details)
            elif a.name == "set_field" and a.args.get("field") in ("dl_src", "dl_dst"):
                owner = self.ix.mac_owner.get(str(a.args.get("value", "")).lower())
                if owner:
                    out[s.line] = ActionOvn(f"MAC of {owner}", None, {"mac_owner": owner})
            elif a.name == "output" and "port" in a.args:
                port = str(a.args["port"])
                iface = self.ix.interface(self.node, int(port)) if port.isdigit() else None
                if iface is not None:
                    words = f"to interface {iface.name}"
                    if iface.iface_id:
                        words += f" (logical port {iface.iface_id})"
                    if iface.remote_ip:
                        ch = self.ix.chassis_by_ip.get(iface.remote_ip)
                        words += f", {iface.type or 'tunnel'} to {iface.remote_ip}"
                        if ch is not None:
                            words += f" (chassis {ch.hostname or ch.name})"
                    out[s.line] = ActionOvn(words, None, {"interface": iface.name, "iface_id": iface.iface_id,
                                                          "remote_ip": iface.remote_ip})
        return out

    # -- path ---------------------------------------------------------------------------------------
    def _path(self, trace: Trace, steps: Mapping[int, StepOvn]) -> tuple[Hop, ...]:
        hops: list[Hop] = []
        for s in _walk_tables(trace):
            st = steps.get(s.line)
            if st is None or st.pipeline is None or st.datapath is None:
                continue
            last = hops[-1] if hops else None
            if last is not None and last.datapath is not None and last.datapath.key == st.datapath.key \
                    and last.pipeline == st.pipeline:
                if (st.outport and not last.outport) or (st.inport and not last.inport):
                    hops[-1] = Hop("pipeline", last.line, last.datapath, last.pipeline,
                                   last.inport or st.inport, last.outport or st.outport, last.text)
                continue
            hops.append(Hop("pipeline", s.line, st.datapath, st.pipeline, st.inport, st.outport,
                            f"{st.datapath.label()} ({st.pipeline})"))
        v = trace.verdict
        if v.kind is VerdictKind.TUNNEL and v.tunnel:
            dst = v.tunnel.get("dst", "?")
            ch = self.ix.chassis_by_ip.get(str(dst))
            text = f"{v.tunnel.get('type', 'tunnel')} → {dst}" + (f" (chassis {ch.hostname or ch.name})" if ch else "")
            hops.append(Hop("tunnel", v.line or 0, text=text))
        return tuple(hops)


def _signature_score(step: Step, stage: str | None) -> int:
    """+1 when what a table does is what its stage name says, -1 when it contradicts it."""
    if stage is None:
        return 0
    names = {c.action.name for c in step.children if c.action is not None}
    texts = " ".join(c.text for c in step.children if c.kind is StepKind.ACTION)
    score = 0
    if "dec_ttl" in names:
        score += 1 if "ip_routing" in stage else -1
    if "->eth_dst" in texts and step.match and ("reg0=" in step.match or "xxreg0=" in step.match):
        score += 1 if "arp_resolve" in stage else -1
    if "->reg15" in texts and step.match and "dl_dst=" in step.match and "_in_" in stage:
        score += 1 if "l2_lkup" in stage else -1
    return score


def _physical(row: tuple[str, object]) -> dict[str, Any]:
    table, obj = row
    out: dict[str, Any] = {"table": table, "uuid": getattr(obj, "uuid", None)}
    if isinstance(obj, PortBinding):
        out.update(logical_port=obj.logical_port, tunnel_key=obj.tunnel_key, type=obj.type)
    else:
        for k in ("name", "logical_port", "ip", "mac", "tunnel_key", "key"):
            if hasattr(obj, k):
                out[k] = getattr(obj, k)
    return out


def _walk_tables(trace: Trace) -> Iterator[Step]:
    for p in trace.passes:
        yield from _walk_pass_tables(p)


def _walk_pass_tables(p: Any) -> Iterator[Step]:
    for s in p.walk():
        if s.kind is StepKind.TABLE:
            yield s


def annotate(trace: Trace, ctx: ClusterContext | None = None, ovn_version: str | None = None,
             node: str | None = None) -> TraceOvn | None:
    """One-shot helper; use :class:`Correlator` to annotate several traces against one context."""
    return Correlator(ctx, ovn_version, node).annotate(trace)
