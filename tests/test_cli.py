"""The command line as a user meets it: exit codes, messages, formats, no tracebacks."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ovntrace.cli import run
from ovntrace.lab.lab import Lab
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
    assert doc["schema"] == "ovntrace.explain/2"
    t = doc["traces"][0]
    assert t["format"] == "ofproto" and t["first_line"] == 1 and t["last_line"] == 100
    assert [p["recirc_id"] for p in t["passes"]] == [None, "0x24"]
    assert t["passes"][1]["ct_state"] == "trk|new"
    bridge = t["passes"][0]["steps"][0]
    assert bridge["kind"] == "bridge" and bridge["line"] == 2
    table0 = bridge["children"][0]
    assert table0["kind"] == "table" and table0["table"] == 0 and table0["priority"] == 100
    assert table0["children"][0]["action"] == {"name": "set_field", "known": True,
                                               "args": {"value": "0x1", "mask": None, "field": "reg13"}}
    assert t["verdict"]["kind"] == "tunnel" and t["verdict"]["line"] == 100
    assert t["passes"][1]["datapath_actions_parsed"][-1] == {"name": "output", "text": "2", "args": {"port": 2},
                                                             "inner": []}


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


# -- issue 16: command-line conventions ------------------------------------------------------------

def test_python_dash_m_ovntrace() -> None:
    proc = subprocess.run([sys.executable, "-m", "ovntrace", "explain", "-f", "json", str(SEED)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["schema"] == "ovntrace.explain/2"


def test_global_debug_after_the_subcommand() -> None:
    code, out, _ = _run("explain", str(SEED), "--debug", "--color", "never")
    assert code == 0 and "TUNNEL" in out
    # and it means what it means before the command: the traceback is not swallowed
    try:
        _run("explain", "/nonexistent/trace.txt", "--debug")
    except Exception as e:
        assert "cannot read /nonexistent/trace.txt" in str(e)
    else:
        raise AssertionError("--debug after the command did not re-raise")


def test_short_f_for_format() -> None:
    code, out, _ = _run("explain", "-f", "markdown", str(SEED))
    assert code == 0 and out.lstrip().startswith(("#", "**", "|", "`", "trace")) and "\x1b[" not in out
    code, out, _ = _run("explain", "-f", "json", str(SEED))
    assert code == 0 and json.loads(out)["schema"] == "ovntrace.explain/2"


def test_explicit_color_always_wins_over_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    code, out, _ = _run("explain", str(SEED), "--color", "always")
    assert code == 0 and "\x1b[" in out
    code, out, _ = _run("explain", str(SEED))  # auto: NO_COLOR honoured
    assert code == 0 and "\x1b[" not in out


def test_explain_into_head_exits_quietly_with_status_0(tmp_path: Path) -> None:
    # several real traces concatenated: far more output than a pipe buffer holds
    big = tmp_path / "concatenated-real-traces.txt"
    big.write_text("".join(p.read_text() for p in sorted((FIX / "ovn-24.03.9").glob("*.txt"))) * 3)
    for color in ("always", "never"):
        proc = subprocess.Popen([sys.executable, "-m", "ovntrace", "explain", str(big), "--full", "--color", color],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.readline()
        proc.stdout.close()  # what `| head -1` does
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == 0 and err == "", err


def test_binary_file_is_named_not_dumped() -> None:
    code, _, err = _run("explain", "/bin/ls")
    assert code == 2 and "/bin/ls is a binary file" in err
    assert "ELF" not in err and "\\x00" not in err and err.count("\n") == 1


def test_a_database_given_as_the_trace_says_use_context() -> None:
    code, _, err = _run("explain", str(FIX / "context" / "sb-clustered.db"))
    assert code == 2 and "is an OVSDB database file" in err and "--context" in err and "no ofproto/trace" not in err
    code, _, err = _run("explain", str(FIX / "context" / "lab-sb-dump.json"))
    assert code == 2 and "is a database dump" in err and "--context" in err


def test_a_snapshot_given_as_the_trace_says_use_context(lab: Lab, tmp_path: Path) -> None:
    from ovntrace.path import run_snapshot

    snap = tmp_path / "snapshot.json"
    run_snapshot(lab.inventory_path, snap)
    code, _, err = _run("explain", str(snap))
    assert code == 2 and "is an ovntrace snapshot" in err and f"--context {snap}" in err


def test_messages_in_words_no_class_name_no_errno() -> None:
    from ovntrace.cli import describe, words

    assert describe(OSError(None, "boom")) == "boom"  # str() of it is "[Errno None] boom"
    assert describe(OSError(2, "No such file or directory", "/x")) == "/x: No such file or directory"
    assert words("kube-node1: kube-node1: sshd down") == "kube-node1: sshd down"
    assert words("a: b: c") == "a: b: c"
    code, _, err = _run("explain", str(SEED), "--sb", "tcp:127.0.0.1:1")  # nothing listens on port 1
    assert code == 1 and "Connection refused" in err and "Errno" not in err and "Error:" not in err


def test_unexpected_errors_have_no_python_class_name(monkeypatch: pytest.MonkeyPatch) -> None:
    import ovntrace.cli as cli

    def boom(*_a: object, **_k: object) -> None:
        raise KeyError("reg15")

    monkeypatch.setattr(cli, "_apply_common", boom)  # an unexpected failure, of any kind
    code, _, err = _run("explain", str(SEED))
    assert code == 1 and "KeyError" not in err and "'reg15'" in err and "--debug" in err


def test_typos_in_a_pasted_trace_are_flagged_with_line_numbers() -> None:
    text = SEED.read_text()
    lines = text.splitlines(keepends=True)
    assert lines[3].startswith(" 0. in_port=9") and lines[4].strip().startswith("set_field:")
    # mutated copies of the real trace: the dot of table 0 dropped; set_field misspelt
    no_dot = "".join([*lines[:3], lines[3].replace(" 0. ", " 0 ", 1), *lines[4:]])
    code, _, err = _run("explain", "-", "--color", "never", stdin=no_dot)
    assert code == 0 and "ovntrace: line 4: looks like a table line without its dot" in err
    feld = "".join([*lines[:4], lines[4].replace("set_field:", "set_feld:", 1), *lines[5:]])
    code, out, err = _run("explain", "-", "--color", "never", stdin=feld)
    assert code == 0 and "ovntrace: line 5: unknown action name 'set_feld'" in err and "did you mean set_field" in err
    assert "set_feld" in out  # kept as written
    code, out, _ = _run("explain", "-", "-f", "json", stdin=feld)
    assert any(w["line"] == 5 for w in json.loads(out)["warnings"])


def test_no_typo_warnings_on_the_real_traces() -> None:
    from ovntrace.parser import parse
    from ovntrace.parser.lint import typo_warnings

    # every real trace we ship; fixtures/regress holds *mutated* copies (cut lines: typos on purpose)
    files = [p for p in sorted(FIX.rglob("*.txt")) if p.stat().st_size < 2_000_000 and "regress" not in p.parts]
    seen = 0
    for p in files:
        text = p.read_text(errors="replace")
        r = parse(text)
        if r.traces:
            seen += 1
            assert typo_warnings(text, r) == (), p
    assert seen > 50


# -- the pager, in a real terminal (tmux) ------------------------------------------------------------

def _tmux_run(tmp_path: Path, name: str, argv: str, env: str = "", rows: int = 30) -> tuple[str, str]:
    """Run ``ovntrace ARGV`` in a 120xROWS tmux; returns (the screen after 3 s, the screen after `q`)."""
    import shutil
    import time

    if shutil.which("tmux") is None or shutil.which("less") is None:
        pytest.skip("tmux and less are needed")
    session = f"ovntrace-pager-{os.getpid()}-{name}"
    cmd = f"{env} {sys.executable} -m ovntrace {argv}; echo EXIT=$?; sleep 60"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", str(rows), cmd], check=True,
                   timeout=20, env={k: v for k, v in os.environ.items() if k not in ("PAGER", "LESS", "NO_COLOR")})
    try:
        def screen(colours: bool = False) -> str:
            return subprocess.run(["tmux", "capture-pane", "-p", *(["-e"] if colours else []), "-t", session],
                                  capture_output=True, text=True, check=True, timeout=20).stdout

        deadline = time.monotonic() + 30
        first = screen(True)
        while time.monotonic() < deadline and "EXIT=" not in first and not first.rstrip().endswith(":"):
            time.sleep(0.3)
            first = screen(True)
        subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=True, timeout=20)
        after = screen()
        while time.monotonic() < deadline and "EXIT=" not in after:
            time.sleep(0.3)
            after = screen()
        return first, after
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, timeout=20, check=False)


def _long_trace(tmp_path: Path) -> Path:
    big = tmp_path / "concatenated-real-traces.txt"
    big.write_text("".join(p.read_text() for p in sorted((FIX / "ovn-24.03.9").glob("*.txt"))))
    return big


def test_long_output_on_a_terminal_goes_through_less_with_colours(tmp_path: Path) -> None:
    first, after = _tmux_run(tmp_path, "long", f"explain {_long_trace(tmp_path)} --full")
    assert "EXIT=" not in first and first.rstrip().endswith(":")  # less waits at its prompt
    assert "\x1b[" in first  # colours through less -R
    assert "EXIT=0" in after


def test_no_pager_prints_straight_to_the_terminal(tmp_path: Path) -> None:
    first, _ = _tmux_run(tmp_path, "nopager", f"explain {_long_trace(tmp_path)} --full --no-pager")
    assert "EXIT=0" in first  # no prompt to quit


def test_short_output_leaves_less_at_once_and_pager_cat_disables(tmp_path: Path) -> None:
    first, _ = _tmux_run(tmp_path, "short", f"explain {SEED}", rows=100)
    assert "EXIT=0" in first and "TUNNEL" in first  # less -F: one screen, no prompt, the text stays (-X)
    first, _ = _tmux_run(tmp_path, "cat", f"explain {_long_trace(tmp_path)} --full", env="PAGER=cat")
    assert "EXIT=0" in first


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_the_workers_output_goes_through_the_pager_too(tmp_path: Path, fmt: str) -> None:
    """With --jobs the chunks are copied by the kernel to the output's descriptor: through the pager, that is
    the pager's pipe, not the terminal the pager reports for its size (the whole output once went around it)."""
    big = _long_trace(tmp_path)
    paged = tmp_path / "paged.out"
    first, _ = _tmux_run(tmp_path, f"jobs-{fmt}", f"explain {big} -f {fmt} -q --color never --jobs 2",
                         env=f"OVNTRACE_PAGER='sh -c \"cat > {paged}\"'")
    assert "EXIT=0" in first
    plain = subprocess.run([sys.executable, "-m", "ovntrace", "explain", str(big), "-f", fmt, "-q", "--color",
                            "never", "--jobs", "2"], capture_output=True, text=True, check=True, timeout=120).stdout
    import re

    # (the pager is a terminal: --color never leaves Rich's bold on, as on the terminal itself)
    assert re.sub(r"\x1b\[[0-9;]*m", "", paged.read_text()) == plain
    assert '"kind"' not in first and "Datapath actions" not in first  # nothing of it on the terminal itself


