"""Trace + cluster facts -> OVN meaning for every step, a logical path, and a verdict in words.

Pure: no I/O. Works with an empty :class:`ClusterContext` (a pasted trace alone): the release is then
not known, only the known releases consistent with the trace (:mod:`ovntrace.ovn.infer`), and a table
gets a stage name only where all of them agree (else ``stage_candidates``); registers, tunnel
metadata and controller opcodes are decoded from the trace itself. With databases (or
``--ovn-version``) the release is pinned, and the datapath, logical flow, NB object and port names
are filled in. Only bridges with OVN evidence get OVN meaning (:func:`_ovn_evidence`).
"""

from __future__ import annotations

import gc
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ovntrace.correlate.index import ClusterIndex, build_index, cookie_prefix
from ovntrace.correlate.verdict import VerdictFacts, make_verdict
from ovntrace.correlate.walk import Own, TraceWalk
from ovntrace.model.ovn import ActionOvn, DatapathRef, Hop, LflowRef, StepOvn, TraceOvn
from ovntrace.model.trace import Step, Trace, VerdictKind
from ovntrace.ovn import infer as ovn_infer
from ovntrace.ovn import releases as ovn_releases
from ovntrace.ovn import tunnel as ovn_tunnel

if TYPE_CHECKING:
    from ovntrace.model.cluster import Chassis, ClusterContext, Datapath, LogicalFlow, NbRow


def _int(value: str | None) -> int | None:
    """A fully known state value ("0x5"), not a partial one ("0x5/0xffff")."""
    if value is None or "/" in value:
        return None
    try:
        return int(value, 0)
    except ValueError:
        return None


_WRITES_MD_RE = re.compile(r"(?:->metadata\b|->OXM_OF_METADATA\[)")
_WRITES_LPORT_RE = re.compile(r"(?:->reg1[45]\b|->NXM_NX_REG1[45]\[)")
_TUN_MOVE_RE = re.compile(r"move:NXM_NX_TUN_ID\[")
_SWITCH_ZONE_RE = re.compile(r"^ct\((?!.*commit).*zone=NXM_NX_REG13\[")
_ROUTER_ZONE_RE = re.compile(r"^ct\(.*zone=NXM_NX_REG1[12]\[")
_DETRACE_RE = re.compile(r"(?:Logical flows?:|Logical datapaths?:|Port Binding:)")


def _ovn_evidence(s: Step, cookie_known: Any, walk: TraceWalk) -> str | None:
    """Why this table step shows OVN at work on its bridge, or None.

    OVN evidence (issue 11): a table-0 flow that loads the logical datapath (metadata) and a logical
    port (reg14/reg15), directly or moved from the tunnel key; a datapath hop (``clone(...)``) loading
    both; a cookie that is a Southbound row's; an ``ovn-detrace`` annotation."""
    own = walk.own(s)
    text = " ".join(own.actions)
    if _WRITES_MD_RE.search(text) and _WRITES_LPORT_RE.search(text) and (s.table == 0 or "clone(" in text):
        return f"table {s.table} loads a logical datapath and port"
    if s.cookie and cookie_known(s.cookie):
        return f"cookie {s.cookie} is a Southbound row's"
    if any(_DETRACE_RE.search(t) for t in own.annotations):
        return "ovn-detrace annotation"
    return None


@dataclass(frozen=True)
class _Layout:
    """The release as known or inferred: ``candidates`` are the releases the names come from."""

    release: str | None  # pinned / from the DB / the only candidate; else None
    candidates: tuple[str, ...]
    source: str | None  # "option" | "database" | "trace"
    confidence: float | None
    words: str | None

    @property
    def work_release(self) -> str | None:
        """One release for decoders that need one (controller opcodes, tunnel keys): the pinned one,
        else the newest candidate."""
        return self.release or (self.candidates[-1] if self.candidates else None)


