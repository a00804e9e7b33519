"""``ovntrace path SRC DST`` and ``ovntrace snapshot``: the command line of the path engine
(:mod:`ovntrace.path`), its output being :mod:`ovntrace.render.path`. See docs/path.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

__all__ = ["main", "register"]

# the engine and its output, re-exported for callers of the old single module; imported on first use, so that
# building the ``ovntrace`` parser (``register``) loads none of it
_LAZY = {"Chain": "ovntrace.path", "NodeTrace": "ovntrace.path", "PathResult": "ovntrace.path",
         "PathUsageError": "ovntrace.path", "run_path": "ovntrace.path", "run_snapshot": "ovntrace.path",
         "render_text": "ovntrace.render.path", "to_dict": "ovntrace.render.path"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

# -- command line ---------------------------------------------------------------------------------

def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``path`` and ``snapshot`` to the ``ovntrace`` command line."""
    p = subparsers.add_parser(
        "path",
        help="trace a packet from a pod across nodes over SSH (ofproto/trace on each hop)",
        description="Trace SRC -> DST on the real cluster of an inventory: NB/SB and each node's OVS read over "
        "SSH (read-only), ofproto/trace on the source node, then on the remote chassis after a tunnel, with "
        "conntrack trk,new and trk,est. SRC/DST: logical port, namespace/pod, or IP. With --offline SNAPSHOT: "
        "no SSH; the microflows are built from the snapshot and the traces given with --trace are followed. "
        "Interconnect clusters (one NB/SB per node): each hop is read with its own node's zone. "
        "Exit: 0 traced, 1 error (SSH, OVS), 2 unknown name / bad usage, 3 partial: traced up to a tunnel to a "
        "node whose facts could not be collected (node down), printed as far as it got.",
    )
    p.add_argument("src", metavar="SRC")
    p.add_argument("dst", metavar="DST")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--icmp", dest="proto", action="store_const", const="icmp", help="ICMP echo (default)")
    g.add_argument("--tcp", dest="proto", action="store_const", const="tcp", help="TCP SYN")
    g.add_argument("--udp", dest="proto", action="store_const", const="udp", help="UDP")
    p.add_argument("--dport", type=int, metavar="N")
    p.add_argument("--sport", type=int, metavar="N")
    p.add_argument("--reverse", action="store_true",
                   help="trace the reply too (DST -> SRC: ICMP echo reply, TCP SYN-ACK, ports swapped)")
    p.add_argument("--inventory", metavar="F",
                   help="inventory TOML (default: the lab's, $OVNTRACE_LAB_DIR or /tmp/ovntrace-lab-UID)")
    p.add_argument("--accept-new", action="store_true",
                   help="record unknown host keys in known_hosts (never a changed one)")
    p.add_argument("--offline", metavar="SNAPSHOT|BUNDLE",
                   help="no SSH: facts from an `ovntrace snapshot` file, or from a sosreport bundle (a folder or "
                   "tarball of the nodes' sosreports: each hop replayed on its node, see `ovntrace replay`)")
    p.add_argument("--trace", action="append", default=[], metavar="NODE[@CT]=FILE",
                   help="with --offline: NODE's ofproto/trace output for this path (CT: trk,new (default) or "
                   "trk,est); repeat per node")
    p.add_argument("--no-logical", action="store_true",
                   help="do not run ovn-trace on the central node (by default it runs for each conntrack state "
                   "and is compared with the ofproto/traces: where the logical and physical paths diverge)")
    p.add_argument("-f", "--format", choices=("text", "json", "json1", "markdown"), default="text",
                   help="text (default), json (ovntrace.path/2), json1 (the older ovntrace.path/1), or markdown")
    p.add_argument("--hops", action="store_true",
                   help="after the path, each hop's explained trace (folded like `explain`)")
    p.add_argument("--full", action="store_true",
                   help="each hop's explained trace, unfolded: every table (implies --hops)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="nothing on stderr but errors: not the line naming the inventory and cluster used, no "
                   "progress display")
    p.add_argument("--tui", action="store_true",
                   help="open the path in the TUI: traced in the background with progress (escape cancels), "
                   "c re-traces with another conntrack state, r re-traces")
    p.set_defaults(func=cmd_path, proto="icmp")

    s = subparsers.add_parser(
        "snapshot",
        help="collect NB, SB and every node's OVS facts over SSH into one portable file (secrets redacted)",
        description="Read-only: ovsdb-client dump of NB and SB on the central node and of each node's "
        "Open_vSwitch (interconnect: every zone's NB and SB, each on its own node), written atomically as one "
        "JSON file (ovntrace.snapshot/2; /1 files are still read) that explain --context and "
        "path --offline accept. Columns and keys named like secrets (token, secret, password, private, auth, "
        "psk, api-key...) and secret-shaped values (PEM, Bearer, JWT, URL passwords) are redacted. "
        "A node that cannot be reached is recorded as such. "
        "Exit: 0 written (every node), 1 SSH error or some node or zone missing (the file is still written), 2 usage.",
    )
    s.add_argument("--inventory", metavar="F",
                   help="inventory TOML (default: the lab's, $OVNTRACE_LAB_DIR or /tmp/ovntrace-lab-UID)")
    s.add_argument("-o", "--output", metavar="FILE", required=True)
    s.add_argument("--accept-new", action="store_true",
                   help="record unknown host keys in known_hosts (never a changed one)")
    s.add_argument("-q", "--quiet", action="store_true",
                   help="nothing on stderr but errors: not the line naming the inventory and cluster used, no "
                   "progress display")
    s.set_defaults(func=cmd_snapshot)


