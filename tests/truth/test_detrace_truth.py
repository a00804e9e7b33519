"""Ground truth from OVN's own ovn-detrace on real lab traces, and ovntrace measured against it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ovntrace.lab.lab import Lab
from tests.conftest import FIX
from tests.truth.cases import CASES
from tests.truth.conftest import TruthRun, remotes
from tests.truth.detrace import (
    DETRACE,
    SbLflow,
    compare_explain,
    cookie_key,
    db_file_rows,
    detrace_truth,
    lflow_list_stages,
    parse_detrace,
    sbctl_list,
)

SNAP = FIX / "truth"
NAMES = [c.name for c in CASES]
COOKIE = re.compile(r"cookie 0x([0-9a-fA-F]+)")
METADATA = re.compile(r"(?:^|[ ,])metadata=(0x[0-9a-fA-F]+)[, ]")
TABLE_LINE = re.compile(r"^\s*\d+\.\s(?P<match>.*?), priority \d+, cookie 0x(?P<cookie>[0-9a-fA-F]+)")

needs_detrace = pytest.mark.skipif(not Path(DETRACE).exists(), reason=f"{DETRACE} missing (ovn-central/ovn-host)")


def trace_cookies(trace: str) -> set[str]:
    return {cookie_key(m[1]) for m in COOKIE.finditer(trace)}


def lflow_cookies(trace: str, lflows: dict[str, SbLflow]) -> set[str]:
    """Cookies of the trace that are a logical flow's (some SB Logical_Flow UUID starts with them)."""
    prefixes = {u[:8] for u in lflows}
    return {c for c in trace_cookies(trace) if f"{int(c, 16):08x}" in prefixes}


def explain_json(trace_path: Path, sb: str, nb: str) -> dict[str, Any]:
    argv = [
        sys.executable,
        "-m",
        "ovntrace.cli",
        "explain",
        str(trace_path),
        "--format",
        "json",
        "--sb",
        sb,
        "--nb",
        nb,
    ]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 0, f"{' '.join(argv)}: exit {res.returncode}: {res.stderr.strip()[:500]}"
    doc: dict[str, Any] = json.loads(res.stdout)
    return doc


# -- the extraction, on the live lab ----------------------------------------------------------------


@pytest.mark.lab
@needs_detrace
def test_detrace_truth_function_on_the_cross_node_trace(lab: Lab, truth_runs: dict[str, TruthRun],
                                                        lflows: dict[str, SbLflow]) -> None:  # fmt: skip
    run = truth_runs["xnode-icmp-src"]
    sb, nb = remotes(lab)
    truth = detrace_truth(run.trace, sb, nb)
    assert truth == run.truth
    # every logical-flow cookie of the trace gets at least one flow, each one ovn-detrace printed
    assert set(truth) == lflow_cookies(run.trace, lflows)
    assert len(truth) > 40  # switch, router and switch pipelines: dozens of stages
    for c, entries in truth.items():
        assert entries
        for e in entries:
            assert e["lflow_uuid"].startswith(f"{int(c, 16):08x}")
            assert e["datapaths"] and e["stage"] and e["pipeline"] in ("ingress", "egress")
    # the seed's path on the source chassis: the source switch, the cluster router, the destination switch's
    # ingress (its egress runs on the destination chassis); port-binding cookies are not in the truth
    stages = {e["stage"] for es in truth.values() for e in es}
    assert {"ls_in_check_port_sec", "ls_in_l2_lkup", "lr_in_ip_routing", "lr_in_arp_resolve"} <= stages
    kinds = {r.kind for b in parse_detrace(run.detrace) for r in b.records}
    assert "Port Binding" in kinds  # table 0 / port security flows: cookies of port bindings


@pytest.mark.lab
@needs_detrace
@pytest.mark.parametrize("name", NAMES)
def test_truth_covers_every_lflow_cookie(
    name: str, truth_runs: dict[str, TruthRun], lflows: dict[str, SbLflow]
) -> None:
    run = truth_runs[name]
    assert run.truth, f"{name}: ovn-detrace resolved no logical flow"
    assert set(run.truth) == lflow_cookies(run.trace, lflows)
    blocks = parse_detrace(run.detrace)
    assert {b.cookie for b in blocks} == trace_cookies(run.trace)
    for b in blocks:  # a cookie ovn-detrace resolves to a port binding etc. only is not a logical flow's
        if b.records and all(r.kind != "lflow" for r in b.records):
            assert b.cookie not in run.truth


