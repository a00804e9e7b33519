"""Which OVN releases a trace can come from, and what each table is called in all of them.

Without a database or a pinned version the release is not known.  Every known release tag is tested
against the evidence a trace carries; the releases that contradict least of it (ideally nothing)
are the *candidates*, and a table gets a stage name only when every candidate gives it the same one
(:func:`table_readings`).  Evidence, each a :class:`Constraint` (a test of one release):

* the table landmarks of :func:`ovntrace.ovn.tables.landmarks` (the table-0 flow's resubmit target is
  the ingress base, tun_id written + ``output:`` is REMOTE_OUTPUT, the register-clearing flow is
  CHECK_LOOPBACK and its target the egress base, ``push:in_port``/clear is SAVE_INPORT ...), and
  every table seen must exist in the release's layout;
* release-level hints (a cookie on the table-0 port flow: 20.03+; reg13[16..31] cleared, the encap
  id ``MFF_LOG_ENCAP_ID``: 24.03+, and its absence on a VIF flow: before 24.03; the ``blocked`` bit
  committed in ``ct_mark`` rather than ``ct_label``: 22.06+);
* what a table *does*: a stage that calls a logical action compiled into a resubmit to a physical
  table must be the stage northd emits that action in (``check_in_port_sec()`` ->
  ``ls_in_check_port_sec``, ``chk_lb_hairpin()`` -> ``ls_in_pre_hairpin``, ``get_arp()`` ->
  ``lr_in_arp_resolve``, ...; read from ``northd/northd.c`` at every tag, see docs/ovn-knowledge.md),
  ``dec_ttl`` runs in ``lr_in_ip_routing`` (and, in OVN 2.8-2.12, ``lr_in_gw_redirect``), a flow
  matching ``dl_dst`` that loads a constant outport is ``ls_in_l2_lkup``;
* a pipeline table visited must be a stage of that release (index below its number of stages);
* ``ovn-detrace`` annotations pasted with the trace (``Logical flow: table=N (stage)``).

Pure: reads only the package data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache, partial
from typing import NamedTuple

from ovntrace.ovn import stages as ovn_stages
from ovntrace.ovn import tables as ovn_tables
from ovntrace.ovn.releases import known_releases, parse_version

# A logical action compiled into a resubmit to a physical table -> the stages northd emits it in
# (every release that has the table; union over releases).  ovn-org/ovn northd/northd.c (20.03+),
# openvswitch/ovs ovn/northd/ovn-northd.c (2.5-2.12).
CALL_SIGNATURES: tuple[tuple[tuple[str, ...], frozenset[str], str], ...] = (
    (("CHK_IN_PORT_SEC", "CHK_IN_PORT_SEC_ND"), frozenset({"ls_in_check_port_sec"}), "check_in_port_sec()"),
    (("CHK_OUT_PORT_SEC",), frozenset({"ls_out_check_port_sec"}), "check_out_port_sec()"),
    (("CHK_LB_HAIRPIN", "CHK_LB_HAIRPIN_REPLY"), frozenset({"ls_in_pre_hairpin"}), "chk_lb_hairpin()"),
    (("CT_SNAT_HAIRPIN", "CT_SNAT_FOR_VIP"), frozenset({"ls_in_nat_hairpin"}), "ct_snat_to_vip"),
    (("MAC_BINDING",), frozenset({"lr_in_arp_resolve"}), "get_arp()/get_nd()"),
    (("MAC_LOOKUP",), frozenset({"lr_in_lookup_neighbor"}), "lookup_arp()/lookup_nd()"),
    (("LOOKUP_FDB",), frozenset({"ls_in_lookup_fdb", "ls_out_lookup_fdb"}), "lookup_fdb()"),
    (("CHK_LB_AFFINITY",), frozenset({"ls_in_lb_aff_check", "lr_in_lb_aff_check"}), "chk_lb_aff()"),
)
DEC_TTL_STAGES = frozenset({"lr_in_ip_routing", "lr_in_gw_redirect"})

_RESUBMIT_RE = re.compile(r"^resubmit\((?:[^,()]*),(\d+)")
_CONST_REG15_RE = re.compile(r"^(?:set_field:0x[0-9a-f]+->reg15|load:0x[0-9a-f]+->NXM_NX_REG15\[\])$")
_DL_DST_RE = re.compile(r"(?:^|,)dl_dst=[0-9a-f:]+(?:,|$)")
_DETRACE_RE = re.compile(r"Logical flow: table=(\d+) \((\w+)\)")
_CT_MARK_BLOCKED_RE = re.compile(r"ct\(commit.*set_field:0x?[01]?/0x1->ct_mark")
_ENCAP_ID_RE = re.compile(r"set_field:0x?[0-9a-f]*/0xffff0000->reg13|->NXM_NX_REG13\[16\.\.31\]")
_LOADS_METADATA_RE = re.compile(r"(?:set_field:[^>]*->metadata$|load:[^>]*->OXM_OF_METADATA\[)")
_TUN_RE = re.compile(r"NXM_NX_TUN_(?:ID|METADATA)")


class StepEvidence(NamedTuple):
    """One table step of an OVN bridge: what the release inference reads (a tuple: cheap to make,
    hash and compare, as :func:`_step_facts` remembers what each step says).

    ``actions``: the step's own action texts (not those of the tables it resubmits to);
    ``dp_type``: "switch"/"router" when known for its datapath; ``annotations``: pasted
    ``ovn-detrace`` lines under it."""

    table_id: int
    match: str
    actions: tuple[str, ...]
    cookie: int | None = None
    dp_type: str | None = None
    annotations: tuple[str, ...] = ()
    miss: bool = False


@dataclass(frozen=True)
class Constraint:
    """One piece of evidence as a test of a release; ``why`` in words.

    ``key``: everything ``test`` depends on besides the release (``None``: not known), so that equal
    constraints are interchangeable and :func:`_failing` can remember which releases one rules out.
    ``by_layout``: ``test`` reads the release only through its table layout and stage lists, so it is
    run once per group of such twins (:func:`_twin_groups`), not once per release; ``reads``: with
    ``by_layout``, the tables it reads them at (their names, role and stage names there: :func:`_reading`),
    so that it is run once per distinct reading of those tables among the twins (a few, not ~35)."""

    why: str
    test: Callable[[str], bool] = field(compare=False)
    weight: float = 1.0
    key: tuple[object, ...] | None = None
    by_layout: bool = False
    reads: tuple[int, ...] = ()


@dataclass(frozen=True)
class ReleaseInference:
    """The releases consistent with a trace.

    ``candidates``: the known releases that contradict the least evidence (oldest first);
    ``conflicts``: what even those contradict (empty when they fit everything);
    ``narrowed_by``: the evidence that ruled releases out, in words;
    ``considered``: how many known releases were tested."""

    candidates: tuple[str, ...]
    conflicts: tuple[str, ...]
    narrowed_by: tuple[str, ...]
    considered: int
    evidence: int


@dataclass(frozen=True)
class Reading:
    """What one table is in a group of releases: its role and its stage name(s)."""

    table_role: str | None  # "ingress" | "egress" | OFTABLE name | None (not in the layout)
    pipeline: str | None
    stage_index: int | None
    names: tuple[str, ...]  # stage names (switch and/or router), or () for physical tables
    releases: tuple[str, ...]


@cache
def layout_of(release: str) -> ovn_tables.Layout:
    return ovn_tables.layout_for_release(release)


def _stage_names(release: str, dp: str, pipeline: str) -> tuple[str, ...]:
    return ovn_stages.stage_set(release).names(dp, pipeline)  # type: ignore[arg-type]


def _kinds(dp_type: str | None) -> tuple[str, ...]:
    return (dp_type,) if dp_type in ("switch", "router") else ("switch", "router")


@cache
def _table_of(release: str, name: str) -> int | None:
    return layout_of(release).get(name)


@cache
def _explains(release: str, table_id: int) -> bool:
    return _role(release, table_id) is not None


@cache
def _layout_no(release: str) -> int:
    """Which of the distinct layouts (:func:`ovntrace.ovn.tables.all_layouts`) ``release`` has."""
    return _layout_numbers()[id(layout_of(release))]


@cache
def _layout_numbers() -> dict[int, int]:
    """id of each layout of :func:`ovntrace.ovn.tables.all_layouts` (kept alive there) -> its position."""
    return {id(lay): i for i, lay in enumerate(ovn_tables.all_layouts())}


@cache
def _role_in(layout_no: int, table_id: int) -> ovn_tables.TableRole | None:
    return ovn_tables.all_layouts()[layout_no].role_of(table_id)


def _role(release: str, table_id: int) -> ovn_tables.TableRole | None:
    """``role_of`` of the release's layout, remembered per layout (layouts are package data: pure, and
    ~20 for ~160 releases)."""
    return _role_in(_layout_no(release), table_id)


@cache
def _stage_at(release: str, table_id: int, dp_type: str | None) -> tuple[str | None, int | None, tuple[str, ...]]:
    """(pipeline, index, names) of ``table_id`` in ``release``; names () outside the stage lists."""
    role = _role(release, table_id)
    if role is None or role.kind == "physical" or role.stage_index is None:
        return None, None, ()
    names = []
    for k in _kinds(dp_type):
        lst = _stage_names(release, k, role.kind)
        if role.stage_index < len(lst):
            names.append(lst[role.stage_index])
    return role.kind, role.stage_index, tuple(names)


@cache
def _role_names(release: str, table_id: int) -> tuple[str, ...]:
    role = _role(release, table_id)
    if role is None or role.kind != "physical":
        return ()
    return (role.name, *role.aliases)


def constraints(steps: Sequence[StepEvidence]) -> list[Constraint]:
    """Every piece of evidence in ``steps`` as a test of a release: the table landmarks, every table used,
    the release hints, then what each step does (:func:`_step_constraints`), in step order; the same
    evidence (the same ``why``) once."""
    facts = [_step_facts(s) for s in steps]
    seen: set[int] = set().union(*[f[2] for f in facts])
    # dedupe identical evidence (the same table seen twice says nothing new): the first of each ``why``
    uniq: dict[str, Constraint] = {}
    add = uniq.setdefault
    for f in facts:
        for c in f[0]:
            add(c.why, c)
    for tid in sorted(seen):
        c = _used(tid)
        add(c.why, c)
    for f in facts:
        for c in f[1]:
            add(c.why, c)
    for f in facts:
        for c in f[3]:
            add(c.why, c)
    return list(uniq.values())


_StepFacts = tuple[tuple[Constraint, ...], tuple[Constraint, ...], frozenset[int], tuple[Constraint, ...]]


@lru_cache(maxsize=16384)
def _step_facts(s: StepEvidence) -> _StepFacts:
    """What one step says: (its landmark constraints, its release-hint constraints, the table ids it shows,
    the constraints of what it does). Remembered for the process: pure, a function of one step's flow (the
    same flows recur step after step and trace after trace of one cluster)."""
    seen = {s.table_id}
    obs: list[ovn_tables.Observation] = []
    hints: list[ovn_tables.ReleaseHint] = []
    if not s.miss:
        obs, hints, more = ovn_tables.landmarks([ovn_tables.FlowEvidence(s.table_id, s.match, s.actions, s.cookie)])
        seen |= more
    obs_cons = []
    for o in obs:
        def t_obs(r: str, o: ovn_tables.Observation = o) -> bool:
            return any(_table_of(r, role) == o.table_id for role in o.roles)
        obs_cons.append(Constraint(f"{o.why} ({'/'.join(o.roles)}={o.table_id})", t_obs, 2.0,
                                   ("obs", o.roles, o.table_id), by_layout=True, reads=(o.table_id,)))
    hint_cons = tuple(Constraint(h.why, partial(_hint_ok, h), 1.0, ("hint", h)) for h in hints)
    return tuple(obs_cons), hint_cons, frozenset(seen), tuple(_step_constraints((s,)))


@cache
def _used(tid: int) -> Constraint:
    return Constraint(f"table {tid} is used", partial(_explains_rev, tid), 1.0, ("used", tid), by_layout=True,
                      reads=(tid,))


def _step_constraints(steps: Sequence[StepEvidence]) -> list[Constraint]:
    out: list[Constraint] = []
    for s in steps:
        t = s.table_id
        acts = s.actions
        top = ",".join(acts)
        if t == 0 and not s.miss:
            vif = ("in_port=" in s.match and any(_LOADS_METADATA_RE.search(a) for a in acts)
                   and not _TUN_RE.search(top))
            if vif and not _ENCAP_ID_RE.search(top):
                out.append(Constraint(
                    "table-0 port flow does not load the encap id (reg13[16..31], loaded on every VIF "
                    "flow since 24.03.0)",
                    lambda r: parse_version(r).key < (24, 3, 0), 1.0, ("before", (24, 3, 0))))
        if "ct(commit" in top and _CT_MARK_BLOCKED_RE.search(top):
            out.append(Constraint("ct(commit) writes the blocked bit in ct_mark (ct_mark.blocked: 22.06+)",
                                  lambda r: parse_version(r).key >= (22, 6, 0), 1.0, ("since", (22, 6, 0))))
        for a in acts:
            m = _RESUBMIT_RE.match(a) if a.startswith("resubmit(") else None
            if not m:
                continue
            u = int(m.group(1))
            out.append(Constraint(
                f"table {t} resubmits to table {u}: a stage calling a physical table is the stage northd "
                "emits that action in (check_in_port_sec() in ls_in_check_port_sec, chk_lb_hairpin() in "
                "ls_in_pre_hairpin, get_arp() in lr_in_arp_resolve ...)",
                partial(_call_ok, t, u), 3.0, ("call", t, u), by_layout=True, reads=(t, u)))
        if any(a == "dec_ttl" or a.startswith("dec_ttl(") for a in acts):
            out.append(Constraint(f"table {t} decrements the TTL (ip.ttl--: lr_in_ip_routing)",
                                  partial(_dec_ttl_ok, t), 3.0, ("dec_ttl", t), by_layout=True, reads=(t,)))
        if "dl_dst=" in s.match and _DL_DST_RE.search(s.match) and s.dp_type != "router" \
                and any(_CONST_REG15_RE.match(a) for a in acts):
            def t_l2(r: str, t: int = t) -> bool:
                pl, _, names = _stage_at(r, t, "switch")
                return pl == "ingress" and "ls_in_l2_lkup" in names
            out.append(Constraint(f"table {t} matches dl_dst and loads the outport (ls_in_l2_lkup)", t_l2, 3.0,
                                  ("l2_lkup", t), by_layout=True, reads=(t,)))
        if not s.miss and s.cookie:
            def t_stage(r: str, t: int = t, dp: str | None = s.dp_type) -> bool:
                pl, _, names = _stage_at(r, t, dp)
                return pl is None or bool(names)
            out.append(Constraint(f"table {t} is a stage of the pipeline (a flow with a cookie matched)", t_stage, 1.0,
                                  ("stage", t, s.dp_type), by_layout=True, reads=(t,)))
        for text in s.annotations:
            m = _DETRACE_RE.search(text)
            if m:
                idx, name = int(m.group(1)), m.group(2)
                out.append(Constraint(f"ovn-detrace: table {t} is logical table {idx} ({name})",
                                      partial(_detrace_ok, t, idx, name), 5.0, ("detrace", t, idx, name),
                                      by_layout=True, reads=(t,)))
    return out


def _explains_rev(t: int, r: str) -> bool:
    return _explains(r, t)


def _hint_ok(h: ovn_tables.ReleaseHint, r: str) -> bool:
    return ovn_tables.in_range(r, h)


def _dec_ttl_ok(t: int, r: str) -> bool:
    return bool(DEC_TTL_STAGES & set(_stage_at(r, t, "router")[2]))


def _call_ok(t: int, u: int, r: str) -> bool:
    """Every signature that applies in ``r`` (table u is the physical table it calls) holds."""
    called = set(_role_names(r, u))
    if not called or _role_names(r, t):
        return True  # u is no physical table here, or t is one (physical tables chain to each other)
    pl, _, names = _stage_at(r, t, None)
    for roles, allowed, _what in CALL_SIGNATURES:
        if called & set(roles) and not (pl is not None and allowed & set(names)):
            return False
    return True


def _detrace_ok(t: int, idx: int, name: str, r: str) -> bool:
    pl, index, _ = _stage_at(r, t, None)
    if pl is None or index != idx:
        return False
    dp = "router" if name.startswith("lr_") else "switch"
    lst = _stage_names(r, dp, pl)
    return idx < len(lst) and lst[idx] == name


def infer_releases(steps: Sequence[StepEvidence], releases: Iterable[str] | None = None) -> ReleaseInference:
    """The known releases that fit ``steps`` best (see the module doc)."""
    rels = tuple(releases) if releases is not None else known_releases()
    return _infer(steps, rels)


def _infer(steps: Sequence[StepEvidence], rels: tuple[str, ...]) -> ReleaseInference:
    """:func:`infer_releases`: each release's cost is the weight of the evidence it contradicts; the
    candidates are the releases of the least cost; ``conflicts`` what they contradict and ``narrowed_by``
    what the others do, each in the order of the releases, then of the evidence.

    Worked on bit masks over ``rels`` (bit i: ``rels[i]``) rather than release by release: each
    constraint's failing mask is remembered per constraint key (:class:`_ReleaseSet`), and the costs of
    all releases are kept as binary counters sliced by bit (``planes[k]``: bit k of every release's
    cost), so adding a constraint's weight to the releases it rules out is a few integer operations."""
    cons = constraints(steps)
    if not rels:
        return ReleaseInference((), (), (), 0, len(cons))
    rs = _release_set(rels)
    by_id = rs.by_id
    failing = []
    for c in cons:
        seen = by_id.get(id(c))
        m = seen[1] if seen is not None else rs.failing(c)
        if m:
            failing.append((c, m))
    planes: list[int] = []
    for c, m in failing:
        weight = c.weight
        w, k = int(weight), 0
        if w != weight or w < 0:
            return _infer_by_release(cons, rels)
        while w:
            if w & 1:  # add m at bit k of the counters: ripple the carry up
                carry, j = m, k
                while carry:
                    while j >= len(planes):
                        planes.append(0)
                    planes[j], carry = planes[j] ^ carry, planes[j] & carry
                    j += 1
            w >>= 1
            k += 1
    best = rs.all  # the releases of the least cost: from the top bit down, keep those with a 0 there
    for plane in reversed(planes):
        low = best & ~plane
        if low:
            best = low
    cands = rs.members(best)
    conflicts = _whys_in_order([(c, m & best) for c, m in failing])
    shown = set(conflicts)
    narrowed = tuple(w for w in _whys_in_order([(c, m & ~best) for c, m in failing]) if w not in shown)
    return ReleaseInference(cands, conflicts, narrowed, len(rels), len(cons))


