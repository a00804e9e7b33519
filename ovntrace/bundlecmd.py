"""``ovntrace bundle PATH`` (what a sosreport / must-gather holds) and ``ovntrace replay BUNDLE --on NODE FLOW``
(the node's br-int rebuilt in a private ovs-vswitchd, the real ofproto/trace, explained). See docs/bundles.md.

Exit status of ``bundle``: 0 every member read, 1 something damaged or missing (listed; the rest is still
shown), 2 not a bundle / bad usage. ``replay``: 0 traced, 1 error (a damaged bundle, OVS failed), 2 bad usage /
unknown node / the bundle cannot be replayed (says what it lacks), 4 Open vSwitch not installed.
"""

from __future__ import annotations

import argparse
import io
import json
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``bundle`` and ``replay`` to the ``ovntrace`` command line."""
    b = subparsers.add_parser(
        "bundle",
        help="say what a sosreport or must-gather holds (nodes, releases, databases, replayable traces)",
        description="Read a sosreport (folder or .tar.xz/.tar.gz), several of them, a must-gather folder or its "
        "network_logs/ovnk_database_store.tar.gz, in place (tar members streamed, nothing extracted), and say "
        "what it holds: nodes (hostname, system-id), zones, OVS/OVN releases, NB/SB databases (standalone or "
        "clustered) and their sizes, OpenFlow dumps, and which nodes a trace could be replayed on. Damaged or "
        "missing members (a truncated archive, a database whose checksum fails, no manifest) are listed. "
        "Exit: 0 all read, 1 something damaged or missing (listed), 2 not a bundle / bad usage.",
    )
    b.add_argument("paths", nargs="+", metavar="PATH", help="sosreport(s) or must-gather (folder or archive)")
    b.add_argument("-f", "--format", choices=("text", "json"), default="text",
                   help="text (default) or json (ovntrace.bundle/2)")
    b.add_argument("--members", action="store_true", help="text: list every member not used too")
    b.set_defaults(func=cmd_bundle)

    r = subparsers.add_parser(
        "replay",
        help="replay a trace offline: a node's br-int rebuilt from its sosreport in a private ovs-vswitchd",
        description="Rebuild NODE's bridges from its sosreport in a private, loopback-only ovs-vswitchd with the "
        "dummy datapath (its own ovsdb-server and conf.db in a temporary directory, unix sockets only): ports "
        "with their ofport numbers and types, the underlay's routes and tunnel neighbours, the TLV map, groups, "
        "then the flows; run the real ofproto/trace of FLOW there and explain it with the bundle's NB/SB (and "
        "--context). Everything started is stopped and removed, also on Ctrl-C or an error. The output says "
        "where a replay can differ from the live node. Exit: 0 traced, 1 error, 2 bad usage / unknown node / "
        "not replayable (says what is missing), 4 Open vSwitch not installed.",
    )
    r.add_argument("bundle", metavar="BUNDLE", help="the node's sosreport (folder or archive), or a folder of them")
    r.add_argument("flow", metavar="FLOW", help="the microflow, as for ovs-appctl ofproto/trace (in_port=N,...)")
    r.add_argument("--on", metavar="NODE", help="the node (hostname, system-id or sosreport name); "
                   "needed when BUNDLE holds several")
    r.add_argument("--bridge", default="br-int", help="the bridge to trace on (default br-int)")
    r.add_argument("--ct-next", action="append", default=[], metavar="FLAGS",
                   help="conntrack state after each ct() (ofproto/trace --ct-next, e.g. trk,est); repeat")
    r.add_argument("--context", action="append", default=[], metavar="SOURCE",
                   help="more cluster facts: the central node's sosreport, NB/SB files, a must-gather ...")
    r.add_argument("-f", "--format", choices=("text", "json", "markdown"), default="text")
    r.add_argument("--raw", action="store_true", help="print the replayed ofproto/trace text only")
    r.add_argument("--full", action="store_true", help="show every table (do not fold no-op runs)")
    r.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    r.set_defaults(func=cmd_replay)


# -- bundle -------------------------------------------------------------------------------------------


def _size(n: int) -> str:
    from ovntrace.sources.limits import human

    return human(n)


def cmd_bundle(args: argparse.Namespace, stdout: TextIO | None = None) -> int:
    from ovntrace.cli import CliError, ExitStatus
    from ovntrace.sources.bundle import INVENTORY_KINDS, inventory, open_bundle
    from ovntrace.sources.errors import SourceError

    out = stdout or sys.stdout
    try:
        b = open_bundle(args.paths, INVENTORY_KINDS)
    except SourceError as e:
        raise CliError(str(e), ExitStatus.NO_TRACE) from None
    inv = inventory(b)
    if args.format == "json":
        from ovntrace.render.contract import dumps

        out.write(dumps(inv))  # the layout of every /2 document (docs/json-contract.md)
    else:
        out.write(render_inventory(inv, members=args.members))
    return 1 if inv["problems"] else 0


def render_inventory(inv: dict[str, Any], members: bool = False) -> str:
    from ovntrace.render.safe import escape

    lines = [f"bundle: {escape(', '.join(inv['paths']))} (read in {inv['open_seconds']:.2f} s)"]
    for n in inv["nodes"]:
        ident = [f"hostname {n['hostname']}" if n["hostname"] else "", f"system-id {n['system_id']}"
                 if n["system_id"] else ""]
        rel = [f"sos {n['sos_version']}" if n["sos_version"] else "", f"OVS {n['ovs_version']}" if n["ovs_version"]
               else "", f"OVN {n['ovn_version']}" if n["ovn_version"] else ""]
        head = f"node {n['node']}" + (f" (zone {n['zone']})" if n["zone"] else "")
        lines.append("")
        lines.append(escape(f"{head}: {n['kind']} {n['root']}"))
        if any(ident):
            lines.append(escape("  " + ", ".join(x for x in ident if x)))
        lines.append("  releases: " + escape(", ".join(x for x in rel if x) or "unknown"))
        for db in n["databases"]:
            fmt = db["format"] or "not read"  # null in JSON: the member was not read
            lines.append(escape(f"  {db['database']}: {db['member']} ({_size(db['size'])}, {fmt})"))
        for br, f in n["flows"].items():
            lines.append(escape(f"  flows {br}: {f['member']} ({f['openflow']}, {_size(f['size'])})"))
        has = [k for k, v in n["has"].items() if v]
        lacks = [k for k, v in n["has"].items() if not v]
        lines.append("  has: " + (", ".join(has) or "none") + ("; lacks: " + ", ".join(lacks) if lacks else ""))
        rp = n["replay"]
        lines.append("  replay: " + ("possible" if rp["possible"] else "not possible"))
        for note in rp["notes"]:
            lines.append(escape(f"    - {note}"))
        lines.append(f"  members: {n['members']} ({len(n['unused_members'])} not used)")
        if members:
            for m in n["unused_members"]:
                lines.append(escape(f"    {m}"))
    if inv.get("other_members"):
        lines.append(f"\nother members (no zone's database): {inv['other_members']}")
    lines.append("")
    if inv["problems"]:
        lines.append(f"damaged or missing ({len(inv['problems'])}):")
        for p in inv["problems"]:
            lines.append(escape(f"  {p['where']}: {p['what']}"))
    else:
        lines.append("damaged or missing: nothing")
    return "\n".join(lines) + "\n"


# -- replay -------------------------------------------------------------------------------------------


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops a replay like Ctrl-C: the private switch is stopped and removed on the way out."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        old = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def cmd_replay(args: argparse.Namespace, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    from ovntrace.cli import CliError, ExitStatus
    from ovntrace.replay.engine import replay
    from ovntrace.replay.switch import ReplayError
    from ovntrace.sources.bundle import REPLAY_KINDS, bundle_context, open_bundle
    from ovntrace.sources.errors import SourceError

    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        b = open_bundle([args.bundle], REPLAY_KINDS)
    except SourceError as e:
        raise CliError(str(e), ExitStatus.NO_TRACE) from None
    sos = [r for r in b.reports if r.kind == "sosreport"]
    if args.on:
        try:
            rep = b.report(args.on)
        except SourceError as e:
            raise CliError(str(e), ExitStatus.NO_TRACE) from None
    elif len(sos) == 1:
        rep = sos[0]
    else:
        raise CliError(f"{args.bundle}: holds {len(sos)} sosreports ({', '.join(r.name for r in sos) or 'none'}): "
                       "say which with --on NODE", ExitStatus.NO_TRACE)
    for p in b.problems:
        err.write(f"ovntrace: warning: {p}\n")
    try:
        with _sigterm_as_interrupt():
            res = replay(rep, args.flow, args.bridge, tuple(args.ct_next))
    except ReplayError as e:
        raise CliError(str(e), ExitStatus(e.exit_code) if e.exit_code in (1, 2) else ExitStatus.ERROR) from None
    if args.raw:
        out.write(res.trace)
        return 0
    # explain it with the bundle's facts (and --context)
    from ovntrace.correlate import Correlator
    from ovntrace.parser import parse
    from ovntrace.sources.load import load_context, merge_sources

    try:
        ctx = bundle_context(b)
        for src in args.context:
            ctx = merge_sources(ctx, load_context(src))
    except SourceError as e:
        raise CliError(f"cannot load cluster facts: {e}") from None
    result = parse(res.trace)
    from ovntrace.cli import _context_warnings

    on = _context_warnings(ctx, rep.name, err)
    correlator = Correlator(ctx, None, on)
    ovn = [correlator.annotate(t) for t in result.traces]
    head = _header(res, rep)
    if args.format == "json":
        from ovntrace.render import json as json_render

        buf = io.StringIO()
        json_render.write_format("json", result, buf, ovn=ovn)  # the trace explained: ovntrace.explain/2
        doc = {"schema": "ovntrace.replay/2", **head, "trace": res.trace, "explain": json.loads(buf.getvalue())}
        from ovntrace.render.contract import dumps

        out.write(dumps(doc))  # the layout of every /2 document (docs/json-contract.md)
        return 0
    if args.format == "markdown":
        from ovntrace.render import markdown

        out.write(_header_text(head, md=True))
        out.write(markdown.render(result, full=args.full, ovn=ovn))
        return 0
    import os

    from ovntrace.render import text as text_render

    color: bool | None = None
    if args.color == "always":
        color = True
    elif args.color == "never" or os.environ.get("NO_COLOR"):
        color = False
    out.write(_header_text(head))
    text_render.render(result, out, full=args.full, color=color, ovn=ovn)
    return 0


def _header(res: Any, rep: Any) -> dict[str, Any]:
    bl = res.built
    return {
        "node": res.node, "report": rep.root, "origin": rep.origin, "flow": res.flow, "bridge": res.bridge,
        "replay_ovs_version": res.ovs_version, "node_ovs_version": res.node_ovs_version,
        "built": {"bridges": bl.bridges, "ports": bl.ports, "flows": bl.flows, "groups": bl.groups, "tlv_map": bl.tlv,
                  "routes": bl.routes, "neighbours": bl.neighbours, "seconds": round(bl.seconds, 3)},
        "trace_seconds": round(res.trace_seconds, 3),
        "notes": bl.notes, "differences": list(res.differences),
    }


def _header_text(h: dict[str, Any], md: bool = False) -> str:
    from ovntrace.render.safe import escape

    bl = h["built"]
    ports = sum(1 for p in bl["ports"] if p["bridge"] == h["bridge"])
    bullet = "- " if md else "  - "
    lines = [
        escape(f"replay of {h['node']} from {h['report']}: {h['bridge']} rebuilt in a private ovs-vswitchd "
               f"(OVS {h['replay_ovs_version'] or '?'}, dummy datapath; the node ran OVS "
               f"{h['node_ovs_version'] or '?'}): {ports} ports, {bl['flows'].get(h['bridge'], 0)} flows, "
               f"{bl['groups'].get(h['bridge'], 0)} groups from the bundle; built in {bl['seconds']:.2f} s"),
        escape(f"flow: {h['flow']}"),
    ]
    if h["notes"]:
        lines.append("what the bundle lacked:" if not md else "\n**What the bundle lacked:**\n")
        lines += [escape(bullet + n) for n in h["notes"]]
    lines.append("where a replay can differ from the live node:" if not md else
                 "\n**Where a replay can differ from the live node:**\n")
    lines += [escape(bullet + d) for d in h["differences"]]
    return "\n".join(lines) + "\n\n"
