"""``ovntrace path`` output: the path as JSON (``ovntrace.path/1``), text or Markdown."""

from __future__ import annotations

import io
from typing import Any

from ovntrace.correlate import path as P
from ovntrace.path.model import SCHEMA, Chain, PathResult
from ovntrace.path.stitch import _outcome


def _ep(e: P.Endpoint) -> dict[str, Any]:
    out: dict[str, Any] = {"spec": e.spec, "logical_port": e.lsp, "ip": e.ip, "mac": e.mac, "label": e.label}
    if e.vip:
        out["vip"] = dict(e.vip)
        out["backends"] = list(e.backends)
    return out


def _chains_dict(chains: list[Chain], ctx: Any = None) -> list[dict[str, Any]]:
    from ovntrace.render.compare import path_json
    from ovntrace.render.json import to_dict as explain_dict

    out: list[dict[str, Any]] = [{"ct": c.ct, "path": c.line, "hops": c.segments, "verdict": c.verdict,
            "traces": [{"node": t.node, "ct": t.ct, "flow": t.flow, "command": t.command,
                        "seconds": round(t.seconds, 3),
                        "explain": explain_dict(t.result, ovn=[t.ovn])} for t in c.traces],
            **({"logical": path_json(c)} if c.logical is not None else {})}
           for c in chains]
    if ctx is not None and ctx.zones:  # interconnect: the zone each trace was read with (an added key)
        for c, d in zip(chains, out, strict=True):
            for t, td in zip(c.traces, d["traces"], strict=True):
                z = ctx.zone_of(t.node)
                td["zone"] = z.name if z is not None else None
    return out


def _ep_zone(e: P.Endpoint, ctx: Any) -> dict[str, Any]:
    return {"zone": e.zone} if ctx is not None and ctx.zones else {}


def to_dict(r: PathResult) -> dict[str, Any]:
    main = r.chains[0]
    ctx = r.context
    out: dict[str, Any] = {
        "schema": SCHEMA,
        "src": {**_ep(r.src), "node": r.src_node, **_ep_zone(r.src, ctx)},
        "dst": {**_ep(r.dst), **_ep_zone(r.dst, ctx)},
        "path": main.line,
        "hops": main.segments,
        "verdict": main.verdict,
        "conntrack": _chains_dict(r.chains, ctx),
        "stats": r.stats,
    }
    if r.partial:
        out["partial"] = True
    if r.reverse is not None:
        rv = r.reverse
        rmain = rv.chains[0] if rv.chains else None
        out["reverse"] = {
            "src": {**_ep(rv.src), "node": rv.src_node, **_ep_zone(rv.src, ctx)} if rv.src else None,
            "dst": {**_ep(rv.dst), **_ep_zone(rv.dst, ctx)} if rv.dst else None,
            "path": rmain.line if rmain else None, "hops": rmain.segments if rmain else [],
            "verdict": rmain.verdict if rmain else None, "conntrack": _chains_dict(rv.chains, ctx),
            "note": rv.note, "agree": rv.disagree is None if rv.chains else None, "disagree": rv.disagree,
        }
    return out


def _verdict_line(c: Chain) -> str:
    v = c.verdict
    head = "DELIVERED" if v.get("delivered") else "GATEWAY" if v.get("gateway") else str(v.get("kind", "?")).upper()
    return f"{head} on {v.get('node')}: {v.get('cause')}"


def _chain_lines(chains: list[Chain], markdown: bool, prefix: str = "") -> list[str]:
    from ovntrace.render.safe import escape, md_code, md_text

    md = md_text if markdown else escape  # names and causes come from the databases and the traces
    out: list[str] = []
    for c in chains:
        label = prefix + ("ct trk,new" if c.ct == "trk,new" else f"ct {c.ct} (--ct-next {c.ct})")
        if markdown:
            out += [f"**{md(label)}**: {md_code(c.line)}", "", f"verdict: {md(_verdict_line(c))}", ""]
        else:
            out += [f"{label}: {md(c.line)}", f"  verdict: {md(_verdict_line(c))}"]
        if c.verdict.get("note"):
            out.append(("" if markdown else "  ") + f"note: {md(c.verdict['note'])}")
        from ovntrace.render.compare import path_lines

        out += path_lines(c, markdown)
    if chains[1:] and chains[1].verdict.get("kind") != chains[0].verdict.get("kind"):
        out.append(("" if markdown else "  ") + "note: established traffic ends differently from a new connection")
    return out


def render_text(r: PathResult, full: bool = False, markdown: bool = False, hops: bool | None = None) -> str:
    """The path as text or Markdown; ``hops``: each hop's explained trace after the path (default: with ``full``);
    ``full``: those traces unfolded (every table, no no-op runs folded).
    Names, causes and errors come from the cluster: in Markdown each is
    escaped (:func:`ovntrace.render.safe.md_text`); in both, control characters show as ``\\x1b``."""
    from ovntrace.render.safe import escape, escape_lines, md_code, md_text

    md = md_text if markdown else escape
    ind = "" if markdown else "  "
    out = _chain_lines(r.chains, markdown)
    if r.reverse is not None:
        rv = r.reverse
        if rv.chains:
            out += _chain_lines(rv.chains, markdown, "reply, ")
        if rv.note:
            out.append(f"{ind}note: reply: {md(rv.note)}")
        if rv.disagree:
            out.append(f"{ind}note: {md(rv.disagree)}")
        elif rv.chains:
            out.append(f"{ind}note: both directions agree "
                       f"({md(_outcome(r.chains[0]))}, {md(_outcome(rv.chains[0]))})")
    s = r.stats
    for node, err in (s.get("not_collected") or {}).items():
        out.append(f"{ind}note: {md(node)} not collected: {md(str(err))}")
    for zone, err in (s.get("zones_not_collected") or {}).items():
        out.append(f"{ind}note: zone {md(zone)}'s NB/SB not collected: {md(str(err))}")
    if s.get("replayed") is not None:  # path --offline BUNDLE: each hop replayed (ovntrace.replay.path)
        out.append(f"(offline, replayed from bundle {md(str(s['offline']))} on "
                   f"{md(', '.join(s['replayed']) or 'no node')}: a private dummy-datapath ovs-vswitchd per node, "
                   f"conntrack as chosen, no kernel datapath, meters or real tunnels; {s['seconds']:.2f} s)")
    elif s.get("offline"):
        out.append(f"(offline, from snapshot {md(str(s['offline']))}: no command run)")
    else:
        out.append(f"({s['connections']} connections, {s['commands']} commands, {s['seconds']:.2f} s)")
    if full if hops is None else (hops or full):
        all_chains = r.chains + (r.reverse.chains if r.reverse else [])
        for c in all_chains:
            for t in c.traces:
                out += ["", f"### {md(t.node)}, ct {t.ct}: {md_code(t.command)}" if markdown
                        else f"== {md(t.node)}, ct {t.ct}: {md(t.command)}"]
                if markdown:
                    from ovntrace.render import markdown as md_render

                    out.append(md_render.render(t.result, full=full, ovn=[t.ovn]))
                else:
                    from ovntrace.render import text as tr

                    buf = io.StringIO()
                    tr.render(t.result, buf, full=full, color=False, ovn=[t.ovn])
                    out.append(buf.getvalue().rstrip("\n"))
            from ovntrace.render.compare import path_hop

            out += path_hop(c, markdown, full)
    return escape_lines("\n".join(out)) + "\n"
