"""``ovntrace`` command line: argument parsing, wiring, exit codes. Thin on purpose.

Exit codes (documented in README and ``--help``):
  0  parsed (warnings, if any, go to stderr)
  1  any other failure, with a one-line message (a traceback only with ``--debug``)
  2  the input holds no trace (the message says what was expected and quotes the first lines seen),
     or the command line is wrong
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping, Sequence
from enum import IntEnum
from typing import TYPE_CHECKING, Any, TextIO

from ovntrace.lab.errors import LabError

if TYPE_CHECKING:
    from ovntrace.correlate.compare import Comparison
    from ovntrace.model import ParseResult
    from ovntrace.model.cluster import ClusterContext
    from ovntrace.model.ovn import TraceOvn


class ExitStatus(IntEnum):
    OK = 0
    ERROR = 1
    NO_TRACE = 2


class CliError(Exception):
    """An expected failure: printed as one line, mapped to an exit status."""

    def __init__(self, message: str, status: ExitStatus = ExitStatus.ERROR) -> None:
        super().__init__(message)
        self.status = status


EPILOG = """exit status: 0 parsed (warnings on stderr), 1 error (one-line message; --debug for a traceback),
2 no trace in the input / bad usage"""


def _read_input(path: str, stdin: TextIO) -> str:
    """The trace text, read with the input size cap (``--max-input-size``): ``/dev/zero`` or an endless
    pipe is refused with one line instead of filling the memory. Lines split on LF only, later (a stray CR
    inside a line must not split it and shift every later line number); invalid UTF-8 becomes U+FFFD, from a
    file as from stdin (not a crash)."""
    from ovntrace.sources.limits import max_input_size, too_large_message

    try:
        cap = max_input_size()
    except Exception as e:  # a bad OVNTRACE_MAX_INPUT_SIZE
        raise CliError(str(e), ExitStatus.NO_TRACE) from e
    if path == "-":
        buffer = getattr(stdin, "buffer", None)
        if buffer is not None:
            data: bytes = buffer.read(cap + 1)
            text = data.decode("utf-8", errors="replace")
            if len(data) > cap:
                raise CliError(too_large_message("stdin", cap))
            return text
        text = stdin.read(cap + 1)
    else:
        try:
            with open(path, encoding="utf-8", errors="replace", newline="") as f:
                text = f.read(cap + 1)
        except OSError as e:
            raise CliError(f"cannot read {path}: {e.strerror or e}") from e
    if len(text) > cap:
        raise CliError(too_large_message("stdin" if path == "-" else path, cap))
    return text


def _what_it_is(text: str, path: str) -> str | None:
    """When the input is plainly not a trace: a binary file, an OVSDB database, a snapshot, a database dump;
    what to do instead (None: let the generic message quote the first lines)."""
    name = "stdin" if path == "-" else path
    head = text[:4096]
    if head.startswith("OVSDB CLUSTER ") or head.startswith("OVSDB JSON "):
        return (f"{name} is an OVSDB database file, not a trace; give it as cluster facts (--context {name}, or "
                "--nb/--sb) and the trace as FILE or on stdin")
    stripped = head.lstrip()
    if stripped.startswith("{"):
        if '"ovntrace.snapshot/' in head:
            return (f"{name} is an ovntrace snapshot, not a trace; use --context {name} (or `ovntrace path "
                    f"--offline {name}`) and give the trace as FILE or on stdin")
        if '"caption"' in head or '"headings"' in head or '"rows"' in head:
            return (f"{name} is a database dump (JSON), not a trace; use --context {name} and give the trace as "
                    "FILE or on stdin")
    bad = sum(1 for c in head if (c < " " and c not in "\t\r\n") or c == "\ufffd")
    if "\x00" in head or (len(head) >= 256 and bad > len(head) // 10):  # a pasted escape or two is text
        return f"{name} is a binary file, not an ofproto/trace text (nothing of it is shown)"
    return None


def _apply_common(args: argparse.Namespace) -> None:
    """Options every input-reading command shares: ``--max-input-size``, ``--ovn-version`` (checked here,
    so a bad value is one line and exit 2, not a traceback)."""
    size = getattr(args, "max_input_size", None)
    if size is not None:
        from ovntrace.sources.limits import parse_size, set_max_input_size

        try:
            set_max_input_size(parse_size(size))
        except ValueError as e:
            raise CliError(f"--max-input-size: {e}", ExitStatus.NO_TRACE) from None
    version = getattr(args, "ovn_version", None)
    if version is not None:
        from ovntrace.ovn.releases import known_releases, try_parse_version

        if try_parse_version(version) is None:
            known = known_releases()
            raise CliError(f"--ovn-version {version!r}: not an OVN release (expected X.Y or X.Y.Z, e.g. "
                           f"{known[-1] if known else '23.03.1'})", ExitStatus.NO_TRACE)


def _context_warnings(ctx: ClusterContext | None, on: str | None, stderr: TextIO) -> str | None:
    """Print what loading the context tolerated (a cut db record, a skipped file, a database given twice), and
    check ``--on``: the node's name, else its hostname or system-id; a node the context does not have is a
    warning listing the nodes it has. Returns the node name the correlator should use."""
    if ctx is None:
        if on:
            stderr.write(f"ovntrace: warning: --on {on}: no cluster facts were given (--node, --context), so no "
                         "node is known; it changes nothing\n")
        return on
    for note in ctx.notes:
        stderr.write(f"ovntrace: warning: {note}\n")
    if ctx.zones and ctx.zone_of(on) is None:  # interconnect: a trace means something in its node's zone only
        stderr.write(f"ovntrace: warning: the facts hold {len(ctx.zones)} interconnect zones "
                     f"({', '.join(z.name for z in ctx.zones)}), each with its own NB/SB; "
                     f"{f'--on {on} is in none of them' if on else 'without --on NODE'} no zone is used\n")
    if not on:
        return on
    if any(n.name == on for n in ctx.nodes) or (ctx.zones and ctx.zone_of(on) is not None):
        return on  # a node with OVS facts, or (interconnect) a node with a zone of its own
    alias = sorted({n.name for n in ctx.nodes if on in (n.hostname, n.system_id)})
    if not alias:
        chassis = {c.name for c in ctx.chassis if on in (c.name, c.hostname)}
        alias = sorted({n.name for n in ctx.nodes if n.system_id in chassis or n.hostname in chassis})
    if len(alias) == 1:
        return alias[0]
    if not alias and any(on in (c.name, c.hostname) for c in ctx.chassis):
        stderr.write(f"ovntrace: warning: --on {on}: a chassis of the Southbound database, but no OVS facts of it "
                     f"were given (its conf.db or ovs-vsctl/ovs-ofctl show): OpenFlow ports stay unnamed; nodes "
                     f"with facts: {', '.join(n.name for n in ctx.nodes) or 'none'}\n")
        return on
    present = ", ".join(
        n.name + (f" (hostname {n.hostname})" if n.hostname and n.hostname != n.name else "")
        for n in sorted(ctx.nodes, key=lambda n: n.name)) or "none"
    what = f"several nodes match ({', '.join(alias)})" if alias else "no such node in the context"
    stderr.write(f"ovntrace: warning: --on {on}: {what}; nodes present: {present}\n")
    return on


def cmd_explain(args: argparse.Namespace, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> ExitStatus:
    """Explain the input, trace by trace (:mod:`ovntrace.explaincmd`, which builds on this module: imported by
    name when run, as :data:`LAZY_COMMANDS`' modules are)."""
    import importlib

    status: ExitStatus = importlib.import_module("ovntrace.explaincmd").cmd_explain(args, stdin, stdout, stderr)
    return status


def _comparisons(result: ParseResult, ovn: list[TraceOvn | None] | None) -> list[Comparison]:
    """ovn-trace and ofproto/trace of the same packet in one paste, side by side
    (:mod:`ovntrace.correlate.compare`); none unless the paste holds both kinds."""
    from ovntrace.model.trace import TraceFormat

    kinds = {t.format is TraceFormat.OVN_TRACE for t in result.traces}
    if len(kinds) < 2:
        return []
    from ovntrace.correlate.compare import compare_result

    return compare_result(result.traces, ovn)


def _load_context(args: argparse.Namespace, result: ParseResult | None = None) -> ClusterContext | None:
    """Cluster facts from --nb/--sb/--node/--context; with a parse, a live SB sends only what it needs."""
    if not (args.nb or args.sb or args.node or args.context):
        return None
    nodes = []
    for spec in args.node or ():
        name, sep, src = spec.partition("=")
        if not sep or not name or not src:
            raise CliError(f"--node expects NAME=SOURCE, got {spec!r}", ExitStatus.NO_TRACE)
        nodes.append((name, src))
    from ovntrace.correlate.index import trace_needs
    from ovntrace.sources import load_cluster

    keys, cookies = trace_needs(result) if result is not None else (set(), None)
    try:
        return load_cluster(args.nb or (), args.sb or (), nodes, args.context or (), keys or None, cookies)
    except Exception as e:  # a source's failure becomes one line naming it
        raise CliError(f"cannot load cluster facts: {e}") from e


def _jobs(value: str) -> int:
    """``--jobs``: ``auto`` (0) or N >= 1."""
    if value == "auto":
        return 0
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected auto or a number of processes >= 1, got {value!r}")
    return int(value)


def _columns() -> int:
    """The terminal's width as :func:`shutil.get_terminal_size` gives it ($COLUMNS, else stdout's terminal, else
    80), without importing :mod:`shutil` (and its compression modules) on every start-up."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
        columns = columns or 80
    return columns


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, its width from :func:`_columns` (the same width argparse computes)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, _columns() - 2 if width is None else width)


class _RawDescriptionHelpFormatter(_HelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose help formatter is :class:`_HelpFormatter` unless told otherwise (subcommands
    and theirs too: ``add_subparsers`` makes parsers of this class)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line (completion, the man page, tests); with ``only`` (a subcommand the argument
    list names, see :func:`chosen_command`), that command's full parser and the others as stubs that only
    list themselves (name and help line): ``ovntrace explain`` then imports none of the other commands'
    modules, and ``ovntrace --help`` reads the same."""
    parser = _Parser(
        prog="ovntrace",
        description="Make Open vSwitch / OVN ofproto/trace and ovn-trace output readable.",
        epilog=EPILOG,
        formatter_class=_RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--no-pager", action="store_true",
                        help="never page (on a terminal, explain and path output goes through $OVNTRACE_PAGER, "
                        "$PAGER or `less -FRX`, like git)")
    from ovntrace import __version__

    parser.add_argument("--version", action="version", version=f"ovntrace {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ex = sub.add_parser(
        "explain",
        help="explain a pasted ofproto/trace or ovn-trace (file or stdin)",
        description="Parse ovs-appctl ofproto/trace or ovn-trace output (as pasted: prompts, quoting, elisions, "
        "several traces) and explain it: tree, register state, verdict.",
        epilog=EPILOG,
    )
    ex.add_argument("file", nargs="?", default="-", metavar="FILE", help="trace file, or - for stdin (default)")
    ex.add_argument("-f", "--format", choices=("text", "json", "json1", "markdown"), default="text",
                    help="text (default, Rich), json (ovntrace.explain/2), json1 (the older "
                    "ovntrace.explain/1), or markdown")
    ex.add_argument("--full", action="store_true", help="show every table (do not fold no-op runs)")
    ex.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                    help="colours (auto: only on a terminal, and not with NO_COLOR; always: even with NO_COLOR)")
    ex.add_argument("-q", "--quiet", action="store_true", help="do not print parser warnings on stderr")
    ovn = ex.add_argument_group(
        "OVN correlation",
        "Without any source a trace still gets stage names, decoded registers, tunnel metadata and "
        "controller actions. SOURCE: an OVSDB file (standalone or clustered), an ovsdb-client dump / "
        "ovn-*ctl --format=json output, a pasted show output, a directory of those, or a live remote "
        "(tcp:IP:PORT, ssl:IP:PORT, unix:PATH).",
    )
    ovn.add_argument("--nb", action="append", metavar="SOURCE", help="Northbound database")
    ovn.add_argument("--sb", action="append", metavar="SOURCE", help="Southbound database")
    ovn.add_argument("--node", action="append", metavar="NAME=SOURCE",
                     help="a node's OVS facts (conf.db, ovs-vsctl show, ovs-ofctl show br-int)")
    ovn.add_argument("--context", action="append", metavar="SOURCE", help="any source, detected by content")
    ovn.add_argument("--on", metavar="NODE", help="the node the trace was taken on (for ofport names)")
    ovn.add_argument("--ovn-version", metavar="V", help="OVN release (e.g. 23.03.1); else inferred (candidates)")
    ovn.add_argument("--no-ovn", action="store_true", help="plain OVS explanation, no OVN meaning")
    ex.add_argument("-j", "--jobs", type=_jobs, default="auto", metavar="N",
                    help="worker processes for a big input (auto, the default: one per CPU for 5000 lines of "
                    "traces or more; 1: this process only); the output is the same")
    ex.add_argument("--max-input-size", metavar="SIZE",
                    help="refuse any input (trace, db file, dump, reply) larger than SIZE (default 1G; e.g. 4G, "
                    "512M; env OVNTRACE_MAX_INPUT_SIZE)")
    ex.set_defaults(func=cmd_explain)

    _register_commands(sub, only)
    co = sub.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh or fish)",
        description="Print the completion script of the ovntrace command line for SHELL, generated from this "
        "parser with shtab. bash: `source <(ovntrace completion bash)` (or save it in "
        "~/.local/share/bash-completion/completions/ovntrace); zsh: save it as _ovntrace in a directory of "
        "$fpath; fish: `ovntrace completion fish > ~/.config/fish/completions/ovntrace.fish`.",
    )
    co.add_argument("shell", choices=("bash", "zsh", "fish"), metavar="SHELL", help="bash, zsh or fish")
    co.set_defaults(func=cmd_completion)
    _global_options_anywhere(parser)
    return parser