def _choose_layout(evidence: list[ovn_infer.StepEvidence], version: str | None, source: str | None) -> _Layout:
    if version and ovn_releases.try_parse_version(version) is not None:
        tag = ovn_releases.nearest_release(version).release
        cons = ovn_infer.constraints(evidence)
        total = sum(c.weight for c in cons)
        bad = [c for c in cons if not c.test(tag)]
        fit = 1.0 - (sum(c.weight for c in bad) / total) if total else 1.0
        where = "pinned by --ovn-version" if source == "option" else \
            "from the databases (SB/NB_Global northd_internal_version)"
        words = f"OVN {version}, {where}"
        if tag != version:
            words += f" (facts of the known release {tag})"
        if bad:
            best = ovn_infer.infer_releases(evidence)
            words += (f"; but the trace contradicts it: {bad[0].why}"
                      f" (releases that fit the trace: {ovn_infer.spans_text(best.candidates)})")
        return _Layout(version, (tag,), source, round(fit, 3), words)
    inf = ovn_infer.infer_releases(evidence)
    cands = inf.candidates
    if not cands:
        return _Layout(None, (), None, None, None)
    n = len(cands)
    fits = "1 release fits" if n == 1 else f"{n} releases fit"
    words = f"inferred from the table layout and the flows seen ({inf.evidence} facts): {fits}: " \
        f"{ovn_infer.spans_text(cands)}"
    if inf.conflicts:
        words += f"; no known release fits everything (even these contradict: {inf.conflicts[0]})"
    if n > 1:
        words += "; a stage name is shown only where they all agree; pass --ovn-version to pin it"
    return _Layout(cands[0] if n == 1 else None, cands, "trace", None, words)


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


_NO_REF = DatapathRef(-1)  # "not made yet" in :attr:`_TraceMemo.dp_refs` (None is a made value)


class _TraceMemo:
    """What one ``annotate`` call computes once and reads at every table step: the release reading, the
    datapath types, and the table meanings, flag notes and datapath references already made (equal
    inputs, equal immutable results). Lives for that call."""

    __slots__ = ("dp_refs", "dp_types", "flags", "lay", "meanings", "steps")

    def __init__(self, lay: _Layout, dp_types: dict[int, str],
                 meanings: dict[tuple[int, str | None], _Meaning], steps: dict[tuple[Any, ...], StepOvn]) -> None:
        self.lay = lay
        self.dp_types = dp_types
        self.meanings = meanings  # (table, datapath type) -> :func:`_table_meaning` for ``lay.candidates``
        self.steps = steps  # what :meth:`Correlator._step` read of a step -> its StepOvn, for ``lay.candidates``
        self.flags: dict[int, str | None] = {}
        self.dp_refs: dict[tuple[int | None, str | None, str | None], DatapathRef | None] = {}


