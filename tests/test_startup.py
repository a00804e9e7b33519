"""Start-up (issue 18): a command builds only its own parser and imports only its own modules.

Behaviour, not timing (timing is bench/bench_startup.py): which modules a real ``ovntrace explain`` process
imports, and that the stubs listing the other commands say what the real commands say.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ovntrace.cli import LAZY_COMMANDS, build_parser, chosen_command
from tests.conftest import FIX

TRACE = FIX / "ovn-24.03.9" / "trace2.txt"
#: modules that belong to the other subcommands (lab.errors is shared: the CLI maps LabError to exit codes)
OTHERS = ("ovntrace.lab.cli", "ovntrace.lab.lab", "ovntrace.tui", "ovntrace.pathcmd", "ovntrace.path",
          "ovntrace.doctor", "ovntrace.sources.ssh", "shtab", "textual")


def _imported(*argv: str) -> list[str]:
    probe = ("import io, json, sys\nfrom ovntrace.cli import run\n"
             "code = run(sys.argv[1:], io.StringIO(), io.StringIO(), io.StringIO())\n"
             "print(json.dumps([code, sorted(sys.modules)]))")
    out = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True, check=True)
    code, mods = json.loads(out.stdout.splitlines()[-1])
    assert code == 0
    return mods  # type: ignore[no-any-return]


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_explain_imports_none_of_the_other_commands(fmt: str) -> None:
    mods = _imported("explain", str(TRACE), "--format", fmt, "--color", "never")
    assert "ovntrace.parser.document" in mods and "ovntrace.correlate.annotate" in mods  # it did explain
    leaked = [m for m in mods if any(m == o or m.startswith(o + ".") for o in OTHERS)]
    assert leaked == []


def test_explain_without_ovn_meaning_imports_no_ovn_knowledge() -> None:
    mods = _imported("explain", str(TRACE), "--format", "json", "--no-ovn")
    assert [m for m in mods if m.startswith(("ovntrace.ovn", "ovntrace.correlate."))] == []


def _help_lines(parser: argparse.ArgumentParser) -> dict[str, str | None]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest: a.help for a in action._choices_actions}


def test_stubs_list_every_command_with_its_real_help_line() -> None:
    full = _help_lines(build_parser())
    lazy = [name for _, commands in LAZY_COMMANDS for name, _ in commands]
    assert set(lazy) <= set(full)
    for only in (None, "explain", "lab", "doctor", "completion"):
        assert _help_lines(build_parser(only=only)) == full, only
    assert build_parser(only="explain").format_help() == build_parser().format_help()


@pytest.mark.parametrize(("argv", "command"), [
    (["explain", "x"], "explain"), (["--debug", "lab", "up"], "lab"), (["--no-pager", "--debug", "path"], "path"),
    (["--help"], None), (["--version"], None), ([], None), (["explain", "--debug"], "explain"),
])
def test_chosen_command(argv: list[str], command: str | None) -> None:
    assert chosen_command(argv) == command


def test_the_chosen_command_is_parsed_in_full_with_global_options_anywhere() -> None:
    args = build_parser(only="doctor").parse_args(["doctor", "--node", "n1", "--debug"])
    assert args.command == "doctor" and args.node == "n1" and args.debug is True
    args = build_parser(only="snapshot").parse_args(["--no-pager", "snapshot", "-o", "f.json"])
    assert args.command == "snapshot" and args.output == "f.json" and args.no_pager is True


def test_explain_takes_jobs_whichever_command_is_chosen() -> None:
    for only in (None, "explain", "lab"):
        parser = build_parser(only=only)
        assert parser.parse_args(["explain", "-", "--jobs", "3"]).jobs == 3
        assert parser.parse_args(["explain", "-"]).jobs == 0  # auto
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        assert "--jobs" in action.choices["explain"].format_help()


@pytest.mark.parametrize("fmt", [["--color", "never"], ["--color", "auto"], ["--format", "json"],
                                 ["--format", "markdown"]])
def test_output_without_colour_imports_no_rich(fmt: list[str]) -> None:
    """Not a terminal (the probe's stdout is a buffer): the plain writer, Rich never loaded."""
    mods = _imported("explain", str(TRACE), *fmt)
    assert "ovntrace.render.text" in mods or "--format" in fmt
    assert [m for m in mods if m == "rich" or m.startswith("rich.")] == []


def test_colour_goes_through_rich() -> None:
    mods = _imported("explain", str(TRACE), "--color", "always")
    assert "rich.console" in mods and "ovntrace.render.safetext" in mods


#: standard-library modules ``explain`` of a trace file needs none of (each was imported on every start-up):
#: importlib.resources (and zipfile, tempfile, threading behind it) for ovn/data, the compression modules,
#: difflib for a typo hint
NOT_FOR_EXPLAIN = ("importlib.resources", "zipfile", "tempfile", "lzma", "bz2", "gzip", "difflib", "runpy")


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_explain_of_a_trace_file_imports_no_needless_stdlib_module(fmt: str) -> None:
    mods = _imported("explain", str(TRACE), "--format", fmt, "--color", "never")
    assert "ovntrace.ovn._data" in mods  # the OVN data was read (without importlib.resources)
    assert [m for m in mods if m in NOT_FOR_EXPLAIN] == []


def test_ovn_data_reads_through_the_package_loader() -> None:
    """The same groups, from the package's files, as the JSON files hold."""
    from ovntrace.ovn import _data

    for path in sorted((Path(_data.__file__).parent / "data").glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert [g.tags for g in _data.groups(path.stem)] == [tuple(g["tags"]) for g in doc["groups"]]


MAIN = [sys.executable, "-c", "from ovntrace.cli import main; main()"]
#: a process's own environment, its stdout block-buffered as a user's is (not PYTHONUNBUFFERED)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


def _in_process(*argv: str) -> tuple[int, str, str]:
    from ovntrace.cli import run

    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), io.StringIO(), out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_explain_process_ends_with_all_its_output_and_status(fmt: str, tmp_path: Path) -> None:
    """``main`` ends explain without the interpreter's teardown (``os._exit`` once flushed): a real process
    still writes everything to its pipe (output, warnings on stderr) and exits with its status."""
    typo = tmp_path / "typo.txt"  # a real trace with a mistyped action name: a warning on stderr
    typo.write_text(TRACE.read_text(encoding="utf-8").replace("set_field:", "set_feld:", 1), encoding="utf-8")
    for path in (TRACE, typo):
        argv = ["explain", str(path), "--format", fmt, "--color", "never"]
        proc = subprocess.run([*MAIN, *argv], capture_output=True, text=True, check=False, env=ENV)
        assert (proc.returncode, proc.stdout, proc.stderr) == _in_process(*argv)
    assert "set_feld" in proc.stderr
    empty = tmp_path / "empty.txt"
    empty.write_text("no trace here\n", encoding="utf-8")
    proc = subprocess.run([*MAIN, "explain", str(empty)], capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and proc.stdout == "" and "ovntrace:" in proc.stderr


def test_other_commands_end_with_the_interpreter_teardown() -> None:
    """Other commands (labs, the TUI, ...) may leave atexit work or temporary directories: a normal exit."""
    probe = ("import atexit, sys\natexit.register(lambda: sys.stderr.write('atexit ran'))\n"
             "from ovntrace.cli import main\nmain()")
    proc = subprocess.run([sys.executable, "-c", probe, "completion", "bash"], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0 and "ovntrace" in proc.stdout and proc.stderr == "atexit ran"
