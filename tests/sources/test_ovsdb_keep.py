"""A Southbound db file read for one trace decodes only that trace's logical flows (issue 18), and changes nothing.

Real files: every lab Southbound in fixtures/ (standalone and clustered, compacted and with a log of
diffs), and the lab's real traces explained against them.
"""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

import pytest

from ovntrace.cli import run
from ovntrace.sources import ovsdb
from tests.conftest import FIX, explain_with_db_files

SB_FILES = sorted(p for p in FIX.rglob("*.db") if "sb" in p.name)
LF = "Logical_Flow"


def _filtered(obj: Any, prefixes: frozenset[str]) -> Any:
    obj = json.loads(json.dumps(obj))
    for txn in ovsdb._transactions(obj):
        if LF in txn:
            txn[LF] = {u: r for u, r in txn[LF].items() if u[:8] in prefixes}
    return obj


@pytest.mark.parametrize("path", SB_FILES, ids=lambda p: str(p.relative_to(FIX)))
@pytest.mark.parametrize("skim_min", [0, ovsdb.SKIM_MIN_BYTES])
def test_kept_records_equal_the_whole_records_filtered(path: Path, skim_min: int,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    data = path.read_bytes()
    whole, _ = ovsdb.split_records(data)
    uuids = sorted({u for r in whole for t in ovsdb._transactions(r.data) for u in (t.get(LF) or {})})
    assert uuids, "every Southbound fixture has logical flows"
    prefixes = frozenset(random.Random(7).sample(sorted({u[:8] for u in uuids}), 40))
    monkeypatch.setattr(ovsdb, "SKIM_MIN_BYTES", skim_min)
    skims: list[bool] = []
    real = ovsdb._skim

    def counted(body: bytes, keep: ovsdb.Keep, *args: Any) -> Any:
        out = real(body, keep, *args)
        skims.append(out is not None)
        return out

    monkeypatch.setattr(ovsdb, "_skim", counted)
    kept, _ = ovsdb.split_records(data, keep=(LF, prefixes))
    assert [r.data for r in kept] == [_filtered(r.data, prefixes) for r in whole]
    if skim_min == 0:
        assert any(skims), "the big record was skimmed, not decoded whole"


def test_skim_refuses_a_shape_it_does_not_know() -> None:
    """A deleted row inside the table, a row whose text holds '},"' (split would cut it): decoded whole."""
    keep = (LF, frozenset({"aaaaaaaa"}))
    a, b = "aaaaaaaa-0000-0000-0000-000000000001", "bbbbbbbb-0000-0000-0000-000000000002"
    deleted = json.dumps({LF: {a: {"match": "1"}, b: None}}, separators=(",", ":")).encode()
    assert ovsdb._skim(deleted, keep) is None
    tricky = json.dumps({LF: {b: {"match": 'x},"'}, a: {"match": "y}},"}}, "Datapath_Binding": {}},
                        separators=(",", ":")).encode()
    assert ovsdb._skim(tricky, keep) is None
    assert ovsdb._decode_keeping(tricky, keep) == {LF: {a: {"match": "y}},"}}, "Datapath_Binding": {}}


TRACES = [p for p in sorted((FIX / "lab").glob("*.txt"))
          if p.read_text(encoding="utf-8").lstrip().startswith(("Flow:", "bridge("))][:6]


@pytest.mark.parametrize("trace", TRACES, ids=lambda p: p.name)
def test_explain_against_a_db_file_is_the_same_with_only_the_traces_flows(
        trace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    argv = ["explain", str(trace), "-f", "json", "-q", "--sb", str(FIX / "lab" / "ovnsb_db.db"),
            "--nb", str(FIX / "lab" / "ovnnb_db.db")]

    def explain() -> str:
        out, err = io.StringIO(), io.StringIO()
        assert run(argv, io.StringIO(), out, err) == 0, err.getvalue()
        return out.getvalue()

    kept = explain()
    from ovntrace.sources import load

    real = load.load_sb
    monkeypatch.setattr(load, "load_sb", lambda src, **_: real(src))  # every flow decoded
    assert explain() == kept
    assert '"lflow"' in kept or '"uuid"' in kept


def test_skim_reads_a_record_in_place() -> None:
    """A record in the middle of a file's bytes is skimmed where it lies (no copy), with the same result."""
    keep = (LF, frozenset({"aaaaaaaa"}))
    a, b = "aaaaaaaa-0000-0000-0000-000000000001", "bbbbbbbb-0000-0000-0000-000000000002"
    for rec in ({"Datapath_Binding": {}, LF: {b: {"match": "1"}, a: {"match": "2"}}, "_date": 1},
                {LF: {a: {"match": "2"}, b: {"match": "1"}}, "Port_Binding": {}},
                {LF: {a: {"match": "2"}, b: {"match": "1"}}}):
        body = json.dumps(rec, separators=(",", ":")).encode()
        around = b"OVSDB JSON 1 x\n" + body + b"\nOVSDB JSON"
        lo = around.index(body)
        alone = ovsdb._skim(body, keep)
        assert alone is not None and alone[LF] == {a: {"match": "2"}}
        assert ovsdb._skim(around, keep, lo, lo + len(body)) == alone
        assert ovsdb._decode_keeping(around, keep, lo, lo + len(body)) == alone


@pytest.mark.parametrize("skim_min", [0, ovsdb.SKIM_MIN_BYTES])
@pytest.mark.parametrize("path", SB_FILES, ids=lambda p: str(p.relative_to(FIX)))
def test_ports_of_the_traces_datapaths_equal_the_whole_database_filtered(
        path: Path, skim_min: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Port_Binding / Multicast_Group rows left undecoded (a compacted file's snapshot) or dropped after the
    replay: the same tables as decoding every row and then keeping the trace's datapaths' rows (metadata 0, in
    a trace's first tables, is no datapath and does not stop the filter)."""
    data = path.read_bytes()
    whole, _ = ovsdb.split_records(data)
    full = ovsdb.replay(whole)
    keys_all = sorted({int(r["tunnel_key"]) for r in full.tables["Datapath_Binding"].values()})
    assert keys_all
    lf = {u[:8] for u in full.tables[LF]}
    pb = {u[:8] for u in full.tables["Port_Binding"]}
    rnd = random.Random(11)
    monkeypatch.setattr(ovsdb, "SKIM_MIN_BYTES", skim_min)
    for keys in (frozenset(rnd.sample(keys_all, min(3, len(keys_all)))) | {0}, frozenset(keys_all[:1]),
                 frozenset({max(keys_all) + 1000})):  # the last: not this database's trace, nothing dropped
        cookies = frozenset(rnd.sample(sorted(lf), 20) + rnd.sample(sorted(pb), 2))
        per_dp = (keys, cookies)
        kept, _ = ovsdb.split_records(data, keep=(LF, cookies), per_dp=per_dp)
        got = ovsdb.replay(kept)
        ovsdb.keep_per_datapath(got.tables, per_dp)
        want = ovsdb.replay(whole)
        ovsdb.keep_per_datapath(want.tables, per_dp)
        for t in ovsdb.PER_DATAPATH:
            if t in want.tables:
                assert dict(got.tables[t]) == dict(want.tables[t]), (t, sorted(keys))
        if keys == frozenset({max(keys_all) + 1000}):
            assert dict(got.tables["Port_Binding"]) == dict(full.tables["Port_Binding"])
        else:
            assert len(got.tables["Port_Binding"]) < len(full.tables["Port_Binding"])


DB_DIRS = sorted({p.parent for p in FIX.rglob("ovnsb_db.db") if (p.parent / "ovnnb_db.db").exists()})


@pytest.mark.parametrize("d", DB_DIRS, ids=lambda p: str(p.relative_to(FIX)))
def test_explain_of_each_fixture_dirs_traces_is_the_same_with_every_shortcut(
        d: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every fixture directory with an SB and NB file: its traces (up to 10, ofproto/trace and ovn-trace)
    explained with the trace's reading (cookies, datapath keys) and with every row decoded: the same JSON."""
    from ovntrace.sources import load

    traces = sorted(d.glob("*.txt"))[:10]
    assert traces
    real = load.load_sb

    def explain(trace: Path, whole: bool) -> str:
        if whole:
            monkeypatch.setattr(load, "load_sb", lambda src, **_: real(src))
        else:
            monkeypatch.setattr(load, "load_sb", real)
        return explain_with_db_files(trace, d)

    for t in traces:
        assert explain(t, False) == explain(t, True), t.name


def test_skim_of_adjacent_and_last_tables() -> None:
    """The cut tables side by side, last in the record, or with other tables between: the rest of the record
    is still JSON (one comma less per cut), so the skim succeeds, and equals the whole record filtered."""
    a, b = "aaaaaaaa-0000-0000-0000-000000000001", "bbbbbbbb-0000-0000-0000-000000000002"
    d1, d2 = "dddddddd-0000-0000-0000-000000000001", "eeeeeeee-0000-0000-0000-000000000002"
    p1, p2 = "11111111-0000-0000-0000-000000000001", "22222222-0000-0000-0000-000000000002"
    lf = {a: {"match": "1"}, b: {"match": "2"}}
    pb = {p1: {"datapath": ["uuid", d1], "tunnel_key": 1}, p2: {"datapath": ["uuid", d2], "tunnel_key": 1}}
    dps = {d1: {"tunnel_key": 5}, d2: {"tunnel_key": 6}}
    keep, per_dp = (LF, frozenset({"aaaaaaaa"})), (frozenset({0, 5}), frozenset[str]())
    orders = [
        {"Datapath_Binding": dps, LF: lf, "Port_Binding": pb},
        {"Datapath_Binding": dps, "Port_Binding": pb, LF: lf},
        {LF: lf, "Datapath_Binding": dps, "Port_Binding": pb},
        {LF: lf, "Port_Binding": pb, "Datapath_Binding": dps, "_date": 1},
    ]
    for rec in orders:
        body = json.dumps(rec, separators=(",", ":")).encode()
        got = ovsdb._skim(body, keep, 0, len(body), per_dp)
        assert got is not None, list(rec)
        assert got[LF] == {a: {"match": "1"}} and got["Port_Binding"] == {p1: pb[p1]}
        assert {k: v for k, v in got.items() if k not in (LF, "Port_Binding")} == {
            k: v for k, v in rec.items() if k not in (LF, "Port_Binding")}
