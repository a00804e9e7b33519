"""Incident bundles as they arrive: sosreports (folder or ``.tar.xz``/``.tar.gz``) and OpenShift must-gathers
(folder, or its ``network_logs/ovnk_database_store.tar.gz``), read in place. See docs/bundles.md.

What a member is comes from sos's own file names (``sos_commands/<plugin>/<command with ' ' -> '_' and
'/' -> '.'>``), checked against ``sos_reports/manifest.json`` when there is one (which command made the file,
its exit status), and from must-gather's layout (``ovnk_database_store/<pod>_nbdb`` / ``_sbdb`` per zone in
interconnect mode, ``network_logs/leader_nbdb.gz`` / ``leader_sbdb.gz`` in legacy mode, as
openshift/must-gather's ``collection-scripts/gather_network_logs_basics`` writes them).

A tarball is read in one streaming pass (``tarfile`` ``r|*``): every member is listed, and only the members a
caller needs (``want``: kinds) are kept in memory, each with the input size cap; a nested
``ovnk_database_store.tar.gz`` is opened the same way. A tarball cut short, a member that cannot be read, a db
file whose checksum fails, a missing manifest: each is a :class:`Problem` naming the member, never skipped
silently; what was read before stays usable.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import re
import tarfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ovntrace.model.cluster import ClusterContext, NodeFacts
from ovntrace.sources.errors import SourceError
from ovntrace.sources.limits import max_input_size, read_path, read_stream

# -- what a member is ---------------------------------------------------------------------------------

#: sos command files (the part after ``sos_commands/<plugin>/``) -> kind; ``br``: the bridge, ``of``: OpenFlow
_SOS_COMMANDS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), k) for p, k in (
    (r"^ovs-vsctl(?:_-t_\d+)?_show$", "vsctl-show"),
    (r"^ovs-ofctl(?:_-O_(?P<of>OpenFlow1\d))?_show_(?P<br>[^/]+)$", "ofctl-show"),
    (r"^ovs-ofctl(?:_-O_(?P<of>OpenFlow1\d))?(?:_--no-stats)?_dump-flows_(?P<br>[^/]+)$", "flows"),
    (r"^ovs-ofctl(?:_-O_(?P<of>OpenFlow1\d))?_dump-groups_(?P<br>[^/]+)$", "groups"),
    (r"^ovs-ofctl(?:_-O_(?P<of>OpenFlow1\d))?_dump-group-stats_(?P<br>[^/]+)$", "group-stats"),
    (r"^ovs-ofctl(?:_-O_(?P<of>OpenFlow1\d))?_dump-tlv-map_(?P<br>[^/]+)$", "tlv-map"),
    (r"^ovs-ofctl(?:_-O_(?P<of>OpenFlow1\d))?_dump-meters_(?P<br>[^/]+)$", "meters"),
    (r"^ovs-ofctl(?:_-O_(?P<of>OpenFlow1\d))?_dump-ports-desc_(?P<br>[^/]+)$", "ports-desc"),
    (r"^ovsdb-client_-f_list_dump$", "ovs-dump-list"),
    (r"^ovs-vsctl(?:_-t_\d+)?_list_Open_vSwitch$", "ovs-list"),
    (r"^ovs-vsctl(?:_-t_\d+)?_list_interface$", "ovs-list-interface"),
    (r"^ovs-appctl_dpctl\.show(?:_-s)?(?:_\S+)?$", "dpctl-show"),
    (r"^ovs-appctl_dpif\.show$", "dpif-show"),
    (r"^ovs-appctl_ovs\.route\.show$", "route-show"),
    (r"^ovs-appctl_tnl\.(?:arp|neigh)\.show$", "tnl-neigh"),
    (r"^ovs-appctl_ofproto\.list-tunnels$", "list-tunnels"),
    (r"^ovs-appctl_dpctl\.dump-flows.*$", "dp-flows"),
    (r"^ovs-appctl_dpctl\.dump-conntrack.*$", "conntrack"),
    (r"^ovs-appctl_version$", "ovs-version"),
    (r"^ovn-nbctl(?:_--no-leader-only)?_show$", "nbctl-show"),
    (r"^ovn-sbctl(?:_--no-leader-only)?_show$", "sbctl-show"),
    (r"^ovn-sbctl(?:_--no-leader-only)?_lflow-list.*$", "lflow-list"),
))
_DB_NAMES = {"ovnnb_db.db": "nb-db", "ovnsb_db.db": "sb-db", "conf.db": "conf-db",
             "ovn_ic_nb_db.db": "ic-db", "ovn_ic_sb_db.db": "ic-db"}
_LOGS = {"ovs-vswitchd.log": "vswitchd-log", "ovn-controller.log": "controller-log",
         "ovn-northd.log": "northd-log"}
_MG_ZONE_DB = re.compile(r"(?:^|/)ovnk_database_store/(?P<pod>[^/]+)_(?P<db>nb|sb)db$")
_MG_LEADER = re.compile(r"(?:^|/)network_logs/leader_(?P<db>nb|sb)db(?:\.gz)?$")
_SOS_TOP = re.compile(r"^(?:.*/)?(?P<top>sosreport-[^/]+)(?:/|$)")

#: what the context of a trace needs (``--context``), what a replay needs on top, what `bundle` reads
CONTEXT_KINDS = frozenset({"manifest", "sos-version", "ovs-dump-list", "ovs-list", "vsctl-show", "ofctl-show",
                           "conf-db", "nb-db", "sb-db", "vswitchd-log", "controller-log", "northd-log",
                           "ovs-version", "mg-store"})
REPLAY_KINDS = CONTEXT_KINDS | frozenset({"flows", "groups", "tlv-map", "dpctl-show", "route-show", "tnl-neigh",
                                          "list-tunnels", "meters"})
INVENTORY_KINDS = CONTEXT_KINDS
_MAX_MEMBERS = 200_000  # files of a folder / members of an archive (a must-gather has tens of thousands)
_LOG_HEAD = 256 * 1024  # versions are in a log's first lines
_LOG_KINDS = frozenset({"vswitchd-log", "controller-log", "northd-log"})


@dataclass(frozen=True)
class Member:
    """One file of a bundle. ``path``: inside the bundle (a nested archive's members as ``OUTER!INNER``)."""

    path: str
    size: int
    kind: str  # one of the kinds above, "sos" (sos's own files), or "other" (not used)
    bridge: str | None = None
    openflow: str | None = None  # "OpenFlow15" ... or None (the default, OpenFlow 1.0)
    command: str | None = None  # from the manifest
    return_code: int | None = None  # from the manifest


@dataclass(frozen=True)
class Problem:
    """Something damaged or missing, naming the member (or the archive)."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


@dataclass
class Report:
    """One node's sosreport, or one zone (node) of a must-gather."""

    origin: str  # the path given
    root: str  # the sosreport's top folder, or the zone (pod) name
    kind: str  # "sosreport" | "must-gather"
    members: list[Member] = field(default_factory=list)
    data: dict[str, bytes] = field(default_factory=dict)  # member path -> bytes (the wanted ones)
    sos_version: str | None = None
    manifest: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)  # found while reading a member's contents
    _tables: dict[str, Any] | None = None
    _sb_host: list[str | None] = field(default_factory=list)  # the SB's own chassis, once decoded

    # -- what it holds --

    def by_kind(self, kind: str) -> list[Member]:
        return [m for m in self.members if m.kind == kind]

    def best(self, kind: str, bridge: str | None = None) -> Member | None:
        """The member of ``kind`` (for ``bridge``) with the highest OpenFlow version (1.5 over 1.3 over 1.0)."""
        cands = [m for m in self.by_kind(kind) if bridge is None or m.bridge == bridge]
        cands = [m for m in cands if m.return_code in (None, 0)] or cands
        if not cands:
            return None
        return max(cands, key=lambda m: (m.openflow or "OpenFlow10", -len(m.path)))

    def text(self, m: Member | None) -> str | None:
        if m is None or m.path not in self.data:
            return None
        return self.data[m.path].decode("utf-8", errors="replace")

    def ovs_tables(self) -> dict[str, Any] | None:
        """The node's Open_vSwitch rows: its conf.db, else ``ovsdb-client -f list dump`` (sos 4.0)."""
        if self._tables is not None:
            return self._tables
        conf = self.best("conf-db")
        if conf is not None and conf.path in self.data:
            from ovntrace.sources.load import read_db_bytes

            self._tables = dict(read_db_bytes(self.data[conf.path], conf.path, "Open_vSwitch").tables)
            return self._tables
        from ovntrace.sources.bundle_list import ListError, parse_list

        for kind, table in (("ovs-dump-list", None), ("ovs-list", "Open_vSwitch")):
            m = self.best(kind)
            text = self.text(m)
            if m is None or text is None or m.return_code not in (None, 0):
                continue
            try:
                self._tables = dict(parse_list(text, table))
            except ListError as e:
                self.problems.append(Problem(m.path, f"line {e.line}: {e}; not used"))
                continue
            return self._tables
        return None

    def external_ids(self) -> dict[str, str]:
        t = self.ovs_tables() or {}
        rows = list((t.get("Open_vSwitch") or {}).values())
        ext = rows[0].get("external_ids") if rows else None
        return dict(ext) if isinstance(ext, dict) else {}

    @property
    def system_id(self) -> str | None:
        return self.external_ids().get("system-id") or None

    @property
    def hostname(self) -> str | None:
        h = self.external_ids().get("hostname")
        if h:
            return h
        if self.kind == "must-gather":
            return self._sb_local_hostname()
        return None

    def _sb_local_hostname(self) -> str | None:
        """A zone's own node: the SB's one chassis that is not ``other_config:is-remote=true``."""
        if not self._sb_host:
            self._sb_host.append(self._sb_local_hostname_uncached())
        return self._sb_host[0]

    def _sb_local_hostname_uncached(self) -> str | None:
        sb = self.best("sb-db")
        if sb is None or sb.path not in self.data:
            return None
        try:
            from ovntrace.sources.ovsdb import replay as db_replay
            from ovntrace.sources.ovsdb import split_records

            records, _ = split_records(self.data[sb.path], sb.path)
            cols = frozenset({"name", "hostname", "other_config", "external_ids"})
            db = db_replay(records, {"Chassis": cols}, sb.path, frozenset())
        except SourceError:
            return None
        local = [r for r in (db.tables.get("Chassis") or {}).values()
                 if "true" not in ((r.get("other_config") or {}).get("is-remote"),
                                   (r.get("external_ids") or {}).get("is-remote"))]
        if len(local) == 1:
            return str(local[0].get("hostname") or local[0].get("name") or "") or None
        return None

    @property
    def name(self) -> str:
        """The node: its ``hostname`` external id, else its system-id, else the sosreport's or pod's name."""
        return self.hostname or self.system_id or self.root

    @property
    def ovs_version(self) -> str | None:
        t = self.ovs_tables() or {}
        rows = list((t.get("Open_vSwitch") or {}).values())
        v = rows[0].get("ovs_version") if rows else None
        if v:
            return str(v)
        for m in self.by_kind("ovs-version") + self.by_kind("vswitchd-log"):
            got = re.search(r"ovs-vswitchd \(Open vSwitch\) (\S+)", self.text(m) or "")
            if got:
                return got.group(1)
        return None

    @property
    def ovn_version(self) -> str | None:
        for m in self.by_kind("controller-log") + self.by_kind("northd-log"):
            got = re.search(r"OVN internal version is : \[([\d.]+)-", self.text(m) or "")
            if got:
                return got.group(1)
        for kind in ("sb-db", "nb-db"):
            db = self.best(kind)
            if db is not None and db.path in self.data:
                hit = re.search(rb'"northd_internal_version"\s*,\s*"([\d.]+)-', self.data[db.path])
                if hit:
                    return hit.group(1).decode()
        return None

    @property
    def bridges(self) -> list[str]:
        return sorted({m.bridge for m in self.members if m.bridge and m.kind in ("flows", "ofctl-show")})


