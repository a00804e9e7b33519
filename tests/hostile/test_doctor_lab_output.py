"""doctor and the lab/provision commands print node output (names from a node's databases, command output) and
inventory text: no raw control character may reach the terminal, in text or JSON."""

from __future__ import annotations

import argparse
import io
import json

import pytest

from ovntrace.doctor import cli as doctor_cli
from ovntrace.doctor.checks import ERROR, Finding, Report

HOSTILE = "ls-\x1b]2;PWNED\x07\x1b[2J\x9b\u202e-end"


def test_doctor_escapes_what_nodes_said(monkeypatch: pytest.MonkeyPatch) -> None:
    # The SSH collection is replaced by its result: what is under test is the printing of evidence that a
    # node's database handed over (the real collection is tested against the lab in tests/doctor).
    report = Report([Finding(ERROR, "kube-node1", "switch", f"logical switch {HOSTILE} missing",
                             (f"ovn-nbctl ls-list: {HOSTILE}",))], checks=1, nodes=["kube-node1"])
    monkeypatch.setattr(doctor_cli, "run_doctor", lambda *a, **k: report)
    for fmt in ("text", "json"):
        out, err = io.StringIO(), io.StringIO()
        args = argparse.Namespace(inventory=None, node=None, accept_new=False, format=fmt)
        assert doctor_cli.cmd_doctor(args, out, err) == 1
        text = out.getvalue()
        assert not any(c in text for c in ("\x1b", "\x07", "\x9b", "\u202e")), text
        if fmt == "json":
            assert json.loads(text)["findings"][0]["evidence"] == [f"ovn-nbctl ls-list: {HOSTILE}"]  # exact, escaped
        else:
            assert "\\x1b]2;PWNED" in text


def test_lab_output_helper_escapes(capsys: pytest.CaptureFixture[str]) -> None:
    from ovntrace.lab.cli import _out

    _out(f"lab up: {HOSTILE}\n\tindented line")
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out and "\\x1b" in out and "\tindented line" in out
