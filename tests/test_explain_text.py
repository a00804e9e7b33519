"""``ovntrace explain`` text: a trace explained in more than a screen ends with its verdict line again."""

from __future__ import annotations

import io

from ovntrace.cli import run
from ovntrace.render.text import LONG_TREE_LINES
from tests.conftest import FIX


def _explain(name: str, *extra: str) -> list[str]:
    out, err = io.StringIO(), io.StringIO()
    assert run(["explain", str(FIX / "lab" / name), "-q", "--color", "never", *extra], io.StringIO(), out, err) == 0
    return out.getvalue().splitlines()


def test_long_tree_ends_with_its_verdict() -> None:
    lines = _explain("acl-drop-dst.txt")  # 44 lines: longer than a screen
    assert len(lines) > LONG_TREE_LINES
    head_verdict = lines[0].split(" tables · ", 1)[1]
    assert head_verdict.startswith("DROP: dropped by ACL deny-ssh-from-client-1")
    assert lines[-1] == f"end of trace 1 · {head_verdict}"
    assert sum(ln.startswith("end of trace") for ln in lines) == 1


def test_short_tree_does_not_repeat_it() -> None:
    lines = _explain("port-security-drop.txt")  # 23 lines: one screen
    assert len(lines) <= LONG_TREE_LINES
    assert not any(ln.startswith("end of trace") for ln in lines)