@dataclass
class Bundle:
    paths: tuple[str, ...]
    reports: list[Report] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    open_seconds: float = 0.0
    bytes_read: int = 0
    other_members: int = 0  # a must-gather's files that are no zone's database (namespaces/, logs ...)

    def report(self, node: str) -> Report:
        """The report of ``node``: its name, hostname, system-id, or sosreport/pod name."""
        hits = [r for r in self.reports if node in (r.name, r.hostname, r.system_id, r.root)]
        if len(hits) == 1:
            return hits[0]
        names = ", ".join(sorted(r.name for r in self.reports)) or "none"
        if not hits:
            raise SourceError(f"{node}: no such node in the bundle; nodes: {names}")
        raise SourceError(f"{node}: several reports match ({', '.join(r.root for r in hits)})")


# -- classifying ----------------------------------------------------------------------------------


def classify(path: str) -> tuple[str, str | None, str | None]:
    """(kind, bridge, OpenFlow version) of a member path, by sos's and must-gather's own names."""
    path = path.rsplit("!", 1)[-1]  # a nested archive's member: its own path
    parts = path.split("/")
    base = parts[-1]
    if "sos_commands" in parts:
        i = parts.index("sos_commands")
        if len(parts) == i + 3:
            for pat, kind in _SOS_COMMANDS:
                m = pat.match(base)
                if m:
                    d = m.groupdict()
                    return kind, d.get("br"), d.get("of")
        return "other", None, None
    if base == "manifest.json" and len(parts) >= 2 and parts[-2] == "sos_reports":
        return "manifest", None, None
    if base == "version.txt" and (len(parts) == 1 or parts[-2].startswith("sosreport")):
        return "sos-version", None, None
    if len(parts) >= 2 and parts[-2] in ("sos_logs", "sos_reports", "sos_strings"):
        return "sos", None, None
    if base in _DB_NAMES:
        return _DB_NAMES[base], None, None
    if base in _LOGS:
        return _LOGS[base], None, None
    if base == "ovnk_database_store.tar.gz":
        return "mg-store", None, None
    m = _MG_ZONE_DB.search(path) or _MG_LEADER.search(path)
    if m:
        return ("nb-db" if m.group("db") == "nb" else "sb-db"), None, None
    return "other", None, None


