"""OpenFlow table layout of br-int per OVN release, and inference of the layout from a trace.

Source of the numbers: the ``OFTABLE_*`` defines of ``ovn/controller/lflow.h`` (OVN 2.5-2.12,
``openvswitch/ovs``) and ``controller/lflow.h`` (OVN >= 20.03, ``ovn-org/ovn``) at every
release tag, plus ``LOG_PIPELINE_LEN`` (``lflow.h`` or ``lib/ovn-util.h``) and, from 25.09,
``LOG_PIPELINE_INGRESS_LEN``/``LOG_PIPELINE_EGRESS_LEN``.  Data: ``data/layouts.json``.

A logical flow of stage N runs in OpenFlow table ``LOG_INGRESS_PIPELINE + N`` (ingress) or
``LOG_EGRESS_PIPELINE + N`` (egress) (``consider_logical_flow__()`` in ``controller/lflow.c``).
The layout moved between releases and inside stable branches (e.g. 23.03.0: REMOTE_OUTPUT 37,
egress 40; 23.03.1: large-packet tables 37/38 inserted, REMOTE_OUTPUT 39, egress 42), so
:func:`infer_layout` reads landmarks from the trace itself and uses the version only as a hint.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Literal, NamedTuple

from ovntrace.ovn import _data
from ovntrace.ovn.releases import nearest_release, parse_version, try_parse_version

TableKind = Literal["physical", "ingress", "egress"]

#: Meaning of each ``OFTABLE_*`` name, in words (restated, not copied).
TABLE_DESCRIPTIONS: dict[str, str] = {
    "PHY_TO_LOG": "physical-to-logical: classifies the packet by in_port (VIF, localnet, tunnel) "
    "and loads datapath, logical inport and ct zones",
    "LOG_INGRESS_PIPELINE": "first table of the logical ingress pipeline",
    "LOG_EGRESS_PIPELINE": "first table of the logical egress pipeline",
    "OUTPUT_INIT": "start of the output section (ingress 'output;' lands here)",
    "OUTPUT_LARGE_PKT_DETECT": "output: detects packets larger than the tunnel/port MTU",
    "OUTPUT_LARGE_PKT_PROCESS": "output: handles too-big packets (ICMP needs-frag/packet-too-big)",
    "REMOTE_OUTPUT": "output to a remote chassis through a tunnel (logical outport on another chassis)",
    "REMOTE_VTEP_OUTPUT": "output to a remote VTEP (EVPN) through a tunnel",
    "LOCAL_OUTPUT": "output to a logical port resident on this chassis (also where tunnel-received "
    "packets enter); multicast groups are expanded here",
    "CHECK_LOOPBACK": "drops packets whose logical outport equals the inport unless flags.loopback; "
    "clears registers reg0-reg9 before the egress pipeline",
    "DROP_LOOPBACK": "drops packets whose logical outport equals the inport (OVN 2.5 name)",
    "SAVE_INPORT": "saves in_port and clears it when flags.loopback is set, so OpenFlow may "
    "output back to the input port; egress 'output;' lands here",
    "LOG_TO_PHY": "logical-to-physical: outputs to the OpenFlow port of the logical outport, or "
    "hops into the peer datapath's ingress pipeline (patch ports)",
    "MAC_BINDING": "lookup of IP->MAC bindings (get_arp/get_nd): loads eth.dst",
    "MAC_LOOKUP": "checks whether a (port, IP, MAC) binding exists (lookup_arp/lookup_nd)",
    "CHK_LB_HAIRPIN": "load-balancer hairpin check (packet from a backend to its own VIP)",
    "CHK_LB_HAIRPIN_REPLY": "load-balancer hairpin check for the reply direction",
    "CT_SNAT_FOR_VIP": "SNAT of hairpinned load-balancer traffic to the VIP (20.12 name)",
    "CT_SNAT_HAIRPIN": "SNAT of hairpinned load-balancer traffic",
    "GET_FDB": "FDB lookup: loads the logical outport learnt for eth.dst",
    "LOOKUP_FDB": "FDB check: was eth.src learnt on this inport",
    "CHK_IN_PORT_SEC": "ingress port security check (L2/L3 addresses of the logical inport)",
    "CHK_IN_PORT_SEC_ND": "ingress port security check for ND/ARP",
    "CHK_OUT_PORT_SEC": "egress port security check (addresses allowed on the logical outport)",
    "ECMP_NH_MAC": "ECMP symmetric reply: next-hop MAC check",
    "ECMP_NH": "ECMP symmetric reply: next-hop check",
    "CHK_LB_AFFINITY": "load-balancer session affinity check",
    "MAC_CACHE_USE": "MAC binding/FDB aging: marks entries as used",
    "CT_ZONE_LOOKUP": "sets the conntrack zone of the logical port (used for tunnel-received packets)",
    "CT_ORIG_NW_DST_LOAD": "loads the original (pre-DNAT) IPv4 destination from conntrack",
    "CT_ORIG_IP6_DST_LOAD": "loads the original (pre-DNAT) IPv6 destination from conntrack",
    "CT_ORIG_TP_DST_LOAD": "loads the original (pre-DNAT) L4 destination port from conntrack",
    "CT_ORIG_PROTO_LOAD": "loads the original L4 protocol from conntrack",
    "FLOOD_REMOTE_CHASSIS": "floods a multicast group to remote chassis",
    "CT_STATE_SAVE": "saves the conntrack state bits into a register",
    "GET_REMOTE_FDB": "FDB lookup for remote (EVPN) MACs",
    "LEARN_REMOTE_FDB": "learns remote (EVPN) MACs",
    "EVPN_ARP_LOOKUP": "ARP/ND lookup for EVPN",
}


@dataclass(frozen=True)
class TableRole:
    """What an OpenFlow table is in a given layout."""

    table_id: int
    kind: TableKind
    name: str
    aliases: tuple[str, ...] = ()
    stage_index: int | None = None
    description: str = ""


@dataclass(frozen=True)
class Layout:
    """One distinct OpenFlow table layout and the releases that use it.

    ``tables`` maps ``OFTABLE_`` names (without the prefix) to table ids, sorted by id;
    ``aliases`` lists names that are #defined as another name (``OUTPUT_INIT`` from 22.09.2).
    """

    tables: tuple[tuple[str, int], ...]
    ingress_len: int
    egress_len: int
    aliases: tuple[tuple[str, str], ...] = ()
    releases: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    def get(self, name: str) -> int | None:
        """Table id of ``name`` (with or without ``OFTABLE_``), or None if absent in this layout."""
        name = name.removeprefix("OFTABLE_")
        for n, t in self.tables:
            if n == name:
                return t
        return None

    @property
    def ingress_base(self) -> int:
        return self._must("LOG_INGRESS_PIPELINE")

    @property
    def egress_base(self) -> int:
        return self._must("LOG_EGRESS_PIPELINE")

    def _must(self, name: str) -> int:
        t = self.get(name)
        if t is None:  # pragma: no cover - every release defines both pipelines
            raise KeyError(name)
        return t

    @property
    def label(self) -> str:
        """Short label: the release span, e.g. ``23.03.1..23.06.5``."""
        if not self.releases:
            return "?"
        return self.releases[0] if len(self.releases) == 1 else f"{self.releases[0]}..{self.releases[-1]}"

    @cached_property
    def _names_by_id(self) -> dict[int, tuple[str, ...]]:
        """Table id -> :meth:`names_at`, for every id the layout names (made once per layout: package data)."""
        alias_names = {a for a, _ in self.aliases}
        by_id: dict[int, list[str]] = {}
        for n, t in self.tables:
            by_id.setdefault(t, []).append(n)
        return {t: tuple(sorted(names, key=lambda n: (n in alias_names, n))) for t, names in by_id.items()}

    @cached_property
    def _roles(self) -> dict[int, TableRole | None]:
        return {}  # table id -> role_of, filled as tables are asked about

    def names_at(self, table_id: int) -> tuple[str, ...]:
        """All names defined for ``table_id`` (canonical first, aliases after)."""
        return self._names_by_id.get(table_id, ())

    def role_of(self, table_id: int) -> TableRole | None:
        """Classify an OpenFlow table id: ingress/egress stage or a named physical table (remembered per
        layout)."""
        roles = self._roles
        if table_id in roles:
            return roles[table_id]
        role = roles[table_id] = self._role_of(table_id)
        return role

    @cached_property
    def _bases(self) -> tuple[int, int]:
        return self.ingress_base, self.egress_base

    def _role_of(self, table_id: int) -> TableRole | None:
        ib, eb = self._bases
        named = tuple(n for n in self._names_by_id.get(table_id, ()) if n not in _PIPELINE_NAMES)
        if named and not (ib <= table_id < ib + self.ingress_len and table_id == ib) and table_id != eb:
            # a named physical table inside the pipeline's maximum span (OVN reserves
            # LOG_PIPELINE_LEN ids per pipeline but places SAVE_INPORT, LOG_TO_PHY, MAC_BINDING ...
            # after the stages actually used): the name wins
            return _physical_role(table_id, named)
        if ib <= table_id < ib + self.ingress_len:
            return _stage_role(table_id, "ingress", table_id - ib)
        if eb <= table_id < eb + self.egress_len:
            return _stage_role(table_id, "egress", table_id - eb)
        if not named:
            return None
        return _physical_role(table_id, named)

    def explains(self, table_id: int) -> bool:
        """True if the layout defines something at ``table_id``."""
        return self.role_of(table_id) is not None


_PIPELINE_NAMES = frozenset({"LOG_INGRESS_PIPELINE", "LOG_EGRESS_PIPELINE"})


@cache
def _physical_role(table_id: int, names: tuple[str, ...]) -> TableRole:
    """The role of a named physical table (shared by the layouts that agree on it: package data)."""
    return TableRole(table_id, "physical", names[0], names[1:], description=TABLE_DESCRIPTIONS.get(names[0], ""))


@cache
def _stage_role(table_id: int, kind: TableKind, index: int) -> TableRole:
    """The role of stage ``index`` of a pipeline at ``table_id``."""
    if kind == "ingress":
        return TableRole(table_id, "ingress", f"LOG_INGRESS_PIPELINE+{index}", stage_index=index,
                         description="logical ingress pipeline stage")
    return TableRole(table_id, "egress", f"LOG_EGRESS_PIPELINE+{index}", stage_index=index,
                     description="logical egress pipeline stage")


def _layout_from_group(g: _data.Group) -> Layout:
    d = g.data
    tables = tuple(sorted(((str(k), int(v)) for k, v in d["tables"].items()), key=lambda kv: (kv[1], kv[0])))
    plen = d["pipeline_len"]
    ing = int(plen.get("LOG_PIPELINE_INGRESS_LEN", plen.get("LOG_PIPELINE_LEN", 0)))
    egr = int(plen.get("LOG_PIPELINE_EGRESS_LEN", plen.get("LOG_PIPELINE_LEN", 0)))
    aliases = tuple(sorted((str(k), str(v)) for k, v in d.get("aliases", {}).items()))
    return Layout(tables, ing, egr, aliases, g.tags, (g.citation,))


@cache
def all_layouts() -> tuple[Layout, ...]:
    """Every distinct layout (identical layouts of different branches merged), oldest first."""
    merged: dict[tuple[object, ...], Layout] = {}
    for g in _data.groups("layouts"):
        lay = _layout_from_group(g)
        key = (lay.tables, lay.ingress_len, lay.egress_len, lay.aliases)
        if key in merged:
            old = merged[key]
            rel = tuple(sorted(old.releases + lay.releases, key=lambda t: parse_version(t).key))
            merged[key] = Layout(old.tables, old.ingress_len, old.egress_len, old.aliases, rel,
                                 old.sources + lay.sources)
        else:
            merged[key] = lay
    return tuple(merged.values())


def layout_for_release(release: str) -> Layout:
    """The layout of ``release`` (nearest known release when not exactly known)."""
    lay = _layout_by_tag().get(nearest_release(release).release)
    if lay is None:  # pragma: no cover - every known tag has a layout
        raise LookupError(release)
    return lay


@cache
def _layout_by_tag() -> dict[str, Layout]:
    return {tag: lay for lay in all_layouts() for tag in lay.releases}


# ----------------------------------------------------------------------------------------
# Inference from landmarks


class FlowEvidence(NamedTuple):
    """One OpenFlow flow seen in a trace: table, match text, action texts, and (optionally)
    its cookie.  ``cookie`` None means "not known"; pass 0 when the trace line showed no
    cookie (ofproto/trace omits a zero cookie)."""

    table_id: int
    match: str
    actions: Sequence[str]
    cookie: int | None = None


EvidenceItem = FlowEvidence | tuple[int, str, Sequence[str]] | tuple[int, str, Sequence[str], int | None]


@dataclass(frozen=True)
class Observation:
    """A landmark: table ``table_id`` has one of ``roles``; ``weight`` = how telling it is."""

    roles: tuple[str, ...]
    table_id: int
    why: str
    weight: float = 3.0


@dataclass(frozen=True)
class ReleaseHint:
    """A landmark that constrains releases rather than tables (e.g. cookies on physical flows)."""

    why: str
    min_release: str | None = None
    max_release: str | None = None  # exclusive
    weight: float = 2.0


@dataclass(frozen=True)
class LayoutCandidate:
    """A layout consistent (or not) with the evidence.

    ``confidence`` in [0, 1]: how sure we are that this layout's reading of the tables seen is
    right: the fraction of the evidence weight it agrees with; when several layouts fit equally
    well it is shared among those that would read the seen tables differently (layouts that
    differ only in tables absent from the trace keep it whole), unless the version hint picks
    one.  Layouts that fit worse always rank below.
    ``releases``: the layout's releases that also satisfy release-level landmarks.
    """

    layout: Layout
    confidence: float
    releases: tuple[str, ...]
    evidence: tuple[str, ...]
    conflicts: tuple[str, ...]
    hinted: bool = False
    score: float = field(default=0.0, compare=False)


_RESUBMIT_RE = re.compile(r"resubmit\((?:[^,()]*),(\d+)")
_ZERO_REG_RE = re.compile(r"(?:set_field:0->reg(\d)\b|load:0->NXM_NX_REG(\d)\[\])")
_SETS_METADATA_RE = re.compile(r"(?:set_field:[^>]*->metadata\b|load:[^>]*->OXM_OF_METADATA\[)")
_TUN_TO_OUTPORT_RE = re.compile(
    r"move:NXM_NX_TUN_(?:METADATA\d+\[[^\]]*\]|ID\[(?:24|12|40)\.\.\d+\])->NXM_NX_REG(?:15|7)\["
)
_TUN_TO_METADATA_RE = re.compile(r"move:NXM_NX_TUN_ID\[[^\]]*\]->OXM_OF_METADATA\[")
_WRITES_TUN_ID_RE = re.compile(r"(?:->tun_id\b|->NXM_NX_TUN_ID\[)")
_PUSH_INPORT_RE = re.compile(r"push:NXM_OF_IN_PORT\[\]")
_CLEAR_INPORT_RE = re.compile(r"(?:set_field:(?:0|ANY)->in_port\b|load:0->NXM_OF_IN_PORT\[\])")
_MASKED_REG13_RE = re.compile(r"set_field:0/0xffff0000->reg13|->NXM_NX_REG13\[16\.\.31\]")


def _norm(item: EvidenceItem) -> FlowEvidence:
    if isinstance(item, FlowEvidence):
        return item
    if len(item) == 4:
        return FlowEvidence(item[0], item[1], tuple(item[2]), item[3])
    return FlowEvidence(item[0], item[1], tuple(item[2]), None)


def _resubmits(actions: Sequence[str]) -> list[int]:
    out: list[int] = []
    for a in actions:
        if "resubmit(" in a:
            out.extend(int(m.group(1)) for m in _RESUBMIT_RE.finditer(a))
    return out


def landmarks(evidence: Iterable[EvidenceItem]) -> tuple[list[Observation], list[ReleaseHint], set[int]]:
    """Extract table landmarks, release landmarks and all table ids mentioned."""
    obs: list[Observation] = []
    hints: list[ReleaseHint] = []
    seen: set[int] = set()
    for raw in evidence:
        ev = _norm(raw)
        acts = list(ev.actions)
        top = [a for a in acts if not a.startswith("clone(")]
        top_text = ",".join(top)
        seen.add(ev.table_id)
        subs = _resubmits(acts)
        seen.update(subs)
        top_subs = _resubmits(top)
        t = ev.table_id
        # Tunnel decapsulation (Geneve/STT/VXLAN non-VTEP): moves the outport from the tunnel
        # metadata and goes straight to LOCAL_OUTPUT (controller/physical.c, table-0 tunnel flows).
        # (every landmark below but the datapath hop and the tunnel encapsulation resubmits: tested first)
        if top_subs and _TUN_TO_METADATA_RE.search(top_text) and _TUN_TO_OUTPORT_RE.search(top_text):
            obs.append(Observation(("PHY_TO_LOG",), t, "table-0 tunnel decap flow", 1.0))
            obs.append(Observation(("LOCAL_OUTPUT",), top_subs[0],
                                   f"tunnel decap in table {t} resubmits to {top_subs[0]}"))
        elif t == 0 and top_subs and _SETS_METADATA_RE.search(top_text):
            # VIF/localnet/VTEP classification: loads datapath + inport, enters ingress.
            obs.append(Observation(("LOG_INGRESS_PIPELINE",), top_subs[-1],
                                   f"table-0 flow loads metadata and resubmits to {top_subs[-1]}"))
            vif = re.search(r"\bin_port=", ev.match) and not _TUN_TO_METADATA_RE.search(top_text)
            if ev.cookie is not None and vif:
                if ev.cookie == 0:
                    hints.append(ReleaseHint("table-0 port flow without cookie (physical flows carry "
                                             "Port_Binding cookies since 20.03)", max_release="20.03.0"))
                else:
                    hints.append(ReleaseHint("table-0 port flow with a cookie (20.03+)",
                                             min_release="20.03.0"))
            if _MASKED_REG13_RE.search(top_text):
                hints.append(ReleaseHint("table 0 clears reg13[16..31] (encap id, MFF_LOG_ENCAP_ID, 24.03+)",
                                         min_release="24.03.0"))
        # Datapath hop via LOG_TO_PHY clone(...) (OVN 2.7+ patch ports).
        for a in acts:
            if a.startswith("clone(") and _SETS_METADATA_RE.search(a):
                cs = _resubmits([a])
                if cs:
                    obs.append(Observation(("LOG_TO_PHY",), t, f"table {t} hops datapaths with clone(...)"))
                    obs.append(Observation(("LOG_INGRESS_PIPELINE",), cs[-1],
                                           f"datapath hop in table {t} resubmits to {cs[-1]}"))
        # Register clearing before egress: CHECK_LOOPBACK -> egress base.
        zeroed = {int(m.group(1) or m.group(2)) for m in _ZERO_REG_RE.finditer(top_text)} if top_subs else set()
        if top_subs and {0, 1, 2, 3, 4} <= zeroed and not _SETS_METADATA_RE.search(top_text):
            obs.append(Observation(("CHECK_LOOPBACK", "DROP_LOOPBACK"), t,
                                   f"table {t} clears reg0..reg{max(zeroed)}"))
            obs.append(Observation(("LOG_EGRESS_PIPELINE",), top_subs[-1],
                                   f"register-clearing flow in table {t} resubmits to {top_subs[-1]}"))
        # SAVE_INPORT: push in_port, clear it, resubmit to LOG_TO_PHY.
        if top_subs and _PUSH_INPORT_RE.search(top_text) and _CLEAR_INPORT_RE.search(top_text):
            obs.append(Observation(("SAVE_INPORT",), t, f"table {t} saves and clears in_port"))
            obs.append(Observation(("LOG_TO_PHY",), top_subs[0],
                                   f"SAVE_INPORT flow in table {t} resubmits to {top_subs[0]}"))
        # Tunnel encapsulation: REMOTE_OUTPUT (or REMOTE_VTEP_OUTPUT, 25.09+).
        if t != 0 and "output:" in top_text and _WRITES_TUN_ID_RE.search(top_text):
            obs.append(Observation(("REMOTE_OUTPUT", "REMOTE_VTEP_OUTPUT"), t,
                                   f"table {t} sets tun_id and outputs to a tunnel"))
    return obs, hints, seen


def in_range(tag: str, h: ReleaseHint) -> bool:
    """True if release ``tag`` satisfies the hint's bounds."""
    k = parse_version(tag).key
    if h.min_release and k < parse_version(h.min_release).key:
        return False
    return not (h.max_release and k >= parse_version(h.max_release).key)


