"""``ovntrace path`` picks its inventory as plan, apply and doctor do (ovntrace.lab.selection):
``--inventory``, then ``$OVNTRACE_INVENTORY``, then the XDG config file's, then the lab's."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from ovntrace.cli import run


def _path(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):  # path writes to sys.stderr
        rc = run(["path", *argv], io.StringIO(""), out, err)
    return rc, err.getvalue()


def test_env_inventory_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = tmp_path / "from-env.toml"
    monkeypatch.setenv("OVNTRACE_INVENTORY", str(missing))
    rc, err = _path("default/client-1", "default/sshd-2")
    assert rc == 2 and str(missing) in err


def test_xdg_config_inventory_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("OVNTRACE_INVENTORY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "ovntrace").mkdir()
    (tmp_path / "ovntrace" / "config.toml").write_text('inventory = "mine.toml"\n')
    rc, err = _path("default/client-1", "default/sshd-2")
    assert rc == 2 and str(tmp_path / "ovntrace" / "mine.toml") in err


def test_option_wins_over_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OVNTRACE_INVENTORY", str(tmp_path / "from-env.toml"))
    rc, err = _path("default/client-1", "default/sshd-2", "--inventory", str(tmp_path / "given.toml"))
    assert rc == 2 and "given.toml" in err and "from-env" not in err