class Correlator:
    """Annotates traces against one cluster context (indexes built once)."""

    def __init__(self, ctx: ClusterContext | None = None, ovn_version: str | None = None,
                 node: str | None = None) -> None:
        self._ctx: ClusterContext | None
        if ctx is None:  # a pasted trace alone: no facts to index (the cluster model is not even imported)
            self.zones: tuple[str, ...] = ()
            self.zone = None
            self._ctx = None
            self.ix = ClusterIndex(None)
            self.version = ovn_version or None
        else:
            # interconnect: a trace is read with its node's zone only (a key means something in one zone)
            self.zones = tuple(z.name for z in ctx.zones)
            self.zone = ctx.zone_of(node)
            self._ctx = ctx.for_node(node)
            self.ix = build_index(self._ctx)
            self.version = ovn_version or self._ctx.ovn_version
        self.version_source = "option" if ovn_version else "database" if self.version else None
        self.node = node
        # facts of this Correlator's context, read at every trace: looked up once
        ix = self.ix
        self._node_facts = ix.nodes_by_name.get(node) if node else (
            next(iter(ix.nodes_by_name.values())) if len(ix.nodes_by_name) == 1 else None)
        self._sb_cookies = bool(ix.lflows_by_cookie) or bool(ix.rows_by_prefix)
        self._has_dps = bool(ix.dp_by_key)
        self._ct_zones = self._node_facts is not None and bool(self._node_facts.ct_zones)
        self._integration: tuple[str | None] | None = None
        self._verdict_facts: VerdictFacts | None = None
        # candidate releases -> (table, datapath type) -> :func:`_table_meaning`: the traces of one paste
        # mostly share their candidates, and a table's meaning is read at every step
        self._meanings: dict[tuple[str, ...], dict[tuple[int, str | None], _Meaning]] = {}
        # candidate releases -> the StepOvn of a table step by what it is made of (:meth:`_step`): the same
        # table of the same datapath with the same registers recurs pass after pass and trace after trace
        # (at most 8 candidate sets x 16,384 steps)
        self._steps: dict[tuple[str, ...], dict[tuple[Any, ...], StepOvn]] = {}

    @property
    def ctx(self) -> ClusterContext:
        """The facts traces are read with (this node's zone of them); empty when none were given."""
        if self._ctx is None:
            from ovntrace.model.cluster import ClusterContext

            self._ctx = ClusterContext()
        return self._ctx

    # -- per trace -------------------------------------------------------------------------------
    def annotate(self, trace: Trace) -> TraceOvn | None:
        """The OVN meaning of one trace, or None when it shows no OVN at work.

        The cyclic garbage collector is paused meanwhile: the annotations hold no cycles, and each
        collection their allocation would trigger walks the whole parsed input (it was half the time
        of this method on 100k lines)."""
        enabled = gc.isenabled()
        gc.disable()
        try:
            return self._annotate(trace)
        finally:
            if enabled:
                gc.enable()

    def _annotate(self, trace: Trace) -> TraceOvn | None:
        if trace.format.value == "ovn-trace":
            from ovntrace.correlate.logical import annotate_logical

            return annotate_logical(trace, self.ix)
        if not trace.passes:
            return None
        walk = TraceWalk(trace)
        bridges = self._ovn_bridges(walk)
        if not bridges:
            return None  # no OVN evidence anywhere: OVS meaning only
        tables = [s for s in walk.tables if s.bridge in bridges]
        mds = [_int(s.state.get("metadata")) for s in tables]  # the datapath key at each table step
        owns = [walk.own(s) for s in tables]
        dp_types = self._dp_types(tables, mds, owns)
        if self._has_dps:
            types = [self._dp_type_of(md, dp_types) for md in mds]
        else:  # no datapath facts: the types the trace shows
            known = dp_types.get
            types = [known(md) if md else None for md in mds]
        evidence = [ovn_infer.StepEvidence(
            s.table, s.match or "", own.actions, int(s.cookie, 16) if s.cookie else 0, dp_type, own.annotations,
            s.miss) for s, own, dp_type in zip(tables, owns, types, strict=True) if s.table is not None]
        lay = _choose_layout(evidence, self.version, self.version_source)
        if not lay.candidates:
            return None
        self._types_from_stages(tables, mds, dp_types, lay.candidates)
        meanings = self._meanings.get(lay.candidates)
        if meanings is None:
            if len(self._meanings) >= 64:
                self._meanings.clear()
                self._steps.clear()
            meanings = self._meanings[lay.candidates] = {}
        made = self._steps.get(lay.candidates)
        if made is None or len(made) >= 16384:  # bounded: a long-running process sees ever new steps
            if made is None and len(self._steps) >= 8:
                self._steps.clear()
            made = self._steps[lay.candidates] = {}
        memo = _TraceMemo(lay, dp_types, meanings, made)
        steps: dict[int, StepOvn] = {}
        for s, md in zip(tables, mds, strict=True):
            steps[s.line] = self._step(s, md, memo)
        release = lay.work_release
        actions = self._actions(walk, release)
        path = self._path(trace, walk, steps)
        if self._verdict_facts is None:
            self._verdict_facts = VerdictFacts(self.ix, self.node)
        verdict = make_verdict(trace, steps, actions, release, self.ix, self.node, walk=walk,
                               facts=self._verdict_facts)
        warnings = tuple(f"cookie matches {len(st.lflow_ambiguous)} logical flows that stay ambiguous"
                         for st in steps.values() if st.lflow_ambiguous) + self._zone_warnings()
        return TraceOvn(lay.release, lay.words, lay.confidence, steps, actions, path, verdict, warnings,
                        self._mac_notes(trace), lay.source, lay.candidates,
                        tuple(b or "" for b in sorted(bridges, key=lambda b: b or "")))

    def _zone_warnings(self) -> tuple[str, ...]:
        """Interconnect facts and no zone for this trace: nothing of any zone's NB/SB was used."""
        if not self.zones or self.zone is not None:
            return ()
        on = f"node {self.node} is in none of them" if self.node else "which node the trace was taken on is not known"
        return (f"the facts hold {len(self.zones)} interconnect zones ({', '.join(self.zones)}), each with its own "
                f"NB/SB, and {on}: no zone's datapaths, ports or flows were used (pass --on NODE)",)

    def _ovn_bridges(self, walk: TraceWalk) -> set[str | None]:
        """Bridges of the trace with OVN evidence (:func:`_ovn_evidence`); ``None`` stands for the one
        bridge of a legacy-format trace, which names none."""
        out: set[str | None] = set()
        known = self._cookie_known
        for s in walk.tables:
            if s.bridge not in out and _ovn_evidence(s, known, walk) is not None:
                out.add(s.bridge)
        if self._integration is None:
            self._integration = (self._integration_bridge(),)
        integration = self._integration[0]
        if integration is not None and any(s.bridge == integration for s in walk.tables):
            out.add(integration)  # the node's own facts say this bridge is ovn-controller's
        return out

    def _integration_bridge(self) -> str | None:
        """The node's OVN integration bridge, when its facts say ovn-controller runs there (an ``ovn-remote``,
        a system-id, or a Southbound chassis of its name or hostname): ``external_ids:ovn-bridge``, ``br-int``
        by default (ovn-controller(8)). That is evidence even for a trace that never reaches a flow of OVN's
        (an unknown in_port)."""
        facts = self._node_facts
        if facts is None:
            return None
        names = {facts.name, facts.hostname, facts.system_id} - {None}
        chassis = any(c.name in names or c.hostname in names for c in self.ix.chassis_by_name.values())
        if not (facts.ovn_remote or facts.system_id or chassis):
            return None
        return facts.external_ids.get("ovn-bridge") or "br-int"

    def _cookie_known(self, cookie: str) -> bool:
        if self.ix.empty:
            return False
        prefix = cookie_prefix(cookie)
        return prefix in self.ix.lflows_by_cookie or prefix in self.ix.rows_by_prefix

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

    def _types_from_stages(self, tables: list[Step], mds: list[int | None], dp_types: dict[int, str],
                           releases: tuple[str, ...]) -> None:
        """A datapath of unknown type whose tables (with a cookie) are stages only of a switch (or only of
        a router) in every candidate release is one."""
        seen: dict[int, set[int]] = {}
        for s, md in zip(tables, mds, strict=True):
            if md and md not in dp_types and s.cookie and not s.miss and s.table is not None \
                    and self.ix.datapath(md) is None:
                seen.setdefault(md, set()).add(s.table)
        for md, ids in seen.items():
            kinds = ovn_infer.possible_dp_types(ids, releases)
            if len(kinds) == 1:
                dp_types[md] = kinds[0]

    def _dp_type_of(self, md: int | None, dp_types: Mapping[int, str]) -> str | None:
        if not md:
            return None
        dp = self.ix.datapath(md)
        return dp.type if dp is not None and dp.type else dp_types.get(md)

    def _dp_types(self, tables: list[Step], mds: list[int | None], owns: list[Own]) -> dict[int, str]:
        """Datapath type per metadata: from the SB; else inferred from what the trace shows: a
        datapath that decrements the TTL is a router; the datapath a VIF or tunnel packet enters
        first, and one entered from a router, is a switch (OVN attaches VIFs to switches and
        routers to switches). A pipeline table (below 64, where OVN's physical tables start) running
        conntrack in the DNAT/SNAT zone (reg11/reg12) is a router's: ovn-controller compiles ct
        actions of switch pipelines into the port's zone (reg13) (``ep->is_switch`` in
        ``lib/actions.c``, 2.6+); ct_next/ct_lb (a ``ct(table=...)`` without commit) in the port's
        zone (reg13) is a switch's (a router's go to its DNAT zone; routers commit in reg13 too, so
        a commit says nothing)."""
        out: dict[int, str] = {}
        order: dict[int, None] = {}  # datapaths in the order the packet enters them
        switchy: set[int] = set()
        has_dps = bool(self.ix.dp_by_key)
        for s, md, own in zip(tables, mds, owns, strict=True):
            if md is None or md == 0:
                continue
            order[md] = None
            dp = self.ix.datapath(md) if has_dps else None
            if dp is not None and dp.type:
                out[md] = dp.type
                continue
            # both zone patterns start with "ct(": only those texts can match
            cts = own.ct if s.table is not None and s.table < 64 else ()
            if own.dec_ttl or (cts and any(_ROUTER_ZONE_RE.search(t) for t in cts)):
                out[md] = "router"
            elif cts and any(_SWITCH_ZONE_RE.search(t) for t in cts):
                switchy.add(md)
        for md in switchy:
            out.setdefault(md, "switch")
        # the first datapath is a switch when a VIF (or localnet) port flow of table 0 put the packet
        # there; a tunnel delivers to any datapath's egress (a router's, for a chassisredirect port)
        has_table0 = any(s.table == 0 and not _TUN_MOVE_RE.search(" ".join(own.actions))
                         for s, own in zip(tables, owns, strict=True))
        prev = 0  # the datapath entered before (never 0: key 0 is skipped above)
        for i, md in enumerate(order):
            if md not in out and ((i == 0 and has_table0) or (i > 0 and out.get(prev) == "router")):
                out[md] = "switch"
            prev = md
        return out

    def _step(self, s: Step, md: int | None, memo: _TraceMemo) -> StepOvn:
        """The OVN meaning of one table step: made by :meth:`_make_step` from the step's table, cookie,
        datapath (key and type) and the registers it reads, so made once per distinct such step (for the
        trace's candidate releases)."""
        state = s.state
        get = state.get
        key = (s.table, md, memo.dp_types.get(md) if md else None, get("reg15"), get("reg10"),
               s.cookie if self._sb_cookies else None, get("reg14") if self._has_dps else None,
               get("reg13") if self._ct_zones else None)
        made = memo.steps.get(key)
        if made is None:
            made = memo.steps[key] = self._make_step(s, md, memo)
        return made

    def _make_step(self, s: Step, md: int | None, memo: _TraceMemo) -> StepOvn:
        state = s.state
        if md == 0:
            md = None  # before table 0 sets it (or after a patch port): no datapath yet
        ix = self.ix
        dp = ix.datapath(md) if md is not None and self._has_dps else None
        if dp is not None and dp.type:
            dp_type: str | None = dp.type
        else:
            dp_type = memo.dp_types.get(md) if md is not None else None
        table = s.table
        if table is not None:
            key = (table, dp_type)
            meaning = memo.meanings.get(key)
            if meaning is None:
                meaning = memo.meanings[key] = _table_meaning(table, dp_type, memo.lay.candidates)
            table_role, pipeline, stage_index, stage, candidates, spans = meaning
        else:
            table_role = pipeline = stage = None
            stage_index = None
            candidates, spans = (), ()
        lflow = nb = physical = None
        ambiguous: tuple[str, ...] = ()
        if s.cookie and self._sb_cookies:
            prefix = cookie_prefix(s.cookie)
            lfs = ix.lflows_by_cookie.get(prefix, [])
            if lfs:
                narrowed = self._narrow(lfs, pipeline, stage_index, dp)
                if len(narrowed) == 1:
                    lflow = _lflow_ref(narrowed[0])
                    stage = stage or narrowed[0].stage_name
                    if narrowed[0].stage_name and not stage:
                        stage = narrowed[0].stage_name
                    if dp is None and len(ix.lflow_datapaths(narrowed[0])) == 1:
                        dp = ix.dp_by_uuid.get(ix.lflow_datapaths(narrowed[0])[0])
                    row = ix.nb_row(narrowed[0].stage_hint)
                    nb = nb_summary(row) if row is not None else None
                elif narrowed:
                    ambiguous = tuple(lf.uuid for lf in narrowed)
            else:
                rows = ix.rows_by_prefix.get(prefix, [])
                if len(rows) == 1:
                    physical = _physical(rows[0])
            if stage is None and lflow is not None and lflow.stage:
                stage = lflow.stage
        stage_releases: dict[str, tuple[str, ...]]
        if stage is not None:
            candidates = ()
            stage_releases = {}
        else:
            stage_releases = dict(spans)
        inport = outport = None
        text15 = state.get("reg15")
        r15 = _int(text15) if text15 is not None else None
        if dp is not None:
            r14 = _int(state.get("reg14"))
            if r14:
                pb = ix.port(dp, r14)
                inport = pb.logical_port if pb else None
            if r15:
                pb = ix.port(dp, r15)
                outport = pb.logical_port if pb else None
                if outport is None:
                    mc = next((m for m in (ix.ctx.multicast_groups if ix.ctx is not None else ())
                               if m.datapath == dp.uuid and m.tunnel_key == r15), None)
                    outport = mc.name if mc else None
        if r15 is not None and outport is None and ovn_tunnel.is_multicast_key(r15):
            names = {ovn_tunnel.multicast_group_name(r15, r) for r in memo.lay.candidates}
            outport = names.pop() if len(names) == 1 else None  # only when every candidate agrees
        # nothing to note without flags or zone names
        notes = self._notes(state, memo) if "reg10" in state or self._ct_zones else ()
        ref_key = (md, dp_type, dp.uuid if dp is not None else None)
        ref = memo.dp_refs.get(ref_key, _NO_REF)
        if ref is _NO_REF:
            ref = memo.dp_refs[ref_key] = _dp_ref(dp, md, dp_type)
        return StepOvn(table_role, ref, pipeline, stage, candidates, stage_releases, lflow,
                       ambiguous, nb, physical, inport, outport, notes)

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

    def _notes(self, state: Mapping[str, str], memo: _TraceMemo) -> tuple[str, ...]:
        notes = []
        facts = self._node_facts
        if facts is not None and facts.ct_zones:
            zone = _int(state.get("reg13"))
            if zone:
                owners = [p for p, z in facts.ct_zones.items() if z == zone & 0xFFFF]
                if owners:
                    notes.append(f"ct zone {zone & 0xFFFF} = {', '.join(owners)}")
        r10 = state.get("reg10")
        value = _int(r10) if r10 is not None else None
        if value:
            if value in memo.flags:
                note = memo.flags[value]
            else:
                note = memo.flags[value] = _flags_note(value, memo.lay.candidates)
            if note:
                notes.append(note)
        return tuple(notes)

    # -- actions ------------------------------------------------------------------------------------
    def _actions(self, walk: TraceWalk, release: str | None) -> dict[int, ActionOvn]:
        out: dict[int, ActionOvn] = {}
        line_bridge: dict[int, str | None] | None = None
        # without MAC owners or node facts only controller actions can mean something here
        todo = walk.actions if self.ix.mac_owner or self.ix.nodes_by_name else walk.controllers
        for s in todo:
            a = s.action
            if a is None or s.spurious:
                continue
            name = a.name
            if name == "controller" and "userdata" in a.args:
                from ovntrace.ovn import controller as ovn_controller  # only traces that punt need it

                try:
                    dec = ovn_controller.decode_controller_userdata(str(a.args["userdata"]), release)
                except (ValueError, LookupError):
                    continue
                details: dict[str, Any] = {"opcode": dec.opcode, "name": dec.name}
                if dec.acl_log is not None:
                    details["acl_log"] = {"verdict": dec.acl_log.verdict, "severity": dec.acl_log.severity,
                                          "name": dec.acl_log.name}
                out[s.line] = ActionOvn(dec.words, dec.effect, details)
            elif name == "set_field" and a.args.get("field") in ("dl_src", "dl_dst"):
                owner = self.ix.mac_owner.get(str(a.args.get("value", "")).lower())
                if owner:
                    out[s.line] = ActionOvn(f"MAC of {owner}", None, {"mac_owner": owner})
            elif name == "output" and "port" in a.args and self.ix.nodes_by_name:  # no node facts: no interface
                port = str(a.args["port"])
                if not port.isdigit():
                    continue
                if line_bridge is None:
                    line_bridge = walk.line_bridge()
                iface = self.ix.interface(self.node, int(port), line_bridge.get(s.line))
                if iface is not None:
                    words = f"to interface {iface.name}"
                    if iface.iface_id:
                        words += f" (logical port {iface.iface_id})"
                    if iface.remote_ip:
                        ch = self.ix.chassis_by_ip.get(iface.remote_ip)
                        words += f", {iface.type or 'tunnel'} to {iface.remote_ip}"
                        if ch is not None:
                            words += f" (chassis {_chassis_label(ch)})"
                    out[s.line] = ActionOvn(words, None, {"interface": iface.name, "iface_id": iface.iface_id,
                                                          "remote_ip": iface.remote_ip})
        return out

    # -- path ---------------------------------------------------------------------------------------
    def _path(self, trace: Trace, walk: TraceWalk, steps: Mapping[int, StepOvn]) -> tuple[Hop, ...]:
        hops: list[Hop] = []
        for s in walk.tables:
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
            text = f"{v.tunnel.get('type', 'tunnel')} → {dst}" + (f" (chassis {_chassis_label(ch)})" if ch else "")
            hops.append(Hop("tunnel", v.line or 0, text=text))
        return tuple(hops)


