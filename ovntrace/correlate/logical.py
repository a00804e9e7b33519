"""OVN meaning of an ``ovn-trace`` trace with NB/SB context: each stage's ``uuid XXXXXXXX`` prefix resolved
to its SB Logical_Flow (narrowed by pipeline, logical table and datapath when the prefix is shared) and
the NB row behind it (``external_ids:stage-hint``: an ACL with its name, a load balancer, a route ...),
and the logical ports of the verdict to ovn-kubernetes pods (Port_Binding ``external_ids`` namespace and
``pod=true``; the ``namespace_name`` convention alone is not proof).

Pure: reads a :class:`~ovntrace.correlate.index.ClusterIndex`, returns model objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ovntrace.correlate.annotate import _lflow_ref as _ref  # the same lflow and NB summaries as ofproto's
from ovntrace.correlate.annotate import nb_summary as _nb
from ovntrace.correlate.index import ClusterIndex
from ovntrace.model.cluster import PortBinding
from ovntrace.model.ovn import LflowRef, StepOvn, TraceOvn
from ovntrace.model.trace import StepKind, Trace


def pod_of(pb: PortBinding | None) -> str | None:
    if pb is None:
        return None
    ext: Mapping[str, str] = pb.external_ids
    ns = ext.get("namespace")
    if ns and str(ext.get("pod", "")).lower() == "true" and pb.logical_port.startswith(f"{ns}_"):
        return f"{ns}/{pb.logical_port[len(ns) + 1:]}"
    return None


def annotate_logical(trace: Trace, ix: ClusterIndex) -> TraceOvn | None:
    """Stage lines -> StepOvn (lflow, NB row); ``None`` without a context that knows any lflow."""
    if ix.empty:
        return None
    dp_names = {d.uuid: d.name for d in ix.dp_by_uuid.values()}
    steps: dict[int, StepOvn] = {}
    notes: list[str] = []
    for s in trace.walk():
        if s.kind is not StepKind.STAGE or s.miss:
            continue
        lflow: LflowRef | None = None
        ambiguous: tuple[str, ...] = ()
        nb: Mapping[str, Any] | None = None
        st_notes: list[str] = []
        if s.uuid:
            cands = list(ix.lflows_by_cookie.get(s.uuid[:8].lower(), []))
            cands = [lf for lf in cands if lf.uuid.startswith(s.uuid.lower())] or cands
            if len(cands) > 1:
                narrowed = [lf for lf in cands if (s.pipeline is None or lf.pipeline == s.pipeline)
                            and (s.table is None or lf.table_id == s.table)
                            and (s.datapath is None or any(dp_names.get(d) == s.datapath
                                                           for d in ix.lflow_datapaths(lf)))]
                cands = narrowed or cands
            if len(cands) == 1:
                lflow = _ref(cands[0])
                row = ix.nb_row(cands[0].stage_hint)
                if row is not None:
                    nb = _nb(row)
                if cands[0].stage_name and s.stage and cands[0].stage_name != s.stage:
                    st_notes.append(f"the database's lflow {cands[0].uuid[:8]} is in stage {cands[0].stage_name}, "
                                    f"the trace says {s.stage}: the trace is not from this database")
            elif cands:
                ambiguous = tuple(lf.uuid for lf in cands)
            else:
                st_notes.append(f"lflow {s.uuid} is not in the Southbound database given")
        steps[s.line] = StepOvn(table_role=s.pipeline, pipeline=s.pipeline, stage=s.stage, lflow=lflow,
                                lflow_ambiguous=ambiguous, nb=nb, notes=tuple(st_notes))
    for port in trace.verdict.ports:
        pod = pod_of(ix.pb_by_name.get(port))
        if pod:
            notes.append(f"logical port {port} is pod {pod}")
    if not steps and not notes:
        return None
    return TraceOvn(None, None, None, steps, notes=tuple(notes))


__all__ = ["annotate_logical", "pod_of"]
