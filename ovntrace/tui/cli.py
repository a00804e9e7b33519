"""``ovntrace tui [TRACE|-] [--nb …] [--sb …] [--context …] [--inventory F]``: argparse wiring.

``register(subparsers)`` adds the command (``ovntrace/cli.py`` calls it); ``main`` runs it alone
(``python -m ovntrace.tui``). Textual is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TextIO


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", nargs="?", default=None, metavar="TRACE",
                   help="trace file, or - for stdin; none: a paste screen")
    p.add_argument("--nb", action="append", metavar="SOURCE",
                   help="Northbound database (file, dump, show output or live remote)")
    p.add_argument("--sb", action="append", metavar="SOURCE",
                   help="Southbound database (file, dump, show output or live remote)")
    p.add_argument("--context", action="append", metavar="SOURCE",
                   help="any cluster source, recognised by content (a snapshot too)")
    p.add_argument("--no-doctor", action="store_true",
                   help="with --inventory, do not run the (read-only, over SSH) doctor checks")
    p.add_argument("--inventory", metavar="F",
                   help="inventory TOML: the runbook pane shows the provisioning commands for the selection")
    p.add_argument("--ovn-version", metavar="V", help="OVN release (e.g. 23.03.1); else guessed")
    p.add_argument("--no-ovn", action="store_true", help="plain OVS explanation, no OVN meaning")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``tui`` to the ``ovntrace`` command line."""
    p = subparsers.add_parser(
        "tui",
        help="explore a trace in a terminal UI (tree, details, runbook)",
        description="Open a trace in the incident TUI: the verdict, the path, the trace tree, and for the "
        "selected step its input lines, field state and provisioning commands. Without TRACE, paste one. "
        "Cluster facts (--nb/--sb/--context) are read in the background once the trace is parsed (escape "
        "skips them). For a path traced live over SSH: ovntrace path SRC DST --tui. Keys: ? in the app, or "
        "docs/tui.md. Exit: 0, 1 (unreadable TRACE or inventory), 2 (usage).",
    )
    add_arguments(p)
    p.set_defaults(func=cmd_tui)


def _fail(message: str, stderr: TextIO, status: int = 2) -> int:
    stderr.write(f"ovntrace tui: {message}\n")
    return status


def _attach_tty_stdin() -> None:
    """After reading a piped trace, give the UI the terminal as its keyboard (as `less` does)."""
    fd = os.open("/dev/tty", os.O_RDONLY)
    os.dup2(fd, 0)
    os.close(fd)
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115 - lives as long as the process


def cmd_tui(args: argparse.Namespace, stdin: TextIO | None = None, stderr: TextIO | None = None) -> int:
    stdin = stdin or sys.stdin
    stderr = stderr or sys.stderr
    inventory = None
    if args.inventory:
        from ovntrace.lab import inventory as inv_mod
        from ovntrace.lab.errors import LabError

        try:
            inventory = inv_mod.load(args.inventory)
        except LabError as e:
            return _fail(str(e), stderr, 1)

    from ovntrace.tui.source import Options, Source

    source: Source | None = None
    if args.file == "-" and not stdin.isatty():
        from ovntrace.sources.limits import InputTooLarge, read_stream

        buffer = getattr(stdin, "buffer", None)
        try:  # bytes, capped: invalid UTF-8 becomes U+FFFD and a lone CR stays inside its line, as for a file
            text = read_stream(buffer, "stdin").decode("utf-8", errors="replace") if buffer is not None \
                else stdin.read()
        except InputTooLarge as e:
            return _fail(str(e), stderr, 1)
        source = Source(text=text, name="stdin")
        try:
            _attach_tty_stdin()
        except OSError as e:
            return _fail(f"read the trace from stdin but no terminal to run on (/dev/tty: {e.strerror})", stderr, 1)
    elif args.file not in (None, "-"):
        path = Path(args.file)
        if not path.is_file():
            return _fail(f"cannot read {args.file}: no such file", stderr, 1)
        source = Source(path=path, name=path.name)

    from ovntrace.tui.app import create_app

    # --nb/--sb/--context are read in a worker once the trace is parsed (a live SB can be slow; the tree is
    # usable meanwhile, escape skips them); a source that cannot be read becomes a notification
    options = Options(inventory=inventory, correlate=not args.no_ovn, nb=tuple(args.nb or ()),
                      sb=tuple(args.sb or ()), contexts=tuple(args.context or ()), ovn_version=args.ovn_version,
                      inventory_path=args.inventory, doctor=not args.no_doctor)
    app = create_app(source, options)
    code = app.run()
    return int(code or 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ovntrace tui")
    add_arguments(parser)
    return cmd_tui(parser.parse_args(argv))