# -- subcommands ---------------------------------------------------------------------------------------

#: The subcommands registered by other modules, in ``--help`` order: (module, its ``register(sub)``'s commands
#: with their help lines). Only the chosen command's module is imported (``build_parser(only=...)``); the
#: others are listed by stubs built from these lines (tests/test_cli.py checks they equal the real ones).
#: A new module with a ``register(sub)``: add its entry here (or call it in :func:`_register_commands`,
#: eagerly, below the loop).
LAZY_COMMANDS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("ovntrace.lab.cli", (
        ("provision", "the bundled provisioning runbook (the seed's steps)"),
        ("lab", "a real OVN cluster on this machine (loopback only)"),
    )),
    ("ovntrace.tui.cli", (
        ("tui", "explore a trace in a terminal UI (tree, details, runbook)"),
    )),
    ("ovntrace.pathcmd", (
        ("path", "trace a packet from a pod across nodes over SSH (ofproto/trace on each hop)"),
        ("snapshot", "collect NB, SB and every node's OVS facts over SSH into one portable file (secrets "
                     "redacted)"),
    )),
    ("ovntrace.bundlecmd", (
        ("bundle", "say what a sosreport or must-gather holds (nodes, releases, databases, replayable traces)"),
        ("replay", "replay a trace offline: a node's br-int rebuilt from its sosreport in a private ovs-vswitchd"),
    )),
    ("ovntrace.doctor.cli", (
        ("doctor", "check the cluster against the runbook over SSH; each finding with the step that fixes it"),
    )),
)
#: the options the top-level parser takes before a command (none takes a value)
_GLOBAL_FLAGS = frozenset({"--debug", "--no-pager"})


