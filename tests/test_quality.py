"""ruff and mypy stay clean (run as tests so the README's one test command checks them)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_clean() -> None:
    proc = _run("ruff", "check", "ovntrace", "tests", "bench")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_strict_clean() -> None:
    proc = _run("mypy")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_pure_layers_import_no_io_or_ui_libraries() -> None:
    """model/parser/ovn/correlate never import rich, textual, paramiko, ovsdbapp (the architecture rule)."""
    banned = ("rich", "textual", "paramiko", "ovsdbapp")
    for layer in ("model", "parser", "ovn", "correlate"):
        for path in (ROOT / "ovntrace" / layer).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for lib in banned:
                assert f"import {lib}" not in text and f"from {lib}" not in text, f"{path} imports {lib}"