def _whys_in_order(masked: Sequence[tuple[Constraint, int]]) -> tuple[str, ...]:
    """The ``why`` of every constraint that rules out one of the releases in its mask, in the order of a
    walk release by release (by position), each release's failures in evidence order (whys are unique:
    :func:`constraints` dedupes them)."""
    keyed = [((m & -m).bit_length(), i, c.why) for i, (c, m) in enumerate(masked) if m]
    keyed.sort()
    return tuple(w for _, _, w in keyed)


def _infer_by_release(cons: Sequence[Constraint], rels: tuple[str, ...]) -> ReleaseInference:
    """:func:`_infer` one release at a time (weights that are not whole numbers)."""
    rs = _release_set(rels)
    cost: dict[str, float] = dict.fromkeys(rels, 0)
    failed: dict[str, list[str]] = {r: [] for r in rels}
    for c in cons:
        fails = rs.failing(c)
        for i, r in enumerate(rels):
            if fails >> i & 1:
                cost[r] += c.weight
                failed[r].append(c.why)
    best = min(cost.values())
    cands = tuple(r for r in rels if cost[r] == best)
    conflicts = tuple(dict.fromkeys(w for r in cands for w in failed[r]))
    ruled = [w for r in rels if r not in cands for w in failed[r] if w not in conflicts]
    return ReleaseInference(cands, conflicts, tuple(dict.fromkeys(ruled)), len(rels), len(cons))