def inventory_line(inventory: str | Path | None) -> str | None:
    """The inventory a command reads and why, with its cluster, in the words of ``doctor`` and ``provision
    plan`` (:func:`ovntrace.lab.selection.describe`): ``inventory F (selected by --inventory), cluster 'seed'
    (central, 3 nodes)``. None when there is no usable inventory: the command itself then says what is wrong."""
    from ovntrace.lab import selection
    from ovntrace.lab.errors import LabError

    try:
        sel = selection.select(inventory)
        return selection.describe(selection.load(sel), sel)
    except LabError:
        return None


def say_inventory(command: str, inventory: str | Path | None, stderr: TextIO) -> None:
    """One stderr line naming the inventory and cluster used (stdout, JSON included, stays the answer)."""
    from ovntrace.render.safe import escape

    line = inventory_line(inventory)
    if line is not None:
        stderr.write(f"ovntrace {command}: {escape(line)}\n")
        stderr.flush()


def _trace_args(specs: Sequence[str]) -> dict[tuple[str, str], Path]:
    from ovntrace.path import CT_STATES, PathUsageError

    out: dict[tuple[str, str], Path] = {}
    for spec in specs:
        key, sep, f = spec.partition("=")
        node, _, ct = key.partition("@")
        if not sep or not node or not f or (ct and ct not in CT_STATES):
            raise PathUsageError(f"--trace {spec!r}: expected NODE=FILE or NODE@trk,est=FILE")
        out[(node, ct or "trk,new")] = Path(f)
    return out


