"""Loader for the JSON package data (``ovntrace/ovn/data/*.json``).

Each file is ``{"kind", "groups": [{"tags": [...], "repo", "source", "data"}]}``; a group
holds consecutive release tags whose facts are identical and cites the file they come from.
Files are read lazily, once, through the package's loader (works from a wheel/zip too; without
:mod:`importlib.resources`, whose imports cost every ``explain`` ~15 ms of start-up).
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


@cache
def groups(kind: str) -> tuple[Group, ...]:
    """All groups of one data kind, in release order."""
    loader: Any = __spec__.loader  # get_data: the package's files, from a directory or a zip
    text = loader.get_data(os.path.join(os.path.dirname(__file__), "data", f"{kind}.json")).decode("utf-8")
    doc = json.loads(text)
    return tuple(
        Group(tuple(g["tags"]), str(g["repo"]), str(g["source"]), g["data"]) for g in doc["groups"]
    )


@cache
def _index(kind: str) -> dict[str, Group]:
    return {tag: g for g in groups(kind) for tag in g.tags}


def group_for_tag(kind: str, tag: str) -> Group | None:
    """The group holding exactly this known tag (e.g. ``"23.03.1"``), if any."""
    return _index(kind).get(tag)