@pytest.mark.lab
@needs_detrace
@pytest.mark.parametrize("name", NAMES)
def test_truth_stages_are_the_ones_lflow_list_shows(name: str, lab: Lab, truth_runs: dict[str, TruthRun]) -> None:
    sb, _ = remotes(lab)
    for c, entries in truth_runs[name].truth.items():
        for e in entries:
            got = lflow_list_stages(sb, e["lflow_uuid"])
            assert got == {(e["table"], e["stage"])}, f"{name} {c} {e['lflow_uuid']}"


@pytest.mark.lab
@needs_detrace
@pytest.mark.parametrize("name", NAMES)
def test_truth_datapaths_hold_the_step_metadata(name: str, lab: Lab, truth_runs: dict[str, TruthRun]) -> None:
    """For a table that matches metadata=0xN, ovn-detrace's datapaths include the one with tunnel key N."""
    sb, _ = remotes(lab)
    keys = {r["_uuid"]: int(r["tunnel_key"]) for r in sbctl_list(sb, "Datapath_Binding", ["_uuid", "tunnel_key"])}
    run = truth_runs[name]
    checked = 0
    for line in run.trace.splitlines():
        m = TABLE_LINE.match(line)
        if not m or cookie_key(m["cookie"]) not in run.truth:
            continue
        md = METADATA.search(f",{m['match']},")
        if not md:
            continue
        dp_keys = {keys[u] for e in run.truth[cookie_key(m["cookie"])] for u in e["datapath_uuids"]}
        assert int(md[1], 16) in dp_keys, f"{name}: {line.strip()}"
        checked += 1
    assert checked


@pytest.mark.lab
@needs_detrace
def test_truth_names_the_acl_of_the_drop(truth_runs: dict[str, TruthRun]) -> None:
    truth = truth_runs["acl-drop-dst"].truth
    acl = [e for es in truth.values() for e in es if e["stage"] == "ls_out_acl" and e["priority"] == 2001]
    assert len(acl) == 1
    assert acl[0]["datapaths"] == ["kube-node1"]
    assert any(h.startswith("ACL: to-lport, priority=1001,") and h.endswith("drop (log)") for h in acl[0]["hints"])


# -- ovntrace against the truth --------------------------------------------------------------------


@pytest.mark.lab
@needs_detrace
@pytest.mark.parametrize("name", NAMES)
def test_ovntrace_gives_detrace_lflows_live(name: str, lab: Lab, truth_runs: dict[str, TruthRun],
                                            tmp_path: Path) -> None:  # fmt: skip
    run = truth_runs[name]
    path = tmp_path / f"{name}.txt"
    path.write_text(run.trace)
    sb, nb = remotes(lab)
    assert compare_explain(explain_json(path, sb, nb), run.truth) == []


# -- offline: the snapshot in fixtures/truth -------------------------------------------------------


def _snapshot() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SNAP / "truth.json").read_text())
    return data


def test_snapshot_truth_is_what_the_stored_detrace_output_says() -> None:
    snap = _snapshot()
    assert sorted(snap) == sorted(NAMES)
    for name, case in snap.items():
        blocks = parse_detrace((SNAP / f"{name}.detrace.txt").read_text())
        printed: dict[str, set[tuple[Any, ...]]] = {}
        for b in blocks:
            for r in b.records:
                if r.kind == "lflow":
                    printed.setdefault(b.cookie, set()).add(
                        (r.table, r.stage, r.priority, r.match, r.actions, tuple(sorted(n for n, _, _ in r.datapaths)))
                    )
        stored = {
            c: {(e["table"], e["stage"], e["priority"], e["match"], e["actions"], tuple(e["datapaths"])) for e in es}
            for c, es in case["truth"].items()
        }
        assert stored == printed, name
        assert trace_cookies((SNAP / f"{name}.txt").read_text()) >= set(stored)


@pytest.mark.skipif(shutil.which("ovsdb-tool") is None, reason="ovsdb-tool missing (openvswitch-common)")
def test_snapshot_truth_flows_are_in_the_stored_sb_file() -> None:
    rows = db_file_rows(
        str(SNAP / "ovnsb_db.db"), "OVN_Southbound", "Logical_Flow", ["_uuid", "table_id", "external_ids"]
    )
    by_uuid = {r["_uuid"]: r for r in rows}
    for name, case in _snapshot().items():
        for es in case["truth"].values():
            for e in es:
                row = by_uuid[e["lflow_uuid"]]
                assert (row["table_id"], row["external_ids"].get("stage-name")) == (e["table"], e["stage"]), name