class _ReleaseSet:
    """A tuple of releases as bit positions (bit i: ``releases[i]``), with the failing mask of each
    constraint tested so far (by ``Constraint.key``: equal keys test the same thing)."""

    def __init__(self, releases: tuple[str, ...]) -> None:
        self.releases = releases
        self.all = (1 << len(releases)) - 1
        bit = {r: 1 << i for i, r in enumerate(releases)}
        # by_layout tests run once per twin group: (the release run, the mask of those it answers for)
        self.twins = tuple((t, sum(bit[r] for r in members)) for t, members in _twin_groups(releases))
        self._masks: dict[tuple[object, ...], int] = {}
        # the same, by the constraint object (kept alive here, so its id stays its own): an int is hashed
        # faster than a key tuple, and the constraints of a step are made once (:func:`_step_facts`)
        self.by_id: dict[int, tuple[Constraint, int]] = {}
        self._members: dict[int, tuple[str, ...]] = {}
        # table id -> the reading of that table in each twin (:func:`_reading`, in the order of ``twins``);
        # a tuple of table ids -> the twins grouped by their readings of those tables: (one twin, the mask
        # of the releases of every twin of the group)
        self._readings: dict[int, list[int]] = {}
        self._twin_facts: list[tuple[ovn_tables.Layout, ovn_stages.StageSet]] | None = None
        self._partitions: dict[tuple[int, ...], list[tuple[str, int]]] = {}

    def failing(self, c: Constraint) -> int:
        """The mask of the releases ``c`` rules out."""
        if c.key is None:
            return self._test(c)
        found = self._masks.get(c.key)
        if found is None:
            if len(self._masks) >= 65536:  # bounded: a long-running process sees ever new evidence
                self._masks.clear()
                self.by_id.clear()
            found = self._masks[c.key] = self._test(c)
        if len(self.by_id) >= 65536:
            self.by_id.clear()
        self.by_id[id(c)] = (c, found)
        return found

    def _test(self, c: Constraint) -> int:
        if c.by_layout:
            if c.reads:
                return sum(mask for twin, mask in self._partition(c.reads) if not c.test(twin))
            return sum(mask for twin, mask in self.twins if not c.test(twin))
        return sum(1 << i for i, r in enumerate(self.releases) if not c.test(r))

    def _partition(self, reads: tuple[int, ...]) -> list[tuple[str, int]]:
        """The twins grouped by what they read at the tables ``reads``: a ``by_layout`` test that reads
        only those tables gives every twin of a group the same answer (their readings are equal).
        Each group: (one twin of it, the mask of the releases of all its twins)."""
        found = self._partitions.get(reads)
        if found is not None:
            return found
        if len(reads) == 1:
            keys: Sequence[object] = self._classes(reads[0])
        else:
            keys = list(zip(*[self._classes(t) for t in reads], strict=True))
        slot: dict[object, int] = {}
        found = []
        for (twin, mask), k in zip(self.twins, keys, strict=True):
            i = slot.setdefault(k, len(found))
            if i == len(found):
                found.append((twin, mask))
            else:
                found[i] = (found[i][0], found[i][1] | mask)
        if len(self._partitions) >= 65536:
            self._partitions.clear()
        self._partitions[reads] = found
        return found

    def _classes(self, table_id: int) -> list[int]:
        """For each twin (in the order of ``twins``), a number standing for its reading of ``table_id``
        (:func:`_reading`): equal numbers, equal readings."""
        found = self._readings.get(table_id)
        if found is None:
            ids: dict[tuple[object, ...], int] = {}
            if self._twin_facts is None:
                self._twin_facts = [(layout_of(twin), ovn_stages.stage_set(twin)) for twin, _ in self.twins]
            found = self._readings[table_id] = [ids.setdefault(_reading_in(lay, ss, table_id), len(ids))
                                                for lay, ss in self._twin_facts]
        return found

    def members(self, mask: int) -> tuple[str, ...]:
        """The releases of ``mask``, in order (remembered: the same candidates recur)."""
        found = self._members.get(mask)
        if found is None:
            rels = self.releases
            if len(self._members) >= 4096:
                self._members.clear()
            found = self._members[mask] = tuple(rels[i] for i in range(len(rels)) if mask >> i & 1)
        return found


