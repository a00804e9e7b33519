"""``ovntrace path`` and ``ovntrace snapshot`` say on stderr which inventory and cluster they use, and why that
inventory (issue 16): ``--inventory``, ``$OVNTRACE_INVENTORY``, the XDG config file, the lab's. The same words
as ``doctor`` (one function, :func:`ovntrace.lab.selection.describe`); stdout (JSON) stays clean; ``-q``
silences it. On the real lab (tests/conftest.py ``lab``)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from ovntrace.cli import run as cli_run
from ovntrace.lab.lab import Lab
from tests.json.contract import check

SRC, DST = "default/client-1", "default/sshd-2"
pytestmark = pytest.mark.lab


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli_run(list(argv), io.StringIO(), out, err)
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture
def lab_n(lab: Lab, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Lab:
    for n in ("kube-node1", "kube-node2"):
        lab._refresh_neighbors(n)  # the dummy underlay forgets its neighbours (as `lab trace` refreshes them)
    monkeypatch.delenv("OVNTRACE_INVENTORY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))  # no config file of this machine's
    monkeypatch.setenv("OVNTRACE_LAB_DIR", str(tmp_path / "no-lab"))
    return lab


def _cluster(lab: Lab) -> str:
    return f"cluster {lab.inventory.cluster.name!r} (central, 3 nodes)"


def test_path_names_inventory_and_cluster_on_stderr_only(lab_n: Lab) -> None:
    inv = lab_n.inventory_path
    rc, out, err = _cli("path", SRC, DST, "--inventory", str(inv), "-f", "json", "--no-logical")
    assert rc == 0, err
    check(out, "ovntrace.path/2")  # stdout: the document, nothing else
    line = f"ovntrace path: inventory {inv} (selected by --inventory), {_cluster(lab_n)}"
    assert err.splitlines() == [line], err
    # the words doctor prints (one shared function)
    rc, _out, derr = _cli("doctor", "--inventory", str(inv))
    assert f"ovntrace doctor: inventory {inv} (selected by --inventory), {_cluster(lab_n)}" in derr.splitlines()
    # -q: nothing on stderr
    rc, out, err = _cli("path", SRC, DST, "--inventory", str(inv), "--no-logical", "-q")
    assert rc == 0 and err == "" and out.startswith("ct trk,new: pod default/client-1 @ kube-node2")


def test_path_says_what_selected_the_inventory(lab_n: Lab, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    inv = lab_n.inventory_path
    # $OVNTRACE_INVENTORY
    monkeypatch.setenv("OVNTRACE_INVENTORY", str(inv))
    rc, out, err = _cli("path", SRC, DST, "--no-logical")
    assert rc == 0, err
    assert err.splitlines()[0] == f"ovntrace path: inventory {inv} (selected by $OVNTRACE_INVENTORY), {_cluster(lab_n)}"
    monkeypatch.delenv("OVNTRACE_INVENTORY")
    # the config file in the XDG config directory
    cfg = tmp_path / "xdg" / "ovntrace" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(f'inventory = "{inv}"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    rc, out, err = _cli("path", SRC, DST, "--no-logical")
    assert rc == 0, err
    assert err.splitlines()[0] == f"ovntrace path: inventory {inv} (selected by inventory in {cfg}), {_cluster(lab_n)}"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    # the lab's
    monkeypatch.setenv("OVNTRACE_LAB_DIR", str(lab_n.dir))
    rc, out, err = _cli("path", SRC, DST, "--no-logical")
    assert rc == 0, err
    assert err.splitlines()[0] == f"ovntrace path: inventory {inv} (selected by the lab's), {_cluster(lab_n)}"
    # offline: no inventory is read, none is named
    monkeypatch.setenv("OVNTRACE_LAB_DIR", str(tmp_path / "no-lab"))
    snap = tmp_path / "s.json"
    assert _cli("snapshot", "--inventory", str(inv), "-o", str(snap), "-q")[0] == 0
    rc, out, err = _cli("path", SRC, DST, "--offline", str(snap))
    assert rc == 0 and "NEEDS-TRACE on kube-node2" in out and "inventory" not in err, err


def test_snapshot_names_inventory_and_cluster(lab_n: Lab, tmp_path: Path) -> None:
    inv = lab_n.inventory_path
    snap = tmp_path / "s.json"
    rc, out, err = _cli("snapshot", "--inventory", str(inv), "-o", str(snap))
    assert rc == 0, err
    assert err.splitlines() == [f"ovntrace snapshot: inventory {inv} (selected by --inventory), {_cluster(lab_n)}"]
    assert out.startswith(f"wrote {snap}: NB, SB and 3 of 3 nodes") and out.count("\n") == 1
    rc, out, err = _cli("snapshot", "--inventory", str(inv), "-o", str(snap), "--quiet")
    assert rc == 0 and err == "" and out.startswith(f"wrote {snap}:")
    # no usable inventory: no line, the command's own one-line error (exit 2)
    rc, out, err = _cli("snapshot", "--inventory", str(tmp_path / "none.toml"), "-o", str(snap))
    assert rc == 2 and err.count("\n") == 1 and err.startswith(f"ovntrace snapshot: no inventory at {tmp_path}")