def test_pager_choice_like_git() -> None:
    from ovntrace.cli import pager_command

    assert pager_command({}) == ["less"]
    assert pager_command({"PAGER": "most -s"}) == ["most", "-s"]
    assert pager_command({"PAGER": "most", "OVNTRACE_PAGER": "less -S"}) == ["less", "-S"]
    assert pager_command({"PAGER": "cat"}) is None and pager_command({"PAGER": ""}) is None


# -- shell completion ------------------------------------------------------------------------------

def _complete_bash(script: str, *words: str) -> list[str]:
    """Source the generated script in a real bash and ask it to complete WORDS (the last one is being typed)."""
    import shlex

    prog = (f"source {shlex.quote(script)}; COMP_WORDS=({' '.join(shlex.quote(w) for w in words)}); "
            f"COMP_CWORD={len(words) - 1}; _shtab_ovntrace; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
    proc = subprocess.run(["bash", "--norc", "-c", prog], capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_bash_completion_is_generated_and_completes_in_bash(tmp_path: Path) -> None:
    code, out, _ = _run("completion", "bash")
    assert code == 0
    script = tmp_path / "ovntrace.bash"
    script.write_text(out)
    assert "explain" in _complete_bash(str(script), "ovntrace", "ex")
    assert set(_complete_bash(str(script), "ovntrace", "")) >= {"explain", "path", "snapshot", "lab", "completion"}
    assert _complete_bash(str(script), "ovntrace", "explain", "--col") == ["--color"]
    assert "--hops" in _complete_bash(str(script), "ovntrace", "path", "a", "b", "--ho")
    assert set(_complete_bash(str(script), "ovntrace", "completion", "")) == {"bash", "zsh", "fish"}


def test_zsh_and_fish_completion_scripts() -> None:
    code, zsh, _ = _run("completion", "zsh")
    assert code == 0 and zsh.startswith("#compdef ovntrace") and '"--no-pager[' in zsh
    code, fish, _ = _run("completion", "fish")
    assert code == 0 and "complete -c ovntrace" in fish and "explain" in fish


# -- the man page ----------------------------------------------------------------------------------

ROOT = FIX.parent


def test_man_page_is_generated_from_the_current_parser() -> None:
    from ovntrace.manpage import render

    page = render()
    assert (ROOT / "man" / "ovntrace.1").read_text() == page, "run: python -m ovntrace.manpage > man/ovntrace.1"
    assert page.startswith('.TH OVNTRACE "1"') and "\\-\\-no\\-pager" in page and "completion" in page


def test_man_page_is_installed_with_the_package(tmp_path: Path) -> None:
    """A wheel built from the tree, installed into a fresh prefix: share/man/man1/ovntrace.1 is there."""
    pip = [sys.executable, "-m", "pip"]
    subprocess.run([*pip, "wheel", "-q", "--no-deps", str(ROOT), "-w", str(tmp_path / "dist")], check=True,
                   capture_output=True, timeout=300)
    wheel = next((tmp_path / "dist").glob("ovntrace-*.whl"))
    env = tmp_path / "env"  # a fresh environment (never this one: pip would replace the editable install)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, timeout=120)
    subprocess.run([*pip, "--python", str(env / "bin" / "python"), "install", "-q", "--no-deps", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    installed = env / "share" / "man" / "man1" / "ovntrace.1"
    assert installed.read_text() == (ROOT / "man" / "ovntrace.1").read_text()


# -- explain in worker processes (--jobs): the same output, the same errors -------------------------------

_MIX = [FIX / "lab" / "xnode-icmp.txt", FIX / "ovn-24.03.9" / "trace2-detrace.txt", FIX / "ovn-24.03.9" / "trace4.txt",
        SEED, FIX / "ovs-3.5.0" / "t3.txt", FIX / "ovn-24.03.9" / "trace1-detrace.txt"]


def _big(tmp_path: Path, lines: int = 6000, typos: bool = False) -> Path:
    """Real traces one after another (the parser warns on the detrace ones); ``typos``: mutated, one table
    line's dot and one action name broken in each copy of the seed (the typo lint's warnings)."""
    texts = [p.read_text(encoding="utf-8") for p in _MIX if p.exists()]
    chunks: list[str] = []
    total = 0
    while total < lines:
        t = texts[len(chunks) % len(texts)]
        if typos and t is texts[3]:
            t = t.replace("set_field:", "set_feld:", 1).replace(" 0. ", " 0 ", 1)
        chunks.append(t)
        total += t.count("\n")
    path = tmp_path / ("mutated-typos.txt" if typos else "real-traces.txt")
    path.write_text("\n".join(chunks), encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", [["--format", "json"], ["--format", "json1"], ["--color", "never"],
                                 ["--color", "always"], ["--format", "markdown"], ["--format", "json", "--no-ovn"]])
def test_jobs_give_the_same_output_and_warnings(tmp_path: Path, fmt: list[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = _big(tmp_path, typos=True)
    forks: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            forks.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    one = _run("explain", str(path), "--jobs", "1", *fmt)
    assert one[0] == 0 and "unknown action name 'set_feld'" in one[2] and "line 1:" not in one[2]
    assert "looks like a table line without its dot" in one[2] and "ovntrace: line" in one[2]
    assert forks == []
    for jobs in ("2", "3"):
        assert _run("explain", str(path), "--jobs", jobs, *fmt) == one, jobs
        assert len(forks) == int(jobs) - 1  # this process is one of them
        forks.clear()
    assert _run("explain", str(path), "--jobs", "auto", *fmt) == one


def test_jobs_with_cluster_facts_and_a_mixed_paste(tmp_path: Path) -> None:
    ctx = FIX / "context"
    path = _big(tmp_path, 3000)
    facts = ["--sb", str(ctx / "lab-sb-dump.json"), "--nb", str(ctx / "lab-nb-dump.json"), "--format", "json"]
    one = _run("explain", str(path), "-j", "1", *facts)
    assert one[0] == 0 and _run("explain", str(path), "-j", "2", *facts) == one
    mixed = FIX / "lab" / "ovn-trace" / "25.03" / "pair-acl-drop.txt"  # ovn-trace and ofproto/trace: compared
    for fmt in ("json", "text", "markdown"):
        one = _run("explain", str(mixed), "-j", "1", "--format", fmt)
        assert one[0] == 0 and _run("explain", str(mixed), "-j", "2", "--format", fmt) == one


def test_jobs_must_be_a_positive_number() -> None:
    for bad in ("0", "-1", "x"):
        code, _, err = _run_argv_exit("explain", str(SEED), "--jobs", bad)
        assert code == 2 and "--jobs" in err


def _run_argv_exit(*argv: str) -> tuple[int, str, str]:
    import contextlib

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as e:
        run(list(argv), io.StringIO(), out, err)
    return int(e.value.code or 0), out.getvalue(), err.getvalue()


def _failing_annotate(monkeypatch: pytest.MonkeyPatch, action: str) -> None:
    """Mocked failure (a bug cannot be made to happen on purpose): annotating the trace of line 1 of the
    third copy raises (``raise``) or kills the worker process doing it (``die``; in this process it works)."""
    from ovntrace.correlate.annotate import Correlator

    real = Correlator.annotate
    parent = os.getpid()

    def annotate(self: Correlator, trace: object) -> object:
        if getattr(trace, "first_line", 0) > 2000:
            if action == "raise":
                raise KeyError("reg15")
            if os.getpid() != parent:
                os._exit(7)
        return real(self, trace)  # type: ignore[arg-type]

    monkeypatch.setattr(Correlator, "annotate", annotate)


def test_an_error_in_a_worker_is_the_error_of_one_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _big(tmp_path)
    _failing_annotate(monkeypatch, "raise")
    one = _run("explain", str(path), "--format", "json", "-j", "1")
    assert one[0] == 1 and "'reg15'" in one[2] and "--debug" in one[2] and one[1] == ""
    assert _run("explain", str(path), "--format", "json", "-j", "2") == one
    code, _, err = _run("explain", str(path), "--color", "never", "-j", "2")
    assert (code, err) == (1, one[2])
    for jobs in ("1", "2"):  # --debug: the traceback, raised in this process
        with pytest.raises(KeyError, match="reg15"):
            _run("explain", str(path), "-j", jobs, "--debug")


def test_a_worker_that_dies_leaves_its_traces_to_the_parent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _big(tmp_path)
    want = _run("explain", str(path), "--format", "json", "-j", "1")
    _failing_annotate(monkeypatch, "die")
    assert _run("explain", str(path), "--format", "json", "-j", "2") == want


@pytest.mark.parametrize("fmt", ["json", "text", "markdown"])
def test_jobs_into_a_file_and_a_pipe(tmp_path: Path, fmt: str) -> None:
    """The workers' chunks are copied to a real output by the kernel (a file, a pipe read by another process):
    the same bytes as one process writing text."""
    path = _big(tmp_path, typos=True)
    one = _run("explain", str(path), "-j", "1", "--format", fmt, "--color", "never", "-q")
    assert one[0] == 0
    dest = tmp_path / "out"
    for jobs in ("1", "2"):  # one process: JSON past the spool's memory is copied the same way
        with open(dest, "w", encoding="utf-8") as f:
            f.write("before\n")  # written by the text layer, then the kernel's copies after it
            assert run(["explain", str(path), "-j", jobs, "--format", fmt, "--color", "never", "-q"],
                       io.StringIO(), f, io.StringIO()) == 0
        assert dest.read_bytes() == ("before\n" + one[1]).encode("utf-8"), jobs
    code = ("import sys; from ovntrace.cli import run; "
            f"sys.exit(run(['explain', {str(path)!r}, '-j', '2', '--format', {fmt!r}, '--color', 'never', '-q'], "
            "sys.stdin, sys.stdout, sys.stderr))")
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    assert got.stdout == one[1].encode("utf-8")