def _report_key(path: str, origin: str, must_gather: bool) -> tuple[str, str]:
    """(report root, kind) of a member: its sosreport folder, its must-gather zone (``leader`` in legacy
    mode), the must-gather itself (its other files), or the origin (a sosreport folder given itself)."""
    m = _MG_ZONE_DB.search(path)
    if m:
        return m.group("pod"), "must-gather"
    if _MG_LEADER.search(path):
        return "leader", "must-gather"
    m = _SOS_TOP.match(path)
    if m:
        return m.group("top"), "sosreport"
    if must_gather or "network_logs/" in path or path.startswith("ovnk_database_store"):
        return "must-gather", "must-gather"
    return Path(origin).name, "sosreport"


def _is_must_gather(p: Path) -> bool:
    if p.name in ("ovnk_database_store.tar.gz", "network_logs"):
        return True
    if not p.is_dir():
        return "must-gather" in p.name
    if (p / "network_logs").is_dir():
        return True
    try:
        return any(e.is_dir() and (e / "network_logs").is_dir() for e in list(p.iterdir())[:2000])
    except OSError:
        return False


# -- reading --------------------------------------------------------------------------------------


def _is_tarball(p: Path) -> bool:
    try:
        with open(p, "rb") as f:
            head = f.read(265)
    except OSError:
        return False
    if head[:2] == b"\x1f\x8b" or head[:6] == b"\xfd7zXZ\x00" or head[:3] == b"BZh":
        return p.name.endswith((".tar.xz", ".tar.gz", ".tgz", ".txz", ".tar.bz2", ".tbz2"))
    return head[257:262] == b"ustar"


