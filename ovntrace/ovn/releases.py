"""OVN releases: the list of known release tags, version parsing, comparison, nearest match.

"OVN 2.x" is the OVN shipped inside Open vSwitch 2.5-2.12 (``openvswitch/ovs`` tags
``v2.5.0``..``v2.12.4``, tree ``ovn/``); from ``v20.03.0`` on OVN has its own repository
(``ovn-org/ovn``).  The known tags are those the data files were generated from (every
release tag of both repositories in that range, see ``tests/ovn/extract_facts.py``).

Stable point releases changed facts (table layout 23.03.0 vs 23.03.1, stage sets, flag
bits), so lookups work on full ``X.Y.Z`` tags; a version without a patch level
(``"23.03"``) is taken as ``X.Y.0`` and reported as inexact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, total_ordering

from ovntrace.ovn import _data

_VERSION_RE = re.compile(r"(?<![\d.])v?(\d{1,2})\.(\d{1,2})(?:\.(\d{1,3}))?")


@total_ordering
@dataclass(frozen=True)
class Version:
    """A parsed OVN version; ``patch`` is None when the text had none."""

    major: int
    minor: int
    patch: int | None = None

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch or 0)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.key < other.key

    def __str__(self) -> str:
        if self.patch is None:
            return f"{self.major}.{self.minor:02d}" if self.major >= 20 else f"{self.major}.{self.minor}"
        if self.major >= 20:
            return f"{self.major}.{self.minor:02d}.{self.patch}"
        return f"{self.major}.{self.minor}.{self.patch}"

    @property
    def in_ovs_tree(self) -> bool:
        """True for OVN 2.x, which lived in the Open vSwitch repository."""
        return self.major == 2


@cache  # called for every release comparison: a correlated trace asks tens of thousands of times
def parse_version(text: str) -> Version:
    """Parse ``"23.03.1"``, ``"v24.09.0"``, ``"2.9"``, ``"23.03.1-1~deb12u1"``, ``"ovn-controller 24.03.2"``.

    Raises ValueError when no version is found.
    """
    m = _VERSION_RE.search(text.strip())
    if not m:
        raise ValueError(f"not an OVN version: {text!r}")
    major, minor = int(m.group(1)), int(m.group(2))
    patch = int(m.group(3)) if m.group(3) is not None else None
    return Version(major, minor, patch)


def try_parse_version(text: str | None) -> Version | None:
    """Like :func:`parse_version` but returns None for None/unparsable text."""
    if not text:
        return None
    try:
        return parse_version(text)
    except ValueError:
        return None


def compare_versions(a: str, b: str) -> int:
    """-1, 0 or 1 as version ``a`` is lower than, equal to or higher than ``b`` (missing patch = 0)."""
    ka, kb = parse_version(a).key, parse_version(b).key
    return (ka > kb) - (ka < kb)


@cache
def known_releases() -> tuple[str, ...]:
    """All release tags the data covers, oldest first (``"2.5.0"`` .. ``"26.03.2"``)."""
    tags = {t for g in _data.groups("layouts") for t in g.tags}
    return tuple(sorted(tags, key=lambda t: parse_version(t).key))


@cache
def _known_set() -> frozenset[str]:
    return frozenset(known_releases())


@dataclass(frozen=True)
class ReleaseMatch:
    """Result of :func:`nearest_release`: which known tag stands for the requested version."""

    requested: str
    release: str
    exact: bool
    reason: str


@cache
def nearest_release(version: str) -> ReleaseMatch:
    """Map any version text to the known tag whose facts apply.

    Order of preference: the exact tag; the highest known patch <= requested in the same
    X.Y series (a newer, not yet known point release is assumed to keep the facts of the
    last known one); the lowest known patch of the series; the highest known release below
    the requested one (future series); else the oldest known release.
    """
    if version in _known_set():  # the usual case: a known tag names itself (every tag is in normal form)
        return ReleaseMatch(version, version, True, "known release tag")
    v = parse_version(version)
    tags = known_releases()
    parsed = [(parse_version(t), t) for t in tags]
    if v.patch is not None:
        for pv, t in parsed:
            if pv.key == v.key:
                return ReleaseMatch(version, t, True, "known release tag")
    series = [(pv, t) for pv, t in parsed if (pv.major, pv.minor) == (v.major, v.minor)]
    if series:
        below = [(pv, t) for pv, t in series if pv.key <= v.key]
        if below:
            t = below[-1][1]
            why = "no patch level given; taken as .0" if v.patch is None else "newest known patch below"
            return ReleaseMatch(version, t, False, why)
        return ReleaseMatch(version, series[0][1], False, "oldest known patch of the series")
    below_all = [t for pv, t in parsed if pv.key <= v.key]
    if below_all:
        return ReleaseMatch(version, below_all[-1], False, "series unknown; newest known release below")
    return ReleaseMatch(version, tags[0], False, "older than every known release; oldest known used")


def resolve(release: str | None) -> str | None:
    """Known tag for ``release`` (None stays None; unparsable text -> None)."""
    if release is None or try_parse_version(release) is None:
        return None
    return nearest_release(release).release


def latest_release() -> str:
    """The newest known release tag."""
    return known_releases()[-1]