#: (table role, pipeline, stage index, stage name, candidate names, (name, release spans) per candidate)
_Meaning = tuple[str | None, str | None, int | None, str | None, tuple[str, ...],
                 tuple[tuple[str, tuple[str, ...]], ...]]


@lru_cache(maxsize=4096)
def _table_meaning(table_id: int, dp_type: str | None, releases: tuple[str, ...]) -> _Meaning:
    """What table ``table_id`` is in every one of ``releases``: (table role, pipeline, stage index, stage
    name, candidate names, (name, release spans) per candidate), each only where the releases agree.
    Remembered for the process: pure (package data), and the same tables recur step after step."""
    rds = ovn_infer.table_readings(table_id, dp_type, releases)
    roles = {rd.table_role for rd in rds}
    table_role = rds[0].table_role if len(roles) == 1 else None
    pls = {rd.pipeline for rd in rds}
    pipeline = rds[0].pipeline if len(pls) == 1 else None
    idxs = {rd.stage_index for rd in rds}
    stage_index = rds[0].stage_index if len(idxs) == 1 else None
    by_name = ovn_infer.names_by_release(rds)
    stage = None
    candidates: tuple[str, ...] = ()
    spans: tuple[tuple[str, tuple[str, ...]], ...] = ()
    if pipeline is not None or len(roles) > 1:
        if len(rds) == 1 and len(rds[0].names) == 1:
            stage = rds[0].names[0]
        elif by_name:
            candidates = tuple(by_name)
            spans = tuple((n, ovn_infer.spans(r)) for n, r in by_name.items())
    return table_role, pipeline, stage_index, stage, candidates, spans