def chosen_command(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` runs: its first word after the global flags; None for ``--help``,
    ``--version``, no command or an unknown word (the stubs are enough to print help or the error)."""
    for arg in argv:
        if arg in _GLOBAL_FLAGS:
            continue
        return None if arg.startswith("-") else arg
    return None


def _register_commands(sub: argparse._SubParsersAction[Any], only: str | None) -> None:
    """Every module's commands: in full (``only`` None, or ``only`` among them), else as stubs."""
    import importlib

    for module, commands in LAZY_COMMANDS:
        if only is None or any(name == only for name, _ in commands):
            importlib.import_module(module).register(sub)
        else:
            for name, help_line in commands:
                sub.add_parser(name, help=help_line, add_help=False)
    # Modules registered eagerly (imported on every start-up: prefer an entry in LAZY_COMMANDS) go here,
    # one `from ovntrace.x import cli as x_cli; x_cli.register(sub)` each.


def cmd_completion(args: argparse.Namespace, stdout: TextIO | None = None) -> int:
    import shtab

    (stdout or sys.stdout).write(shtab.complete(build_parser(), shell=args.shell))
    return 0


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every subcommand's parser, nested ones too (``lab up``, ``provision plan``)."""
    out: list[argparse.ArgumentParser] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for p in dict.fromkeys(action.choices.values()):  # aliases share a parser
                out += [p, *_subparsers(p)]
    return out


def _global_options_anywhere(parser: argparse.ArgumentParser) -> None:
    """``ovntrace explain FILE --debug`` works like ``ovntrace --debug explain FILE``: the global options are
    accepted after the subcommand too (default SUPPRESS, so a subcommand never resets what was given before).
    Not on a stub (:func:`_register_commands`: no action at all, not even ``-h``): it is never parsed."""
    for p in _subparsers(parser):
        if not p._actions:
            continue
        if "--debug" not in p._option_string_actions:
            p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                           help="show tracebacks on errors (also before the command)")
        if "--no-pager" not in p._option_string_actions:
            p.add_argument("--no-pager", action="store_true", default=argparse.SUPPRESS,
                           help="never page the output (also before the command)")


#: the commands whose output may be long enough to page (never the TUI, never progress on stderr)
PAGED = ("explain", "path")


def pager_command(env: Mapping[str, str]) -> list[str] | None:
    """The pager, as git picks it: ``$OVNTRACE_PAGER``, else ``$PAGER``, else ``less``; ``LESS=FRX`` when unset
    (quit if one screen, colours, no screen clear). Empty or ``cat``: no pager."""
    import shlex

    cmd = env.get("OVNTRACE_PAGER", env.get("PAGER", "less"))
    argv = shlex.split(cmd) if cmd.strip() else []
    if not argv or argv == ["cat"]:
        return None
    return argv


class _Pager:
    """Output through a pager process; reports a terminal (its reader is one), so colours stay on."""

    def __init__(self, argv: list[str], env: Mapping[str, str]) -> None:
        import subprocess

        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, env={"LESS": "FRX", **env},
                                     text=True, encoding="utf-8", errors="replace")
        assert self.proc.stdin is not None
        self.stream = self.proc.stdin

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except BrokenPipeError:  # the user quit the pager: stop quietly
            raise _PipeClosed() from None

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            raise _PipeClosed() from None

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        return sys.__stdout__.fileno() if sys.__stdout__ is not None else 1  # the terminal's size, for Rich

    def bytes_fileno(self) -> int:
        """Where bytes written past this object must go: the pager's pipe (:meth:`fileno` is the terminal's)."""
        return self.stream.fileno()

    def __getattr__(self, name: str) -> object:
        return getattr(self.stream, name)

    def close(self) -> None:
        import contextlib

        with contextlib.suppress(BrokenPipeError, OSError):
            self.stream.close()
        self.proc.wait()


def _start_pager(args: argparse.Namespace, stdout: TextIO) -> _Pager | None:
    if args.command not in PAGED or getattr(args, "no_pager", False) or getattr(args, "tui", False):
        return None
    isatty = getattr(stdout, "isatty", None)
    if not (isatty and isatty()) or os.environ.get("TERM") == "dumb":
        return None
    argv = pager_command(os.environ)
    if argv is None:
        return None
    try:
        return _Pager(argv, os.environ)
    except OSError:  # no such pager: print as if there were none
        return None


class _PipeClosed(Exception):
    """stdout's reader went away (``ovntrace explain … | head``): stop quietly, status 0."""


class _Stdout:
    """The real stdout, with a closed pipe raised as :class:`_PipeClosed`: Rich catches BrokenPipeError itself
    and exits with status 1; this passes through it to :func:`main`."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise _PipeClosed() from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise _PipeClosed() from None

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def words(message: str) -> str:
    """A message as a user reads it: no ``[Errno 111]``/``[Errno None]``, no doubled ``node: node:`` prefix."""
    message = re.sub(r"\[Errno [^\]]*\] ", "", message)  # (compiled when an error is printed, not at import)
    return re.sub(r"(?<![^\s(`'\"])([\w.@/-]+): \1: ", r"\1: ", message)


def describe(e: BaseException) -> str:
    """An unexpected error in words: no Python class name, no ``[Errno None]``."""
    if isinstance(e, OSError):
        what = e.strerror or (str(e.args[-1]) if e.args else "") or "operating system error"
        where = f"{e.filename}: " if e.filename else ""
        return where + what
    text = str(e).strip()
    return text or "unexpected error"


def run(argv: Sequence[str], stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    """Run the CLI with injected streams (tests call this; ``main`` wires the real ones)."""

    parser = build_parser(only=chosen_command(argv))
    args = parser.parse_args(list(argv))
    if not getattr(args, "command", None):
        parser.print_help(stderr)
        return ExitStatus.NO_TRACE
    pager = _start_pager(args, stdout)
    try:
        if pager is None:
            return _dispatch(args, stdin, stdout, stderr)
        import contextlib

        with contextlib.redirect_stdout(pager):
            return _dispatch(args, stdin, pager, stderr)  # type: ignore[arg-type]
    finally:
        if pager is not None:
            pager.close()


def _dispatch(args: argparse.Namespace, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    try:
        func = args.func
        if func is cmd_explain:
            return int(cmd_explain(args, stdin, stdout, stderr))
        if func is cmd_completion:
            return int(cmd_completion(args, stdout))
        return int(func(args))
    except CliError as e:
        if args.debug:
            raise
        from ovntrace.render.safe import escape

        stderr.write(f"ovntrace: {escape(words(str(e)))}\n")  # messages quote input lines, names, paths
        return int(e.status)
    except LabError as e:  # provision / lab / doctor: an expected failure, one line and its exit code
        if args.debug:
            raise
        stderr.write(f"ovntrace: {words(str(e))}\n")
        return int(e.exit_code)
    except KeyboardInterrupt:
        stderr.write("ovntrace: interrupted\n")
        return 130
    except (BrokenPipeError, _PipeClosed):
        return int(ExitStatus.OK)
    except Exception as e:
        if args.debug:
            raise
        status = getattr(e, "exit_code", ExitStatus.ERROR)
        from ovntrace.render.safe import escape

        stderr.write(f"ovntrace: {escape(words(describe(e)))} (run with --debug for details)\n")
        return int(status)


#: commands after which the process ends without the interpreter's teardown (:func:`main`): they leave nothing
#: behind that needs it (no atexit handler, temporary directory finalizer, thread or unflushed file of theirs)
QUICK_EXIT = frozenset({"explain"})


def main() -> None:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    argv = sys.argv[1:]
    try:
        code = run(argv, sys.stdin, _Stdout(sys.stdout), sys.stderr)  # type: ignore[arg-type]
        sys.stdout.flush()
    except (BrokenPipeError, _PipeClosed):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = 0
    if chosen_command(argv) in QUICK_EXIT:
        # The output is written and flushed: end here. The interpreter's teardown (freeing every module and
        # object one by one, a last garbage collection) is ~5% of a short explain's start-up to exit.
        import contextlib

        with contextlib.suppress(OSError):  # stderr's reader went away too: nothing more can be said
            sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    main()