def infer_layout(evidence: Iterable[EvidenceItem], version_hint: str | None = None) -> list[LayoutCandidate]:
    """Rank the known layouts by how well they fit landmarks of a trace.

    ``evidence``: (table_id, match_text, action_texts[, cookie]) per flow seen in the trace,
    nested tables and clone()s included.  Landmarks used (from ``controller/physical.c`` of
    each release): the table-0 VIF flow (-> ingress base), the table-0 tunnel flow that moves
    the outport from the tunnel metadata (-> LOCAL_OUTPUT), the ``clone(...resubmit(,B))``
    datapath hop (-> LOG_TO_PHY, ingress base), the flow clearing reg0..reg9 (-> CHECK_LOOPBACK
    and egress base), the push/clear in_port flow (-> SAVE_INPORT, LOG_TO_PHY), a tunnel
    encapsulation with ``output:`` (-> REMOTE_OUTPUT); every table id seen must exist in the
    layout.  ``version_hint`` (e.g. ``--ovn-version``) only breaks ties.  Best first.
    """
    obs, hints, seen = landmarks(evidence)
    hint_tag = None
    if version_hint and try_parse_version(version_hint) is not None:
        hint_tag = nearest_release(version_hint).release
    scored: list[tuple[float, float, Layout, tuple[str, ...], list[str], list[str]]] = []
    for lay in all_layouts():
        agree = disagree = 0.0
        good: list[str] = []
        bad: list[str] = []
        for o in obs:
            ids = [lay.get(r) for r in o.roles]
            present = [i for i in ids if i is not None]
            if o.table_id in present:
                agree += o.weight
                good.append(f"{o.why}: {'/'.join(o.roles)}={o.table_id}")
            else:
                disagree += o.weight
                exp = "/".join(f"{r}={lay.get(r)}" for r in o.roles if lay.get(r) is not None) or "absent"
                bad.append(f"{o.why}, but this layout has {exp}")
        for tid in sorted(seen):
            if lay.explains(tid):
                agree += 0.5
            else:
                disagree += 1.0
                bad.append(f"table {tid} seen in the trace does not exist in this layout")
        releases = lay.releases
        for h in hints:
            keep = tuple(r for r in releases if in_range(r, h))
            if keep:
                agree += h.weight
                good.append(h.why)
                releases = keep
            else:
                disagree += h.weight
                bad.append(f"{h.why}, but this layout is for {lay.label}")
        total = agree + disagree
        fit = agree / total if total else 0.0
        scored.append((fit, agree - disagree, lay, releases, good, bad))
    if not scored:
        return []
    best_fit = max(s[0] for s in scored)
    tied = [s for s in scored if abs(s[0] - best_fit) < 1e-9]

    def signature(lay: Layout) -> tuple[object, ...]:
        return tuple(lay.role_of(t) for t in sorted(seen))

    sigs = [signature(s[2]) for s in tied]
    hint_sig = next((signature(s[2]) for s in tied if hint_tag and hint_tag in s[3]), None)
    tied_conf: dict[int, float] = {}
    for s_, sig in zip(tied, sigs, strict=True):
        same = sum(1 for other in sigs if other == sig)
        hinted_share = 1.0 if sig == hint_sig else 0.25 / len(tied)
        share = hinted_share if hint_sig is not None else same / len(tied)
        tied_conf[id(s_[2])] = s_[0] * share
    floor = min(tied_conf.values())
    out: list[LayoutCandidate] = []
    for fit, score, lay, releases, good, bad in scored:
        hinted = hint_tag is not None and hint_tag in releases
        conf = tied_conf[id(lay)] if id(lay) in tied_conf else min(fit * 0.5, floor * 0.9)
        out.append(LayoutCandidate(lay, round(conf, 3), releases, tuple(good), tuple(bad), hinted, score))
    # Best fit first; among equals the hinted one, then the newest layout.
    out.sort(key=lambda c: (-c.confidence, -c.score, not c.hinted,
                            tuple(-x for x in parse_version(c.layout.releases[-1]).key)))
    return out