def _is_sos_dir(p: Path) -> bool:
    if (p / "sos_reports" / "manifest.json").is_file():
        return True
    try:
        return (p / "sos_commands").is_dir() and "sos" in (p / "version.txt").read_text(errors="replace")[:200]
    except OSError:
        return False


def _mg_network_logs(p: Path) -> bool:
    return any((p / f).is_file() for f in ("ovnk_database_store.tar.gz", "leader_nbdb.gz", "leader_sbdb.gz",
                                          "leader_nbdb", "leader_sbdb"))


def is_bundle(path: str | os.PathLike[str]) -> bool:
    """A real sosreport (its ``sos_reports/manifest.json`` or ``version.txt``) or must-gather (its
    ``network_logs/ovnk_database_store.tar.gz`` or ``leader_nbdb.gz``), folder or archive, or a folder holding
    sosreports. A folder of outputs named like sos's without sos's own files stays a plain folder
    (:func:`ovntrace.sources.load.load_directory`)."""
    p = Path(path)
    if p.is_file():
        return _is_tarball(p) or p.name == "ovnk_database_store.tar.gz"
    if not p.is_dir():
        return False
    if _is_sos_dir(p) or _mg_network_logs(p) or _mg_network_logs(p / "network_logs"):
        return True
    try:
        entries = list(p.iterdir())[:2000]
    except OSError:
        return False
    if any("sosreport" in e.name and ((e.is_dir() and _is_sos_dir(e)) or (e.is_file() and _is_tarball(e)))
           for e in entries):
        return True
    return any(e.is_dir() and _mg_network_logs(e / "network_logs") for e in entries)


