"""argparse wiring and rendering of ``ovntrace doctor``.

Exit status: 0 no errors (warnings allowed), 1 errors found, 2 usage (no inventory, unknown node).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from ovntrace.lab.errors import LabError
from ovntrace.render.safe import escape, escape_lines, json_text

if TYPE_CHECKING:  # the checks load when doctor runs, not when the CLI registers it
    from ovntrace.doctor.checks import Report


def render_text(report: Report, seconds: float | None = None) -> str:
    from ovntrace.doctor.checks import ERROR

    out: list[str] = []
    for node in report.nodes + sorted({f.node for f in report.findings} - set(report.nodes)):
        mine = [f for f in report.findings if f.node == node]
        out.append(f"{node}: " + ("ok" if not mine else
                                  f"{sum(f.severity == ERROR for f in mine)} error(s), "
                                  f"{sum(f.severity != ERROR for f in mine)} warning(s)"))
        for f in mine:
            out.append(f"  {f.severity.upper()} [{f.check}] {f.message}")
            for e in f.evidence:
                out.append(f"      read: {e}")
            if f.fix is not None:
                out.append(f"      fix:  runbook step {f.fix.node}:{f.fix.step} ({f.fix.comment})")
                out.append(f"            $ {f.fix.command}")
                out.append(f"            or: {f.fix.apply}")
                if f.fix.hint:
                    out.append(f"            note: {f.fix.hint}")
    errs = len(report.errors)
    warns = len(report.findings) - errs
    tail = f" in {seconds:.1f}s" if seconds is not None else ""
    out.append(f"{report.checks} checks on {len(report.nodes)} node(s){tail}: {errs} error(s), {warns} warning(s)")
    return "\n".join(out) + "\n"


def run_doctor(inventory: str | None, node: str | None = None, accept_new: bool = False,
               on_step: Callable[[int, int, str], None] | None = None) -> Report:
    """Collect over SSH and check; ``on_step(done, total, what)`` after each command (may raise to stop)."""
    from ovntrace.doctor.checks import check
    from ovntrace.doctor.facts import collect
    from ovntrace.lab import selection
    from ovntrace.lab.apply import open_pool, select_inventory

    inv, path, how = select_inventory(inventory)
    if node is not None:
        inv.node(node)
    nodes = [node] if node else inv.node_names
    with open_pool(inv, path, accept_new) as pool:
        facts = collect(inv, pool, nodes, on_step)
    report = check(inv, facts, nodes, inventory)
    report.inventory = selection.describe(inv, selection.Selected(path, how))
    return report


def cmd_doctor(args: argparse.Namespace, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    t0 = time.monotonic()
    try:
        report = run_doctor(args.inventory, args.node, args.accept_new)
    except LabError as e:
        err.write(f"ovntrace doctor: {escape(str(e))}\n")
        return 2 if e.exit_code == 1 and "no node" in str(e) else e.exit_code
    took = time.monotonic() - t0
    from ovntrace.doctor.checks import to_json

    err.write(f"ovntrace doctor: {escape(report.inventory)}\n")  # which inventory and cluster, always
    # evidence is node output (names from its databases): nothing raw reaches the terminal
    out.write(json_text(to_json(report)) + "\n" if args.format == "json" else escape_lines(render_text(report, took)))
    return 1 if report.errors else 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``ovntrace doctor``."""
    p = subparsers.add_parser(
        "doctor",
        help="check the cluster against the runbook over SSH; each finding with the step that fixes it",
        description="Read (only) each node over SSH: OVS, the chassis' external_ids, ovn-controller and its SB "
        "connection, the chassis in SB, tunnels, br-int; on the central node NB/SB, ovn-northd and the "
        "logical topology (interconnect: on every node its own zone's, with the transit switch, remote ports "
        "and chassis, and routes). Exit 1 when there are errors.",
    )
    p.add_argument("--inventory", help="inventory TOML (default: $OVNTRACE_INVENTORY, the config file's "
                   "inventory, else the lab's inventory.toml)")
    p.add_argument("--node", help="only this node (the central node's findings about it included)")
    p.add_argument("-f", "--format", choices=["text", "json"], default="text")
    p.add_argument("--accept-new", action="store_true", help="record unknown SSH host keys (never changed ones)")
    p.set_defaults(func=cmd_doctor)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ovntrace")
    register(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
