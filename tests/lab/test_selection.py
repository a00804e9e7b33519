"""Which inventory a command uses (issue 16): --inventory, $OVNTRACE_INVENTORY, the XDG config file, the
lab's, the bundled one (plan only); plan and apply default to the same one; plan lists the step ids that
apply --step takes. No lab needed: inventories are files in tmp_path, the lab dir is pointed there."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from ovntrace.lab import inventory as inv_mod
from ovntrace.lab import selection
from ovntrace.lab.apply import planned_steps, select_steps
from ovntrace.lab.cli import main
from ovntrace.lab.errors import LabError


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No inventory anywhere: an empty config home and lab dir under tmp_path."""
    monkeypatch.delenv(selection.ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("OVNTRACE_LAB_DIR", str(tmp_path / "lab"))
    return tmp_path


def _write(path: Path, name: str = "seed", interconnect: bool = False) -> Path:
    inv = inv_mod.load()
    c = replace(inv.cluster, name=name, topology="interconnect" if interconnect else "central")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(inv_mod.dumps(replace(inv, cluster=c)))
    return path


def test_order_of_selection(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert selection.select(None, bundled=True) == selection.Selected(None, selection.BUNDLED)
    with pytest.raises(LabError, match=r"no inventory: pass --inventory F, set \$OVNTRACE_INVENTORY") as e:
        selection.select(None)
    assert e.value.exit_code == 2 and str(env / "config" / "ovntrace" / "config.toml") in str(e.value)

    lab = _write(env / "lab" / "inventory.toml", "labc")
    assert selection.select(None) == selection.Selected(lab, "the lab's")

    cfg = env / "config" / "ovntrace" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text('inventory = "clusters/prod.toml"\n')  # relative to the config file's folder
    sel = selection.select(None)
    assert sel.path == cfg.parent / "clusters" / "prod.toml" and sel.how == f"inventory in {cfg}"

    monkeypatch.setenv(selection.ENV, str(env / "from-env.toml"))
    assert selection.select(None) == selection.Selected(env / "from-env.toml", "$OVNTRACE_INVENTORY")
    assert selection.select("given.toml") == selection.Selected(Path("given.toml"), "--inventory")
    with pytest.raises(LabError, match=r"no inventory at .*from-env.toml \(selected by \$OVNTRACE_INVENTORY\)"):
        selection.load(selection.select(None))


def test_xdg_default_and_bad_config(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/not/allowed")  # the XDG spec: ignored when not absolute
    monkeypatch.setenv("HOME", str(env / "home"))
    assert selection.config_path() == env / "home" / ".config" / "ovntrace" / "config.toml"
    cfg = selection.config_path()
    cfg.parent.mkdir(parents=True)
    cfg.write_text('# mine\n\ninventroy = "x.toml"\n')
    with pytest.raises(LabError, match=r"config .*config.toml, line 3: unknown key 'inventroy'") as e:
        selection.select(None)
    assert e.value.exit_code == 2
    cfg.write_text("inventory = 3\n")
    with pytest.raises(LabError, match="line 1: inventory must be a non-empty string"):
        selection.select(None)
    cfg.write_text("inventory = [\n")
    with pytest.raises(LabError, match="invalid TOML"):
        selection.select(None)


def test_plan_and_apply_default_to_the_same_inventory(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lab = _write(env / "lab" / "inventory.toml", "zoned", interconnect=True)
    assert main(["provision", "plan", "--node", "kube-node2"]) == 0
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert "cluster 'zoned', topology interconnect" in first and f"inventory {lab} (selected by the lab's)" in first
    # apply, with no --inventory either, reads that same file: its steps are the interconnect plan's
    assert main(["provision", "apply", "--node", "kube-node2", "--step", "nope.1"]) == 2
    err = capsys.readouterr().err
    assert "no step nope.1 on kube-node2" in err and "kube-node2:interconnect.1" in err


def test_apply_refuses_the_bundled_inventory(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["provision", "plan"]) == 0  # plan: the bundled seed, and says so
    assert "inventory <bundled default-inventory.toml>" in capsys.readouterr().out.splitlines()[0]
    assert main(["provision", "apply", "--yes"]) == 2
    assert "no inventory: pass --inventory F" in capsys.readouterr().err


def test_env_selects_for_plan(env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    p = _write(env / "mine.toml", "mine")
    monkeypatch.setenv(selection.ENV, str(p))
    assert main(["provision", "plan"]) == 0
    assert f"cluster 'mine', inventory {p} (selected by $OVNTRACE_INVENTORY)" in capsys.readouterr().out


@pytest.mark.parametrize("interconnect", [False, True], ids=["central", "interconnect"])
def test_plan_lists_the_step_ids_apply_takes(interconnect: bool, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    p = _write(tmp_path / "inv.toml", interconnect=interconnect)
    assert main(["provision", "plan", "--inventory", str(p)]) == 0
    out = capsys.readouterr().out
    shown: list[str] = []
    node = ""
    for line in out.splitlines():
        m = re.match(r"# ===== (\S+):", line)
        if m:
            node = m.group(1)
        m = re.match(r"# \[([a-z-]+\.\d+)\] \S", line)
        if m:
            shown.append(f"{node}:{m.group(1)}")
    inv = inv_mod.load(p)
    assert shown == [ps.ref for ps in planned_steps(inv)]
    for ref in shown[:: max(1, len(shown) // 12)]:  # each is what --step takes
        node, sid = ref.split(":")
        assert [ps.ref for ps in select_steps(inv, node, [sid])] == [ref]


def test_describe() -> None:
    inv = inv_mod.load()
    assert selection.describe(inv, selection.Selected(None, selection.BUNDLED)) == \
        "inventory the bundled seed inventory, cluster 'seed' (central, 3 nodes)"
    assert selection.describe(inv, selection.Selected(Path("/x/i.toml"), "--inventory")) == \
        "inventory /x/i.toml (selected by --inventory), cluster 'seed' (central, 3 nodes)"