def _reading(release: str, table_id: int) -> tuple[object, ...]:
    """All that a ``by_layout`` test may read of ``table_id`` in ``release``: the names the layout gives
    it (a name is at one table: ``layout.get(name) == table_id`` iff the name is here), its role, and for
    a pipeline table the switch and router stage names at its index (None past the list's end)."""
    return _reading_in(layout_of(release), ovn_stages.stage_set(release), table_id)


def _reading_in(lay: ovn_tables.Layout, ss: ovn_stages.StageSet, table_id: int) -> tuple[object, ...]:
    """:func:`_reading` in the layout and stage lists of a release."""
    role = lay.role_of(table_id)
    names = lay.names_at(table_id)
    if role is None:
        return (names,)
    i = role.stage_index
    if role.kind == "physical" or i is None:
        return (names, role.kind, role.name, role.aliases, i)
    sw, rt = ss.names("switch", role.kind), ss.names("router", role.kind)
    return (names, role.kind, role.name, role.aliases, i, sw[i] if i < len(sw) else None,
            rt[i] if i < len(rt) else None)


@lru_cache(maxsize=16)
def _release_set(releases: tuple[str, ...]) -> _ReleaseSet:
    """The release set of ``releases``, kept for the process (in practice: every known release, and the
    one pinned); its failing masks are remembered per constraint key (pure: package data)."""
    return _ReleaseSet(releases)


