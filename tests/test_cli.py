"""The command line as a user meets it: exit codes, messages, formats, no tracebacks."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

from ovntrace.cli import run
from tests.conftest import FIX

SEED = FIX / "seed" / "kube-node2-pod-to-sshd2.txt"


def _run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), io.StringIO(stdin), out, err)
    return code, out.getvalue(), err.getvalue()


def test_explain_text_has_one_line_header_with_verdict() -> None:
    code, out, _ = _run("explain", str(SEED), "--color", "never")
    assert code == 0
    first = out.splitlines()[0]
    assert "bridge br-int" in first and "2 passes (recirc 0x24)" in first and "9 tables" in first
    assert "TUNNEL: tunnelled to 172.17.42.31" in first
    assert "\x1b[" not in out  # no colour when asked (and not a TTY)


def test_explain_folds_noop_runs_unless_full() -> None:
    text = (FIX / "ovn-24.03.9" / "trace2.txt").read_text()
    code, out, _ = _run("explain", "-", stdin=text)
    assert code == 0 and "no-op" in out
    code, full, _ = _run("explain", "-", "--full", stdin=text)
    assert code == 0 and "no-op" not in full and len(full.splitlines()) > len(out.splitlines())


def test_explain_json_contract() -> None:
    code, out, _ = _run("explain", str(SEED), "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["schema"] == "ovntrace.explain/1"
    t = doc["traces"][0]
    assert t["format"] == "ofproto" and t["first_line"] == 1 and t["last_line"] == 100
    assert [p["recirc_id"] for p in t["passes"]] == [None, "0x24"]
    assert t["passes"][1]["ct_state"] == "trk|new"
    bridge = t["passes"][0]["steps"][0]
    assert bridge["kind"] == "bridge" and bridge["line"] == 2
    table0 = bridge["children"][0]
    assert table0["kind"] == "table" and table0["table"] == 0 and table0["priority"] == 100
    assert table0["children"][0]["action"] == {"name": "set_field", "value": "0x1", "mask": None, "field": "reg13"}
    assert t["verdict"]["kind"] == "tunnel" and t["verdict"]["line"] == 100
    assert t["passes"][1]["datapath_actions_parsed"][-1] == {"name": "output", "text": "2", "args": {"port": "2"}}


def test_explain_markdown_is_fenced() -> None:
    code, out, _ = _run("explain", str(SEED), "--format", "markdown")
    assert code == 0
    assert out.startswith("### trace 1") and "**Verdict:** TUNNEL" in out
    assert "```text\n" in out and out.count("```") % 2 == 0


def test_no_trace_exit_2_quotes_first_lines() -> None:
    code, out, err = _run("explain", "-", stdin="hello\nthis is not a trace\n")
    assert code == 2 and out == ""
    assert "expected a 'Flow: ...' line" in err and "hello | this is not a trace" in err
    assert "Traceback" not in err


def test_missing_file_exit_1_one_line() -> None:
    code, _, err = _run("explain", "/nonexistent/trace.txt")
    assert code == 1 and err.count("\n") == 1 and "cannot read /nonexistent/trace.txt" in err


def test_warnings_go_to_stderr_with_line_numbers() -> None:
    # a real ovn-trace with one line made unreadable (mutated): explained, the line named on stderr
    lines = (FIX / "ovn-24.03.9" / "ovn-trace.txt").read_text().split("\n")
    lines[7] = "this line is garbled"
    code, out, err = _run("explain", "-", stdin="\n".join(lines))
    assert code == 0 and "[ovn-trace --detailed]" in out and "OUTPUT: output to logical port sw0-port2" in out
    assert err.startswith("ovntrace: line 8: ovn-trace line not understood")


def test_rich_markup_in_a_trace_is_printed_literally() -> None:
    text = SEED.read_text().replace("resubmit(,8)\n...", "resubmit(,8)\n[bold red]boom[/]\n...", 1)
    code, out, _ = _run("explain", "-", "--color", "never", stdin=text)
    assert code == 0 and "[bold red]boom[/]" in out


def test_console_script_end_to_end_no_color() -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-m", "ovntrace.cli", "explain", str(SEED)], capture_output=True,
                          text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "TUNNEL" in proc.stdout and "\x1b[" not in proc.stdout


def test_help_documents_exit_codes() -> None:
    proc = subprocess.run([sys.executable, "-m", "ovntrace.cli", "explain", "--help"], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0 and "exit status: 0 parsed" in proc.stdout