def open_bundle(paths: Iterable[str | os.PathLike[str]], want: frozenset[str] = CONTEXT_KINDS) -> Bundle:
    """Every report in ``paths`` (sosreport folders/tarballs, must-gather folders, ``ovnk_database_store.tar.gz``,
    folders of those), keeping the contents of the members whose kind is in ``want``."""
    t0 = time.monotonic()
    given = tuple(os.fspath(p) for p in paths)
    b = Bundle(given)
    reports: dict[tuple[str, str], Report] = {}
    for origin in given:
        p = Path(origin)
        if not p.exists():
            raise SourceError(f"{origin}: no such file or directory")
        mg = _is_must_gather(p)
        for rel, size, reader, problem in _walk(p, origin):
            if problem is not None:
                b.problems.append(problem)
                continue
            _add(b, reports, origin, rel, size, reader, want, mg)
    for r in reports.values():
        _finish(b, r)
    # a sosreport is a node when some member is sos's (loose files beside sosreport archives are not a node)
    nodes = [r for r in reports.values() if (r.kind == "sosreport" and any(m.kind != "other" for m in r.members))
             or r.by_kind("nb-db") or r.by_kind("sb-db")]
    b.other_members = sum(len(r.members) for r in reports.values() if r not in nodes)
    b.reports = sorted(nodes, key=lambda r: (r.kind, r.name))
    if not b.reports and not b.problems:
        raise SourceError(f"{', '.join(given)}: no sosreport or must-gather in it (expected sos_commands/, "
                          "sos_reports/manifest.json, network_logs/ovnk_database_store.tar.gz or leader_nbdb.gz)")
    b.open_seconds = time.monotonic() - t0
    return b


_Reader = Any  # a zero-argument callable giving the member's bytes (capped), or None for a directory entry


def _add(b: Bundle, reports: dict[tuple[str, str], Report], origin: str, rel: str, size: int,
         reader: _Reader, want: frozenset[str], mg: bool = False) -> None:
    kind, bridge, of = classify(rel)
    if kind == "mg-store":  # nested: each zone's dbs inside
        try:
            data = reader(None)
        except SourceError as e:
            b.problems.append(Problem(rel, str(e)))
            return
        b.bytes_read += len(data)
        key = ("must-gather", "must-gather")
        rep = reports.setdefault(key, Report(origin, "must-gather", "must-gather"))
        rep.members.append(Member(rel, size, kind))
        for irel, isize, ireader, problem in _walk_tar(io.BytesIO(data), f"{rel}!", origin):
            if problem is not None:
                b.problems.append(problem)
                continue
            _add(b, reports, origin, irel, isize, ireader, want, True)
        return
    root, rkind = _report_key(rel.split("!", 1)[-1], origin, mg)
    rep = reports.setdefault((origin if rkind == "sosreport" else "", root), Report(origin, root, rkind))
    rep.members.append(Member(rel, size, kind, bridge, of))
    if kind in want or kind in ("manifest", "sos-version"):
        limit = _LOG_HEAD if kind in _LOG_KINDS else None
        try:
            data = reader(limit)
        except SourceError as e:
            b.problems.append(Problem(rel, str(e)))
            return
        b.bytes_read += len(data)
        if rel.endswith(".gz") and data[:2] == b"\x1f\x8b":  # leader_nbdb.gz
            import gzip

            try:
                data = read_stream(gzip.GzipFile(fileobj=io.BytesIO(data)), rel)
            except (OSError, EOFError) as e:
                b.problems.append(Problem(rel, f"a compressed file that is cut short or damaged: {e}"))
                return
        rep.data[rel] = data


def _walk(p: Path, origin: str) -> Iterator[tuple[str, int, _Reader, Problem | None]]:
    if p.is_file():
        try:
            f = open(p, "rb")  # noqa: SIM115 - closed below
        except OSError as e:
            yield "", 0, None, Problem(origin, f"cannot read: {e.strerror or e}")
            return
        with f:
            prefix = f"{p.name}!" if p.name == "ovnk_database_store.tar.gz" else ""
            yield from _walk_tar(f, prefix, origin)
        return
    count = 0
    for dirpath, dirnames, filenames in os.walk(p):
        dirnames.sort()
        for fn in sorted(filenames):
            fp = Path(dirpath) / fn
            rel = fp.relative_to(p).as_posix()
            if fp.is_symlink() or not fp.is_file():
                continue
            count += 1
            if count > _MAX_MEMBERS:
                yield rel, 0, None, Problem(origin, f"more than {_MAX_MEMBERS} files: the rest is not read")
                return
            if "sosreport" in fn and _is_tarball(fp):  # a folder of sosreport archives
                with open(fp, "rb") as f:
                    yield from _walk_tar(f, f"{rel}!", origin)
                continue
            try:
                size = fp.stat().st_size
            except OSError:
                size = 0

            def reader(limit: int | None, fp: Path = fp, rel: str = rel) -> bytes:
                if limit is not None:
                    with open(fp, "rb") as fh:
                        return fh.read(limit)
                return read_path(fp, rel)

            yield rel, size, reader, None


