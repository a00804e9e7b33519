"""Logical pipeline stage names per release (``ls_in_*``, ``ls_out_*``, ``lr_in_*``, ``lr_out_*``).

Source: the ``PIPELINE_STAGE(DP, PIPELINE, NAME, N, "name")`` list (``PIPELINE_STAGES``) of
``ovn/northd/ovn-northd.c`` (OVN 2.5-2.12, ``openvswitch/ovs``), ``northd/ovn-northd.c``
(20.03-21.06), ``northd/northd.c`` (21.09-24.03.5) and ``northd/northd.h`` (24.03.6+), read at
every release tag into ``data/stages.json``.  The lists changed in several point releases
(21.12.1, 22.03.3, 22.09.2, 22.12.1, 24.03.6, 24.09.3, 25.03.1, 25.03.3, 25.09.3), so a stage is
looked up with the full release.  The ``table=N`` that ``ovn-sbctl lflow-list`` and
``ovn-detrace`` print is the stage index N; the OpenFlow table is pipeline base + N
(:mod:`ovntrace.ovn.tables`).  Switches and routers share the OpenFlow tables: which list
applies depends on the datapath behind ``metadata``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

from ovntrace.ovn import _data
from ovntrace.ovn.releases import latest_release, nearest_release, parse_version
from ovntrace.ovn.tables import Layout

Pipeline = Literal["ingress", "egress"]
DpType = Literal["switch", "router"]


@dataclass(frozen=True)
class Stage:
    """One logical stage: ``name`` is e.g. ``ls_in_acl_eval``; ``index`` the logical table."""

    pipeline: Pipeline
    index: int
    name: str
    dp_type: DpType
    release: str

    @property
    def short(self) -> str:
        """Name without the ``ls_in_``/``lr_out_`` prefix, e.g. ``acl_eval``."""
        return self.name.split("_", 2)[2] if self.name.count("_") >= 2 else self.name


@dataclass(frozen=True)
class StageSet:
    """All stage names of one release range."""

    releases: tuple[str, ...]
    source: str
    switch_ingress: tuple[str, ...]
    switch_egress: tuple[str, ...]
    router_ingress: tuple[str, ...]
    router_egress: tuple[str, ...]

    def names(self, dp_type: DpType, pipeline: Pipeline) -> tuple[str, ...]:
        if dp_type == "switch":
            return self.switch_ingress if pipeline == "ingress" else self.switch_egress
        return self.router_ingress if pipeline == "ingress" else self.router_egress


@functools.cache
def stage_set(release: str | None) -> StageSet:
    """Stage lists of ``release`` (nearest known release; None = newest known)."""
    tag = nearest_release(release).release if release else latest_release()
    g = _data.group_for_tag("stages", tag)
    if g is None:  # pragma: no cover - every known tag has stages
        raise LookupError(release)
    return _stage_set_of(g.tags[0])


@functools.cache
def _stage_set_of(first_tag: str) -> StageSet:
    """The stage lists of the data group starting at ``first_tag`` (the releases it holds share one)."""
    g = _data.group_for_tag("stages", first_tag)
    assert g is not None
    d = g.data
    return StageSet(
        g.tags, g.citation,
        tuple(d["switch"]["ingress"]), tuple(d["switch"]["egress"]),
        tuple(d["router"]["ingress"]), tuple(d["router"]["egress"]),
    )


def stage(dp_type: DpType, pipeline: Pipeline, index: int, release: str | None) -> Stage | None:
    """The stage at logical table ``index`` of a pipeline, or None if out of range."""
    ss = stage_set(release)
    names = ss.names(dp_type, pipeline)
    if 0 <= index < len(names):
        return Stage(pipeline, index, names[index], dp_type, ss.releases[0] if release is None else
                     nearest_release(release).release)
    return None


def stage_for_table(
    table_id: int, layout: Layout, dp_type: DpType | None, release: str | None
) -> tuple[Stage, ...]:
    """Stage(s) an OpenFlow table runs in: one Stage when ``dp_type`` is known, the switch and
    router candidates when it is None, nothing for tables outside both pipelines (or past the
    last stage of that datapath type).

    ``release`` None: the newest release of ``layout`` is used for the names.
    """
    role = layout.role_of(table_id)
    if role is None or role.kind == "physical" or role.stage_index is None:
        return ()
    rel = release if release is not None else layout.releases[-1]
    pipeline: Pipeline = "ingress" if role.kind == "ingress" else "egress"
    kinds: tuple[DpType, ...] = (dp_type,) if dp_type else ("switch", "router")
    out: list[Stage] = []
    for k in kinds:
        st = stage(k, pipeline, role.stage_index, rel)
        if st is not None:
            out.append(st)
    return tuple(out)


def find_stage(name: str, release: str | None) -> Stage | None:
    """Look a stage up by name (``"ls_in_acl"``) in a release."""
    ss = stage_set(release)
    dps: tuple[DpType, ...] = ("switch", "router")
    pls: tuple[Pipeline, ...] = ("ingress", "egress")
    for dp in dps:
        for pl in pls:
            names = ss.names(dp, pl)
            if name in names:
                return Stage(pl, names.index(name), name, dp,
                             nearest_release(release).release if release else latest_release())
    return None


def releases_with_stage(name: str) -> tuple[str, ...]:
    """All known releases whose stage lists contain ``name`` (e.g. ``ls_in_acl_eval``)."""
    out: list[str] = []
    for g in _data.groups("stages"):
        d = g.data
        if any(name in d[dp][pl] for dp in ("switch", "router") for pl in ("ingress", "egress")):
            out.extend(g.tags)
    return tuple(sorted(out, key=lambda t: parse_version(t).key))