@lru_cache(maxsize=4096)
def _flags_note(value: int, releases: tuple[str, ...]) -> str | None:
    """The ``flags: ...`` note of a reg10 value, read by every one of ``releases`` (pure; remembered for the
    process)."""
    from ovntrace.ovn import flags as ovn_flags  # only traces that show reg10 need it

    readings = {tuple(ovn_flags.decode_flags(value, r)) for r in releases or (None,)}
    if len(readings) == 1:
        flags = list(readings.pop())
        return "flags: " + ", ".join(flags) if flags else None
    # bit meanings differ between the candidate releases: only what they all read
    common = set.intersection(*(set(f) for f in readings))
    first = next(iter(readings))
    shown = [f for f in first if f in common]
    shown.append("other bits read differently by the candidate releases")
    return "flags: " + ", ".join(shown)


def _chassis_label(ch: Chassis) -> str:
    """A chassis by its ``Chassis.name`` (unique), its hostname beside it (several may share one)."""
    if ch.hostname and ch.hostname != ch.name:
        return f"{ch.name}, hostname {ch.hostname}"
    return ch.name


def _physical(row: tuple[str, object]) -> dict[str, Any]:
    table, obj = row
    out: dict[str, Any] = {"table": table, "uuid": getattr(obj, "uuid", None)}
    from ovntrace.model.cluster import PortBinding

    if isinstance(obj, PortBinding):
        out.update(logical_port=obj.logical_port, tunnel_key=obj.tunnel_key, type=obj.type)
    else:
        for k in ("name", "logical_port", "ip", "mac", "tunnel_key", "key"):
            if hasattr(obj, k):
                out[k] = getattr(obj, k)
    return out


def annotate(trace: Trace, ctx: ClusterContext | None = None, ovn_version: str | None = None,
             node: str | None = None) -> TraceOvn | None:
    """One-shot helper; use :class:`Correlator` to annotate several traces against one context."""
    return Correlator(ctx, ovn_version, node).annotate(trace)
