"""The ``/2`` JSON documents of the other commands (docs/json-contract.md): ``ovntrace.path/2``,
``ovntrace.doctor/2``, ``ovntrace.lab-status/2``, ``ovntrace.snapshot/2``.

Each takes what the command already has (its result objects or its ``/1`` dict) and returns the ``/2``
document in the rules of :mod:`ovntrace.render.json_v2`: every key present (``null`` when unknown), decimal
OVS values as numbers, hops as structured objects, one compact ASCII line (:func:`dumps`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ovntrace.render import json_v2 as J

PATH = "ovntrace.path/2"
DOCTOR = "ovntrace.doctor/2"
LAB_STATUS = "ovntrace.lab-status/2"
SNAPSHOT = "ovntrace.snapshot/2"


def dumps(doc: Mapping[str, Any]) -> str:
    """Every ``/2`` document's layout: one line with ``json.dumps``'s separators (``, `` and ``: ``), ASCII only
    (``\\uXXXX`` escapes), a newline."""
    return json.dumps(doc) + "\n"


# -- path ------------------------------------------------------------------------------------------------

PATH_VERDICT_KEYS = ("kind", "delivered", "node", "line", "cause", "outport", "acl", "gateway", "note", "command")


def _endpoint(e: Any, node: str | None) -> dict[str, Any] | None:
    if e is None:
        return None
    return {"spec": e.spec, "logical_port": e.lsp, "ip": e.ip, "mac": e.mac, "label": e.label, "node": node,
            "vip": J.plain(e.vip) if e.vip else None, "backends": list(e.backends),
            "zone": getattr(e, "zone", None)}


def path_verdict(v: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if v is None:
        return None
    out = {k: J.plain(v.get(k)) for k in PATH_VERDICT_KEYS}
    out["delivered"] = bool(out["delivered"])
    if isinstance(out["gateway"], dict):
        out["gateway"] = {"port": None, "bridge": None, **out["gateway"]}
    out.update((k, J.plain(x)) for k, x in v.items() if k not in out)
    return out


def chain_hops(c: Any) -> list[dict[str, Any]]:
    """The chain's hops, node by node: each node's logical path (datapath pipelines) and the tunnel between
    nodes (from the sending node's OVN verdict; ``to_node`` the node whose trace follows)."""
    out: list[dict[str, Any]] = []
    traces = list(c.traces)
    for i, t in enumerate(traces):
        ovn = t.ovn
        if ovn is None:
            continue
        verdict = t.result.traces[0].verdict if t.result.traces else None
        for h in ovn.path:
            tun = J.hop_tunnel(h, verdict, ovn.verdict) if verdict is not None else None
            if tun is not None:
                tun["to_node"] = traces[i + 1].node if i + 1 < len(traces) else None
            out.append(J.hop_dict(h, t.node, tun))
    return out


def _zone_name(ctx: Any, node: str) -> str | None:
    """Interconnect: the zone a node's trace was explained with (None in a central cluster)."""
    if ctx is None or not getattr(ctx, "zones", None):
        return None
    z = ctx.zone_of(node)
    return z.name if z is not None else None


def _chains(chains: list[Any], ctx: Any = None) -> list[dict[str, Any]]:
    from ovntrace.render.compare import path_json

    return [{"ct": c.ct, "path": c.line, "hops": chain_hops(c), "verdict": path_verdict(c.verdict),
             "traces": [{"node": t.node, "ct": t.ct, "flow": t.flow, "command": t.command,
                         "seconds": round(t.seconds, 3), "explain": J.to_dict(t.result, [t.ovn]),
                         "zone": _zone_name(ctx, t.node)}
                        for t in c.traces],
             "logical": path_json(c) if getattr(c, "logical", None) is not None else None}
            for c in chains]


def path_stats(s: Mapping[str, Any]) -> dict[str, Any]:
    out = {"connections": s.get("connections"), "commands": s.get("commands"),
           "collect_seconds": s.get("collect_seconds"), "seconds": s.get("seconds"),
           "offline": s.get("offline"), "not_collected": dict(s.get("not_collected") or {})}
    out.update((k, J.plain(v)) for k, v in s.items() if k not in out)
    return out


def path_doc(r: Any) -> dict[str, Any]:
    """``ovntrace path --format json`` (a :class:`ovntrace.path.model.PathResult`)."""
    main = r.chains[0]
    out: dict[str, Any] = {
        "schema": PATH,
        "src": _endpoint(r.src, r.src_node),
        "dst": _endpoint(r.dst, main.verdict.get("node") if main.verdict.get("delivered") else None),
        "path": main.line,
        "hops": chain_hops(main),
        "verdict": path_verdict(main.verdict),
        "conntrack": _chains(r.chains, r.context),
        "stats": path_stats(r.stats),
        "reverse": None,
        "partial": bool(r.partial),
    }
    if r.reverse is not None:
        rv = r.reverse
        rmain = rv.chains[0] if rv.chains else None
        out["reverse"] = {
            "src": _endpoint(rv.src, rv.src_node),
            "dst": _endpoint(rv.dst, rmain.verdict.get("node") if rmain and rmain.verdict.get("delivered") else None),
            "path": rmain.line if rmain else None, "hops": chain_hops(rmain) if rmain else [],
            "verdict": path_verdict(rmain.verdict if rmain else None), "conntrack": _chains(rv.chains, r.context),
            "note": rv.note, "agree": rv.disagree is None if rv.chains else None, "disagree": rv.disagree,
        }
    return out


# -- doctor ----------------------------------------------------------------------------------------------

FIX_KEYS = ("node", "step", "comment", "command", "apply", "hint")


def doctor_doc(report: Any) -> dict[str, Any]:
    """``ovntrace doctor --format json`` (a :class:`ovntrace.doctor.checks.Report`)."""
    findings = []
    for fd in report.findings:
        d = fd.to_json()
        fix = d.get("fix")
        d["fix"] = {k: fix.get(k) for k in FIX_KEYS} if fix else None
        findings.append(d)
    return {"schema": DOCTOR, "nodes": list(report.nodes), "checks": report.checks,
            "errors": sum(1 for f in findings if f["severity"] == "error"),
            "warnings": sum(1 for f in findings if f["severity"] == "warning"),
            "findings": findings}


# -- lab status ------------------------------------------------------------------------------------------


def lab_status_doc(st: Mapping[str, Any], release: str | None = None) -> dict[str, Any]:
    """``ovntrace lab status --format json`` (:meth:`ovntrace.lab.lab.Lab.status`)."""
    procs = [{"node": p.get("node"), "name": p.get("name"), "pid": p.get("pid"), "start": p.get("start"),
              "alive": bool(p.get("alive"))} for p in st.get("processes", [])]
    return {
        "schema": LAB_STATUS,
        "dir": str(st.get("dir")) if st.get("dir") is not None else None,
        "state": "running" if st.get("running") else "degraded",
        "running": bool(st.get("running")),
        "release": release,
        "tunnel_form": st.get("tunnel_form"),
        "processes": procs,
        "chassis": [{"name": c.get("name"), "hostname": c.get("hostname"), "encap": c.get("encap") or None,
                     "ip": c.get("ip") or None} for c in st.get("chassis", [])],
        "tunnels": {node: [{"name": t.get("name"), "type": t.get("type"), "options": t.get("options")}
                           for t in tuns] for node, tuns in (st.get("tunnels") or {}).items()},
        "ssh_config": st.get("ssh_config"),
        "errors": [str(e) for e in st.get("errors", [])],
    }


# -- snapshot --------------------------------------------------------------------------------------------


def snapshot_doc(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A snapshot file's document (``ovntrace.snapshot/1`` or ``/2``) in ``/2`` form: the same tables
    (``ovsdb-client`` JSON, as read: they are data, not ovntrace's), every node with
    ``ovs``/``error``/``error_kind``, every zone, fixed stats. ``ovntrace snapshot`` writes this form itself
    (:func:`ovntrace.sources.snapshot.v2`, the one definition)."""
    from ovntrace.sources.snapshot import v2

    return v2(dict(doc))
