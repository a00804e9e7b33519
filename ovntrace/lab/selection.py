"""Which inventory a command uses, and saying so.

One order for every command that reads an inventory (``provision plan``/``apply``, ``doctor``; others may
call :func:`select` too):

1. ``--inventory F``;
2. ``$OVNTRACE_INVENTORY``;
3. ``inventory = "F"`` in the config file ``$XDG_CONFIG_HOME/ovntrace/config.toml`` (``~/.config/…``
   when ``XDG_CONFIG_HOME`` is unset or not absolute, as the XDG base directory spec says; a relative
   ``F`` is relative to the config file's folder, ``~`` is expanded);
4. the lab's ``inventory.toml`` (``$OVNTRACE_LAB_DIR`` or ``/tmp/ovntrace-lab-<uid>``), when a lab made one;
5. only for commands that change nothing (``provision plan``): the bundled seed inventory.

``provision plan`` and ``provision apply`` thus default to the same inventory; when only the bundled one is
left, apply refuses (its nodes have no SSH: their steps would run on this machine). :func:`describe` is the
line each command prints (stderr or its header): the file, what selected it, the cluster and its topology.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ovntrace.lab.errors import LabError
from ovntrace.lab.inventory import Inventory, InventoryError, lab_dir

ENV = "OVNTRACE_INVENTORY"
CONFIG_KEYS = ("inventory",)
BUNDLED = "the bundled seed inventory"


@dataclass(frozen=True)
class Selected:
    """The inventory file a command uses (None: the bundled one) and what selected it."""

    path: Path | None
    how: str

    @property
    def arg(self) -> str | None:
        """The path as an ``--inventory`` argument (None for the bundled one)."""
        return str(self.path) if self.path is not None else None


def config_path() -> Path:
    """``$XDG_CONFIG_HOME/ovntrace/config.toml`` (``~/.config/ovntrace/config.toml`` by default)."""
    base = os.environ.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".config"
    return root / "ovntrace" / "config.toml"


def read_config(path: Path | None = None) -> dict[str, str]:
    """The config file's settings ({} when there is none). A bad file is a usage error (exit 2) naming it
    (and the line of an unknown key or a value of the wrong type)."""
    p = path or config_path()
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise InventoryError(f"cannot read config {p}: {e.strerror or e}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise InventoryError(f"config {p}, line {line}: not UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        raise InventoryError(f"config {p}: invalid TOML: {e}") from None
    lines = raw.decode("utf-8").splitlines()

    def line_of(key: str) -> str:
        for i, ln in enumerate(lines, 1):
            if ln.strip().startswith((f"{key} ", f"{key}=", f"[{key}")):
                return f", line {i}"
        return ""

    out: dict[str, str] = {}
    for k, v in data.items():
        if k not in CONFIG_KEYS:
            raise InventoryError(f"config {p}{line_of(k)}: unknown key {k!r} (known: {', '.join(CONFIG_KEYS)})")
        if not isinstance(v, str) or not v.strip():
            raise InventoryError(f"config {p}{line_of(k)}: {k} must be a non-empty string (a file path)")
        out[k] = v
    return out


def select(arg: str | Path | None, bundled: bool = False) -> Selected:
    """The inventory to use (see the module doc). ``bundled``: fall back to the bundled seed inventory
    (commands that change nothing); without it, no inventory at all is a usage error (exit 2)."""
    if arg:
        return Selected(Path(arg), "--inventory")
    env = os.environ.get(ENV, "")
    if env:
        return Selected(Path(env).expanduser(), f"${ENV}")
    cfg_file = config_path()
    cfg = read_config(cfg_file)
    if "inventory" in cfg:
        p = Path(cfg["inventory"]).expanduser()
        if not p.is_absolute():
            p = cfg_file.parent / p
        return Selected(p, f"inventory in {cfg_file}")
    lab = lab_dir() / "inventory.toml"
    if lab.is_file():
        return Selected(lab, "the lab's")
    if bundled:
        return Selected(None, BUNDLED)
    raise LabError(
        f"no inventory: pass --inventory F, set ${ENV}, put inventory = \"F\" in {cfg_file}, "
        f"or start the lab (`ovntrace lab up`, which writes {lab})",
        exit_code=2,
    )


def load(sel: Selected) -> Inventory:
    """Load the selected inventory (a missing file is a usage error, exit 2, saying what selected it)."""
    from ovntrace.lab import inventory as inv_mod

    if sel.path is None:
        return inv_mod.load()
    if not sel.path.is_file():
        raise LabError(f"no inventory at {sel.path} (selected by {sel.how})", exit_code=2)
    return inv_mod.load(sel.path)


def describe(inv: Inventory, sel: Selected) -> str:
    """``inventory F (selected by …), cluster 'seed' (central, 3 nodes)``: what a command prints."""
    where = str(sel.path) if sel.path is not None else BUNDLED
    how = "" if sel.path is None else f" (selected by {sel.how})"
    topo = inv.cluster.topology
    return f"inventory {where}{how}, cluster {inv.cluster.name!r} ({topo}, {len(inv.nodes)} nodes)"