def _walk_tar(f: BinaryIO, prefix: str, origin: str) -> Iterator[tuple[str, int, _Reader, Problem | None]]:
    """Stream a tarball's members (``r|*``: one pass, no seeking; xz/gzip/bzip2 by magic)."""
    where = prefix.rstrip("!") or origin
    count = 0
    last = "(the start)"
    try:
        tf = tarfile.open(fileobj=f, mode="r|*")  # noqa: SIM115 - closed below
    except (tarfile.TarError, OSError, EOFError) as e:
        yield "", 0, None, Problem(where, f"not a readable tar archive: {_why(e)}")
        return
    try:
        while True:
            try:
                ti = tf.next()
            except (tarfile.TarError, OSError, EOFError) as e:
                yield "", 0, None, Problem(where, f"the archive is cut short or damaged after {last} ({count} members "
                                           f"read): {_why(e)}; the members before it are used")
                return
            if ti is None:
                return
            if not ti.isfile():
                continue
            count += 1
            if count > _MAX_MEMBERS:
                yield "", 0, None, Problem(where, f"more than {_MAX_MEMBERS} members: the rest is not read")
                return
            last = ti.name
            state: dict[str, bytes] = {}

            def reader(limit: int | None, ti: tarfile.TarInfo = ti, state: dict[str, bytes] = state) -> bytes:
                if "data" in state:
                    return state["data"]
                cap = max_input_size()
                if ti.size > cap:
                    raise SourceError(f"{ti.size} bytes, more than the input size limit; not read")
                ef = tf.extractfile(ti)
                if ef is None:
                    raise SourceError("not a regular file")
                try:
                    data = ef.read(limit) if limit is not None else ef.read()
                except (tarfile.TarError, OSError, EOFError) as e:
                    raise SourceError(f"cut short inside this member: {_why(e)}") from None
                if limit is None and len(data) < ti.size:
                    raise SourceError(f"cut short inside this member ({len(data)} of {ti.size} bytes)")
                state["data"] = data
                return data

            yield prefix + ti.name, ti.size, reader, None
    finally:
        with contextlib.suppress(tarfile.TarError, OSError, EOFError):
            tf.close()