def cmd_path(args: argparse.Namespace, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    from ovntrace.correlate import path as P
    from ovntrace.path import PathUsageError, run_path
    from ovntrace.render.path import render_text, to_dict
    from ovntrace.render.safe import escape
    from ovntrace.sources.errors import SourceError
    from ovntrace.sources.ssh import SshError

    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    if args.tui:
        try:
            return _path_tui(args)
        except PathUsageError as e:
            stderr.write(f"ovntrace path: {escape(str(e))}\n")
            return 2
    try:
        if args.trace and not args.offline:
            raise PathUsageError("--trace NODE=FILE goes with --offline SNAPSHOT")
        if args.offline and _is_bundle(args.offline):
            if args.trace:
                raise PathUsageError("--trace NODE=FILE goes with a snapshot: from a bundle every hop is replayed")
            from ovntrace.replay.path import run_bundle_path

            r = run_bundle_path([args.offline], args.src, args.dst, args.proto, args.dport, args.sport,
                                reverse=args.reverse)
        else:
            traces = _trace_args(args.trace)
            if not args.offline and not args.quiet:
                say_inventory("path", args.inventory, stderr)
            r = run_path(args.src, args.dst, args.inventory, args.proto, args.dport, args.sport, args.accept_new,
                         reverse=args.reverse, offline=args.offline, traces=traces,
                         progress=None if args.quiet else stderr, logical=not args.no_logical)
    except (PathUsageError, P.PathError) as e:
        stderr.write(f"ovntrace path: {escape(str(e))}\n")
        return 2
    except (SshError, SourceError) as e:
        stderr.write(f"ovntrace path: {escape(str(e))}\n")
        return 1
    if args.format == "json":
        from ovntrace.render.contract import dumps, path_doc

        stdout.write(dumps(path_doc(r)))
    elif args.format == "json1":
        stdout.write(json.dumps(to_dict(r), separators=(",", ":")) + "\n")
    else:
        stdout.write(render_text(r, full=args.full, markdown=args.format == "markdown", hops=args.hops))
    if r.partial:
        from ovntrace.path.model import EXIT_PARTIAL

        return EXIT_PARTIAL
    return 0


def _is_bundle(path: str) -> bool:
    """A sosreport or must-gather (folder or tarball) rather than an ``ovntrace snapshot`` file."""
    from ovntrace.sources.bundle import is_bundle

    return is_bundle(path)


def _path_tui(args: argparse.Namespace) -> int:
    """``path --tui``: checks what can be checked before the screen opens, then traces inside the TUI."""
    from ovntrace.path import PathUsageError
    from ovntrace.path.collect import _load_inventory

    if args.reverse or args.format != "text":
        raise PathUsageError("--tui shows one direction in the terminal UI; --reverse and --format are for the "
                             "printed path")
    if args.trace and not args.offline:
        raise PathUsageError("--trace NODE=FILE goes with --offline SNAPSHOT")
    traces = tuple((n, ct, str(f)) for (n, ct), f in _trace_args(args.trace).items())
    inventory = None
    inv_path: Path | None = None
    if args.offline is None or args.inventory:
        inventory, inv_path = _load_inventory(args.inventory)
    from ovntrace.tui.app import create_app
    from ovntrace.tui.live import PathRequest
    from ovntrace.tui.source import Options

    request = PathRequest(args.src, args.dst, str(inv_path) if inv_path else None, args.proto, args.dport,
                          args.sport, args.accept_new, args.offline, traces)
    app = create_app(None, Options(inventory=inventory, live=request, doctor=False))
    return int(app.run() or 0)

def cmd_snapshot(args: argparse.Namespace, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    from ovntrace.path import PathUsageError, run_snapshot
    from ovntrace.sources.errors import SourceError
    from ovntrace.sources.ssh import SshError

    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    if not args.quiet:
        say_inventory("snapshot", args.inventory, stderr)
    try:
        snap = run_snapshot(args.inventory, args.output, args.accept_new, progress=None if args.quiet else stderr)
    except PathUsageError as e:
        stderr.write(f"ovntrace snapshot: {e}\n")
        return 2
    except (SshError, SourceError) as e:
        stderr.write(f"ovntrace snapshot: {e}\n")
        return 1
    st = snap.doc["stats"]
    ok = [n for n in snap.nodes if n not in snap.errors]
    zones = snap.doc.get("zones") or {}
    dbs = "NB, SB" if not zones else \
        f"the NB/SB of {len(zones) - len(snap.zone_errors)} of {len(zones)} zones"
    stdout.write(f"wrote {args.output}: {dbs} and {len(ok)} of {len(snap.nodes)} nodes ({', '.join(ok)}); "
                 f"{len(snap.doc['redacted'])} values redacted; {st['bytes']} bytes "
                 f"({st['connections']} connections, {st['commands']} commands, {st['seconds']:.2f} s)\n")
    for node, err in snap.errors.items():
        stderr.write(f"ovntrace snapshot: {node} not collected: {err}\n")
    for zone, err in snap.zone_errors.items():
        stderr.write(f"ovntrace snapshot: zone {zone}'s NB/SB not collected: {err}\n")
    return 1 if snap.errors or snap.zone_errors else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ovntrace")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv) if argv is not None else sys.argv[1:])
    rc: int = args.func(args)
    return rc


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
