"""What the TUI shows and with which options (plain data shared by the CLI, the app and the tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: opening a trace (not a live path) without --inventory needs none
    from ovntrace.lab.inventory import Inventory
    from ovntrace.model.cluster import ClusterContext
    from ovntrace.tui.live import PathRequest


@dataclass(frozen=True)
class Source:
    """The input: ``text`` when already read (stdin, a paste, a test), else read from ``path``."""

    text: str | None = None
    path: Path | None = None
    name: str = "paste"  # shown in the header, and the stem of export file names


@dataclass(frozen=True)
class Options:
    inventory: Inventory | None = None  # --inventory: the runbook pane shows its commands
    correlate: bool = True  # OVN meaning (stage names, path, verdict cause), offline by default
    context: ClusterContext | None = None  # cluster facts already loaded (tests, or the caller's own)
    nb: tuple[str, ...] = ()  # --nb/--sb/--context: read in a worker once the trace is parsed (only what the
    sb: tuple[str, ...] = ()  # trace needs from a live SB), while the tree is already usable
    contexts: tuple[str, ...] = ()
    ovn_version: str | None = None
    on_node: str | None = None
    inventory_path: str | None = None  # where --inventory came from: doctor reads the cluster over SSH with it
    doctor: bool = True  # with an inventory, run `ovntrace doctor` (read-only) and show its findings
    live: PathRequest | None = None  # `ovntrace path SRC DST --tui`: trace the path (SSH) instead of reading
