"""Loader for the JSON package data (``ovntrace/ovn/data/*.json``).

Each file is ``{"kind", "groups": [{"tags": [...], "repo", "source", "data"}]}``; a group
holds consecutive release tags whose facts are identical and cites the file they come from.
Files are read lazily, once, through the package's loader (works from a wheel/zip too).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from typing import Any


@dataclass(frozen=True)
class Group:
    """Facts of one kind that hold for ``tags`` (read from ``repo``:``source`` at each tag)."""

    tags: tuple[str, ...]
    repo: str
    source: str
    data: Any

    @property
    def citation(self) -> str:
        """Human citation, e.g. ``ovn-org/ovn v23.03.1..v23.03.3 controller/lflow.h``."""
        span = f"v{self.tags[0]}" if len(self.tags) == 1 else f"v{self.tags[0]}..v{self.tags[-1]}"
        return f"{self.repo} {span} {self.source}"


def _read(kind: str) -> bytes:
    """The bytes of ``data/<kind>.json``: through this package's loader (a plain file or a zip member:
    cheap), else through :mod:`importlib.resources` (whose first use imports its readers: ~10 ms)."""
    loader = __spec__.loader if __spec__ is not None else None
    get_data = getattr(loader, "get_data", None)
    if get_data is not None:
        try:
            return get_data(os.path.join(os.path.dirname(__file__), "data", f"{kind}.json"))  # type: ignore[no-any-return]
        except OSError:
            pass
    from importlib import resources

    return resources.files("ovntrace.ovn").joinpath("data", f"{kind}.json").read_bytes()


@cache
def groups(kind: str) -> tuple[Group, ...]:
    """All groups of one data kind, in release order."""
    doc = json.loads(_read(kind))
    return tuple(
        Group(tuple(g["tags"]), str(g["repo"]), str(g["source"]), g["data"]) for g in doc["groups"]
    )


@cache
def _index(kind: str) -> dict[str, Group]:
    return {tag: g for g in groups(kind) for tag in g.tags}


def group_for_tag(kind: str, tag: str) -> Group | None:
    """The group holding exactly this known tag (e.g. ``"23.03.1"``), if any."""
    return _index(kind).get(tag)