@cache
def _twins() -> Mapping[str, str]:
    """Each known release -> the oldest known release with the same table layout and stage lists (~30
    groups for ~160 releases). Package data only: computed once per process."""
    first: dict[tuple[object, ...], str] = {}
    out: dict[str, str] = {}
    for r in known_releases():
        ss = ovn_stages.stage_set(r)
        key = (_layout_no(r), ss.switch_ingress, ss.switch_egress, ss.router_ingress, ss.router_egress)
        out[r] = first.setdefault(key, r)
    return out


@lru_cache(maxsize=64)
def _twin_groups(releases: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``releases`` grouped by twin: (the release a ``by_layout`` test is run on, the releases it answers
    for); a release that is not known is its own twin."""
    twins = _twins()
    groups: dict[str, list[str]] = {}
    for r in releases:
        groups.setdefault(twins.get(r, r), []).append(r)
    return tuple((t, tuple(members)) for t, members in groups.items())


@lru_cache(maxsize=8192)
def table_readings(table_id: int, dp_type: str | None, releases: tuple[str, ...]) -> tuple[Reading, ...]:
    """What ``table_id`` is in each of ``releases``, grouped: one Reading when they all agree.
    Remembered for the process (pure: package data only)."""
    groups: dict[tuple[object, ...], list[str]] = {}
    twins: Mapping[str, str] = _twins() if len(releases) > 2 else {}  # (a pinned release: not worth making)
    of_twin: dict[str, tuple[object, ...]] = {}  # a twin's reading stands for all its releases'
    for r in releases:
        twin = twins.get(r, r)
        key = of_twin.get(twin)
        if key is None:
            role = _role(twin, table_id)
            if role is None:
                key = (None, None, None, ())
            elif role.kind == "physical":
                key = (role.name, None, None, ())
            else:
                pl, idx, names = _stage_at(twin, table_id, dp_type)
                key = (role.kind, pl, idx, names)
            of_twin[twin] = key
        groups.setdefault(key, []).append(r)
    return tuple(Reading(k[0], k[1], k[2], k[3], tuple(v))  # type: ignore[arg-type]
                 for k, v in groups.items())


def possible_dp_types(table_ids: Iterable[int], releases: Sequence[str]) -> tuple[str, ...]:
    """Datapath types under which every one of ``table_ids`` (pipeline tables one datapath ran, each with a
    logical flow) is a stage in every one of ``releases``: a switch egress pipeline has more stages than a
    router's, so a datapath seen at egress stage 9 is a switch."""
    return _possible_dp_types(frozenset(table_ids), tuple(releases))


@lru_cache(maxsize=4096)
def _possible_dp_types(ids: frozenset[int], releases: tuple[str, ...]) -> tuple[str, ...]:
    """:func:`possible_dp_types` (pure: package data; remembered, as a cluster's datapaths show the same
    tables trace after trace)."""
    out = []
    for kind in ("switch", "router"):
        if all(_stage_at(r, t, None)[0] is None or _stage_at(r, t, kind)[2] for r in releases for t in ids):
            out.append(kind)
    return tuple(out)


@cache
def _release_order() -> Mapping[str, int]:
    return {t: i for i, t in enumerate(known_releases())}


def spans(releases: Iterable[str]) -> tuple[str, ...]:
    """Runs of consecutive known releases: ``("22.12.1..22.12.3", "23.03.1..23.03.3")``."""
    order = _release_order()
    rs = sorted(set(releases), key=lambda t: order.get(t, -1))
    out: list[str] = []
    run: list[str] = []
    for r in rs:
        if run and order.get(r, -99) == order.get(run[-1], -100) + 1:
            run.append(r)
            continue
        if run:
            out.append(run[0] if len(run) == 1 else f"{run[0]}..{run[-1]}")
        run = [r]
    if run:
        out.append(run[0] if len(run) == 1 else f"{run[0]}..{run[-1]}")
    return tuple(out)


def spans_text(releases: Iterable[str]) -> str:
    return ", ".join(spans(releases))


def names_by_release(readings: Sequence[Reading]) -> Mapping[str, tuple[str, ...]]:
    """Stage or table name -> the releases that give it (from :func:`table_readings`)."""
    out: dict[str, list[str]] = {}
    for rd in readings:
        names = rd.names or ((rd.table_role,) if rd.table_role and rd.table_role not in ("ingress", "egress")
                             else ())
        for n in names:
            out.setdefault(n, []).extend(rd.releases)
    return {n: tuple(v) for n, v in out.items()}