def _why(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    return {"unexpected end of data": "unexpected end of data (truncated)"}.get(text, text)


def _finish(b: Bundle, r: Report) -> None:
    """Manifest (commands and exit codes), sos version, db checks."""
    for m in r.by_kind("manifest"):
        try:
            r.manifest = json.loads(r.data.get(m.path, b"{}"))
        except ValueError as e:
            b.problems.append(Problem(m.path, f"not valid JSON: {e}"))
    if r.kind == "sosreport":
        if r.manifest is None and not r.by_kind("manifest"):
            b.problems.append(Problem(r.root, "no sos_reports/manifest.json (an old or damaged sosreport): members "
                                      "recognised by their file names only"))
        for m in r.by_kind("sos-version"):
            got = re.search(r"sos(?:report)?:\s*(\S+)", r.text(m) or "")
            if got:
                r.sos_version = got.group(1)
        if r.manifest and not r.sos_version:
            r.sos_version = str(r.manifest.get("version") or "") or None
    if r.manifest:
        cmds: dict[str, tuple[str, int | None]] = {}
        plugins = ((r.manifest.get("components") or {}).get("report") or {}).get("plugins") or {}
        for plugin in plugins.values() if isinstance(plugins, dict) else ():
            for c in plugin.get("commands") or () if isinstance(plugin, dict) else ():
                if isinstance(c, dict) and c.get("filepath"):
                    rc = c.get("return_code")
                    cmds[str(c["filepath"])] = (str(c.get("exec") or ""), rc if isinstance(rc, int) else None)
        top = r.root + "/"
        out = []
        for m in r.members:
            rel = m.path.split("!", 1)[-1]
            rel = rel[rel.index(top) + len(top):] if top in rel else rel
            cmd = cmds.get(rel)
            out.append(dataclasses.replace(m, command=cmd[0], return_code=cmd[1]) if cmd else m)
        r.members = out
        for m in r.members:
            if m.kind in ("flows", "groups", "tlv-map", "ofctl-show", "vsctl-show") and m.return_code not in (None, 0):
                b.problems.append(Problem(m.path, f"`{m.command}` failed on the node (exit {m.return_code}): its "
                                          "output is not usable"))
    for kind in ("nb-db", "sb-db", "conf-db"):
        for m in r.by_kind(kind):
            data = r.data.get(m.path)
            if data is None:
                continue
            from ovntrace.sources.ovsdb import is_db_file, split_records

            if not is_db_file(data):
                b.problems.append(Problem(m.path, "not an OVSDB database file"))
                continue
            try:
                _, notes = split_records(data, m.path)
            except SourceError as e:
                b.problems.append(Problem(m.path, f"a damaged database: {str(e).removeprefix(m.path + ': ')}"))
                r.data.pop(m.path, None)
                continue
            for n in notes:
                b.problems.append(Problem(m.path, n.removeprefix(m.path + ": ")))


# -- the cluster facts -------------------------------------------------------------------------------


def db_format(data: bytes) -> str:
    return "clustered" if data.startswith(b"OVSDB CLUSTER") else "standalone" if data.startswith(b"OVSDB JSON") \
        else "unknown"


def node_facts_of(r: Report) -> NodeFacts | None:
    """The node's OVS facts: conf.db / ``ovsdb-client -f list dump``, else its ``ovs-vsctl show`` and
    ``ovs-ofctl show br-int``."""
    tables = r.ovs_tables()
    if tables and tables.get("Interface"):
        from ovntrace.sources.convert import node_facts

        nf = node_facts(tables, r.name)
        if not nf.ovs_version and r.ovs_version:
            nf = dataclasses.replace(nf, ovs_version=r.ovs_version)
        return nf
    from ovntrace.sources.paste import combine_nodes, context_from_text

    nodes: list[NodeFacts] = []
    for kind, pkind in (("vsctl-show", "vsctl"), ("ofctl-show", "ofctl")):
        m = r.best(kind, "br-int" if kind == "ofctl-show" else None)
        text = r.text(m)
        if text and m is not None:
            nodes += context_from_text(text, pkind, r.name, m.path).nodes
    if not nodes:
        return None
    got = combine_nodes(tuple(dataclasses.replace(n, name=r.name) for n in nodes))
    return got[0] if got else None


def bundle_context(b: Bundle, zone: str | None = None, lflow_cookies: Iterable[str] | None = None) -> ClusterContext:
    """The bundle as cluster facts: each report's node, and the NB/SB it holds (db files; ``ovn-nbctl show`` /
    ``ovn-sbctl show`` when there is no db file). ``zone``: of a must-gather with several zones, only that
    zone's databases (a zone's datapath keys, ports and cookies mean something only there). ``lflow_cookies``
    (a trace's cookie prefixes): of each Southbound file only those logical flows are decoded."""
    from ovntrace.sources.load import context_from_bytes, merge_sources

    ctx = ClusterContext()
    notes = [str(p) for p in b.problems]
    zones = [r for r in b.reports if r.kind == "must-gather" and (r.by_kind("nb-db") or r.by_kind("sb-db"))]
    if zone is not None:
        chosen = [r for r in zones if zone in (r.name, r.root, r.hostname)]
        if not chosen:
            raise SourceError(f"zone {zone}: not in the bundle; zones: {', '.join(r.name for r in zones) or 'none'}")
        use = [r for r in b.reports if r.kind != "must-gather"] + chosen
    else:
        use = list(b.reports)
        if len(zones) > 1:
            notes.append(f"{b.paths[0]}: a must-gather of {len(zones)} zones ({', '.join(r.name for r in zones)}) "
                         "read together: datapath keys, ports and cookies mean something only in their own zone; "
                         "choose one with --context PATH@ZONE")
    for r in use:
        nf = node_facts_of(r) if r.kind == "sosreport" else None
        if nf is not None:
            ctx = ctx.merge(ClusterContext(nodes=(nf,), sources=(f"node {nf.name} from {r.origin} ({r.root})",)))
        for kind in ("nb-db", "sb-db"):
            for m in r.by_kind(kind):
                data = r.data.get(m.path)
                if data is None:
                    continue
                keep = ("Logical_Flow", frozenset(lflow_cookies)) if lflow_cookies is not None and kind == "sb-db" \
                    else None
                ctx = merge_sources(ctx, context_from_bytes(data, f"{r.origin}!{m.path}" if "!" not in m.path
                                                            else m.path, "nb" if kind == "nb-db" else "sb",
                                                            keep=keep))
        if not r.by_kind("sb-db") and r.by_kind("sbctl-show"):
            notes.append(f"{r.root}: no SB database file; ovn-sbctl show only (no logical flows)")
        if r.by_kind("lflow-list") and not r.by_kind("sb-db"):
            notes.append(f"{r.root}: ovn-sbctl lflow-list is not used (it has no UUIDs, so no cookies)")
    notes += [str(q) for r in use for q in r.problems]
    if not ctx.sources:
        raise SourceError(f"{', '.join(b.paths)}: the bundle holds no usable node facts or OVN database"
                          + (f" ({'; '.join(notes)})" if notes else ""))
    return dataclasses.replace(ctx, notes=ctx.notes + tuple(notes))


def load_bundle(src: str | os.PathLike[str], lflow_cookies: Iterable[str] | None = None) -> ClusterContext:
    """``--context`` of a bundle: ``PATH``, or ``PATH@ZONE`` for one zone of a must-gather (``lflow_cookies``:
    see :func:`bundle_context`)."""
    s = os.fspath(src)
    zone = None
    if not os.path.exists(s) and "@" in s:
        s, zone = s.rsplit("@", 1)
    return bundle_context(open_bundle([s]), zone, lflow_cookies)


def inventory(b: Bundle) -> dict[str, Any]:
    """What the bundle holds (``ovntrace bundle --format json``: ``ovntrace.bundle/2``, docs/json-contract.md:
    every key present, null when unknown; a database's ``format`` is null when it was not read)."""
    nodes = []
    for r in b.reports:
        dbs = []
        for kind in ("nb-db", "sb-db", "conf-db", "ic-db"):
            for m in r.by_kind(kind):
                data = r.data.get(m.path)
                dbs.append({"member": m.path, "database": kind, "size": m.size,
                            "format": db_format(data) if data is not None else None})
        flows = {}
        for br in r.bridges:
            fm = r.best("flows", br)
            if fm is None:
                continue
            text = r.text(fm)
            flows[br] = {"member": fm.path, "openflow": fm.openflow or "OpenFlow10", "size": fm.size,
                         "flows": sum(1 for ln in (text or "").splitlines() if "actions=" in ln) if text else None}
        has = {k: bool(r.by_kind(k)) for k in ("groups", "tlv-map", "ovs-dump-list", "conf-db", "vsctl-show",
                                               "ofctl-show", "dpctl-show", "route-show", "tnl-neigh")}
        replay, why = replayable(r)
        used = {"other", "sos"}
        nodes.append({
            "node": r.name, "kind": r.kind, "root": r.root, "origin": r.origin,
            "hostname": r.hostname, "system_id": r.system_id,
            "sos_version": r.sos_version, "ovs_version": r.ovs_version, "ovn_version": r.ovn_version,
            "zone": r.root if r.kind == "must-gather" else None,
            "databases": dbs, "flows": flows, "has": has,
            "replay": {"possible": replay, "notes": why},
            "members": len(r.members),
            "unused_members": sorted(m.path for m in r.members if m.kind in used),
        })
    return {
        "schema": "ovntrace.bundle/2",
        "paths": list(b.paths),
        "nodes": nodes,
        "other_members": b.other_members,
        "problems": [{"where": p.where, "what": p.what} for p in b.problems + [q for r in b.reports
                                                                            for q in r.problems]],
        "open_seconds": round(b.open_seconds, 4),
    }


def replayable(r: Report) -> tuple[bool, list[str]]:
    """Whether ``replay --on`` this node can work, and what it lacks."""
    notes: list[str] = []
    if r.kind != "sosreport":
        return False, ["a must-gather holds no OpenFlow dumps and no conf.db: explain with its databases only"]
    fm = r.best("flows", "br-int")
    if fm is None:
        return False, ["no dump-flows of br-int"]
    if fm.return_code not in (None, 0):
        return False, [f"`{fm.command}` failed on the node (exit {fm.return_code}): no flows of br-int"]
    if r.ovs_tables() is None and r.best("ofctl-show", "br-int") is None:
        return False, ["neither conf.db / ovsdb-client dump nor ovs-ofctl show br-int: ofport numbers unknown"]
    if not r.by_kind("groups"):
        notes.append("no dump-groups (sos 4.0 does not collect it): flows that use a group (load balancers) "
                     "cannot be replayed as on the node")
    if not r.by_kind("tlv-map"):
        notes.append("no dump-tlv-map (sos 4.0 does not collect it): OVN's Geneve option (class 0x102, type 0x80, "
                      "len 4 -> tun_metadata0) is assumed")
    return True, notes
