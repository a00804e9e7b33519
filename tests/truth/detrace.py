"""Ground truth from OVN's own ``ovn-detrace`` (Debian ``ovn-central``/``ovn-host``, needs ``python3-openvswitch``).

``ovn-detrace`` reads an ``ofproto/trace`` on stdin and echoes it, each line stripped of its
indentation; after each OpenFlow table block (a ``N. match, priority P, cookie 0xC`` line and the
actions under it) it prints what the cookie resolves to in the SB/NB, indented (trace lines never are):

* a logical flow: ``  * Logical datapaths:``, one ``  *     "name" (dp-uuid) [pipeline]`` line per
  datapath (the flow's own plus every datapath of its datapath group), then
  ``  * Logical flow: table=T (stage), priority=P, match=(M), actions=(A)``, then the NB object of its
  ``stage-hint`` as ``   * ACL: …`` / ``   * Load Balancer: …`` / … (three spaces);
* a port binding, MAC binding or multicast group: ``  * Logical datapath: "name" (uuid)`` then
  ``  * Port Binding: …`` / ``  * MAC Binding: …`` / ``  * Multicast Group: …``; a chassis or an SB load
  balancer: ``  * Chassis: …`` / ``  * Load Balancer: …``.

``ovn-detrace`` does not print the logical flow's UUID (it finds rows whose UUID starts with the
cookie). :func:`detrace_truth` recovers it from the SB (``ovn-sbctl --format=json list``): the one
``Logical_Flow`` row whose UUID starts with the cookie and whose table, pipeline, priority, match,
actions and datapath set are exactly what ``ovn-detrace`` printed. Anything else is an error: the truth is
never guessed.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

DETRACE = "/usr/bin/ovn-detrace"
SBCTL = "ovn-sbctl"

# detrace echoes the trace stripped; it takes cookies with this regex and ends a block on these lines.
# OVN 23.03's ovn-detrace: `^.*cookie 0x(...)` (table lines only). OVN 25.03's: `^.*cookie[ =]0x(...)`, so it
# also resolves the `rule_cookie=0x...` of a `controller(...)` in datapath actions, and a cookie line ends
# the block before it too.
_COOKIE = re.compile(r"^.*cookie 0x([0-9a-fA-F]+)")
_COOKIE_25 = re.compile(r"^.*cookie[ =]0x([0-9a-fA-F]+)")
_TABLE_LINE = re.compile(r"^ *[0-9]+\.")
_DP_LINE = re.compile(r'^  \*     "(?P<name>.*)" \((?P<uuid>[0-9a-f-]{36})\) \[(?P<pipeline>\w+)\]$')
_LFLOW_LINE = re.compile(
    r"^  \* Logical flow: table=(?P<table>\d+) \((?P<stage>.*?)\), priority=(?P<priority>\d+), "
    r"match=\((?P<match>.*)\), actions=\((?P<actions>.*)\)$"
)
_ONE_DP_LINE = re.compile(r'^  \* Logical datapath: "(?P<name>.*)" \((?P<uuid>[0-9a-f-]{36})\)$')
_KIND_LINE = re.compile(
    r"^  \* (?P<kind>Port Binding|MAC Binding|Multicast Group|Chassis|Load Balancer): (?P<rest>.*)$"
)


class DetraceError(RuntimeError):
    """ovn-detrace failed, or its output does not read as expected, or the SB does not confirm it."""


def cookie_key(cookie: str) -> str:
    """The canonical key of a cookie: ``0x`` and lowercase hex without leading zeros (as OVS prints it)."""
    return f"0x{int(cookie, 16):x}"


@dataclass
class Record:
    """One thing ``ovn-detrace`` resolved a cookie to."""

    kind: str  # "lflow", "Port Binding", "MAC Binding", "Multicast Group", "Chassis", "Load Balancer"
    datapaths: list[tuple[str, str, str]] = field(default_factory=list)  # (name, uuid, pipeline or "")
    table: int | None = None
    stage: str | None = None
    priority: int | None = None
    match: str | None = None
    actions: str | None = None
    text: str = ""  # the record's own line, e.g. 'logical_port "default_client-1", tunnel_key 3, ...'
    hints: list[str] = field(default_factory=list)  # NB objects via stage-hint ("ACL: to-lport, ...")
    line: int = 0  # line of ovn-detrace's output where the record starts


@dataclass
class Block:
    """A cookie in the trace and what ``ovn-detrace`` printed for it (``records`` empty: unresolved)."""

    cookie: str
    trace_line: int  # 1-based line in ovn-detrace's output (= the echoed trace line)
    records: list[Record] = field(default_factory=list)
    on_table_line: bool = True  # False: a `rule_cookie=` of datapath actions (25.03's ovn-detrace)


def run_detrace(trace_text: str, sb_remote: str, nb_remote: str, timeout: float = 600.0) -> str:
    """``ovn-detrace --ovnsb=SB --ovnnb=NB < trace``; its stdout."""
    try:
        res = subprocess.run(
            [DETRACE, f"--ovnsb={sb_remote}", f"--ovnnb={nb_remote}"],
            input=trace_text,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise DetraceError(f"{DETRACE} not found (Debian ovn-central/ovn-host)") from None
    if res.returncode != 0 or res.stdout.startswith("ERROR:"):
        raise DetraceError(f"ovn-detrace failed ({res.returncode}): {(res.stderr or res.stdout).strip()[:500]}")
    return res.stdout


def detrace_style(version: str | None) -> str:
    """``"23.03"`` or ``"25.03"``: which ovn-detrace cookie rules an OVN version's ovn-detrace has (the
    ``cookie[ =]`` regex is in 25.03.0's; 23.03.1's has ``cookie 0x``)."""
    if not version:
        return "23.03"
    major, minor = (int(x) for x in version.split(".")[:2])
    return "25.03" if (major, minor) >= (25, 3) else "23.03"


def parse_detrace(output: str, style: str = "23.03") -> list[Block]:
    """The cookie blocks of an ``ovn-detrace`` output, in order, with their records (``style``: see
    :func:`detrace_style`)."""
    cookie_rx = _COOKIE_25 if style == "25.03" else _COOKIE
    blocks: list[Block] = []
    pending: list[Block] = []  # cookies of the current OpenFlow table block (ovn-detrace's `cookies`)
    rec: Record | None = None
    for n, line in enumerate(output.split("\n"), 1):
        if line.startswith("  "):  # an annotation (the echoed trace lines are stripped)
            if not pending:
                raise DetraceError(f"line {n}: annotation without a cookie before it: {line!r}")
            if len(pending) > 1:
                raise DetraceError(f"line {n}: annotation after {len(pending)} cookies in one block")
            owner = pending[0]
            if line.startswith("   * "):  # print_h: stage-hint objects and duplicate markers
                if rec is None:
                    raise DetraceError(f"line {n}: hint without a record: {line!r}")
                rec.hints.append(line[5:])
                continue
            if line == "  * Logical datapaths:":
                rec = Record("lflow", line=n)
                owner.records.append(rec)
                continue
            m = _DP_LINE.match(line)
            if m and rec is not None and rec.kind == "lflow" and rec.table is None:
                rec.datapaths.append((m["name"], m["uuid"], m["pipeline"]))
                continue
            m = _LFLOW_LINE.match(line)
            if m and rec is not None and rec.kind == "lflow" and rec.table is None:
                rec.table, rec.stage, rec.priority = int(m["table"]), m["stage"], int(m["priority"])
                rec.match, rec.actions = m["match"], m["actions"]
                continue
            m = _ONE_DP_LINE.match(line)
            if m:
                rec = Record("", datapaths=[(m["name"], m["uuid"], "")], line=n)
                owner.records.append(rec)
                continue
            m = _KIND_LINE.match(line)
            if m:
                if rec is not None and rec.kind == "" and rec.line == n - 1:
                    rec.kind, rec.text = m["kind"], m["rest"]
                else:  # Chassis and SB Load Balancer come without a datapath line
                    rec = Record(m["kind"], text=m["rest"], line=n)
                    owner.records.append(rec)
                continue
            raise DetraceError(f"line {n}: unexpected ovn-detrace annotation {line!r}")
        # an echoed trace line: ovn-detrace flushes its cookies on a table line or a blank line (25.03: or
        # another cookie line)
        m = cookie_rx.match(line)
        if _TABLE_LINE.match(line) or line.strip() == "" or (style == "25.03" and m):
            pending = []
            rec = None
        if m:
            b = Block(cookie_key(m[1]), n, on_table_line=bool(_TABLE_LINE.match(line)))
            blocks.append(b)
            pending.append(b)
    for b in blocks:
        for r in b.records:
            if r.kind == "lflow" and r.table is None:
                raise DetraceError(f"line {r.line}: logical flow record without its 'Logical flow:' line")
            if not r.kind:
                raise DetraceError(f"line {r.line}: datapath line without the record it belongs to")
    return blocks


# -- the SB, to recover each logical flow's UUID ---------------------------------------------------


def _atom(v: Any) -> Any:
    """An OVSDB JSON value (``ovn-sbctl --format=json``) as Python: uuid -> str, set -> list, map -> dict."""
    if isinstance(v, list) and len(v) == 2 and isinstance(v[0], str):
        tag, body = v
        if tag in ("uuid", "named-uuid"):
            return body
        if tag == "set":
            return [_atom(x) for x in body]
        if tag == "map":
            return {_atom(k): _atom(x) for k, x in body}
    return v


def sbctl_list(sb_remote: str, table: str, columns: Iterable[str], records: Iterable[str] = ()) -> list[dict[str, Any]]:
    """``ovn-sbctl --db=SB --format=json --columns=… list TABLE [RECORD…]`` as dicts."""
    cols = list(columns)
    argv = [SBCTL, f"--db={sb_remote}", "--format=json", f"--columns={','.join(cols)}", "list", table, *records]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    if res.returncode != 0:
        raise DetraceError(f"{' '.join(argv)} failed: {res.stderr.strip()[:300]}")
    doc = json.loads(res.stdout)
    heads: list[str] = doc["headings"]
    return [{h: _atom(v) for h, v in zip(heads, row, strict=True)} for row in doc["data"]]


def _as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def _single(v: Any) -> Any:
    """An optional column (``min 0 max 1``): the value or None."""
    if isinstance(v, list):
        return v[0] if v else None
    return v


@dataclass(frozen=True)
class SbLflow:
    uuid: str
    table: int
    pipeline: str
    priority: int
    match: str
    actions: str
    stage: str | None
    datapaths: frozenset[str]  # datapath UUIDs: logical_datapath plus the group's


def sb_lflows(sb_remote: str) -> dict[str, SbLflow]:
    """Every ``Logical_Flow`` of the SB by UUID (one ``ovn-sbctl list`` per table)."""
    groups = {
        g["_uuid"]: frozenset(_as_list(g["datapaths"]))
        for g in sbctl_list(sb_remote, "Logical_DP_Group", ["_uuid", "datapaths"])
    }
    return _lflows(sbctl_list(sb_remote, "Logical_Flow", _LFLOW_COLS), groups)


def resolve_lflow(rec: Record, cookie: str, lflows: dict[str, SbLflow]) -> SbLflow:
    """The SB logical flow ovn-detrace printed for ``cookie`` (exactly one, or DetraceError)."""
    prefix = f"{int(cookie, 16):08x}"
    pipelines = {p for _, _, p in rec.datapaths}
    dp_uuids = frozenset(u for _, u, _ in rec.datapaths)
    found = [
        lf
        for u, lf in lflows.items()
        if u.startswith(prefix)
        and lf.table == rec.table
        and lf.priority == rec.priority
        and lf.match.strip('"') == rec.match
        and lf.actions.strip('"') == rec.actions
        and {lf.pipeline} == pipelines
        and lf.datapaths == dp_uuids
    ]
    if len(found) != 1:
        raise DetraceError(
            f"cookie {cookie}: {len(found)} SB logical flows fit what ovn-detrace printed at line {rec.line} "
            f"(table={rec.table} priority={rec.priority} match=({rec.match}))"
        )
    return found[0]


def truth_from_output(
    output: str, lflows: dict[str, SbLflow], style: str = "23.03"
) -> dict[str, list[dict[str, Any]]]:
    """:func:`detrace_truth` from an already captured ``ovn-detrace`` output and an SB snapshot.

    Only cookies of OpenFlow table lines count (25.03's ovn-detrace also resolves the ``rule_cookie=``
    of datapath actions: those are :func:`parse_detrace`'s blocks with ``on_table_line`` False)."""
    truth: dict[str, list[dict[str, Any]]] = {}
    for b in parse_detrace(output, style):
        if not b.on_table_line:
            continue
        for r in b.records:
            if r.kind != "lflow":
                continue
            lf = resolve_lflow(r, b.cookie, lflows)
            dps = sorted((name, u) for name, u, _ in r.datapaths)
            entry = {
                "lflow_uuid": lf.uuid,
                "stage": r.stage,
                "table": r.table,
                "pipeline": lf.pipeline,
                "priority": r.priority,
                "datapaths": [name for name, _ in dps],
                "datapath_uuids": [u for _, u in dps],  # aligned with "datapaths"
                "match": r.match,
                "actions": r.actions,
                "hints": list(r.hints),
            }
            lst = truth.setdefault(b.cookie, [])
            if entry not in lst:  # the same flow hit again (another pass) is one truth
                lst.append(entry)
    return truth


def detrace_truth(trace_text: str, sb_remote: str, nb_remote: str) -> dict[str, list[dict[str, Any]]]:
    """For every cookie of ``trace_text`` that the real ``ovn-detrace`` resolves to logical flows: those flows.

    Keys are cookies as ``0x…`` (lowercase, no leading zeros); each value lists the logical flows
    ovn-detrace printed for it (more than one only on a 32-bit cookie collision), each
    ``{"lflow_uuid", "stage", "table", "pipeline", "priority", "datapaths": [names, sorted],
    "datapath_uuids": [the UUIDs of those datapaths, in the same order], "match", "actions",
    "hints": [NB objects ovn-detrace printed via stage-hint]}``. Cookies that
    ovn-detrace resolves to other rows only (port bindings, multicast groups…) or not at all are absent.
    """
    output = run_detrace(trace_text, sb_remote, nb_remote)
    return truth_from_output(output, sb_lflows(sb_remote))


def lflow_list_stages(sb_remote: str, lflow_uuid: str) -> set[tuple[int, str]]:
    """(table, stage) pairs that ``ovn-sbctl --uuid lflow-list UUID`` prints for one logical flow."""
    argv = [SBCTL, f"--db={sb_remote}", "--uuid", "lflow-list", lflow_uuid]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if res.returncode != 0:
        raise DetraceError(f"{' '.join(argv)} failed: {res.stderr.strip()[:300]}")
    rx = re.compile(r"^\s+uuid=0x([0-9a-f]+), table=(\d+)\s*\((\S+)\s*\)")
    got: set[tuple[int, str]] = set()
    for line in res.stdout.splitlines():
        m = rx.match(line)
        if m and lflow_uuid.startswith(f"{int(m[1], 16):08x}"):
            got.add((int(m[2]), m[3]))
    return got


def sb_lflows_from_file(path: str) -> dict[str, SbLflow]:
    """:func:`sb_lflows` from a standalone SB database file (``ovsdb-tool query``, no server)."""
    groups = {
        g["_uuid"]: frozenset(_as_list(g["datapaths"]))
        for g in db_file_rows(path, "OVN_Southbound", "Logical_DP_Group", ["_uuid", "datapaths"])
    }
    return _lflows(db_file_rows(path, "OVN_Southbound", "Logical_Flow", _LFLOW_COLS), groups)


_LFLOW_COLS = ["_uuid", "table_id", "pipeline", "priority", "match", "actions", "external_ids", "logical_datapath",
               "logical_dp_group"]  # fmt: skip


def _lflows(rows: Iterable[dict[str, Any]], groups: dict[str, frozenset[str]]) -> dict[str, SbLflow]:
    """Logical flows by UUID, each with the datapaths it applies to (its own, or its group's)."""
    out: dict[str, SbLflow] = {}
    for row in rows:
        dps: set[str] = set()
        dp = _single(row["logical_datapath"])
        if dp:
            dps.add(dp)
        grp = _single(row["logical_dp_group"])
        if grp:
            dps |= groups.get(grp, frozenset())
        ext = row["external_ids"] if isinstance(row["external_ids"], dict) else {}
        out[row["_uuid"]] = SbLflow(
            row["_uuid"], int(row["table_id"]), row["pipeline"], int(row["priority"]), row["match"],
            row["actions"], ext.get("stage-name"), frozenset(dps),
        )  # fmt: skip
    return out


def db_file_rows(path: str, database: str, table: str, columns: Iterable[str]) -> list[dict[str, Any]]:
    """Rows of a standalone OVSDB file, read by ``ovsdb-tool query`` (no server), as Python values."""
    op = {"op": "select", "table": table, "where": [], "columns": list(columns)}
    argv = ["ovsdb-tool", "query", path, json.dumps([database, op])]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if res.returncode != 0:
        raise DetraceError(f"ovsdb-tool query {path} failed: {res.stderr.strip()[:300]}")
    rows: list[dict[str, Any]] = json.loads(res.stdout)[0]["rows"]
    return [{k: _atom(v) for k, v in r.items()} for r in rows]


_STEP_METADATA = re.compile(r"(?:^|,)metadata=(0x[0-9a-fA-F]+|\d+)(?:,|$)")


def compare_explain(doc: dict[str, Any], truth: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Where an ``ovntrace.explain/1`` document disagrees with the detrace truth (empty: it agrees).

    For every table step whose cookie the truth has: ``ovn.lflow.uuid`` must be one of the truth's
    flows for that cookie, and ``ovn.datapath`` a single datapath whose name is among that flow's
    datapaths and whose key is the step's ``metadata``. Every cookie of the truth must be met."""
    problems: list[str] = []
    seen: set[str] = set()

    def check(step: dict[str, Any]) -> None:
        cookie = step.get("cookie")
        if not cookie or cookie_key(cookie) not in truth:
            return
        c = cookie_key(cookie)
        seen.add(c)
        where = f"line {step.get('line')} (table {step.get('table')}, cookie {c})"
        ovn = step.get("ovn") or {}
        lf = ovn.get("lflow") or {}
        entries = {e["lflow_uuid"]: e for e in truth[c]}
        if lf.get("uuid") not in entries:
            problems.append(f"{where}: lflow {lf.get('uuid')} is not ovn-detrace's {sorted(entries)}")
            return
        dp = ovn.get("datapath") or {}
        if not isinstance(dp, dict) or not dp.get("name"):
            problems.append(f"{where}: no single datapath ({dp!r})")
            return
        if dp["name"] not in entries[lf["uuid"]]["datapaths"]:
            problems.append(
                f"{where}: datapath {dp['name']} is not one of the flow's {entries[lf['uuid']]['datapaths']}"
            )
        md = (step.get("state") or {}).get("metadata")
        if md is None:
            m = _STEP_METADATA.search(step.get("match") or "")
            md = m[1] if m else None
        if md is not None and "/" not in str(md) and int(str(md), 0) != int(dp.get("key", -1)):
            problems.append(f"{where}: datapath {dp['name']} has key {dp.get('key')}, metadata is {md}")

    def walk(steps: list[dict[str, Any]]) -> None:
        for s in steps:
            if s.get("kind") == "table":
                check(s)
            walk(s.get("children") or [])

    for t in doc.get("traces", []):
        for p in t.get("passes", []):
            walk(p.get("steps", []))
    missing = sorted(set(truth) - seen)
    if missing:
        problems.append(f"cookies of the truth met by no table step: {missing}")
    return problems