@pytest.mark.parametrize("name", NAMES)
def test_ovntrace_gives_detrace_lflows_from_db_files(name: str) -> None:
    doc = explain_json(SNAP / f"{name}.txt", str(SNAP / "ovnsb_db.db"), str(SNAP / "ovnnb_db.db"))
    assert compare_explain(doc, _snapshot()[name]["truth"]) == []


@pytest.mark.skipif(shutil.which("ovsdb-tool") is None, reason="ovsdb-tool missing (openvswitch-common)")
def test_compare_explain_accepts_the_truth_and_flags_a_wrong_flow_or_datapath() -> None:
    """The comparison itself, on the JSON ovntrace gives today without a database, given the truth's answers."""
    name = "xnode-icmp-src"
    truth = _snapshot()[name]["truth"]
    dps = db_file_rows(str(SNAP / "ovnsb_db.db"), "OVN_Southbound", "Datapath_Binding", ["_uuid", "tunnel_key"])
    key = {r["_uuid"]: int(r["tunnel_key"]) for r in dps}
    res = subprocess.run(
        [sys.executable, "-m", "ovntrace.cli", "explain", str(SNAP / f"{name}.txt"), "--format", "json", "--no-ovn"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    doc = json.loads(res.stdout)
    filled: list[dict[str, Any]] = []

    def fill(steps: list[dict[str, Any]]) -> None:
        for s in steps:
            c = cookie_key(s["cookie"]) if s.get("kind") == "table" and s.get("cookie") else None
            if c in truth:
                md = int(s["state"]["metadata"], 16)
                e = truth[c][0]
                dp = next(n for n, u in zip(e["datapaths"], e["datapath_uuids"], strict=True) if key[u] == md)
                s["ovn"] = {"lflow": {"uuid": e["lflow_uuid"]}, "datapath": {"name": dp, "key": md}}
                filled.append(s)
            fill(s.get("children") or [])

    for p in doc["traces"][0]["passes"]:
        fill(p["steps"])
    assert len(filled) >= len(truth)
    assert compare_explain(doc, truth) == []
    filled[3]["ovn"]["lflow"]["uuid"] = filled[4]["ovn"]["lflow"]["uuid"]
    filled[5]["ovn"]["datapath"]["key"] += 1
    filled[6]["ovn"]["datapath"] = None
    problems = compare_explain(doc, truth)
    assert len(problems) == 3, problems


@pytest.mark.parametrize("name", ["xnode-icmp-src", "acl-drop-dst"])
def test_live_ovsdb_and_db_files_give_identical_json(name: str, lab: Lab, truth_runs: dict[str, TruthRun],
                                                     tmp_path: Path) -> None:  # fmt: skip
    """The same trace against the live NB/SB and against copies of their database files."""
    run = truth_runs[name]
    path = tmp_path / f"{name}.txt"
    path.write_text(run.trace)
    sb, nb = remotes(lab)
    master = lab.node_dir("kube-master")
    live = explain_json(path, sb, nb)
    files = explain_json(path, str(master / "ovnsb_db.db"), str(master / "ovnnb_db.db"))
    assert live == files
    steps = [s for p in live["traces"][0]["passes"] for s in p["steps"]]
    assert steps and any("ovn" in c for s in steps for c in s["children"])


# -- the 25.03 lab: its own ovn-detrace (in the chroot) against ovntrace, live -----------------------------


@pytest.mark.lab
@pytest.mark.parametrize("name", ["xnode-icmp-src", "acl-drop-dst"])
def test_25_03_live_detrace_agrees_with_ovntrace(name: str, lab25: Lab, tmp_path: Path) -> None:
    from ovntrace.lab.corpus import SCENARIOS, detrace
    from tests.truth.detrace import sb_lflows as live_lflows
    from tests.truth.detrace import truth_from_output

    traces: dict[str, str] = {}
    for sc in SCENARIOS:  # the corpus scenarios up to `name` (a destination's flow needs its source's trace)
        traces[sc.name] = lab25.trace(sc.node, sc.flow(lab25, traces), bridge=sc.bridge)
        if sc.name == name:
            break
    sb, nb = remotes(lab25)
    out = detrace(lab25, traces[name])  # /usr/bin/ovn-detrace of OVN 25.03.0, run in the chroot
    truth = truth_from_output(out, live_lflows(sb), "25.03")  # host ovn-sbctl reads the 25.03 SB fine
    assert truth
    path = tmp_path / f"{name}.txt"
    path.write_text(traces[name])
    doc = explain_json(path, sb, nb)
    assert doc["traces"][0]["ovn"]["release"] == "25.03.0"
    assert compare_explain(doc, truth) == []
